"""Queries of tenant networking: physical networks, networks, subnets, VLAN ids.

Rows come back as plain dicts; a network's row carries its physical network's name
(`physical_network`) and its owner's name (`project`, None for the cloud's networks), a subnet's
its network's uuid (`network`). Visibility is one condition (`visible`): the cloud admin sees
every network, a project's users their projects' networks plus the shared and external ones.

Segmentation ids: `lock_physical_network` takes the physical network's row lock (PostgreSQL;
SQLite's single writer already serializes), so two creates never read the same used set; the
unique (physical_network_id, segmentation_id) constraint is the guarantee either way.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from ironworks.common.ids import is_uuid_like
from ironworks.db.engine import utcnow
from ironworks.db.schema import (
    host_nics,
    ip_allocations,
    networks,
    physical_networks,
    ports,
    projects,
    subnets,
    switches,
)


def _ident(table: sa.Table, ident: str) -> sa.ColumnElement[bool]:
    return table.c.uuid == ident if is_uuid_like(ident) else table.c.name == ident


# Physical networks ---------------------------------------------------------------------------


def insert_physical_network(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    conn.execute(sa.insert(physical_networks).values(created_at=utcnow(), **values))
    row = get_physical_network(conn, values["uuid"])
    assert row is not None
    return row


def get_physical_network(conn: Connection, ident: str) -> dict[str, Any] | None:
    row = (
        conn.execute(sa.select(physical_networks).where(_ident(physical_networks, ident)))
        .mappings()
        .first()
    )
    return dict(row) if row else None


def list_physical_networks(conn: Connection) -> list[dict[str, Any]]:
    q = sa.select(physical_networks).order_by(physical_networks.c.name)
    return [dict(r) for r in conn.execute(q).mappings()]


def physical_networks_named(conn: Connection, names: Collection[str]) -> dict[str, dict[str, Any]]:
    """The physical networks with these names (ports name theirs), by name."""
    if not names:
        return {}
    q = sa.select(physical_networks).where(physical_networks.c.name.in_(sorted(set(names))))
    return {r["name"]: dict(r) for r in conn.execute(q).mappings()}


def update_physical_network(conn: Connection, pk: int, values: dict[str, Any]) -> None:
    conn.execute(
        sa.update(physical_networks)
        .where(physical_networks.c.id == pk)
        .values(updated_at=utcnow(), **values)
    )


def delete_physical_network(conn: Connection, pk: int) -> None:
    conn.execute(sa.delete(physical_networks).where(physical_networks.c.id == pk))


def physical_network_users(conn: Connection, pk: int) -> tuple[int, int]:
    """How many networks and switches name the physical network."""
    nets = conn.execute(
        sa.select(sa.func.count()).where(networks.c.physical_network_id == pk)
    ).scalar_one()
    sws = conn.execute(
        sa.select(sa.func.count()).where(switches.c.physical_network_id == pk)
    ).scalar_one()
    return int(nets), int(sws)


def lock_physical_network(conn: Connection, pk: int) -> None:
    """Hold the physical network's row until the transaction ends (segmentation ids)."""
    conn.execute(
        sa.select(physical_networks.c.id).where(physical_networks.c.id == pk).with_for_update()
    )


def used_segments(conn: Connection, physical_network_id: int) -> list[int]:
    q = sa.select(networks.c.segmentation_id).where(
        networks.c.physical_network_id == physical_network_id,
        networks.c.segmentation_id.is_not(None),
    )
    return [int(v) for v in conn.execute(q).scalars()]


# Networks ------------------------------------------------------------------------------------


def visible(project_ids: Collection[int] | None) -> sa.ColumnElement[bool] | None:
    """None: every network (cloud admin); else the projects' own, shared and external ones."""
    if project_ids is None:
        return None
    return sa.or_(
        networks.c.project_id.in_(sorted(project_ids)),
        networks.c.shared.is_(True),
        networks.c.external.is_(True),
    )


def _network_query() -> sa.Select:
    return (
        sa.select(
            networks,
            physical_networks.c.name.label("physical_network"),
            projects.c.name.label("project"),
        )
        .join(physical_networks, physical_networks.c.id == networks.c.physical_network_id)
        .outerjoin(projects, projects.c.id == networks.c.project_id)
    )


def insert_network(conn: Connection, values: dict[str, Any]) -> None:
    """Raises IntegrityError when the segmentation id is taken on the physical network."""
    conn.execute(sa.insert(networks).values(created_at=utcnow(), **values))


def find_networks(
    conn: Connection, ident: str, project_ids: Collection[int] | None
) -> list[dict[str, Any]]:
    """The networks with this uuid or name among those visible (names may repeat)."""
    q = _network_query().where(_ident(networks, ident))
    scope = visible(project_ids)
    if scope is not None:
        q = q.where(scope)
    return [dict(r) for r in conn.execute(q.order_by(networks.c.id)).mappings()]


def list_networks(
    conn: Connection, project_ids: Collection[int] | None, filters: dict[str, Any]
) -> list[dict[str, Any]]:
    """`filters`: project_id, physical_network_id, role, shared, external (exact matches)."""
    q = _network_query()
    scope = visible(project_ids)
    if scope is not None:
        q = q.where(scope)
    for key, value in filters.items():
        q = q.where(networks.c[key] == value)
    return [dict(r) for r in conn.execute(q.order_by(networks.c.name, networks.c.id)).mappings()]


def network_with_role(conn: Connection, role: str) -> dict[str, Any] | None:
    row = conn.execute(_network_query().where(networks.c.role == role)).mappings().first()
    return dict(row) if row else None


def flat_network_on(conn: Connection, physical_network_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute(
            _network_query().where(
                networks.c.physical_network_id == physical_network_id,
                networks.c.network_type == "flat",
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def update_network(conn: Connection, pk: int, values: dict[str, Any]) -> None:
    conn.execute(
        sa.update(networks).where(networks.c.id == pk).values(updated_at=utcnow(), **values)
    )


def network_usage(conn: Connection, pk: int) -> tuple[int, int]:
    """How many host NICs are on the network and how many addresses its subnets hand out."""
    nics = conn.execute(sa.select(sa.func.count()).where(host_nics.c.network_id == pk)).scalar_one()
    ips = conn.execute(
        sa.select(sa.func.count())
        .select_from(ip_allocations)
        .join(subnets, subnets.c.id == ip_allocations.c.subnet_id)
        .where(subnets.c.network_id == pk)
    ).scalar_one()
    return int(nics), int(ips)


def delete_network(conn: Connection, pk: int) -> None:
    """Deletes its subnets with it (their addresses must be released first)."""
    conn.execute(sa.delete(subnets).where(subnets.c.network_id == pk))
    conn.execute(sa.delete(networks).where(networks.c.id == pk))


def subnet_uuids(conn: Connection, network_ids: Collection[int]) -> dict[int, list[str]]:
    """The uuids of each network's subnets, oldest first."""
    out: dict[int, list[str]] = {pk: [] for pk in network_ids}
    if not out:
        return out
    q = (
        sa.select(subnets.c.network_id, subnets.c.uuid)
        .where(subnets.c.network_id.in_(sorted(out)))
        .order_by(subnets.c.id)
    )
    for network_id, uuid in conn.execute(q):
        out[network_id].append(uuid)
    return out


# Subnets -------------------------------------------------------------------------------------


def _subnet_query() -> sa.Select:
    return sa.select(subnets, networks.c.uuid.label("network")).join(
        networks, networks.c.id == subnets.c.network_id
    )


def insert_subnet(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(sa.insert(subnets).values(created_at=utcnow(), **values))


def find_subnets(
    conn: Connection, ident: str, project_ids: Collection[int] | None
) -> list[dict[str, Any]]:
    """The subnets with this uuid or name on networks visible to `project_ids`."""
    q = _subnet_query().where(_ident(subnets, ident))
    scope = visible(project_ids)
    if scope is not None:
        q = q.where(scope)
    return [dict(r) for r in conn.execute(q.order_by(subnets.c.id)).mappings()]


def list_subnets(
    conn: Connection, project_ids: Collection[int] | None, network_id: int | None = None
) -> list[dict[str, Any]]:
    q = _subnet_query()
    scope = visible(project_ids)
    if scope is not None:
        q = q.where(scope)
    if network_id is not None:
        q = q.where(subnets.c.network_id == network_id)
    return [dict(r) for r in conn.execute(q.order_by(subnets.c.id)).mappings()]


def subnet_cidrs(conn: Connection, network_id: int) -> list[tuple[int, str]]:
    """(id, cidr) of each subnet of the network."""
    q = sa.select(subnets.c.id, subnets.c.cidr).where(subnets.c.network_id == network_id)
    return [(pk, cidr) for pk, cidr in conn.execute(q)]


def update_subnet(conn: Connection, pk: int, values: dict[str, Any]) -> None:
    conn.execute(sa.update(subnets).where(subnets.c.id == pk).values(updated_at=utcnow(), **values))


def delete_subnet(conn: Connection, pk: int) -> None:
    conn.execute(sa.delete(subnets).where(subnets.c.id == pk))


def switched_ports(conn: Connection, node_id: int) -> list[dict[str, Any]]:
    """The node's ports cabled to a physical network that has a switch, by id: the ports a
    switch step may have to move (one statement; none for a node without them)."""
    switched = (
        sa.select(physical_networks.c.name)
        .join(switches, switches.c.physical_network_id == physical_networks.c.id)
        .distinct()
    )
    q = (
        sa.select(ports)
        .where(ports.c.node_id == node_id, ports.c.physical_network.in_(switched))
        .order_by(ports.c.id)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


# Host NICs (read side: the conductor's switch steps and config drive) ---------------------------


def host_nics_of_node(conn: Connection, node_id: int) -> list[dict[str, Any]]:
    """The NICs bound to the node's ports that are on a network (a host's, or an Ironic VIF
    given one), oldest first: `port_id` or `portgroup_id` (what it is bound to), `mac`, and the
    network's `network` (uuid), `network_name`, `network_type`, `segmentation_id`,
    `physical_network_id`. Addresses: `db/hostnics.addresses`."""
    q = (
        sa.select(
            host_nics.c.id,
            host_nics.c.uuid,
            host_nics.c.port_id,
            host_nics.c.portgroup_id,
            host_nics.c.mac,
            networks.c.uuid.label("network"),
            networks.c.name.label("network_name"),
            networks.c.network_type,
            networks.c.segmentation_id,
            networks.c.physical_network_id,
        )
        .join(networks, networks.c.id == host_nics.c.network_id)
        .where(host_nics.c.node_id == node_id)
        .order_by(host_nics.c.id)
    )
    return [dict(r) for r in conn.execute(q).mappings()]
