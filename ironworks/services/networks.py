"""Tenant networking: physical networks, networks, subnets and their addresses (docs/networking.md).

*Physical networks* (a fabric's name, its scheme, its VLAN ranges) are the cloud admin's. Their
name never changes: node ports and port groups carry it in their own `physical_network` column.

*Networks* are owned by a project or by the cloud (no project). A project's users see their
projects' networks plus the shared and external ones, and manage their projects' own; the cloud
admin sees and manages all. A `vlan` network gets its segmentation id from its physical
network's ranges, lowest free first, under the physical network's row lock; only the cloud admin
may give one by hand (any id from 1 to 4094, inside the ranges or not), make a network `flat`
(one per physical network: untagged traffic has no id to tell two apart), shared or external,
or give it one of the cloud's roles (`provisioning`, `cleaning`, `external`: one network each).

*Subnets* belong to a network and are validated by `domain.ipam.make_subnet`; the subnets of one
network do not overlap. Their addresses are handed out by `db.ipam.allocate`, once each, under
concurrency; a subnet (or network) that still hands out addresses cannot be deleted.

Errors are 404 for what the caller cannot see, 403 for what they see but may not change, 409
for exhausted VLAN ranges and address pools (naming the physical network or the subnet).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from ironworks.common.ids import new_uuid
from ironworks.db import ipam as ipam_db
from ironworks.db import networks as net_db
from ironworks.domain import ipam
from ironworks.domain.network import NetworkScheme, NetworkType, check_segmentation
from ironworks.services.context import Caller, Services
from ironworks.services.tenancy import project_row

ROLES = ("tenant", "provisioning", "cleaning", "external")
_PHYSNET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

PHYSNET_FIELDS = (
    "uuid",
    "name",
    "scheme",
    "segmentation_ranges",
    "description",
    "created_at",
    "updated_at",
)
NETWORK_FIELDS = (
    "uuid",
    "name",
    "network_type",
    "segmentation_id",
    "physical_network",
    "project",
    "shared",
    "external",
    "role",
    "description",
    "created_at",
    "updated_at",
)
SUBNET_FIELDS = (
    "uuid",
    "name",
    "network",
    "cidr",
    "ip_version",
    "gateway_ip",
    "allocation_pools",
    "dns_nameservers",
    "created_at",
    "updated_at",
)


def _projects(caller: Caller) -> frozenset[int] | None:
    """None: every project (cloud admin); else the caller's projects."""
    return None if caller.is_admin else frozenset(caller.principal.projects)


def require_admin(caller: Caller, what: str) -> None:
    if not caller.is_admin:
        raise Forbidden(f"only a cloud admin may {what}; ask one to do it")


def reject_unknown(body: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise InvalidInput(
            f"unknown field {extra[0]!r}; allowed: {', '.join(sorted(allowed))}", field=extra[0]
        )


def text_field(body: dict[str, Any], key: str, *, required: bool, limit: int = 255) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidInput(
            f"{key} must be a non-empty string of at most {limit} characters", field=key
        )
    return value.strip()


def _flag(body: dict[str, Any], key: str) -> bool:
    if not isinstance(body[key], bool):
        raise InvalidInput(f"{key} must be true or false", field=key)
    return body[key]


# Physical networks ---------------------------------------------------------------------------


def _scheme(value: Any) -> str:
    try:
        return NetworkScheme(value).value
    except ValueError:
        choices = ", ".join(s.value for s in NetworkScheme)
        raise InvalidInput(
            f"scheme {value!r} is not a network scheme: use one of {choices}", field="scheme"
        ) from None


def _ranges(value: Any) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise InvalidInput(
            "segmentation_ranges must be a string such as '100-199,300'",
            field="segmentation_ranges",
        )
    return ipam.format_ranges(ipam.parse_ranges(value))


def _physnet_out(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in PHYSNET_FIELDS}


def _physnet_row(conn: Connection, ident: str) -> dict[str, Any]:
    row = net_db.get_physical_network(conn, ident)
    if row is None:
        raise NotFound(f"physical network {ident} could not be found")
    return row


def create_physical_network(svc: Services, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    require_admin(caller, "create physical networks")
    reject_unknown(body, {"name", "scheme", "segmentation_ranges", "description"})
    name = body.get("name")
    if not isinstance(name, str) or not _PHYSNET_NAME.match(name):
        raise InvalidInput(
            "name must be 1-64 letters, digits, '.', '_' or '-' (start with a letter or digit), "
            "as node ports name their physical network",
            field="name",
        )
    values = {
        "uuid": new_uuid(),
        "name": name,
        "scheme": _scheme(body.get("scheme", NetworkScheme.DYNAMIC.value)),
        "segmentation_ranges": _ranges(body.get("segmentation_ranges")),
        "description": body.get("description"),
    }
    try:
        with svc.db.write() as conn:
            row = net_db.insert_physical_network(conn, values)
    except IntegrityError:
        raise Conflict(f"a physical network named {name!r} already exists", field="name") from None
    caller.acted_on("physical_network", row["uuid"], row["name"])
    return _physnet_out(row)


def list_physical_networks(svc: Services, caller: Caller) -> list[dict[str, Any]]:
    with svc.db.read() as conn:
        return [_physnet_out(r) for r in net_db.list_physical_networks(conn)]


def show_physical_network(svc: Services, caller: Caller, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return _physnet_out(_physnet_row(conn, ident))


def update_physical_network(
    svc: Services, caller: Caller, ident: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Scheme, VLAN ranges, description. Networks keep their segmentation ids when the ranges
    shrink; only new networks draw from the new ranges."""
    require_admin(caller, "change a physical network's scheme or ranges")
    if "name" in body:
        raise InvalidInput(
            "a physical network's name cannot change: node ports refer to it by name; create "
            "another physical network instead",
            field="name",
        )
    reject_unknown(body, {"scheme", "segmentation_ranges", "description"})
    values: dict[str, Any] = {}
    if "scheme" in body:
        values["scheme"] = _scheme(body["scheme"])
    if "segmentation_ranges" in body:
        values["segmentation_ranges"] = _ranges(body["segmentation_ranges"])
    if "description" in body:
        values["description"] = body["description"]
    with svc.db.write() as conn:
        row = _physnet_row(conn, ident)
        caller.acted_on("physical_network", row["uuid"], row["name"])
        if values:
            net_db.update_physical_network(conn, row["id"], values)
        return _physnet_out(_physnet_row(conn, row["uuid"]))


def delete_physical_network(svc: Services, caller: Caller, ident: str) -> None:
    require_admin(caller, "delete physical networks")
    with svc.db.write() as conn:
        row = _physnet_row(conn, ident)
        caller.acted_on("physical_network", row["uuid"], row["name"])
        nets, sws = net_db.physical_network_users(conn, row["id"])
        if nets or sws:
            raise Conflict(
                f"physical network {row['name']} still has {nets} network(s) and {sws} "
                "switch(es): delete or move them first"
            )
        net_db.delete_physical_network(conn, row["id"])


# Networks ------------------------------------------------------------------------------------


def _network_out(row: dict[str, Any], subnets: list[str]) -> dict[str, Any]:
    out = {k: row[k] for k in NETWORK_FIELDS}
    out["subnets"] = subnets
    return out


def _network_row(conn: Connection, caller: Caller, ident: str) -> dict[str, Any]:
    rows = net_db.find_networks(conn, ident, _projects(caller))
    if not rows:
        raise NotFound(f"network {ident} could not be found")
    if len(rows) > 1:
        raise InvalidInput(
            f"{len(rows)} networks named {ident!r} are visible to you; use its id",
            field="network",
        )
    return rows[0]


def _check_owner(caller: Caller, row: dict[str, Any], verb: str) -> None:
    """A project's users change their projects' networks only, not the cloud's shared ones."""
    if caller.is_admin or row["project_id"] in caller.principal.projects:
        return
    raise Forbidden(
        f"network {row['name']} is not one of your projects' networks: only a cloud admin may "
        f"{verb} it"
    )


def _owner(conn: Connection, caller: Caller, ident: Any) -> int | None:
    """The owning project's id: the one named, the caller's only project, or the cloud."""
    if ident is not None:
        return int(project_row(conn, caller, str(ident))["id"])
    if caller.is_admin:
        return None
    mine = sorted(caller.principal.projects)
    if len(mine) != 1:
        raise InvalidInput(
            "project is required (its name or id): you belong to several projects",
            field="project",
        )
    return mine[0]


def _default_physnet(conn: Connection, ident: Any) -> dict[str, Any]:
    if ident is not None:
        return _physnet_row(conn, str(ident))
    every = net_db.list_physical_networks(conn)
    if len(every) != 1:
        raise InvalidInput(
            "physical_network is required (its name or id): "
            + (
                "none exists yet, a cloud admin creates them"
                if not every
                else f"there are {len(every)} physical networks"
            ),
            field="physical_network",
        )
    return every[0]


def _role(value: Any) -> str:
    if value not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    return str(value)


def _check_role_free(conn: Connection, role: str, uuid: str | None = None) -> None:
    if role == "tenant":
        return
    holder = net_db.network_with_role(conn, role)
    if holder is not None and holder["uuid"] != uuid:
        raise Conflict(
            f"network {holder['name']} is already the cloud's {role} network: change its role "
            "first (there is one network per role)",
            field="role",
        )


def create_network(svc: Services, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    reject_unknown(
        body,
        {
            "name",
            "network_type",
            "segmentation_id",
            "physical_network",
            "project",
            "shared",
            "external",
            "role",
            "description",
        },
    )
    name = text_field(body, "name", required=True)
    kind = body.get("network_type", NetworkType.VLAN.value)
    if kind not in {t.value for t in NetworkType}:
        raise InvalidInput("network_type must be 'vlan' or 'flat'", field="network_type")
    role = _role(body.get("role", "tenant"))
    shared = _flag(body, "shared") if "shared" in body else False
    external = _flag(body, "external") if "external" in body else role == "external"
    if not caller.is_admin:
        for key, given in (
            ("segmentation_id", "segmentation_id" in body),
            ("network_type", kind != NetworkType.VLAN.value),
            ("shared", shared),
            ("external", external),
            ("role", role != "tenant"),
        ):
            if given:
                raise Forbidden(
                    f"only a cloud admin may set {key}; leave it out (a project's network is a "
                    "vlan network with the next free VLAN id)",
                    field=key,
                )
    segment = body.get("segmentation_id")
    if segment is not None:
        segment = ipam.check_segment(segment)
    check_segmentation(kind, segment)
    try:
        row = _insert_network(svc, caller, body, name, kind, segment, role, shared, external)
    except IntegrityError:  # a VLAN id taken between the check and the insert
        raise Conflict(
            "the VLAN id was taken by another network meanwhile: try again", field="segmentation_id"
        ) from None
    caller.acted_on("network", row["uuid"], row["name"])
    return _network_out(row, [])


def _insert_network(
    svc: Services,
    caller: Caller,
    body: dict[str, Any],
    name: str | None,
    kind: str,
    segment: int | None,
    role: str,
    shared: bool,
    external: bool,
) -> dict[str, Any]:
    with svc.db.write() as conn:
        project_id = _owner(conn, caller, body.get("project"))
        if role in ("provisioning", "cleaning") and project_id is not None:
            raise InvalidInput(
                f"the {role} network is the cloud's: leave project out", field="project"
            )
        physnet = _default_physnet(conn, body.get("physical_network"))
        net_db.lock_physical_network(conn, physnet["id"])
        _check_role_free(conn, role)
        if kind == NetworkType.FLAT.value:
            flat = net_db.flat_network_on(conn, physnet["id"])
            if flat is not None:
                raise Conflict(
                    f"physical network {physnet['name']} already has the flat network "
                    f"{flat['name']}: untagged traffic has room for one; use a vlan network",
                    field="network_type",
                )
        elif segment is None:
            ranges = (
                ipam.parse_ranges(physnet["segmentation_ranges"])
                if physnet["segmentation_ranges"]
                else ()
            )
            segment = ipam.allocate_segment(
                ranges, net_db.used_segments(conn, physnet["id"]), physical_network=physnet["name"]
            )
        elif segment in net_db.used_segments(conn, physnet["id"]):
            raise Conflict(
                f"VLAN id {segment} is already used by another network of physical network "
                f"{physnet['name']}: give another id or leave it out",
                field="segmentation_id",
            )
        uuid = new_uuid()
        net_db.insert_network(
            conn,
            {
                "uuid": uuid,
                "name": name,
                "network_type": kind,
                "segmentation_id": segment,
                "physical_network_id": physnet["id"],
                "project_id": project_id,
                "shared": shared,
                "external": external,
                "role": role,
                "description": body.get("description"),
            },
        )
        return _network_row(conn, caller, uuid)


def list_networks(
    svc: Services, caller: Caller, filters: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """`filters`: project, physical_network (names or ids), role, shared, external."""
    filters = dict(filters or {})
    reject_unknown(filters, {"project", "physical_network", "role", "shared", "external"})
    where: dict[str, Any] = {}
    with svc.db.read() as conn:
        if filters.get("project") is not None:
            where["project_id"] = project_row(conn, caller, str(filters["project"]))["id"]
        if filters.get("physical_network") is not None:
            physnet = _physnet_row(conn, str(filters["physical_network"]))
            where["physical_network_id"] = physnet["id"]
        if filters.get("role") is not None:
            where["role"] = _role(filters["role"])
        for key in ("shared", "external"):
            if filters.get(key) is not None:
                where[key] = _flag(filters, key)
        rows = net_db.list_networks(conn, _projects(caller), where)
        subnets = net_db.subnet_uuids(conn, [r["id"] for r in rows])
        return [_network_out(r, subnets[r["id"]]) for r in rows]


def show_network(svc: Services, caller: Caller, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        row = _network_row(conn, caller, ident)
        return _network_out(row, net_db.subnet_uuids(conn, [row["id"]])[row["id"]])


def update_network(
    svc: Services, caller: Caller, ident: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Name and description; the cloud admin also shared, external and role. Type, VLAN id,
    physical network and owner are fixed: create another network instead."""
    for key in ("network_type", "segmentation_id", "physical_network", "project"):
        if key in body:
            raise InvalidInput(
                f"{key} of a network cannot change: create another network instead", field=key
            )
    reject_unknown(body, {"name", "description", "shared", "external", "role"})
    values: dict[str, Any] = {}
    if "name" in body:
        values["name"] = text_field(body, "name", required=True)
    if "description" in body:
        values["description"] = body["description"]
    for key in ("shared", "external"):
        if key in body:
            require_admin(caller, f"set {key}")
            values[key] = _flag(body, key)
    if "role" in body:
        require_admin(caller, "give a network one of the cloud's roles")
        values["role"] = _role(body["role"])
    with svc.db.write() as conn:
        row = _network_row(conn, caller, ident)
        caller.acted_on("network", row["uuid"], row["name"])
        _check_owner(caller, row, "change")
        if "role" in values:
            _check_role_free(conn, values["role"], row["uuid"])
            if values["role"] in ("provisioning", "cleaning") and row["project_id"] is not None:
                raise InvalidInput(
                    f"network {row['name']} belongs to project {row['project']}: the "
                    f"{values['role']} network must be the cloud's",
                    field="role",
                )
        if values:
            net_db.update_network(conn, row["id"], values)
        row = _network_row(conn, caller, row["uuid"])
        return _network_out(row, net_db.subnet_uuids(conn, [row["id"]])[row["id"]])


def delete_network(svc: Services, caller: Caller, ident: str) -> None:
    """Deletes its subnets too; refused while a host NIC is on it or an address is handed out."""
    with svc.db.write() as conn:
        row = _network_row(conn, caller, ident)
        caller.acted_on("network", row["uuid"], row["name"])
        _check_owner(caller, row, "delete")
        nics, ips = net_db.network_usage(conn, row["id"])
        if nics or ips:
            raise Conflict(
                f"network {row['name']} still has {nics} host NIC(s) and {ips} allocated "
                "address(es): detach the NICs first"
            )
        net_db.delete_network(conn, row["id"])


# Subnets -------------------------------------------------------------------------------------


def _subnet_out(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in SUBNET_FIELDS}


def _subnet_row(conn: Connection, caller: Caller, ident: str) -> dict[str, Any]:
    rows = net_db.find_subnets(conn, ident, _projects(caller))
    if not rows:
        raise NotFound(f"subnet {ident} could not be found")
    if len(rows) > 1:
        raise InvalidInput(
            f"{len(rows)} subnets named {ident!r} are visible to you; use its id", field="subnet"
        )
    return rows[0]


def _stored(subnet: ipam.Subnet) -> dict[str, Any]:
    return {
        "cidr": str(subnet.cidr),
        "ip_version": subnet.version,
        "gateway_ip": None if subnet.gateway is None else str(subnet.gateway),
        "allocation_pools": [p.as_dict() for p in subnet.pools],
        "dns_nameservers": [str(d) for d in subnet.dns],
    }


def _dns(body: dict[str, Any]) -> list[Any]:
    value = body.get("dns_nameservers") or []
    if not isinstance(value, list):
        raise InvalidInput("dns_nameservers must be a list of addresses", field="dns_nameservers")
    return value


def _pools(body: dict[str, Any]) -> list[Any] | None:
    value = body.get("allocation_pools")
    if value is not None and not isinstance(value, list):
        raise InvalidInput(
            'allocation_pools must be a list of {"start": ..., "end": ...}',
            field="allocation_pools",
        )
    return value


def create_subnet(svc: Services, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    """`gateway_ip` left out: the first usable address; null: no gateway."""
    reject_unknown(
        body, {"name", "network", "cidr", "gateway_ip", "allocation_pools", "dns_nameservers"}
    )
    name = text_field(body, "name", required=False)
    network = text_field(body, "network", required=True)
    if body.get("cidr") is None:
        raise InvalidInput("cidr is required, e.g. 10.20.0.0/24 or 2001:db8:20::/64", field="cidr")
    subnet = ipam.make_subnet(
        body["cidr"],
        gateway=body.get("gateway_ip", ipam.DEFAULT_GATEWAY),
        pools=_pools(body),
        dns=_dns(body),
    )
    with svc.db.write() as conn:
        net = _network_row(conn, caller, str(network))
        _check_owner(caller, net, "add subnets to")
        others = dict(net_db.subnet_cidrs(conn, net["id"]))
        clash = ipam.overlapping(subnet.cidr, [ipam.parse_cidr(c) for c in others.values()])
        if clash is not None:
            raise Conflict(
                f"{subnet.cidr} overlaps {clash}, a subnet of network {net['name']} already: "
                "choose a disjoint range",
                field="cidr",
            )
        uuid = new_uuid()
        net_db.insert_subnet(
            conn, {"uuid": uuid, "name": name, "network_id": net["id"], **_stored(subnet)}
        )
        row = _subnet_row(conn, caller, uuid)
    caller.acted_on("subnet", uuid, name)
    return _subnet_out(row)


def list_subnets(svc: Services, caller: Caller, network: str | None = None) -> list[dict[str, Any]]:
    with svc.db.read() as conn:
        network_id = None if network is None else _network_row(conn, caller, network)["id"]
        return [_subnet_out(r) for r in net_db.list_subnets(conn, _projects(caller), network_id)]


def show_subnet(svc: Services, caller: Caller, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return _subnet_out(_subnet_row(conn, caller, ident))


def _subnet_network(conn: Connection, caller: Caller, row: dict[str, Any]) -> dict[str, Any]:
    return _network_row(conn, caller, row["network"])


def update_subnet(
    svc: Services, caller: Caller, ident: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Name, gateway, pools and DNS servers (validated again against the CIDR, which is fixed).
    The gateway may not be an address already handed out."""
    if "cidr" in body or "network" in body:
        key = "cidr" if "cidr" in body else "network"
        raise InvalidInput(
            f"{key} of a subnet cannot change: create another subnet instead", field=key
        )
    reject_unknown(body, {"name", "gateway_ip", "allocation_pools", "dns_nameservers"})
    with svc.db.write() as conn:
        row = _subnet_row(conn, caller, ident)
        caller.acted_on("subnet", row["uuid"], row["name"])
        _check_owner(caller, _subnet_network(conn, caller, row), "change subnets of")
        subnet = ipam.make_subnet(
            row["cidr"],
            gateway=body["gateway_ip"] if "gateway_ip" in body else row["gateway_ip"],
            pools=_pools(body) if "allocation_pools" in body else row["allocation_pools"],
            dns=_dns(body) if "dns_nameservers" in body else row["dns_nameservers"],
        )
        if subnet.gateway is not None and str(subnet.gateway) in ipam_db.used(conn, row["id"]):
            raise Conflict(
                f"{subnet.gateway} is allocated to a NIC of subnet {row['name'] or row['uuid']}: "
                "choose another gateway or release the address first",
                field="gateway_ip",
            )
        values = _stored(subnet)
        if "name" in body:
            values["name"] = text_field(body, "name", required=False)
        net_db.update_subnet(conn, row["id"], values)
        return _subnet_out(_subnet_row(conn, caller, row["uuid"]))


def delete_subnet(svc: Services, caller: Caller, ident: str) -> None:
    with svc.db.write() as conn:
        row = _subnet_row(conn, caller, ident)
        caller.acted_on("subnet", row["uuid"], row["name"])
        _check_owner(caller, _subnet_network(conn, caller, row), "delete subnets of")
        held = ipam_db.count(conn, row["id"])
        if held:
            raise Conflict(
                f"subnet {row['name'] or row['uuid']} still hands out {held} address(es): "
                "detach the NICs that hold them first"
            )
        net_db.delete_subnet(conn, row["id"])


# Addresses -----------------------------------------------------------------------------------


def allocate_address_in(
    conn: Connection,
    caller: Caller,
    subnet: str,
    *,
    address: str | None = None,
    host_nic_id: int | None = None,
) -> dict[str, Any]:
    """Inside the caller's transaction (a NIC and its addresses commit together): one address
    of `subnet`, the one asked for or the lowest free. The subnet's network must be one of the
    caller's projects' or shared (or the caller the cloud admin)."""
    row = _subnet_row(conn, caller, subnet)
    net = _subnet_network(conn, caller, row)
    if not net["shared"]:
        _check_owner(caller, net, "allocate addresses on")
    got = ipam_db.allocate(conn, row, host_nic_id=host_nic_id, address=address)
    return {"subnet": row["uuid"], "address": got}


def allocate_address(
    svc: Services, caller: Caller, subnet: str, *, address: str | None = None
) -> dict[str, Any]:
    """One address of `subnet` in its own transaction (`allocate_address_in`)."""
    with svc.db.write() as conn:
        return allocate_address_in(conn, caller, subnet, address=address)


def release_address(svc: Services, caller: Caller, subnet: str, address: str) -> None:
    with svc.db.write() as conn:
        row = _subnet_row(conn, caller, subnet)
        _check_owner(caller, _subnet_network(conn, caller, row), "release addresses of")
        canonical = str(ipam.parse_address(address, field="ip_address"))
        if not ipam_db.release(conn, row["id"], canonical):
            raise NotFound(f"{canonical} is not allocated in subnet {row['name'] or row['uuid']}")


def addresses(svc: Services, caller: Caller, subnet: str) -> list[dict[str, Any]]:
    """The addresses a subnet hands out, oldest first."""
    with svc.db.read() as conn:
        row = _subnet_row(conn, caller, subnet)
        return ipam_db.allocations(conn, row["id"])
