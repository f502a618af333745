"""Switches: the devices Ironworks drives (dynamic scheme) or writes commands for
(post-configured), one physical network each. Cloud admin only, reads included.

`vendor` is a key of `drivers/switches.DRIVERS` (cisco_ios, huawei, ..., linux-bridge).
The login password and the enable `secret` are sealed with the services' SecretBox before they
reach the database, as BMC passwords are (common/crypto.py), and every output shows `******` in
their place. An update that sends `******` back (a client that edits what it listed) keeps the
stored value; `null` or "" clears it. `access` opens them for a driver, and only it.

`node_network` shows where a node's switch ports are (what the conductor's switch step,
conductor/switching.py, left in its driver_internal_info) and, in a confirm state (inspect/clean/deploy confirm), the
commands a post-configured switch needs; `confirm_network` lets the node go on once an operator
applied them.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import Conflict, InvalidInput, NotFound
from ironworks.common.ids import new_uuid
from ironworks.db import jobs as job_db
from ironworks.db import networks as net_db
from ironworks.db import nodes as node_db
from ironworks.db import ports as port_db
from ironworks.db import switches as switch_db
from ironworks.db.engine import utcnow
from ironworks.domain import states
from ironworks.drivers.switches import DRIVERS, SwitchAccess, access_of
from ironworks.services.context import Caller, Services
from ironworks.services.networks import reject_unknown, require_admin, text_field

MASK = "******"
SECRETS = ("password", "secret")
FIELDS = (
    "uuid",
    "name",
    "vendor",
    "address",
    "port",
    "username",
    "password",
    "secret",
    "physical_network",
    "description",
    "created_at",
    "updated_at",
)
WRITABLE = {
    "name",
    "vendor",
    "address",
    "port",
    "username",
    "password",
    "secret",
    "physical_network",
    "description",
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")


def _out(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in FIELDS}
    for key in SECRETS:
        out[key] = MASK if row[key] else None
    return out


def _row(conn: Connection, ident: str) -> dict[str, Any]:
    row = switch_db.get(conn, ident)
    if row is None:
        raise NotFound(f"switch {ident} could not be found")
    return row


def _check(
    svc: Services, conn: Connection, body: dict[str, Any], stored: dict[str, Any] | None
) -> dict[str, Any]:
    """The columns to write from `body` (all required fields when `stored` is None)."""
    reject_unknown(body, WRITABLE)
    create = stored is None
    values: dict[str, Any] = {}
    if create or "name" in body:
        name = body.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidInput(
                "name must be letters, digits, '.', '_' or '-' (start with a letter or digit)",
                field="name",
            )
        values["name"] = name
    if create or "vendor" in body:
        if body.get("vendor") not in DRIVERS:
            raise InvalidInput(
                f"vendor {body.get('vendor')!r} has no driver: use one of "
                f"{', '.join(sorted(DRIVERS))}",
                field="vendor",
            )
        values["vendor"] = body["vendor"]
    for key in ("address", "username"):
        if create or key in body:
            values[key] = text_field(body, key, required=True)
    if create or "port" in body:
        port = body.get("port", 22)
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise InvalidInput("port must be a TCP port number from 1 to 65535", field="port")
        values["port"] = port
    if create or "physical_network" in body:
        ident = text_field(body, "physical_network", required=True)
        physnet = net_db.get_physical_network(conn, str(ident))
        if physnet is None:
            raise NotFound(f"physical network {ident} could not be found")
        values["physical_network_id"] = physnet["id"]
    if "description" in body:
        values["description"] = body["description"]
    given = {}
    for key in SECRETS:
        if key not in body:
            continue
        value = body[key]
        if value == MASK and stored is not None:
            continue  # the masked value sent back: keep what is stored
        if value not in (None, "") and not isinstance(value, str):
            raise InvalidInput(f"{key} must be a string", field=key)
        given[key] = value or None
    sealed = svc.secrets.seal(
        given, lambda _key: True, stored=stored and {k: stored[k] for k in SECRETS}, field="switch"
    )
    values.update(sealed)
    return values


def create(svc: Services, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    require_admin(caller, "add switches")
    try:
        with svc.db.write() as conn:
            values = _check(svc, conn, body, None)
            uuid = new_uuid()
            switch_db.insert(conn, {"uuid": uuid, **values})
            row = _row(conn, uuid)
    except IntegrityError:
        raise Conflict(
            f"a switch named {body.get('name')!r} already exists", field="name"
        ) from None
    caller.acted_on("switch", row["uuid"], row["name"])
    return _out(row)


def list_switches(
    svc: Services, caller: Caller, physical_network: str | None = None
) -> list[dict[str, Any]]:
    require_admin(caller, "list switches")
    with svc.db.read() as conn:
        physnet_id = None
        if physical_network is not None:
            physnet = net_db.get_physical_network(conn, physical_network)
            if physnet is None:
                raise NotFound(f"physical network {physical_network} could not be found")
            physnet_id = physnet["id"]
        return [_out(r) for r in switch_db.list_switches(conn, physnet_id)]


def show(svc: Services, caller: Caller, ident: str) -> dict[str, Any]:
    require_admin(caller, "show switches")
    with svc.db.read() as conn:
        return _out(_row(conn, ident))


def update(svc: Services, caller: Caller, ident: str, body: dict[str, Any]) -> dict[str, Any]:
    require_admin(caller, "edit switches")
    try:
        with svc.db.write() as conn:
            row = _row(conn, ident)
            caller.acted_on("switch", row["uuid"], row["name"])
            values = _check(svc, conn, body, row)
            if values:
                switch_db.update(conn, row["id"], values)
            row = _row(conn, row["uuid"])
    except IntegrityError:
        raise Conflict(
            f"a switch named {body.get('name')!r} already exists", field="name"
        ) from None
    return _out(row)


def delete(svc: Services, caller: Caller, ident: str) -> None:
    require_admin(caller, "delete switches")
    with svc.db.write() as conn:
        row = _row(conn, ident)
        caller.acted_on("switch", row["uuid"], row["name"])
        switch_db.delete(conn, row["id"])


def access(svc: Services, ident: str) -> tuple[str, SwitchAccess]:
    """The vendor and the decrypted access of a switch, for its driver (conductor work)."""
    with svc.db.read() as conn:
        row = _row(conn, ident)
    opened = svc.secrets.open({k: row[k] or "" for k in SECRETS})
    return row["vendor"], access_of(row, opened["password"], opened["secret"])


# A node's switch ports: what they are on, and the post-configured scheme's confirmation -------


def node_network(svc: Services, caller: Caller, ident: str) -> dict[str, Any]:
    """A node's switch ports as the conductor left them (driver_internal_info["network"]) and,
    while it waits in a confirm state (inspect/clean/deploy confirm), the commands the operator must apply."""
    require_admin(caller, "see a node's switch configuration")
    with svc.db.read() as conn:
        node = node_db.get_node(conn, ident)
        ports = [r for which, r in port_db.of_node(conn, node["id"]) if which == "ports"]
    return _network_view(node, ports)


def _network_view(node: dict[str, Any], ports: list[dict[str, Any]]) -> dict[str, Any]:
    net = (node["driver_internal_info"] or {}).get("network") or {}
    where = net.get("ports") or {}
    pending = net.get("pending")
    return {
        "node": node["uuid"],
        "provision_state": node["provision_state"],
        "waiting": node["provision_state"] in states.NETWORK_WAIT_STATES,
        "pending": None
        if pending is None
        else {
            "step": pending["step"],
            "since": pending.get("since"),
            "confirmed": pending.get("confirmed"),
            "switches": [
                {k: entry[k] for k in ("switch", "vendor", "address", "commands")}
                for entry in pending.get("switches", [])
            ],
        },
        "ports": [
            {
                "port": p["uuid"],
                "address": p["address"],
                "physical_network": p["physical_network"],
                "switch": (where.get(p["uuid"]) or {}).get("switch"),
                "switch_port": (where.get(p["uuid"]) or {}).get("port")
                or (p["local_link_connection"] or {}).get("port_id"),
                "vlan": (where.get(p["uuid"]) or {}).get("vlan"),
                "lag": (where.get(p["uuid"]) or {}).get("lag"),
                "network": (where.get(p["uuid"]) or {}).get("network"),
                "known": p["uuid"] in where,
            }
            for p in ports
        ],
    }


def confirm_network(
    svc: Services, caller: Caller, ident: str, step: str | None = None
) -> dict[str, Any]:
    """The operator applied the shown switch commands: the node goes on with its step (a job
    resumes it; the step takes the pending ports as moved). `step`, when given, must be the
    step the node waits for, so a confirmation meant for an earlier wait cannot release a later
    one."""
    require_admin(caller, "confirm a node's switch configuration")
    with svc.db.write() as conn:
        node = node_db.get_node(conn, ident)
        caller.acted_on("node", node["uuid"], node["name"])
        state = node["provision_state"]
        info = copy.deepcopy(node["driver_internal_info"] or {})
        pending = (info.get("network") or {}).get("pending")
        if state not in states.NETWORK_WAIT_STATES or not pending:
            raise Conflict(
                f"Node {node['uuid']} is in state '{state}' and waits for no switch "
                "configuration: a confirmation is taken only in 'inspect confirm', "
                "'clean confirm' or 'deploy confirm'."
            )
        if step is not None and step != pending["step"]:
            raise Conflict(
                f"Node {node['uuid']} waits for the switch configuration of step "
                f"'{pending['step']}', not '{step}': apply that step's commands "
                f"(GET /api/v1/nodes/{node['uuid']}/network) and confirm it.",
                field="step",
            )
        if node["reservation"] is not None:
            raise node_db.locked_error(node, node["reservation"], "network confirm")
        now = utcnow()
        pending["confirmed"] = {"by": caller.user, "at": now.isoformat()}
        target = states.next_state(state, states.RESUME)
        switches = ", ".join(e["switch"] for e in pending["switches"])
        ok = job_db.accept(
            conn,
            node["id"],
            {"provision_state": target, "provision_updated_at": now, "driver_internal_info": info},
            expect={"provision_state": state, "reservation": None},
            event={
                "event": f"network confirm: switch configuration of step '{pending['step']}' "
                f"applied on {switches}: {state} -> {target}",
                "event_type": "network",
                "from_state": state,
                "to_state": target,
                "duration": node_db.seconds_in_state(node),
                "user": caller.user,
                "request_id": caller.request_id,
            },
            job=("provision", {"resume": True}, caller.request_id),
        )
        if not ok:
            raise Conflict(
                f"Node {node['uuid']} changed while the request was handled; retry the request"
            )
        ports = [r for which, r in port_db.of_node(conn, node["id"]) if which == "ports"]
        view = _network_view(
            {**node, "provision_state": target, "driver_internal_info": info}, ports
        )
    job_db.wake()
    return view
