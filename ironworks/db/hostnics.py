"""Host NICs (and Ironic's VIFs, the same rows): binding to a node's ports, reads with addresses.

A NIC is bound to one *slot* of its node: a port group, or a port that is in no port group
(the ports of a bond are reached through it, as Ironic's network interfaces do). The unique
`port_id` and `portgroup_id` of host_nics make a slot go to one NIC, whatever the callers read
before inserting. `lock_host` serializes the NIC changes of one host (PostgreSQL; SQLite has one
writer). A NIC's addresses are `ip_allocations` rows (db/ipam.py) pointing at it; `delete`
releases them with the NIC in the caller's transaction.
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
    hosts,
    ip_allocations,
    networks,
    portgroups,
    ports,
    subnets,
)

# Where Ironic shows a VIF on the port or port group it is bound to (`internal_info`); shown
# from host_nics, never stored there (db/ports.py).
VIF_KEY = "tenant_vif_port_id"


def slots(conn: Connection, node_ids: Collection[int]) -> dict[int, list[dict[str, Any]]]:
    """Each node's port groups, then its ports that are in no port group, by id: kind
    ("portgroups" or "ports"), id, uuid, mac (a port group without an address: its first
    member's), physical_network, pxe_enabled, taken (a NIC is bound to it)."""
    out: dict[int, list[dict[str, Any]]] = {pk: [] for pk in node_ids}
    if not out:
        return out
    ids = sorted(out)
    first_member = (
        sa.select(ports.c.address)
        .where(ports.c.portgroup_id == portgroups.c.id)
        .order_by(ports.c.id)
        .limit(1)
        .scalar_subquery()
    )
    bound_pg = sa.exists().where(host_nics.c.portgroup_id == portgroups.c.id)
    bound_port = sa.exists().where(host_nics.c.port_id == ports.c.id)
    groups = sa.select(
        portgroups.c.node_id,
        portgroups.c.id,
        portgroups.c.uuid,
        sa.func.coalesce(portgroups.c.address, first_member).label("mac"),
        portgroups.c.physical_network,
        sa.true().label("pxe_enabled"),
        bound_pg.label("taken"),
    ).where(portgroups.c.node_id.in_(ids))
    singles = sa.select(
        ports.c.node_id,
        ports.c.id,
        ports.c.uuid,
        ports.c.address.label("mac"),
        ports.c.physical_network,
        ports.c.pxe_enabled,
        bound_port.label("taken"),
    ).where(ports.c.node_id.in_(ids), ports.c.portgroup_id.is_(None))
    for kind, q, table in (("portgroups", groups, portgroups), ("ports", singles, ports)):
        for row in conn.execute(q.order_by(table.c.id)).mappings():
            slot = dict(row)
            slot["kind"] = kind
            slot["taken"] = bool(slot["taken"])
            out[slot.pop("node_id")].append(slot)
    return out


def lock_host(conn: Connection, host_id: int) -> None:
    """Hold the host's row until the transaction ends: its NIC changes take turns."""
    conn.execute(sa.select(hosts.c.id).where(hosts.c.id == host_id).with_for_update())


def insert(conn: Connection, values: dict[str, Any]) -> int:
    """Insert one NIC; its id. IntegrityError when its slot or VIF id is taken meanwhile."""
    q = sa.insert(host_nics).values(created_at=utcnow(), **values).returning(host_nics.c.id)
    return int(conn.execute(q).scalar_one())


def delete(conn: Connection, nic_id: int) -> None:
    """Release the NIC's addresses and delete it."""
    conn.execute(sa.delete(ip_allocations).where(ip_allocations.c.host_nic_id == nic_id))
    conn.execute(sa.delete(host_nics).where(host_nics.c.id == nic_id))


def _query() -> sa.Select:
    return (
        sa.select(
            host_nics,
            networks.c.uuid.label("network_uuid"),
            networks.c.name.label("network_name"),
            networks.c.segmentation_id,
            ports.c.uuid.label("port_uuid"),
            portgroups.c.uuid.label("portgroup_uuid"),
        )
        .outerjoin(networks, networks.c.id == host_nics.c.network_id)
        .outerjoin(ports, ports.c.id == host_nics.c.port_id)
        .outerjoin(portgroups, portgroups.c.id == host_nics.c.portgroup_id)
    )


def _with_addresses(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each NIC row with `fixed_ips` as the API shows them: address, subnet (uuid), ip_version."""
    by_nic = addresses(conn, [r["id"] for r in rows])
    for row in rows:
        row["fixed_ips"] = [
            {"address": a["address"], "subnet": a["subnet"], "ip_version": a["ip_version"]}
            for a in by_nic[row["id"]]
        ]
    return rows


def addresses(conn: Connection, nic_ids: Collection[int]) -> dict[int, list[dict[str, Any]]]:
    """The addresses each NIC holds, in allocation order, by NIC id (every id asked is a key):
    `address` and its subnet's `subnet` (uuid), `subnet_name`, `ip_version`, `cidr`,
    `gateway_ip`, `dns_nameservers` (what the API, a floating IP and network_data.json need)."""
    out: dict[int, list[dict[str, Any]]] = {pk: [] for pk in nic_ids}
    if not out:
        return out
    q = (
        sa.select(
            ip_allocations.c.host_nic_id,
            ip_allocations.c.address,
            subnets.c.uuid.label("subnet"),
            subnets.c.name.label("subnet_name"),
            subnets.c.ip_version,
            subnets.c.cidr,
            subnets.c.gateway_ip,
            subnets.c.dns_nameservers,
        )
        .join(subnets, subnets.c.id == ip_allocations.c.subnet_id)
        .where(ip_allocations.c.host_nic_id.in_(sorted(out)))
        .order_by(ip_allocations.c.id)
    )
    for row in conn.execute(q).mappings():
        out[row["host_nic_id"]].append(dict(row))
    return out


def of_hosts(conn: Connection, host_ids: Collection[int]) -> dict[int, list[dict[str, Any]]]:
    """Each host's NICs (oldest first), with their network, slot and `fixed_ips`."""
    out: dict[int, list[dict[str, Any]]] = {pk: [] for pk in host_ids}
    if not out:
        return out
    q = _query().where(host_nics.c.host_id.in_(sorted(out))).order_by(host_nics.c.id)
    for row in _with_addresses(conn, [dict(r) for r in conn.execute(q).mappings()]):
        out[row["host_id"]].append(row)
    return out


def of_node(conn: Connection, node_id: int) -> list[dict[str, Any]]:
    """The NICs (VIFs) bound to the node's ports, oldest first."""
    q = _query().where(host_nics.c.node_id == node_id).order_by(host_nics.c.id)
    return _with_addresses(conn, [dict(r) for r in conn.execute(q).mappings()])


def get(conn: Connection, nic_id: int) -> dict[str, Any]:
    """One NIC by id, as `find` gives it; it must exist."""
    rows = _with_addresses(
        conn, [dict(r) for r in conn.execute(_query().where(host_nics.c.id == nic_id)).mappings()]
    )
    return rows[0]


def find(
    conn: Connection, ident: str, *, host_id: int | None = None, node_id: int | None = None
) -> dict[str, Any] | None:
    """The NIC of the host (or node) with this uuid or VIF id."""
    cond = host_nics.c.vif_id == ident
    if is_uuid_like(ident):
        cond = sa.or_(cond, host_nics.c.uuid == ident.lower())
    q = _query().where(cond)
    if host_id is not None:
        q = q.where(host_nics.c.host_id == host_id)
    if node_id is not None:
        q = q.where(host_nics.c.node_id == node_id)
    rows = _with_addresses(conn, [dict(r) for r in conn.execute(q).mappings()])
    return rows[0] if rows else None


def node_of_vif(conn: Connection, vif_id: str) -> int | None:
    """The node a VIF id is attached to, if any (VIF ids are unique in the cloud)."""
    q = sa.select(host_nics.c.node_id).where(host_nics.c.vif_id == vif_id)
    return conn.execute(q).scalar()


def vif_on(conn: Connection, which: str, row_id: int) -> str | None:
    """The VIF id of the NIC bound to this port or port group, if any."""
    column = host_nics.c.port_id if which == "ports" else host_nics.c.portgroup_id
    return conn.execute(sa.select(host_nics.c.vif_id).where(column == row_id)).scalar()


def vif_column(which: str) -> sa.ScalarSelect[Any]:
    """A correlated column: the VIF id bound to each row of `ports` or `portgroups`."""
    table, column = (
        (ports, host_nics.c.port_id) if which == "ports" else (portgroups, host_nics.c.portgroup_id)
    )
    return sa.select(host_nics.c.vif_id).where(column == table.c.id).scalar_subquery()
