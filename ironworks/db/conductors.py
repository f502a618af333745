"""Conductor rows: who runs, in which group, when each was last heard.

A conductor writes its own row: on start (`register`, a new incarnation), on every heartbeat
(`heartbeat`, which refreshes `updated_at`), and when it stops (`mark_offline`). The others read
the rows to build the hash ring of the live members of a group (`heard_in_group`) and to find
silent ones whose node locks they take over (`silent_since`, then `mark_offline`). The API reads
them to list conductors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.db.engine import as_utc, utcnow
from ironworks.db.schema import conductors

# --- the conductor's own row ---------------------------------------------------------------------


def register(
    conn: Connection,
    hostname: str,
    *,
    group: str,
    incarnation: str,
    drivers: list[str],
    console_url: str | None = None,
    release: str | None = None,
    schema_head: str | None = None,
) -> None:
    """Mark `hostname` online as `incarnation`; the row is created on the first start.
    `console_url`: where it serves its nodes' consoles to the API (None: it does not).
    `release`, `schema_head`: the code it runs (its version, the newest migration it knows)."""
    now = utcnow()
    values: dict[str, Any] = {
        "conductor_group": group,
        "online": True,
        "incarnation": incarnation,
        "drivers": drivers,
        "console_url": console_url,
        "release": release,
        "schema_head": schema_head,
        "updated_at": now,
    }
    n = conn.execute(
        sa.update(conductors).where(conductors.c.hostname == hostname).values(**values)
    ).rowcount
    if n == 0:
        conn.execute(sa.insert(conductors).values(hostname=hostname, created_at=now, **values))


def heartbeat(conn: Connection, hostname: str) -> None:
    """The conductor is alive: online, heard now."""
    conn.execute(
        sa.update(conductors)
        .where(conductors.c.hostname == hostname)
        .values(online=True, updated_at=utcnow())
    )


def mark_offline(conn: Connection, hostname: str, *, touch: bool = True) -> None:
    """The conductor stopped (`touch`: it says so itself) or was found silent by another."""
    values: dict[str, Any] = {"online": False}
    if touch:
        values["updated_at"] = utcnow()
    conn.execute(sa.update(conductors).where(conductors.c.hostname == hostname).values(**values))


# --- what the others see -------------------------------------------------------------------------


def heard_in_group(conn: Connection, group: str, since: datetime) -> list[str]:
    """Host names of the online conductors of `group` heard at or after `since`."""
    rows = conn.execute(
        sa.select(conductors.c.hostname, conductors.c.updated_at).where(
            conductors.c.online.is_(True), conductors.c.conductor_group == group
        )
    ).all()
    return [h for h, seen in rows if as_utc(seen) >= since]


def silent_since(conn: Connection, before: datetime, *, besides: str) -> list[str]:
    """Host names of conductors still marked online but not heard since `before`, other than
    `besides` (the caller)."""
    rows = conn.execute(
        sa.select(conductors.c.hostname, conductors.c.updated_at).where(
            conductors.c.online.is_(True), conductors.c.hostname != besides
        )
    ).all()
    return [h for h, seen in rows if as_utc(seen) < before]


def running_other_code(conn: Connection, schema_head: str, since: datetime) -> list[dict[str, Any]]:
    """The online conductors heard at or after `since` that run other code than the one whose
    newest migration is `schema_head` (an older release: none recorded, or another head): their
    hostname, release and schema_head."""
    rows = conn.execute(
        sa.select(
            conductors.c.hostname,
            conductors.c.release,
            conductors.c.schema_head,
            conductors.c.updated_at,
        )
        .where(conductors.c.online.is_(True))
        .order_by(conductors.c.hostname)
    ).mappings()
    return [
        {"hostname": r["hostname"], "release": r["release"], "schema_head": r["schema_head"]}
        for r in rows
        if as_utc(r["updated_at"]) >= since and r["schema_head"] != schema_head
    ]


# --- reads for the API ---------------------------------------------------------------------------


def list_all(conn: Connection) -> list[dict[str, Any]]:
    """Every conductor that ever registered, by hostname (dead ones too: `online` and
    `updated_at` tell)."""
    q = sa.select(conductors).order_by(conductors.c.hostname)
    return [dict(r) for r in conn.execute(q).mappings()]
