"""Conductor rows: who runs, in which group, when each was last heard.

A conductor writes its own row: on start (`claim_name`, a new incarnation; refused while another
incarnation heard within the heartbeat timeout holds the name), on every heartbeat
(`heartbeat`, which refreshes `updated_at` while the row is still its incarnation's), and when
it stops (`mark_offline`). The others read
the rows to build the hash ring of the live members of a group (`heard_in_group`) and to find
silent ones whose node locks they take over (`silent_since`, then `mark_offline`). The API reads
them to list conductors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ironworks.db.engine import as_utc, utcnow
from ironworks.db.schema import conductors

# --- the conductor's own row ---------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    """The live incarnation that holds a conductor name another process asked for."""

    incarnation: str
    heard: datetime  # its last heartbeat, UTC


def claim_name(
    conn: Connection,
    hostname: str,
    *,
    group: str,
    incarnation: str,
    drivers: list[str],
    heard_after: datetime,
    replaces: str | None = None,
    console_url: str | None = None,
    release: str | None = None,
    schema_head: str | None = None,
) -> Holder | None:
    """Register `incarnation` under `hostname` unless another incarnation holds the name: one
    online and heard at or after `heard_after` (within the heartbeat timeout). `replaces`: an
    incarnation known dead (this machine's previous run of the same conductor, see
    conductor/identity.py), whose name is taken over at once. None when registered, else the
    holder. The row is locked while deciding, so two processes starting at once cannot both
    win."""
    q = sa.select(conductors.c.incarnation, conductors.c.online, conductors.c.updated_at).where(
        conductors.c.hostname == hostname
    )
    if conn.dialect.name == "sqlite":
        # take the database's write lock before reading (a no-op write), so that two processes
        # sharing the file cannot both read, then both write
        conn.execute(
            sa.update(conductors)
            .where(conductors.c.hostname == hostname)
            .values(hostname=conductors.c.hostname)
        )
    else:
        q = q.with_for_update()
    row = conn.execute(q).first()
    values: dict[str, Any] = {
        "conductor_group": group,
        "online": True,
        "incarnation": incarnation,
        "drivers": drivers,
        "console_url": console_url,
        "release": release,
        "schema_head": schema_head,
        "updated_at": utcnow(),
    }
    if row is None:
        # An INSERT only: an UPDATE here would see (and overwrite) the row of a concurrent first
        # start committed since our SELECT; the INSERT meets its unique name instead.
        try:
            with conn.begin_nested():
                conn.execute(
                    sa.insert(conductors).values(
                        hostname=hostname, created_at=values["updated_at"], **values
                    )
                )
        except IntegrityError:
            won = conn.execute(q).first()
            if won is None:  # the name's row was deleted meanwhile: no conductor does that
                raise
            return Holder(won.incarnation, as_utc(won.updated_at) or utcnow())
        return None
    heard = as_utc(row.updated_at) or utcnow()
    held = row.online and heard >= heard_after and row.incarnation not in (incarnation, replaces)
    if held:
        return Holder(row.incarnation, heard)
    # the row is locked (FOR UPDATE, or SQLite's write lock): nobody registers meanwhile
    conn.execute(sa.update(conductors).where(conductors.c.hostname == hostname).values(**values))
    return None


def heartbeat(conn: Connection, hostname: str, incarnation: str | None = None) -> bool:
    """The conductor is alive: online, heard now. With `incarnation`, only while the row is
    still that incarnation's; False: another process has registered under the name since."""
    q = sa.update(conductors).where(conductors.c.hostname == hostname)
    if incarnation is not None:
        q = q.where(conductors.c.incarnation == incarnation)
    return conn.execute(q.values(online=True, updated_at=utcnow())).rowcount == 1


def mark_offline(
    conn: Connection, hostname: str, *, touch: bool = True, incarnation: str | None = None
) -> None:
    """The conductor stopped (`touch`: it says so itself) or was found silent by another.
    With `incarnation`, only if the row is still that incarnation's."""
    values: dict[str, Any] = {"online": False}
    if touch:
        values["updated_at"] = utcnow()
    q = sa.update(conductors).where(conductors.c.hostname == hostname)
    if incarnation is not None:
        q = q.where(conductors.c.incarnation == incarnation)
    conn.execute(q.values(**values))


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
