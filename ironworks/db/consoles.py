"""Console tickets and sessions (`schema.console_sessions`).

A ticket is a row with the hash of a one-time token and an expiry (`issue`); the WebSocket that
presents the token claims it once (`claim`: compare-and-set on `opened_at`, so two processes
racing with the same token cannot both win); the session ends with `close`, which keeps the
output's tail when asked to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.common.ids import new_uuid
from ironworks.db.engine import as_utc, utcnow
from ironworks.db.schema import console_sessions as t
from ironworks.db.schema import nodes


def issue(
    conn: Connection, *, token_hash: str, node_id: int, expires_at: datetime, **who: Any
) -> str:
    """A ticket for the node's console; `who`: host_uuid, user and project ids and names."""
    uuid = new_uuid()
    conn.execute(
        sa.insert(t).values(
            uuid=uuid,
            token_hash=token_hash,
            node_id=node_id,
            expires_at=expires_at,
            output_bytes=0,
            created_at=utcnow(),
            **who,
        )
    )
    return uuid


def claim(conn: Connection, token_hash: str, conductor: str | None) -> dict[str, Any] | None:
    """Open the ticket of this token if it is unused and unexpired: the session's row with
    the node's uuid and name, or None (unknown, used or expired: the caller says which).
    `conductor`: the process that serves it, or None when the API relays it to the node's
    conductor, which `take`s it."""
    now = utcnow()
    done = conn.execute(
        sa.update(t)
        .where(t.c.token_hash == token_hash, t.c.opened_at.is_(None), t.c.expires_at > now)
        .values(opened_at=now, conductor=conductor, updated_at=now)
    )
    if done.rowcount != 1:
        return None
    return find(conn, token_hash)


def take(conn: Connection, session: str, conductor: str) -> dict[str, Any] | None:
    """The conductor `conductor` serves the session `session` (its uuid) that an API process
    claimed and relays to it: its row as `find` gives it, or None when it is not one claimed
    and waiting (unknown, closed, or served already: each session is served once)."""
    now = utcnow()
    done = conn.execute(
        sa.update(t)
        .where(
            t.c.uuid == session,
            t.c.opened_at.is_not(None),
            t.c.closed_at.is_(None),
            t.c.conductor.is_(None),
        )
        .values(conductor=conductor, updated_at=now)
    )
    if done.rowcount != 1:
        return None
    return _one(conn, t.c.uuid == session)


def is_closed(conn: Connection, session_id: int) -> bool:
    got = conn.execute(sa.select(t.c.closed_at).where(t.c.id == session_id)).scalar_one_or_none()
    return got is not None


def find(conn: Connection, token_hash: str) -> dict[str, Any] | None:
    return _one(conn, t.c.token_hash == token_hash)


def _one(conn: Connection, where: Any) -> dict[str, Any] | None:
    row = (
        conn.execute(
            sa.select(t, nodes.c.uuid.label("node_uuid"), nodes.c.name.label("node_name"))
            .join(nodes, nodes.c.id == t.c.node_id)
            .where(where)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    out = dict(row)
    for key in ("expires_at", "opened_at", "closed_at", "created_at", "updated_at"):
        out[key] = as_utc(out[key])
    return out


def set_mode(conn: Connection, session_id: int, mode: str) -> None:
    conn.execute(sa.update(t).where(t.c.id == session_id).values(mode=mode))


def close(
    conn: Connection, session_id: int, *, reason: str, output: str | None, output_bytes: int
) -> None:
    now = utcnow()
    conn.execute(
        sa.update(t)
        .where(t.c.id == session_id, t.c.closed_at.is_(None))
        .values(
            closed_at=now,
            close_reason=reason,
            output=output,
            output_bytes=output_bytes,
            updated_at=now,
        )
    )


def list_for_node(conn: Connection, node_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The node's sessions, newest first (tickets never opened included)."""
    rows = conn.execute(
        sa.select(t).where(t.c.node_id == node_id).order_by(t.c.id.desc()).limit(limit)
    ).mappings()
    return [dict(r) for r in rows]
