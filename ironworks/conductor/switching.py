"""The switch step of the provision state machine: where a node's switch ports go, per scheme.

A provision step calls `Switching.run(task, step)` when its node's ports must move
(`domain.network.port_plan`): inspect, clean and deploy at their start, active before the final
reboot, undeploy after the power-off of the tear-down, available when cleaning is over. For each
port of the node:

    port.physical_network -> physical network (its scheme) -> its switch(es)
    port.local_link_connection: switch_info (which switch, when the physical network has more
    than one) and port_id (the switch's name of the port)

and the segment the step wants (the `provisioning` / `cleaning` network's VLAN, the VLAN of the
host NIC bound to the port or its port group from `host_nics`, the switch's default VLAN). What
the ports are on is remembered in `driver_internal_info["network"]["ports"]`, so a step that
runs again (a resume, a crash) sends nothing for ports already in place.

* dynamic: the changes are grouped per switch and applied through the switch driver, one batch
  (one session, one save) per switch; the step waits for it. A failure fails the step with the
  driver's sentence (switch, port, command); what the batch changed before it is recorded in the
  node's history and in the ports map (a port half-moved is forgotten, so the next run moves it
  again).
* post-configured: the same changes are rendered (`SwitchDriver.script`) and kept as
  `driver_internal_info["network"]["pending"]`; the step returns "wait" and the node waits in
  its confirm state (inspect/clean/deploy confirm) until an operator confirms (services/switches.py) or the
  `timeouts.network_confirm` fails it. After the confirmation the step runs again, takes the
  pending changes as done and goes on.
* pre-configured: nothing is sent; the mapping is recorded in the history.

Ports without a physical network, on a physical network Ironworks does not know, or on one
without switches are left alone (a no-op, as before tenant networking).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ironworks.boot import configdrive
from ironworks.common.crypto import SecretBox
from ironworks.common.errors import InvalidInput
from ironworks.db import hostnics as nic_db
from ironworks.db import networks as net_db
from ironworks.db import ports as port_db
from ironworks.db import switches as switch_db
from ironworks.db.engine import Database, utcnow
from ironworks.domain.network import (
    BondMode,
    NetworkScheme,
    Segment,
    Step,
    SwitchOp,
    parse_bond_mode,
    port_plan,
)
from ironworks.drivers.base import Task
from ironworks.drivers.switches import (
    AddLagPorts,
    Change,
    CreateVlan,
    RemoveLagPorts,
    RestoreDefaultVlan,
    SetAccessVlan,
    SwitchAccess,
    SwitchDriver,
    access_of,
    driver_for,
)
from ironworks.drivers.switches.errors import SwitchError

log = logging.getLogger(__name__)

KEY = "network"  # driver_internal_info[KEY]: {"ports", "pending", "marks"}
DriverFor = Callable[[str, SwitchAccess], SwitchDriver]


@dataclass
class Wire:
    """One node port and the switch port it is cabled to."""

    port: dict[str, Any]
    switch: dict[str, Any]
    switch_port: str
    scheme: NetworkScheme
    physical_network: str


@dataclass(frozen=True)
class Target:
    """Where a port belongs: on `vlan` (None: the switch's default VLAN), inside LAG `lag`."""

    vlan: int | None
    lag: int | None = None
    network: str = ""  # for people: which network that is

    def matches(self, current: dict[str, Any] | None, wire: Wire) -> bool:
        return current is not None and current == self.record(wire)

    def record(self, wire: Wire) -> dict[str, Any]:
        return {
            "switch": wire.switch["name"],
            "port": wire.switch_port,
            "vlan": self.vlan,
            "lag": self.lag,
            "network": self.network,
        }


@dataclass
class Batch:
    """The changes of one switch for one step, and which ports each change completes."""

    switch: dict[str, Any]
    driver: SwitchDriver | None  # None for a pre-configured switch: nothing is sent to it
    scheme: NetworkScheme
    changes: list[Change] = field(default_factory=list)
    # the change that puts a port in place (its access VLAN or its LAG's), per port uuid
    final: dict[str, Change] = field(default_factory=dict)
    wires: dict[str, tuple[Wire, Target]] = field(default_factory=dict)

    def add(self, change: Change) -> Change:
        if change not in self.changes:
            self.changes.append(change)
        return change


def state_of(task: Task) -> dict[str, Any]:
    net = task.internal.setdefault(KEY, {})
    net.setdefault("ports", {})
    return net


def mark(task: Task, name: str) -> None:
    """Remember that a step got past `name` before waiting for the operator."""
    marks = state_of(task).setdefault("marks", [])
    if name not in marks:
        marks.append(name)


def marked(task: Task, name: str) -> bool:
    return name in (task.internal.get(KEY) or {}).get("marks", [])


def clear_marks(task: Task, *, pending: bool = False) -> None:
    """Forget the marks (and with `pending` the commands an operator was shown)."""
    net = task.internal.get(KEY) or {}
    net.pop("marks", None)
    if pending:
        net.pop("pending", None)


def _describe(target: Target) -> str:
    where = f"VLAN {target.vlan}" if target.vlan is not None else "the default VLAN"
    return f"{where} ({target.network})" if target.network else where


class Switching:
    """The conductor's switch work; `driver_for` is the seam tests and an SDN driver use."""

    def __init__(
        self, db: Database, secret_box: SecretBox, driver: DriverFor | None = None
    ) -> None:
        self.db = db
        self.secret_box = secret_box
        self.driver_for = driver or driver_for

    # --- what the step wants -------------------------------------------------------------------

    def _read(self, node_id: int) -> dict[str, Any]:
        with self.db.read() as conn:
            ports = net_db.switched_ports(conn, node_id)
            if not ports:
                return {}
            physnets = net_db.physical_networks_named(conn, {p["physical_network"] for p in ports})
            return {
                "ports": ports,
                "portgroups": {
                    r["id"]: r
                    for which, r in port_db.of_node(conn, node_id)
                    if which == "portgroups"
                },
                "physnets": physnets,
                "switches": {
                    pn["id"]: switch_db.list_switches(conn, pn["id"]) for pn in physnets.values()
                },
                "roles": {
                    role: net_db.network_with_role(conn, role)
                    for role in ("provisioning", "cleaning")
                },
                "nics": net_db.host_nics_of_node(conn, node_id),
            }

    @staticmethod
    def _wires(node: dict[str, Any], ctx: dict[str, Any]) -> list[Wire]:
        wires = []
        for port in ctx["ports"]:
            pn = ctx["physnets"].get(port["physical_network"] or "")
            switches = ctx["switches"].get(pn["id"]) if pn else None
            if not switches:
                continue  # no switch to move: nothing to do for this port
            llc = port["local_link_connection"] or {}
            info = llc.get("switch_info")
            chosen = [s for s in switches if info in (s["name"], s["address"])]
            if not chosen and len(switches) == 1 and not info:
                chosen = switches
            if len(chosen) != 1:
                raise InvalidInput(
                    f"Port {port['address']} of node {node['uuid']} is on physical network "
                    f"{pn['name']}, whose switches are {', '.join(s['name'] for s in switches)}; "
                    f"its local_link_connection.switch_info ({info!r}) names none of them: set "
                    "it to the switch's name.",
                    field="local_link_connection/switch_info",
                )
            if not llc.get("port_id"):
                raise InvalidInput(
                    f"Port {port['address']} of node {node['uuid']} is on physical network "
                    f"{pn['name']} (switch {chosen[0]['name']}) but has no "
                    "local_link_connection.port_id: set it to the switch port's name (LLDP "
                    "reports it during inspection).",
                    field="local_link_connection/port_id",
                )
            wires.append(
                Wire(port, chosen[0], str(llc["port_id"]), NetworkScheme(pn["scheme"]), pn["name"])
            )
        return wires

    @staticmethod
    def _role_target(ctx: dict[str, Any], segment: Segment, node: dict[str, Any]) -> Target:
        roles = ctx["roles"]
        net = roles["cleaning"] if segment is Segment.CLEANING else None
        net = net or roles["provisioning"]
        if net is None:
            raise InvalidInput(
                f"No network has the role 'provisioning', so the switch ports of node "
                f"{node['uuid']} have nowhere to go for {segment.value}: create the "
                "provisioning network (role provisioning) first.",
                field="role",
            )
        return Target(net["segmentation_id"], network=net["name"])

    @staticmethod
    def _tenant_targets(ctx: dict[str, Any], wires: list[Wire]) -> dict[str, Target]:
        by_port = {n["port_id"]: n for n in ctx["nics"] if n["port_id"] is not None}
        by_group = {n["portgroup_id"]: n for n in ctx["nics"] if n["portgroup_id"] is not None}
        members: dict[tuple[int, str], int] = defaultdict(int)  # (portgroup, switch) -> ports
        for w in wires:
            if w.port["portgroup_id"] is not None:
                members[(w.port["portgroup_id"], w.switch["name"])] += 1
        out = {}
        for w in wires:
            group_id = w.port["portgroup_id"]
            nic = by_port.get(w.port["id"]) or (by_group.get(group_id) if group_id else None)
            if nic is None:  # a port no NIC uses: off the provisioning network, isolated
                out[w.port["uuid"]] = Target(None, network="no host NIC: isolated")
                continue
            vlan = nic["segmentation_id"] if nic["network_type"] == "vlan" else None
            lag = None
            if nic["portgroup_id"] is not None and members[(group_id, w.switch["name"])] > 1:
                group = ctx["portgroups"][group_id]
                if _bond_mode(group).needs_switch_lag:
                    lag = int((group["properties"] or {}).get("lag") or group_id)
            out[w.port["uuid"]] = Target(vlan, lag, nic["network_name"])
        return out

    # --- the step --------------------------------------------------------------------------------

    def run(self, task: Task, step: Step, *, may_wait: bool = True) -> bool:
        """Put the node's ports where `step` wants them. True: done, go on. False: the
        operator must apply the rendered commands first (post-configured). With `may_wait`
        False (a step without a wait state: tear-down) post-configured ports are left for the
        next step. Raises IronworksError (a SwitchError names switch, port and command)."""
        node = task.node
        ctx = self._read(node["id"])
        if not ctx.get("ports"):
            return True
        wires = self._wires(node, ctx)
        if not wires:
            return True
        net = state_of(task)
        current: dict[str, Any] = net["ports"]
        targets = self._targets(ctx, wires, step, node)
        self._take_confirmed(task, net, step)
        batches = self._batches(wires, targets, current, step)
        for batch in batches:
            if batch.scheme is NetworkScheme.PRECONFIGURED:
                self._record(task, batch, step, current)
        for batch in batches:
            if batch.scheme is NetworkScheme.DYNAMIC:
                self._apply(task, batch, step, current)
        waiting = [b for b in batches if b.scheme is NetworkScheme.POSTCONFIGURED]
        if not waiting:
            net.pop("pending", None)
            return True
        if not may_wait:
            return True
        self._pend(task, net, waiting, step)
        return False

    def _targets(
        self, ctx: dict[str, Any], wires: list[Wire], step: Step, node: dict[str, Any]
    ) -> dict[str, Target]:
        segment = port_plan(NetworkScheme.DYNAMIC, step).segment
        if segment is Segment.TENANT:
            return self._tenant_targets(ctx, wires)
        if segment is Segment.DEFAULT:
            return {w.port["uuid"]: Target(None, network="released") for w in wires}
        try:
            target = self._role_target(ctx, segment, node)
        except InvalidInput:
            if any(w.scheme is not NetworkScheme.PRECONFIGURED for w in wires):
                raise
            # pre-configured only: nothing to move, so nothing is missing; say so in the record
            target = Target(None, network=f"{segment.value}: no network has this role")
        return {w.port["uuid"]: target for w in wires}

    def _batches(
        self,
        wires: list[Wire],
        targets: dict[str, Target],
        current: dict[str, Any],
        step: Step,
    ) -> list[Batch]:
        batches: dict[str, Batch] = {}
        for w in wires:
            target = targets[w.port["uuid"]]
            if target.matches(current.get(w.port["uuid"]), w):
                continue
            sw = w.switch
            batch = batches.get(sw["name"])
            if batch is None:
                driver = None if w.scheme is NetworkScheme.PRECONFIGURED else self._driver(sw)
                batch = batches[sw["name"]] = Batch(sw, driver, w.scheme)
            batch.wires[w.port["uuid"]] = (w, target)
        plan_ops = port_plan(NetworkScheme.DYNAMIC, step).ops
        for batch in batches.values():
            if batch.driver is None:
                continue  # pre-configured: recorded, never sent
            lags: dict[int, list[str]] = defaultdict(list)
            for uuid, (w, target) in batch.wires.items():
                was = (current.get(uuid) or {}).get("lag")
                if was is not None and was != target.lag:
                    batch.add(RemoveLagPorts(was, (w.switch_port,)))
                if target.vlan is not None and SwitchOp.CREATE_VLAN in plan_ops:
                    name = f"ironworks-{target.vlan}"
                    batch.add(CreateVlan(target.vlan, name))
                if target.lag is not None:
                    lags[target.lag].append(w.switch_port)
                    where = batch.driver.lag_name(target.lag)
                else:
                    where = w.switch_port
                move: Change = (
                    SetAccessVlan(where, target.vlan)
                    if target.vlan is not None
                    else RestoreDefaultVlan(where)
                )
                batch.final[uuid] = batch.add(move)
            for lag, members in lags.items():
                batch.add(AddLagPorts(lag, tuple(members)))
        return list(batches.values())

    def _driver(self, switch: dict[str, Any]) -> SwitchDriver:
        opened = self.secret_box.open(
            {"password": switch["password"] or "", "secret": switch["secret"] or ""}
        )
        return self.driver_for(
            switch["vendor"], access_of(switch, opened["password"], opened["secret"])
        )

    # --- per scheme ------------------------------------------------------------------------------

    def _apply(self, task: Task, batch: Batch, step: Step, current: dict[str, Any]) -> None:
        name = batch.switch["name"]
        try:
            assert batch.driver is not None
            applied = batch.driver.apply(batch.changes)
        except SwitchError as e:
            done = set(e.applied)
            moved = self._settle(batch, done, current)
            if done:
                task.notes.append(
                    f"network {step.value}: switch {name} failed after {len(done)} change(s) "
                    f"(live, not saved): {self._sentence(batch, moved)}; the other ports of "
                    "this batch were not moved"
                )
            raise
        moved = self._settle(batch, set(applied), current)
        task.notes.append(
            f"network {step.value}: switch {name} ({batch.switch['vendor']}) moved "
            f"{self._sentence(batch, moved)} in one session"
        )

    @staticmethod
    def _settle(batch: Batch, done: set[Change], current: dict[str, Any]) -> list[str]:
        """Record the ports the applied changes put in place; forget the half-moved ones."""
        moved = []
        for uuid, (w, target) in batch.wires.items():
            if batch.final[uuid] in done:
                current[uuid] = target.record(w)
                moved.append(uuid)
            elif any(c in done for c in batch.changes if _touches(c, w.switch_port)):
                current.pop(uuid, None)  # somewhere in between: move it again next time
        return moved

    @staticmethod
    def _sentence(batch: Batch, uuids: list[str]) -> str:
        parts = []
        for uuid in uuids:
            w, target = batch.wires[uuid]
            lag = f" in LAG {target.lag}" if target.lag is not None else ""
            parts.append(f"port {w.port['address']} ({w.switch_port}){lag} to {_describe(target)}")
        return "; ".join(parts) or "nothing"

    def _record(self, task: Task, batch: Batch, step: Step, current: dict[str, Any]) -> None:
        physical_network = ""
        for w, target in batch.wires.values():
            current[w.port["uuid"]] = target.record(w)
            physical_network = w.physical_network
        task.notes.append(
            f"network {step.value}: physical network {physical_network} is pre-configured, "
            f"switch {batch.switch['name']} not touched; the step expects "
            f"{self._sentence(batch, list(batch.wires))}"
        )

    def _pend(self, task: Task, net: dict[str, Any], batches: list[Batch], step: Step) -> None:
        old = net.get("pending") or {}
        switches = [
            {
                "switch": b.switch["name"],
                "vendor": b.switch["vendor"],
                "address": b.switch["address"],
                "commands": b.driver.script(b.changes) if b.driver else [],
                "ports": {uuid: target.record(w) for uuid, (w, target) in b.wires.items()},
            }
            for b in batches
        ]
        fresh = old.get("step") != step.value or old.get("switches") != switches
        net["pending"] = {
            "step": step.value,
            "since": old.get("since") if not fresh else utcnow().isoformat(),
            "switches": switches,
        }
        if fresh:
            for entry in switches:
                task.notes.append(
                    f"network {step.value}: waiting for the operator to apply on switch "
                    f"{entry['switch']} ({entry['address']}) and confirm: "
                    + " | ".join(entry["commands"])
                )

    @staticmethod
    def _take_confirmed(task: Task, net: dict[str, Any], step: Step) -> None:
        """The operator confirmed the pending commands: their ports are in place."""
        pending = net.get("pending")
        if not pending or not pending.get("confirmed"):
            return
        if pending.get("step") == step.value:
            for entry in pending["switches"]:
                net["ports"].update(entry["ports"])
            who = pending["confirmed"].get("by") or "an operator"
            task.notes.append(
                f"network {step.value}: {who} confirmed the switch configuration of "
                + ", ".join(e["switch"] for e in pending["switches"])
            )
        net.pop("pending", None)


def _bond_mode(group: dict[str, Any]) -> BondMode:
    """A port group's bond mode (Ironic's default, active-backup, when unset)."""
    mode = group.get("mode")
    return BondMode.ACTIVE_BACKUP if mode in (None, "") else parse_bond_mode(mode)


def _touches(change: Change, switch_port: str) -> bool:
    return change.port == switch_port or switch_port in getattr(change, "ports", ())


def host_network_data(db: Database, node_id: int) -> dict[str, Any] | None:
    """The network_data.json of the host on the node, from its NICs (`host_nics`), their ports
    or port groups (a bond) and their addresses; None when the host has no NIC."""
    with db.read() as conn:
        nics = net_db.host_nics_of_node(conn, node_id)
        if not nics:
            return None
        rows = port_db.of_node(conn, node_id)
        addresses = nic_db.addresses(conn, [n["id"] for n in nics])
    ports = {r["id"]: r for which, r in rows if which == "ports"}
    groups = {r["id"]: r for which, r in rows if which == "portgroups"}
    out = []
    for nic in nics:
        mode = None
        if nic["portgroup_id"] is not None and nic["portgroup_id"] in groups:
            group = groups[nic["portgroup_id"]]
            members = tuple(
                p["address"] for p in ports.values() if p["portgroup_id"] == group["id"]
            )
            if len(members) > 1:
                mode = _bond_mode(group)
            mac = nic["mac"] or group["address"] or members[0]
        elif nic["port_id"] is not None and nic["port_id"] in ports:
            mac = nic["mac"] or ports[nic["port_id"]]["address"]
            members = (ports[nic["port_id"]]["address"],)
        else:
            continue  # bound to nothing (its port was deleted): nothing to configure
        if not members:
            continue
        out.append(
            configdrive.HostNic(
                uuid=nic["uuid"],
                network=nic["network"],
                mac=mac,
                members=members,
                bond_mode=mode,
                addresses=tuple(
                    configdrive.NicAddress(
                        a["address"],
                        a["cidr"],
                        a["gateway_ip"],
                        tuple(a["dns_nameservers"] or ()),
                    )
                    for a in addresses[nic["id"]]
                ),
            )
        )
    return configdrive.network_data(out) if out else None
