"""Queries of floating IPs and project routers (docs/networking.md, "Floating IPs").

A floating IP's address and a router's external address are IPAM allocations
(`db/ipam.allocate`, rows of `ip_allocations` without a NIC); the composite foreign keys of
`floating_ips` and `routers` to them keep one truth for addresses. Rows come back as plain
dicts: a floating IP's row carries its project's name (`project`), its subnet's and network's
uuids (`subnet`, `network`), and, while associated, its NIC's and host's uuids (`host_nic`,
`host`) and the host's name (`host_name`).

`gateway_plan` reads, in one transaction, everything the gateway renders: each router, its
external subnet, its project's IPv4 subnets with a gateway, and its associated floating IPs.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from ironworks.common.ids import is_uuid_like
from ironworks.db.engine import utcnow
from ironworks.db.schema import (
    floating_ips,
    host_nics,
    hosts,
    networks,
    projects,
    routers,
    subnets,
)

# Routers ---------------------------------------------------------------------------------------


def router_of(conn: Connection, project_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(routers).where(routers.c.project_id == project_id)).mappings()
    first = row.first()
    return dict(first) if first else None


def insert_router(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(sa.insert(routers).values(created_at=utcnow(), **values))


def delete_router(conn: Connection, pk: int) -> None:
    conn.execute(sa.delete(routers).where(routers.c.id == pk))


# Floating IPs ----------------------------------------------------------------------------------


def _query() -> sa.Select:
    return (
        sa.select(
            floating_ips,
            projects.c.name.label("project"),
            projects.c.department_id.label("department_id"),
            subnets.c.uuid.label("subnet"),
            subnets.c.name.label("subnet_name"),
            networks.c.uuid.label("network"),
            host_nics.c.uuid.label("host_nic"),
            hosts.c.uuid.label("host"),
            hosts.c.name.label("host_name"),
        )
        .join(projects, projects.c.id == floating_ips.c.project_id)
        .join(subnets, subnets.c.id == floating_ips.c.subnet_id)
        .join(networks, networks.c.id == subnets.c.network_id)
        .outerjoin(host_nics, host_nics.c.id == floating_ips.c.host_nic_id)
        .outerjoin(hosts, hosts.c.id == host_nics.c.host_id)
    )


def _scoped(q: sa.Select, project_ids: Collection[int] | None) -> sa.Select:
    return q if project_ids is None else q.where(floating_ips.c.project_id.in_(sorted(project_ids)))


def insert(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(sa.insert(floating_ips).values(created_at=utcnow(), **values))


def find(conn: Connection, ident: str, project_ids: Collection[int] | None) -> list[dict[str, Any]]:
    """The floating IPs with this uuid or address among the projects' (None: all)."""
    where = floating_ips.c.uuid == ident if is_uuid_like(ident) else floating_ips.c.address == ident
    q = _scoped(_query().where(where), project_ids).order_by(floating_ips.c.id)
    return [dict(r) for r in conn.execute(q).mappings()]


def list_(
    conn: Connection, project_ids: Collection[int] | None, project_id: int | None = None
) -> list[dict[str, Any]]:
    q = _scoped(_query(), project_ids)
    if project_id is not None:
        q = q.where(floating_ips.c.project_id == project_id)
    return [dict(r) for r in conn.execute(q.order_by(floating_ips.c.id)).mappings()]


def update(conn: Connection, pk: int, values: dict[str, Any]) -> None:
    conn.execute(
        sa.update(floating_ips).where(floating_ips.c.id == pk).values(updated_at=utcnow(), **values)
    )


def delete(conn: Connection, pk: int) -> None:
    conn.execute(sa.delete(floating_ips).where(floating_ips.c.id == pk))


def count(
    conn: Connection, *, project_id: int | None = None, department_id: int | None = None
) -> int:
    """How many floating IPs a project, or all the projects of a department, hold."""
    q = sa.select(sa.func.count()).select_from(floating_ips)
    if department_id is None:
        q = q.where(floating_ips.c.project_id == project_id)
    else:
        q = q.join(projects, projects.c.id == floating_ips.c.project_id).where(
            projects.c.department_id == department_id
        )
    return int(conn.execute(q).scalar_one())


def on_fixed_ip(conn: Connection, host_nic_id: int, fixed_ip: str) -> dict[str, Any] | None:
    q = _query().where(
        floating_ips.c.host_nic_id == host_nic_id, floating_ips.c.fixed_ip == fixed_ip
    )
    row = conn.execute(q).mappings().first()
    return dict(row) if row else None


def detach_nic(conn: Connection, host_nic_id: int) -> int:
    """Disassociate every floating IP of a NIC (before the NIC goes); how many. The caller
    re-applies the gateway after its commit."""
    result = conn.execute(
        sa.update(floating_ips)
        .where(floating_ips.c.host_nic_id == host_nic_id)
        .values(host_nic_id=None, fixed_ip=None, updated_at=utcnow())
    )
    return int(result.rowcount)


# Host NICs, as a floating IP sees them ------------------------------------------------------------


def find_nics(
    conn: Connection, ident: str, project_ids: Collection[int] | None
) -> list[dict[str, Any]]:
    """Host NICs by uuid among the projects' hosts (None: all), with their host's project and
    network: id, uuid, host_id, host, host_name, project_id, network_id, network_project_id,
    network_name."""
    q = (
        sa.select(
            host_nics.c.id,
            host_nics.c.uuid,
            host_nics.c.host_id,
            hosts.c.uuid.label("host"),
            hosts.c.name.label("host_name"),
            hosts.c.project_id,
            host_nics.c.network_id,
            networks.c.project_id.label("network_project_id"),
            networks.c.name.label("network_name"),
        )
        .join(hosts, hosts.c.id == host_nics.c.host_id)
        .join(networks, networks.c.id == host_nics.c.network_id)
        .where(host_nics.c.uuid == ident)
    )
    if project_ids is not None:
        q = q.where(hosts.c.project_id.in_(sorted(project_ids)))
    return [dict(r) for r in conn.execute(q).mappings()]


# What the gateway renders ------------------------------------------------------------------------


def gateway_plan(conn: Connection) -> list[dict[str, Any]]:
    """Every router: uuid, project_id, address, external (the external subnet's cidr and
    gateway_ip), subnets (the project's own IPv4 subnets with a gateway: network uuid,
    segmentation_id, network_type, physical_network_id, cidr, gateway_ip) and floating
    ((address, fixed_ip) of each associated floating IP), by router id."""
    out: list[dict[str, Any]] = []
    ext = subnets.alias("ext")
    q = (
        sa.select(
            routers.c.id,
            routers.c.uuid,
            routers.c.project_id,
            routers.c.address,
            ext.c.cidr.label("external_cidr"),
            ext.c.gateway_ip.label("external_gateway"),
            networks.c.uuid.label("external_network"),
            networks.c.segmentation_id.label("external_segmentation_id"),
            networks.c.network_type.label("external_network_type"),
        )
        .join(ext, ext.c.id == routers.c.subnet_id)
        .join(networks, networks.c.id == ext.c.network_id)
        .order_by(routers.c.id)
    )
    for r in conn.execute(q).mappings():
        own = (
            sa.select(
                networks.c.uuid.label("network"),
                networks.c.segmentation_id,
                networks.c.network_type,
                subnets.c.cidr,
                subnets.c.gateway_ip,
            )
            .join(networks, networks.c.id == subnets.c.network_id)
            .where(
                networks.c.project_id == r["project_id"],
                networks.c.role == "tenant",
                subnets.c.ip_version == 4,
                subnets.c.gateway_ip.is_not(None),
            )
            .order_by(subnets.c.id)
        )
        fips = (
            sa.select(floating_ips.c.address, floating_ips.c.fixed_ip)
            .where(
                floating_ips.c.project_id == r["project_id"],
                floating_ips.c.host_nic_id.is_not(None),
                floating_ips.c.fixed_ip.is_not(None),
            )
            .order_by(floating_ips.c.id)
        )
        out.append(
            {
                **dict(r),
                "subnets": [dict(s) for s in conn.execute(own).mappings()],
                "floating": [(a, f) for a, f in conn.execute(fips)],
            }
        )
    return out
