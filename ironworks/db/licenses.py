"""Installed license documents (the newest row wins) and the count a license limits.

The documents are stored as installed; services/licensing.py verifies the signature on every
use, so a row edited in the database is no license at all.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.db.engine import utcnow
from ironworks.db.schema import licenses, nodes


def newest_document(conn: Connection) -> Any:
    """The document installed last, or None before any."""
    return conn.execute(
        sa.select(licenses.c.document).order_by(licenses.c.id.desc()).limit(1)
    ).scalar()


def install(conn: Connection, document: Any, installed_by: str | None) -> None:
    conn.execute(
        sa.insert(licenses).values(
            document=document, installed_at=utcnow(), installed_by=installed_by
        )
    )


def count_nodes(conn: Connection) -> int:
    """The nodes a license counts: every enrolled one, whatever its state."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(nodes)).scalar_one())
