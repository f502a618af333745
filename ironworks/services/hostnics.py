"""Host NICs (virtual NIC management) and Ironic's VIFs: one set of records, `host_nics`.

A host NIC attaches a host to one network. It is bound to one *slot* of the host's node: a port
group, or a port that is in no port group (each slot at most once), and has that slot's MAC, its
network and its addresses. The number of NICs a host can have is the number of its node's slots
(the PRD: "multiple NICs, bounded by the physical NICs"); a slot cabled to a physical network
(`physical_network` of the port or port group) serves only networks of that physical network,
one without it serves any (`assign`).

Addresses: one per IP version the network has subnets for. `fixed_ip` picks its subnet (the one
containing it); every other version gets the lowest free address of its first subnet that still
has one. A network without subnets gives a NIC without addresses.

Which networks a host's NICs may use: its project's own tenant networks and the shared ones; not
another project's, nor the cloud's provisioning, cleaning or external networks.

The default network (a host created without `networks`): the project's only tenant network of
its own. A project with none gets hosts without NICs; one with several must name them
(`networks`; `[]` asks for none).

Everything here runs inside the caller's transaction, so a host, its NICs and their addresses
commit or roll back together: a pool exhausted on the second NIC leaves nothing behind.

Ironic's VIF API (`/v1/nodes/{id}/vifs`) reads and writes the same rows: a NIC made here is the
VIF whose id is its uuid; a VIF attached there is a NIC with the client's id as `vif_id`, on the
network named in its `network` key (an Ironworks extension), or on none (no addresses, no switch
work: Ironic without Neutron). Port and port group answers show the bound VIF in
`internal_info.tenant_vif_port_id`, as Ironic does.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import Conflict, InvalidInput, NotFound
from ironworks.common.ids import new_uuid
from ironworks.db import hostnics as nic_db
from ironworks.db import hosts as host_db
from ironworks.db import ipam as ipam_db
from ironworks.db import jobs as job_db
from ironworks.db import networks as net_db
from ironworks.db import nodes as node_db
from ironworks.db import ports as port_db
from ironworks.domain import ipam, states
from ironworks.services.context import Caller, Services

FIELD = "networks"


@dataclass(frozen=True)
class Wanted:
    """One NIC asked for: its network's row, an address asked for, and where the request names
    them (`prefix`: "networks.1." in a create, "" in an attach)."""

    network: dict[str, Any]
    fixed_ip: str | None
    prefix: str


# --- what a request asks for --------------------------------------------------------------------


def _items(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise InvalidInput(
            'networks must be a list of {"network": name or id, "fixed_ip": address}',
            field=FIELD,
        )
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("network"), str | int):
            raise InvalidInput(
                f'networks.{i} must be {{"network": name or id, "fixed_ip": address}}',
                field=f"{FIELD}.{i}.network",
            )
        extra = sorted(set(item) - {"network", "fixed_ip"})
        if extra:
            raise InvalidInput(
                f"unknown field {extra[0]!r} in networks.{i}", field=f"{FIELD}.{i}.{extra[0]}"
            )
    return value


def network_for(conn: Connection, project_id: int, ident: str, field: str) -> dict[str, Any]:
    """A network a host of the project may be on: its own tenant networks and shared ones."""
    rows = net_db.find_networks(conn, ident, [project_id])
    if not rows:
        raise NotFound(f"network {ident} could not be found", field=field)
    if len(rows) > 1:
        raise InvalidInput(f"{len(rows)} networks are named {ident!r}; use its id", field=field)
    row = rows[0]
    if row["role"] != "tenant" or (row["external"] and not row["shared"]):
        role = "external" if row["role"] == "tenant" else row["role"]
        raise InvalidInput(
            f"network {row['name']} is the cloud's {role} network: a host's NICs go on its "
            "project's networks or shared ones (floating IPs reach the external network)",
            field=field,
        )
    return row


def default_network(conn: Connection, project: dict[str, Any]) -> dict[str, Any] | None:
    """The project's only tenant network of its own; None when it has none."""
    own = net_db.list_networks(
        conn, [project["id"]], {"project_id": project["id"], "role": "tenant"}
    )
    if len(own) > 1:
        names = ", ".join(sorted(r["name"] for r in own))
        raise InvalidInput(
            f"project {project['name']} has {len(own)} networks ({names}): name the host's in "
            'networks, e.g. [{"network": "' + own[0]["name"] + '"}], or [] for none',
            field=FIELD,
        )
    return own[0] if own else None


def wanted(conn: Connection, project: dict[str, Any], value: Any, count: int = 1) -> list[Wanted]:
    """The NICs a create asks for (`networks`, or the project's default network)."""
    if value is None:
        net = default_network(conn, project)
        return [] if net is None else [Wanted(net, None, f"{FIELD}.0.")]
    out = []
    for i, item in enumerate(_items(value)):
        net = network_for(conn, project["id"], str(item["network"]), f"{FIELD}.{i}.network")
        fixed = item.get("fixed_ip")
        if fixed is not None:
            if count > 1:
                raise InvalidInput(
                    f"networks.{i}.fixed_ip: an address goes to one host; leave it out when "
                    "creating several hosts at once",
                    field=f"{FIELD}.{i}.fixed_ip",
                )
            fixed = str(ipam.parse_address(fixed, field=f"{FIELD}.{i}.fixed_ip"))
        out.append(Wanted(net, fixed, f"{FIELD}.{i}."))
    return out


# --- binding to a node's ports ------------------------------------------------------------------


def _serves(slot: dict[str, Any], physnet: str | None) -> bool:
    return physnet is None or slot["physical_network"] in (None, physnet)


def _preference(slot: dict[str, Any], physnet: str | None) -> tuple[bool, bool, bool]:
    """Cabled to the network's own fabric first (those serve nothing else), then port groups,
    then PXE-enabled ports, as Ironic's network interfaces choose."""
    exact = physnet is not None and slot["physical_network"] == physnet
    return (not exact, slot["kind"] != "portgroups", not slot["pxe_enabled"])


def assign(slots: list[dict[str, Any]], physnets: list[str | None]) -> list[dict[str, Any]] | None:
    """One free slot for each NIC (its network's physical network, None: any), or None when the
    node has too few. Greedy is exact: a slot cabled to a fabric serves only that fabric's NICs,
    so taking those first never takes one another NIC needed."""
    free = [s for s in slots if not s["taken"]]
    out = []
    for physnet in physnets:
        fits = sorted(
            (s for s in free if _serves(s, physnet)), key=lambda s: _preference(s, physnet)
        )
        if not fits:
            return None
        out.append(fits[0])
        free.remove(fits[0])
    return out


def _physnets(want: list[Wanted]) -> list[str | None]:
    return [w.network["physical_network"] for w in want]


def with_room(
    conn: Connection, nodes: list[dict[str, Any]], want: list[Wanted], flavor: str
) -> list[dict[str, Any]]:
    """The nodes (kept in order) with a free slot for each NIC asked for; a 400 naming
    `networks` when some node matches the flavor but none has the slots. Nothing is written."""
    if not want or not nodes:
        return nodes
    by_node = nic_db.slots(conn, [n["id"] for n in nodes])
    physnets = _physnets(want)
    room = [n for n in nodes if assign(by_node[n["id"]], physnets) is not None]
    if not room:
        most = max(sum(not s["taken"] for s in by_node[n["id"]]) for n in nodes)
        fabrics = sorted({p for p in physnets if p is not None})
        on = f" on physical network(s) {', '.join(fabrics)}" if fabrics else ""
        raise InvalidInput(
            f"{len(want)} NIC(s) were asked for, but the nodes that match flavor {flavor} have "
            f"at most {most} free physical port(s) or port group(s){on}: a host has at most "
            "one NIC per physical port; ask for fewer networks",
            field=FIELD,
        )
    return room


def bind(conn: Connection, host_id: int, node_id: int, want: list[Wanted]) -> list[int]:
    """Create the NICs of a host on its (claimed) node, with their addresses; their ids."""
    if not want:
        return []
    slots = assign(nic_db.slots(conn, [node_id])[node_id], _physnets(want))
    if slots is None:  # the node's ports changed since the scheduler read them
        raise Conflict(
            "the node's ports changed while the host was created; try again", field=FIELD
        )
    return [
        _add(conn, w, s, host_id=host_id, node_id=node_id) for w, s in zip(want, slots, strict=True)
    ]


def _add(
    conn: Connection,
    w: Wanted | None,
    slot: dict[str, Any],
    *,
    host_id: int | None,
    node_id: int,
    vif_id: str | None = None,
) -> int:
    uuid = new_uuid()
    values = {
        "uuid": uuid,
        "vif_id": vif_id or uuid,
        "host_id": host_id,
        "node_id": node_id,
        "network_id": None if w is None else w.network["id"],
        "mac": slot["mac"],
        "port_id": slot["id"] if slot["kind"] == "ports" else None,
        "portgroup_id": slot["id"] if slot["kind"] == "portgroups" else None,
    }
    try:
        nic_id = nic_db.insert(conn, values)
    except IntegrityError:
        raise Conflict(
            f"the {slot['kind'][:-1].replace('portgroup', 'port group')} {slot['uuid']} or the "
            "VIF id was taken meanwhile; try again",
            field=FIELD if w is None else f"{w.prefix}network",
        ) from None
    if w is not None:
        allocate(conn, nic_id, w)
    return nic_id


def allocate(conn: Connection, nic_id: int, w: Wanted) -> None:
    """The NIC's addresses (see the module docstring), in the caller's transaction."""
    by_version: dict[int, list[dict[str, Any]]] = {}
    for row in net_db.list_subnets(conn, None, w.network["id"]):
        by_version.setdefault(row["ip_version"], []).append(row)
    done: set[int] = set()
    if w.fixed_ip is not None:
        field = f"{w.prefix}fixed_ip"
        address = ipaddress.ip_address(w.fixed_ip)
        home = next(
            (
                r
                for rows in by_version.values()
                for r in rows
                if address in ipam.parse_cidr(r["cidr"])
            ),
            None,
        )
        if home is None:
            raise InvalidInput(
                f"{address} is in no subnet of network {w.network['name']}", field=field
            )
        try:
            ipam_db.allocate(conn, home, host_nic_id=nic_id, address=str(address))
        except (Conflict, InvalidInput) as e:
            raise type(e)(e.message, field=field) from None
        done.add(home["ip_version"])
    for version, rows in sorted(by_version.items()):
        if version in done:
            continue
        failed: Conflict | None = None
        for row in rows:
            try:
                ipam_db.allocate(conn, row, host_nic_id=nic_id)
                break
            except Conflict as e:  # this subnet is full: the next one of the version
                failed = e
        else:
            assert failed is not None
            raise Conflict(
                f"network {w.network['name']} has no free IPv{version} address: {failed.message}",
                field=f"{w.prefix}network",
            )


# --- reading ------------------------------------------------------------------------------------


def nic_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "uuid": row["uuid"],
        "vif_id": row["vif_id"],
        "network": row["network_uuid"],
        "network_name": row["network_name"],
        "mac": row["mac"],
        "port_uuid": row["port_uuid"],
        "portgroup_uuid": row["portgroup_uuid"],
        "fixed_ips": [
            {"address": a["address"], "subnet": a["subnet"], "ip_version": a["ip_version"]}
            for a in row["fixed_ips"]
        ],
        "created_at": row["created_at"],
    }


def of_hosts(conn: Connection, host_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    return {pk: [nic_out(r) for r in rows] for pk, rows in nic_db.of_hosts(conn, host_ids).items()}


def addresses_of(nics: list[dict[str, Any]]) -> list[str]:
    """A host's addresses, NIC by NIC."""
    return [ip["address"] for nic in nics for ip in nic["fixed_ips"]]


# --- the switch follows the NICs of a running host ---------------------------------------------


def follow_on_switch(
    conn: Connection, node_id: int, provision_state: str, why: str, caller: Caller
) -> bool:
    """A NIC of the active node came or went: queue the conductor's `network` job, which moves
    the node's switch ports to what its NICs now say (conductor.Conductor._network). Nothing to
    do for a node that is not active (its next deploy step moves them) or has no switched port.
    The caller commits, then calls job_db.wake()."""
    if provision_state != states.ACTIVE or not net_db.switched_ports(conn, node_id):
        return False
    job_db.enqueue(conn, node_id, "network", {"why": why}, request_id=caller.request_id)
    return True


# --- attach and detach on an active host (services/hosts.py finds the host) ----------------------


def attach(conn: Connection, host: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A NIC on `body["network"]` (and `fixed_ip`) for the host, bound to a free slot of its
    node; a 400 naming `network` when the node has none left."""
    extra = sorted(set(body) - {"network", "fixed_ip"})
    if extra:
        raise InvalidInput(f"unknown field {extra[0]!r}", field=extra[0])
    if not isinstance(body.get("network"), str | int):
        raise InvalidInput("network is required (its name or id)", field="network")
    nic_db.lock_host(conn, host["id"])
    net = network_for(conn, host["project_id"], str(body["network"]), "network")
    fixed = body.get("fixed_ip")
    if fixed is not None:
        fixed = str(ipam.parse_address(fixed, field="fixed_ip"))
    slots = nic_db.slots(conn, [host["node_id"]])[host["node_id"]]
    picked = assign(slots, [net["physical_network"]])
    if picked is None:
        used = sum(s["taken"] for s in slots)
        raise InvalidInput(
            f"host {host['name']} has no free physical port or port group"
            + (f" on physical network {net['physical_network']}" if net["physical_network"] else "")
            + f": its node has {len(slots)}, {used} with a NIC; detach one first",
            field="network",
        )
    nic_id = _add(
        conn, Wanted(net, fixed, ""), picked[0], host_id=host["id"], node_id=host["node_id"]
    )
    return nic_out(nic_db.get(conn, nic_id))


def nic_row(conn: Connection, host: dict[str, Any], ident: str) -> dict[str, Any]:
    row = nic_db.find(conn, ident, host_id=host["id"])
    if row is None:
        raise NotFound(f"host {host['name']} has no NIC {ident}", field="nic")
    return row


def detach(conn: Connection, host: dict[str, Any], ident: str) -> None:
    """Delete the NIC and release its addresses."""
    nic_db.lock_host(conn, host["id"])
    nic_db.delete(conn, nic_row(conn, host, ident)["id"])


# --- Ironic's VIF API ---------------------------------------------------------------------------


def list_vifs(svc: Services, node_ident: str) -> list[dict[str, str]]:
    with svc.db.read() as conn:
        node = node_db.get_node(conn, node_ident)
        return [{"id": r["vif_id"]} for r in nic_db.of_node(conn, node["id"])]


def _vif_network(conn: Connection, host: dict[str, Any] | None, ident: Any) -> dict[str, Any]:
    if not isinstance(ident, str) or not ident:
        raise InvalidInput("network must be a network's name or id", field="network")
    if host is not None:
        return network_for(conn, host["project_id"], ident, "network")
    rows = [r for r in net_db.find_networks(conn, ident, None) if r["role"] == "tenant"]
    if len(rows) != 1:
        raise InvalidInput(
            f"network {ident} is not one tenant network (found {len(rows)})", field="network"
        )
    return rows[0]


def _explicit_slot(
    conn: Connection, node: dict[str, Any], which: str, ident: str
) -> dict[str, Any]:
    row = port_db.find(conn, which, ident)
    word = "port" if which == "ports" else "port group"
    if row is None or row["node_id"] != node["id"]:
        raise InvalidInput(f"{word} {ident} is not one of node {node['uuid']}'s", field="id")
    if nic_db.vif_on(conn, which, row["id"]) is not None:
        raise InvalidInput(
            f"Unable to attach the VIF: {word} {ident} already has one; detach it first",
            field="id",
        )
    mac = row["address"]
    if mac is None and which == "portgroups":
        slots = nic_db.slots(conn, [node["id"]])[node["id"]]
        mac = next((s["mac"] for s in slots if s["id"] == row["id"] and s["kind"] == which), None)
    return {
        "kind": which,
        "id": row["id"],
        "uuid": row["uuid"],
        "mac": mac,
        "physical_network": row["physical_network"],
        "pxe_enabled": row.get("pxe_enabled", True),
        "taken": False,
    }


def attach_vif(svc: Services, node_ident: str, body: dict[str, Any], caller: Caller) -> None:
    """`POST /v1/nodes/{id}/vifs`: a NIC with the client's VIF id on the node, on a free slot
    (or the port / port group named), for the host the node carries if any."""
    vif = body.get("id")
    if not isinstance(vif, str) or not vif or len(vif) > 255:
        raise InvalidInput("id of the VIF is required (at most 255 characters)", field="id")
    with svc.db.write() as conn:
        node = node_db.get_node(conn, node_ident)
        if node["reservation"] is not None:
            raise node_db.locked_error(node, node["reservation"], "attach VIF")
        elsewhere = nic_db.node_of_vif(conn, vif)
        if elsewhere is not None:
            where = node["uuid"] if elsewhere == node["id"] else "another node"
            raise Conflict(f"VIF {vif} is already attached to {where}")
        host = host_db.on_node(conn, node["id"])
        if host is not None:
            nic_db.lock_host(conn, host["id"])
        net = None if body.get("network") is None else _vif_network(conn, host, body["network"])
        if body.get("port_uuid") or body.get("portgroup_uuid"):
            which = "ports" if body.get("port_uuid") else "portgroups"
            slot = _explicit_slot(
                conn, node, which, str(body.get("port_uuid") or body["portgroup_uuid"])
            )
        else:
            physnet = None if net is None else net["physical_network"]
            picked = assign(nic_db.slots(conn, [node["id"]])[node["id"]], [physnet])
            if picked is None:
                raise InvalidInput(
                    f"Unable to attach VIF {vif}, not enough free physical ports on node "
                    f"{node['uuid']}: add a port or detach a VIF",
                    field="id",
                )
            slot = picked[0]
        w = None if net is None else Wanted(net, None, "")
        _add(
            conn,
            w,
            slot,
            host_id=None if host is None else host["id"],
            node_id=node["id"],
            vif_id=vif,
        )
        node_db.record_event(
            conn,
            node["id"],
            f"VIF {vif} attached to {slot['uuid']}",
            event_type="network",
            user=caller.user,
            request_id=caller.request_id,
        )
        queued = follow_on_switch(
            conn, node["id"], node["provision_state"], f"VIF {vif} attached", caller
        )
    if queued:
        job_db.wake()


def detach_vif(svc: Services, node_ident: str, vif: str, caller: Caller) -> None:
    """`DELETE /v1/nodes/{id}/vifs/{vif}`: the NIC goes, its addresses are released."""
    with svc.db.write() as conn:
        node = node_db.get_node(conn, node_ident)
        if node["reservation"] is not None:
            raise node_db.locked_error(node, node["reservation"], "detach VIF")
        row = nic_db.find(conn, vif, node_id=node["id"])
        if row is None:
            raise InvalidInput(f"VIF {vif} is not attached to node {node_ident}", field="vif")
        nic_db.delete(conn, row["id"])
        node_db.record_event(
            conn,
            node["id"],
            f"VIF {vif} detached",
            event_type="network",
            user=caller.user,
            request_id=caller.request_id,
        )
        queued = follow_on_switch(
            conn, node["id"], node["provision_state"], f"VIF {vif} detached", caller
        )
    if queued:
        job_db.wake()
