"""Installed license documents (the newest row wins) and the count a license limits.

The documents are stored as installed; services/licensing.py verifies the signature on every
use, so a row edited in the database is no license at all.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.db.engine import utcnow
from ironworks.db.schema import agent_sessions, licenses, nodes
from ironworks.domain.states import ENROLL


def newest_document(conn: Connection) -> Any:
    """The document installed last, or None before any."""
    return conn.execute(_NEWEST).scalar()


# Built once: every enrolment asks (services/licensing.check_enrolment), and building the
# statement cost as much as running it.
_NEWEST = sa.select(licenses.c.document).order_by(licenses.c.id.desc()).limit(1)
_WAITING = sa.exists().where(
    agent_sessions.c.node_id == nodes.c.id,
    agent_sessions.c.purpose == sa.bindparam("unaccepted", type_=sa.String),
)
_FIGURES = {
    False: sa.select(
        _NEWEST.scalar_subquery(), sa.select(sa.func.count()).select_from(nodes).scalar_subquery()
    ),
    True: sa.select(
        _NEWEST.scalar_subquery(),
        sa.select(sa.func.count())
        .select_from(nodes)
        .where(~sa.and_(nodes.c.provision_state == ENROLL, _WAITING))
        .scalar_subquery(),
    ),
}


def enrolment_figures(conn: Connection, *, unaccepted: str | None = None) -> tuple[Any, int]:
    """The newest document (None before any) and the nodes it counts (as count_nodes), in
    one statement."""
    params = {} if unaccepted is None else {"unaccepted": unaccepted}
    document, counted = conn.execute(_FIGURES[unaccepted is not None], params).one()
    return document, int(counted)


def install(conn: Connection, document: Any, installed_by: str | None) -> None:
    conn.execute(
        sa.insert(licenses).values(
            document=document, installed_at=utcnow(), installed_by=installed_by
        )
    )


def count_nodes(conn: Connection, *, unaccepted: str | None = None) -> int:
    """The nodes a license counts: every enrolled one, whatever its state, except (with
    `unaccepted`, an agent session purpose) the nodes still in enroll whose session has that
    purpose: discovered machines no operator has accepted yet."""
    q = sa.select(sa.func.count()).select_from(nodes)
    if unaccepted is not None:
        waiting = sa.exists().where(
            agent_sessions.c.node_id == nodes.c.id, agent_sessions.c.purpose == unaccepted
        )
        q = q.where(~sa.and_(nodes.c.provision_state == ENROLL, waiting))
    return int(conn.execute(q).scalar_one())


def is_unaccepted(conn: Connection, node_id: int, purpose: str) -> bool:
    """Whether this node is a discovered machine waiting in enroll (see count_nodes)."""
    q = (
        sa.select(sa.func.count())
        .select_from(nodes.join(agent_sessions))
        .where(
            nodes.c.id == node_id,
            nodes.c.provision_state == ENROLL,
            agent_sessions.c.purpose == purpose,
        )
    )
    return bool(conn.execute(q).scalar_one())
