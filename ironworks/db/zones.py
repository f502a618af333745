"""Availability zones as the nodes declare them (`properties/availability_zone`): one grouped
count over the nodes table, by zone, architecture and provision state."""

from __future__ import annotations

import sqlalchemy as sa

from ironworks.db.schema import nodes

_ZONE = nodes.c.properties["availability_zone"].as_string()
_ARCH = nodes.c.properties["cpu_arch"].as_string()
_COUNTS = sa.select(_ZONE, _ARCH, nodes.c.provision_state, sa.func.count()).group_by(
    _ZONE, _ARCH, nodes.c.provision_state
)


def node_counts(conn: sa.Connection) -> list[tuple[str | None, str | None, str, int]]:
    """(zone, cpu_arch, provision_state, nodes) for every combination that has nodes; zone and
    architecture as the node's properties give them (None: not given)."""
    return [(zone, arch, state, n) for zone, arch, state, n in conn.execute(_COUNTS)]
