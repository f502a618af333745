"""Agent sessions: what the conductor asked a node's ramdisk agent to do, and what it said.

One row per node (`schema.agent_sessions`), replaced each time the conductor boots the ramdisk
(`reset`), which also voids the token of the ramdisk before. The conductor writes `commands`;
the agent API writes the token once (`issue_token`, compare-and-set on an empty token) and the
results and heartbeat columns (`record_heartbeat`). Neither writes the other's columns, and both
write only while the session's `boot_id` is the one they read, so a late heartbeat from an
earlier boot never lands in a new session.

The deployed OS reports its first boot through the agent API too (`lock_node_for_report`,
`save_first_boot`): driver_internal_info is the conductor's column, so the report writes it
only while no conductor holds the node, under the node's row lock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.common.ids import new_uuid
from ironworks.db.engine import utcnow
from ironworks.db.schema import agent_sessions as t
from ironworks.db.schema import nodes


def get(conn: Connection, node_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(t).where(t.c.node_id == node_id)).mappings().first()
    return dict(row) if row else None


def reset(conn: Connection, node_id: int, purpose: str) -> dict[str, Any]:
    """A fresh session for the ramdisk about to boot: no token, no commands, no results."""
    now = utcnow()
    row = {
        "node_id": node_id,
        "purpose": purpose,
        "boot_id": new_uuid(),
        "token_sha256": None,
        "commands": [],
        "results": {},
        "running": None,
        "looked_up_at": None,
        "last_heartbeat": None,
        "agent_address": None,
        "agent_version": None,
        "created_at": now,
        "updated_at": now,
    }
    conn.execute(sa.delete(t).where(t.c.node_id == node_id))
    conn.execute(sa.insert(t).values(**row))
    return row


VOID = "void"  # a token_sha256 no token hashes to: lookup refused, heartbeats rejected


def void(conn: Connection, node_id: int) -> None:
    """End the session of a phase that failed or was aborted: its agent gets 401 on its next
    heartbeat, 409 on lookup, and no command ever again (the node may still be running it)."""
    conn.execute(
        sa.update(t)
        .where(t.c.node_id == node_id)
        .values(token_sha256=VOID, commands=[], updated_at=utcnow())
    )


def save_commands(
    conn: Connection, node_id: int, boot_id: str, commands: list[dict[str, Any]]
) -> bool:
    return bool(
        conn.execute(
            sa.update(t)
            .where(t.c.node_id == node_id, t.c.boot_id == boot_id)
            .values(commands=commands, updated_at=utcnow())
        ).rowcount
    )


def issue_token(
    conn: Connection,
    node_id: int,
    boot_id: str,
    token_sha256: str,
    address: str | None,
    version: str | None,
    silent_since: datetime | None = None,
) -> bool:
    """Record the one token of this boot; False when one was handed out already — unless its
    agent has been silent since `silent_since` (it rebooted, or died with its token file)."""
    now = utcnow()
    free = t.c.token_sha256.is_(None)
    if silent_since is not None:
        free = sa.or_(free, sa.and_(t.c.token_sha256 != VOID, t.c.last_heartbeat < silent_since))
    return bool(
        conn.execute(
            sa.update(t)
            .where(t.c.node_id == node_id, t.c.boot_id == boot_id, free)
            .values(
                token_sha256=token_sha256,
                looked_up_at=now,
                last_heartbeat=now,
                agent_address=address,
                agent_version=version,
                updated_at=now,
            )
        ).rowcount
    )


def record_heartbeat(
    conn: Connection,
    node_id: int,
    boot_id: str,
    results: dict[str, Any],
    running: dict[str, Any] | None,
    address: str | None,
    now: datetime | None = None,
) -> bool:
    now = now or utcnow()
    return bool(
        conn.execute(
            sa.update(t)
            .where(t.c.node_id == node_id, t.c.boot_id == boot_id)
            .values(
                results=results,
                running=running,
                last_heartbeat=now,
                agent_address=address,
                updated_at=now,
            )
        ).rowcount
    )


def count_nodes(conn: Connection, purpose: str, provision_state: str) -> int:
    """The nodes in `provision_state` whose session is for `purpose`."""
    q = (
        sa.select(sa.func.count())
        .select_from(nodes.join(t))
        .where(nodes.c.provision_state == provision_state, t.c.purpose == purpose)
    )
    return int(conn.execute(q).scalar_one())


# --- the first-boot report -----------------------------------------------------------------------


def lock_node_for_report(conn: Connection, node_uuid: str) -> dict[str, Any] | None:
    """The node, its row locked until the transaction ends (PostgreSQL; SQLite's write
    transaction already excludes other writers)."""
    q = sa.select(nodes).where(nodes.c.uuid == node_uuid.lower())
    if conn.dialect.name != "sqlite":
        q = q.with_for_update()
    row = conn.execute(q).mappings().first()
    return dict(row) if row else None


def save_first_boot(conn: Connection, node_id: int, driver_internal_info: dict[str, Any]) -> bool:
    """Write the node's driver_internal_info unless a conductor holds the node; False if one
    took it since it was read."""
    q = (
        sa.update(nodes)
        .where(nodes.c.id == node_id, nodes.c.reservation.is_(None))
        .values(driver_internal_info=driver_internal_info)
    )
    return bool(conn.execute(q).rowcount == 1)
