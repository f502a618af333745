"""Floating IPs: addresses of the external network held by a project, 1:1-NATed to one fixed
address of one of its hosts' NICs (docs/networking.md, "Floating IPs").

*Allocate*: the address comes from the subnets of the cloud's `external` network through IPAM
(`db/ipam.allocate`, in this transaction: one truth for addresses), within the project's and
its department's `quota_floating_ips`. A project's first floating IP also makes its router
(`routers`: the project's own address on the external network, the source of its outbound
SNAT); its last release removes it. *Associate* (PATCH `host_nic`): the NIC must belong to a
host of the same project and sit on one of the project's own networks (the router has legs on
those only); the fixed address is the one named or the NIC's first IPv4 one. *Release*: refused
while associated. Every change is applied to the gateway after its commit
(`services/gateway.py`).

Scoping: the caller sees their projects' floating IPs only (another project's is a 404, as is
its NIC); the cloud admin sees all. Errors name their field: no external network (409),
pool exhausted (409 naming the subnet), quota exceeded (403, like hosts' quotas).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import Connection

from ironworks.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from ironworks.common.ids import new_uuid
from ironworks.db import floating_ips as fip_db
from ironworks.db import hostnics as nic_db
from ironworks.db import ipam as ipam_db
from ironworks.db import networks as net_db
from ironworks.db import tenancy as project_db
from ironworks.domain import ipam
from ironworks.services import gateway
from ironworks.services.context import Caller, Services
from ironworks.services.networks import reject_unknown
from ironworks.services.tenancy import project_row

FIELDS = (
    "uuid",
    "address",
    "subnet",
    "network",
    "project",
    "host_nic",
    "host",
    "host_name",
    "fixed_ip",
    "description",
    "created_at",
    "updated_at",
)


def _out(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in FIELDS}
    if row["host_nic_id"] is None:
        out["fixed_ip"] = None
    out["status"] = "associated" if row["host_nic_id"] is not None else "unassociated"
    return out


def _row(conn: Connection, caller: Caller, ident: str) -> dict[str, Any]:
    rows = fip_db.find(conn, ident, caller.project_ids)
    if not rows:
        raise NotFound(f"floating IP {ident} could not be found")
    return rows[0]


def _audit(caller: Caller, row: dict[str, Any]) -> None:
    caller.acted_on("floating_ip", row["uuid"], row["address"], (row["project_id"], row["project"]))


def _project(conn: Connection, caller: Caller, ident: Any) -> dict[str, Any]:
    if ident is not None:
        return project_row(conn, caller, str(ident))
    mine = [] if caller.is_admin else sorted(caller.principal.projects)
    if len(mine) != 1:
        raise InvalidInput(
            "project is required (its name or id)"
            + ("" if caller.is_admin else ": you belong to several projects"),
            field="project",
        )
    return project_db.get_project(conn, mine[0])


def _check_quota(conn: Connection, project: dict[str, Any]) -> None:
    dept = project_db.get_department(conn, project["department_id"])
    for owner, row, used in (
        ("project", project, fip_db.count(conn, project_id=project["id"])),
        ("department", dept, fip_db.count(conn, department_id=dept["id"])),
    ):
        limit = row["quota_floating_ips"]
        if limit is not None and used + 1 > limit:
            raise Forbidden(
                f"quota exceeded: {owner} {row['name']} may have {limit} floating IPs, has "
                f"{used}, and 1 more was asked for; release one or ask for a larger quota",
                field="quota_floating_ips",
            )


def _external(conn: Connection) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The external network and its IPv4 subnets; 409 when the cloud has none."""
    net = net_db.network_with_role(conn, "external")
    if net is None:
        raise Conflict(
            "there is no external network: a cloud admin gives one network the role external "
            "(`ironworks network create ... --role external`) and a subnet, then floating IPs "
            "can be allocated",
            field="network",
        )
    subs = [s for s in net_db.list_subnets(conn, None, net["id"]) if s["ip_version"] == 4]
    if not subs:
        raise Conflict(
            f"the external network {net['name']} has no IPv4 subnet: a cloud admin adds one",
            field="network",
        )
    return net, subs


def _take(
    conn: Connection, net: dict[str, Any], subs: list[dict[str, Any]], address: str | None
) -> tuple[dict[str, Any], str]:
    """(subnet row, address): the address asked for, or the lowest free one of the first
    subnet that has one; 409 naming the subnets when all are full."""
    if address is not None:
        wanted = ipam.parse_address(address, field="address")
        for s in subs:
            if wanted in ipam.parse_cidr(s["cidr"]):
                try:
                    return s, ipam_db.allocate(conn, s, address=str(wanted))
                except Conflict as e:
                    raise Conflict(e.message, field="address") from None
        raise InvalidInput(
            f"{wanted} is in no subnet of the external network {net['name']} "
            f"({', '.join(s['cidr'] for s in subs)})",
            field="address",
        )
    refusals = []
    for s in subs:
        try:
            return s, ipam_db.allocate(conn, s)
        except Conflict as e:
            refusals.append(e.message)
    raise Conflict(" ".join(refusals), field="subnet")


def allocate(svc: Services, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    """`project` (left out: the caller's only one), `address` (cloud admin), `description`."""
    reject_unknown(body, {"project", "address", "description"})
    if body.get("address") is not None and not caller.is_admin:
        raise Forbidden(
            "only a cloud admin may choose the address; leave it out to get the next free one",
            field="address",
        )
    with svc.db.write() as conn:
        project = _project(conn, caller, body.get("project"))
        caller.audit.update(project_id=project["id"], project_name=project["name"])
        if not svc.db.is_sqlite:  # one allocation at a time per project: the quota holds
            project_db.lock_project(conn, project["id"])
        _check_quota(conn, project)
        net, subs = _external(conn)
        if fip_db.router_of(conn, project["id"]) is None:
            subnet, own = _take(conn, net, subs, None)
            fip_db.insert_router(
                conn,
                {
                    "uuid": new_uuid(),
                    "project_id": project["id"],
                    "subnet_id": subnet["id"],
                    "address": own,
                },
            )
        subnet, address = _take(conn, net, subs, body.get("address"))
        uuid = new_uuid()
        fip_db.insert(
            conn,
            {
                "uuid": uuid,
                "project_id": project["id"],
                "subnet_id": subnet["id"],
                "address": address,
                "description": body.get("description"),
            },
        )
        row = _row(conn, caller, uuid)
        _audit(caller, row)
    gateway.apply_after_change(svc)
    return _out(row)


def list_floating_ips(
    svc: Services, caller: Caller, project: str | None = None
) -> list[dict[str, Any]]:
    with svc.db.read() as conn:
        pid = None if project is None else project_row(conn, caller, project)["id"]
        return [_out(r) for r in fip_db.list_(conn, caller.project_ids, pid)]


def show(svc: Services, caller: Caller, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return _out(_row(conn, caller, ident))


def _fixed_ip(conn: Connection, nic: dict[str, Any], wanted: Any) -> str:
    held = nic_db.addresses(conn, [nic["id"]])[nic["id"]]
    v4 = [a for a in held if ipaddress.ip_address(a["address"]).version == 4]
    if wanted is not None:
        canonical = str(ipam.parse_address(wanted, field="fixed_ip"))
        match = [a for a in held if a["address"] == canonical]
        if not match:
            raise InvalidInput(
                f"{canonical} is not an address of host NIC {nic['uuid']} (it holds "
                f"{', '.join(a['address'] for a in held) or 'none'})",
                field="fixed_ip",
            )
        if ipaddress.ip_address(canonical).version != 4:
            raise InvalidInput("a floating IP maps to an IPv4 fixed address", field="fixed_ip")
        chosen = match[0]
    elif v4:
        chosen = v4[0]
    else:
        raise Conflict(
            f"host NIC {nic['uuid']} has no IPv4 address for a floating IP to map to",
            field="host_nic",
        )
    if chosen["gateway_ip"] is None:
        raise Conflict(
            f"{chosen['address']}'s subnet {chosen['subnet_name'] or chosen['subnet']} has no gateway: the project's "
            "router sits on the gateway address; give the subnet one",
            field="fixed_ip",
        )
    return str(chosen["address"])


def _associate(
    conn: Connection, caller: Caller, row: dict[str, Any], nic_ident: str, wanted: Any
) -> dict[str, Any]:
    """The columns that associate `row` with the NIC (checked)."""
    nics = fip_db.find_nics(conn, nic_ident, caller.project_ids)
    if not nics:
        raise NotFound(f"host NIC {nic_ident} could not be found", field="host_nic")
    nic = nics[0]
    if nic["project_id"] != row["project_id"]:
        raise Conflict(
            f"host NIC {nic['uuid']} belongs to host {nic['host_name']} of another project: "
            f"floating IP {row['address']} is project {row['project']}'s and maps to its own "
            "hosts only",
            field="host_nic",
        )
    if nic["network_project_id"] != row["project_id"]:
        raise Conflict(
            f"host NIC {nic['uuid']} is on network {nic['network_name']}, which is not project "
            f"{row['project']}'s own: the project's router reaches its own networks only",
            field="host_nic",
        )
    fixed = _fixed_ip(conn, nic, wanted)
    taken = fip_db.on_fixed_ip(conn, nic["id"], fixed)
    if taken is not None and taken["id"] != row["id"]:
        raise Conflict(
            f"{fixed} of host NIC {nic['uuid']} already has floating IP {taken['address']}: "
            "disassociate it first",
            field="fixed_ip",
        )
    return {"host_nic_id": nic["id"], "fixed_ip": fixed}


def update(svc: Services, caller: Caller, ident: str, body: dict[str, Any]) -> dict[str, Any]:
    """`host_nic` (a NIC's id: associate; null: disassociate), `fixed_ip` (one of the NIC's
    addresses; left out: its first IPv4 one), `description`."""
    reject_unknown(body, {"host_nic", "fixed_ip", "description"})
    if "fixed_ip" in body and body.get("host_nic") is None:
        raise InvalidInput("fixed_ip goes with host_nic (the NIC it belongs to)", field="fixed_ip")
    with svc.db.write() as conn:
        row = _row(conn, caller, ident)
        _audit(caller, row)
        values: dict[str, Any] = {}
        if "description" in body:
            values["description"] = body["description"]
        if "host_nic" in body:
            if body["host_nic"] is None:
                values.update(host_nic_id=None, fixed_ip=None)
            else:
                values.update(
                    _associate(conn, caller, row, str(body["host_nic"]), body.get("fixed_ip"))
                )
        changed = "host_nic" in body
        if values:
            fip_db.update(conn, row["id"], values)
        row = _row(conn, caller, row["uuid"])
    if changed:
        gateway.apply_after_change(svc)
    return _out(row)


def release(svc: Services, caller: Caller, ident: str) -> None:
    with svc.db.write() as conn:
        row = _row(conn, caller, ident)
        _audit(caller, row)
        if not svc.db.is_sqlite:  # against an allocation that counts on the router
            project_db.lock_project(conn, row["project_id"])
        if row["host_nic_id"] is not None:
            raise Conflict(
                f"floating IP {row['address']} is associated with {row['fixed_ip']} of host "
                f"{row['host_name']}: disassociate it first (`host_nic`: null)",
                field="host_nic",
            )
        fip_db.delete(conn, row["id"])
        ipam_db.release(conn, row["subnet_id"], row["address"])
        if fip_db.count(conn, project_id=row["project_id"]) == 0:
            router = fip_db.router_of(conn, row["project_id"])
            if router is not None:
                fip_db.delete_router(conn, router["id"])
                ipam_db.release(conn, router["subnet_id"], router["address"])
    gateway.apply_after_change(svc)
