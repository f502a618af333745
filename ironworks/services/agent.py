"""The other side of the ramdisk agent: lookup, heartbeats, and each node's iPXE script.

Lookup hands out the one token of a ramdisk boot (stored as SHA-256 only) to an agent whose MACs
belong to a node that waits for one. A heartbeat stores the agent's results and hands out the
commands the conductor queued. When the agent has nothing left to run and the node sits in a
wait state, the heartbeat moves the node back to its working state and queues a `resume` job,
in one transaction: the conductor's step then reads the results and queues what comes next.
The wire format is `ironworks_agent/protocol.py` and docs/provisioning.md.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from ironworks.boot import grub, ipxe
from ironworks.boot.dnsmasq import boot_url
from ironworks.common.errors import (
    Conflict,
    InvalidInput,
    IronworksError,
    NotFound,
    Unauthenticated,
)
from ironworks.common.ids import normalize_mac
from ironworks.db import agents as agent_db
from ironworks.db import jobs as job_db
from ironworks.db import nodes as node_db
from ironworks.db import ports as port_db
from ironworks.db.engine import as_utc, utcnow
from ironworks.domain import phases, states
from ironworks.domain.capabilities import capability
from ironworks.drivers.agent import FIRST_BOOT, token_digest
from ironworks.services.context import Services
from ironworks_agent import protocol

log = logging.getLogger(__name__)

_MAX_RESULT_LOG = 20_000  # characters of agent log kept per result
FAST_POLL = 0.1  # seconds: the heartbeat interval while the conductor is about to give a command
FAST_WINDOW = 30.0  # seconds after the node's last state change during which fast polls happen
DISCOVER = states.DISCOVER_PURPOSE  # the agent session of a machine no node had


def _mac(value: Any, field: str) -> str:
    mac = normalize_mac(value.strip()) if isinstance(value, str) else None
    if mac is None:
        raise InvalidInput(f"{field}: {value!r} is not a MAC address", field=field)
    return mac


def node_for_macs(conn: sa.Connection, macs: list[str]) -> dict[str, Any] | None:
    ids = port_db.node_ids(conn, macs)
    if len(ids) > 1:
        raise Conflict(
            f"the MACs {', '.join(macs)} belong to {len(ids)} different nodes; "
            "fix the ports so that one machine's NICs belong to one node"
        )
    return node_db.get_node(conn, ids[0]) if ids else None


# --- lookup and heartbeat --------------------------------------------------------------------


def lookup(svc: Services, body: dict[str, Any], address: str | None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput("the lookup body must be a JSON object", field="body")
    raw = body.get("macs")
    if not isinstance(raw, list) or not raw or len(raw) > 64:
        raise InvalidInput("macs must be a list of 1 to 64 MAC addresses", field="macs")
    macs = sorted({_mac(m, f"macs/{i}") for i, m in enumerate(raw)})
    version = str(body.get("version") or "")[:32] or None
    with svc.db.read() as conn:
        known = node_for_macs(conn, macs)
    if known is None:
        if not svc.settings.boot.discovery:
            raise NotFound(
                f"no node has any of the MACs {', '.join(macs)}; enrol the machine "
                "with one of them as a port (or enable boot.discovery)"
            )
        _discover(svc, macs, body.get("boot_mac"), address)
    with svc.db.write() as conn:
        node = node_for_macs(conn, macs)
        if node is None:  # discovery lost a race with a delete
            raise Conflict("the machine's node was removed meanwhile; look up again")
        session = agent_db.get(conn, node["id"])
        state = node["provision_state"]
        discovering = session is not None and session["purpose"] == DISCOVER
        shown = body.get("boot_id")
        if session is not None and shown and shown != session["boot_id"]:
            raise Conflict(
                f"this ramdisk was booted for an earlier session of node "
                f"{node['uuid']}; the node is being booted again"
            )
        if session is None or (state not in states.AGENT_STATES and not discovering):
            raise Conflict(
                f"node {node['uuid']} is {state!r} and waits for no agent; power the "
                "machine off or let the conductor boot it when it needs the agent"
            )
        token = protocol.TOKEN_PREFIX + secrets.token_urlsafe(32)
        silent = utcnow() - timedelta(seconds=max(30.0, 3 * svc.settings.boot.agent_heartbeat))
        if not agent_db.issue_token(
            conn,
            node["id"],
            session["boot_id"],
            token_digest(token),
            address,
            version,
            silent_since=silent,
        ):
            raise Conflict(
                f"the token of this ramdisk boot of node {node['uuid']} was handed "
                "out already and its agent is alive; a lost agent may look up again "
                "once its old session has been silent for 30 s"
            )
        node_db.record_event(
            conn,
            node["id"],
            f"agent {version or '?'} is up at {address} ({session['purpose']})",
            event_type="agent",
        )
        # The conductor can choose the first command now: it is queued by the time the agent's
        # first heartbeat (which follows at once) or the next one asks.
        resumed = (
            state in states.WAIT_STATES
            and node["reservation"] is None
            and not session["commands"]
            and _resume(conn, node)
        )
    if resumed:
        job_db.wake()
    log.info("node %s: agent looked up from %s", node["uuid"], address)
    return {
        "node_uuid": node["uuid"],
        "token": token,
        "heartbeat_interval": svc.settings.boot.agent_heartbeat,
    }


def _results(body: dict[str, Any], known: set[str]) -> dict[str, dict[str, Any]]:
    raw = body.get("results") or []
    if not isinstance(raw, list):
        raise InvalidInput("results must be a list", field="results")
    out: dict[str, dict[str, Any]] = {}
    for i, r in enumerate(raw):
        if not isinstance(r, dict) or not isinstance(r.get("id"), str):
            raise InvalidInput(f"results/{i} must be an object with an id", field=f"results/{i}")
        if r["id"] not in known:
            continue  # a result of an earlier boot or a command we never gave: ack and forget
        result = r.get("result")
        if result is not None and not isinstance(result, dict):
            raise InvalidInput(f"results/{i}/result must be an object", field=f"results/{i}/result")
        out[r["id"]] = {
            "ok": bool(r.get("ok")),
            "result": result or {},
            "error": None if r.get("error") is None else str(r["error"])[:2000],
            "log": str(r.get("log") or "")[-_MAX_RESULT_LOG:],
            "finished": utcnow().isoformat(),
        }
    return out


def heartbeat(
    svc: Services, token: str | None, body: dict[str, Any], address: str | None
) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput("the heartbeat body must be a JSON object", field="body")
    if not token:
        raise Unauthenticated(f"send the token from lookup in the {protocol.TOKEN_HEADER} header")
    uuid = body.get("node_uuid")
    if not isinstance(uuid, str):
        raise InvalidInput("node_uuid is required", field="node_uuid")
    running = body.get("running")
    if running is not None:
        if not (isinstance(running, dict) and isinstance(running.get("id"), str)):
            raise InvalidInput("running must be null or an object with an id", field="running")
        progress = running.get("progress")
        if progress is not None and not (
            isinstance(progress, dict)
            and all(isinstance(progress.get(k), int | None) for k in ("done", "total"))
        ):
            raise InvalidInput(
                "running/progress must be null or {done, total} in bytes", field="running/progress"
            )
        running = {
            "id": running["id"][:64],
            "name": str(running.get("name") or "")[:32],
            "progress": progress,
        }
    resumed = False
    with svc.db.write() as conn:
        try:
            node = node_db.get_node(conn, uuid)
        except NotFound:
            raise Unauthenticated("this agent's node is gone; look up again") from None
        session = agent_db.get(conn, node["id"])
        if session is None or session["token_sha256"] != token_digest(token):
            raise Unauthenticated("the agent token is not valid for this boot; look up again")
        commands = session["commands"] or []
        results = dict(session["results"] or {})
        new = _results(body, {c["id"] for c in commands})
        results.update(new)
        agent_db.record_heartbeat(conn, node["id"], session["boot_id"], results, running, address)
        if session["purpose"] == DISCOVER and new:
            commands = _discovered(conn, node, session, commands, results)
        running_id = running["id"] if running else None
        unconsumed = [c for c in commands if c["id"] in results and not c.get("consumed")]
        # After a failed command the rest of the queue is moot (a config drive after a failed
        # image could land on the wrong disk): nothing more is given, the conductor decides.
        failed = any(not results[c["id"]]["ok"] for c in unconsumed)
        pending = [] if failed else [c for c in commands if c["id"] not in results]
        state = node["provision_state"]
        working = state in states.AGENT_STATES or session["purpose"] == DISCOVER
        give = [
            {"id": c["id"], "name": c["name"], "args": c["args"]}
            for c in pending
            if c["id"] != running_id and working
        ]
        if (
            state in states.WAIT_STATES
            and node["reservation"] is None
            and not pending
            and running is None
            and (unconsumed or not commands)
        ):
            resumed = _resume(conn, node)
    if resumed:
        job_db.wake()
    # Fast polls only while the conductor is at it (a step takes well under FAST_WINDOW);
    # a node left in a working state must not cost a database write every FAST_POLL.
    since = as_utc(node["provision_updated_at"])
    recent = since is not None and (utcnow() - since).total_seconds() < FAST_WINDOW
    busy = resumed or (node["provision_state"] in states.WORKING_STATES and recent)
    interval = FAST_POLL if busy and not give else svc.settings.boot.agent_heartbeat
    ack = [r["id"] for r in body.get("results") or [] if isinstance(r, dict) and "id" in r]
    return {"commands": give, "ack": ack, "heartbeat_interval": interval}


def _resume(conn: sa.Connection, node: dict[str, Any]) -> bool:
    state = node["provision_state"]
    target = states.next_state(state, states.RESUME)
    if target is None:
        return False
    ok = node_db.update_node(
        conn,
        node["id"],
        {"provision_state": target, "provision_updated_at": utcnow()},
        expect={"provision_state": state, "reservation": None},
    )
    if ok:
        job_db.enqueue(conn, node["id"], "provision", {"resume": True})
    return ok


# --- boot scripts and known MACs -------------------------------------------------------------


def boot_script(svc: Services, mac: str, loader: str = "ipxe") -> str:
    """What the machine booting from `mac` runs next: its iPXE script (`loader` "ipxe"), or its
    GRUB configuration ("grub": arm64 UEFI machines, which boot GRUB instead of iPXE)."""
    mac = _mac(mac, "mac")
    cfg = svc.settings.boot
    base = boot_url(cfg)
    with svc.db.read() as conn:
        node = node_for_macs(conn, [mac])
        session = agent_db.get(conn, node["id"]) if node is not None else None
    ramdisk = ipxe.ramdisk_script if loader == "ipxe" else lambda b: grub.ramdisk_config(b, mac)
    if node is None:
        if cfg.discovery:
            return ramdisk(ipxe.RamdiskBoot(base, None, None, "discover", cfg.kernel_params))
        raise NotFound(f"no node has the MAC {mac}")
    state = node["provision_state"]
    props = node["properties"] or {}
    if state in states.AGENT_STATES:
        info = node["driver_info"] or {}
        return ramdisk(
            ipxe.RamdiskBoot(
                base,
                node["uuid"],
                props.get("cpu_arch"),
                states.AGENT_PURPOSE[state],
                cfg.kernel_params,
                debug=str(info.get("agent_debug", "")).lower() in ("1", "true", "yes"),
                boot_id=session["boot_id"] if session else None,
            )
        )
    if loader == "grub":
        return grub.local_boot_config(node["uuid"], state)
    uefi = capability(node, "boot_mode") == "uefi"
    return ipxe.local_boot_script(node["uuid"], state, uefi)


def known_macs(svc: Services) -> dict[str, list[str]]:
    """Every enrolled node's port MACs, by node UUID: the dnsmasq hosts directory's content."""
    with svc.db.read() as conn:
        return port_db.macs_by_node(conn)


# --- discovery ---------------------------------------------------------------------------------
# A machine that PXE-boots with MACs no node has (boot.discovery on) is enrolled from what its
# agent reports: the node is created at lookup (driver `boot.discovery_driver`, ports for its
# MACs, state enroll, no BMC credentials yet: an operator adds them, then manages it), its agent
# session asks for the inventory, and the inventory becomes the node's properties and ports;
# then the machine powers itself off. No conductor is involved: nothing about it is a job yet.


def _discover(svc: Services, macs: list[str], boot_mac: Any, address: str | None) -> None:
    boot = boot_mac.lower() if isinstance(boot_mac, str) and boot_mac.lower() in macs else macs[0]
    with _DISCOVERY:  # count and enrol one machine at a time, so the cap holds
        _enrol_discovered(svc, macs, boot, address)


_DISCOVERY = threading.Lock()  # the boot listener's lookups run in this process's threads


def _enrol_discovered(svc: Services, macs: list[str], boot: str, address: str | None) -> None:
    from ironworks.services import nodes as node_svc
    from ironworks.services import ports as port_svc
    from ironworks.services.context import Caller

    cap = svc.settings.boot.discovery_max_pending
    with svc.db.read() as conn:
        pending = agent_db.count_nodes(conn, DISCOVER, states.ENROLL)
    if pending >= cap:
        log.warning(
            "discovery refused %s from %s: %d discovered nodes wait for an operator",
            macs,
            address,
            pending,
        )
        raise Conflict(
            f"{pending} discovered machines already wait in enroll for an operator "
            f"(boot.discovery_max_pending = {cap}); manage or delete some of them"
        )
    caller = Caller(user="discovery", source=address)
    try:
        node = node_svc.create_node(
            svc,
            {
                "name": "discovered-" + boot.replace(":", ""),
                "driver": svc.settings.boot.discovery_driver,
                "extra": {"discovered_at": utcnow().isoformat(), "discovered_from": address},
            },
            caller,
            licensed=svc.settings.boot.discovery_auto_accept,
        )
    except Conflict:  # the same machine's earlier lookup, or a race with another one
        return
    for mac in macs:
        try:
            port_svc.create(svc, port_svc.PORT, {"node_uuid": node["uuid"], "address": mac}, caller)
        except Conflict:
            pass
    with svc.db.write() as conn:
        row = node_db.get_node(conn, node["uuid"])
        session = agent_db.reset(conn, row["id"], DISCOVER)
        agent_db.save_commands(
            conn,
            row["id"],
            session["boot_id"],
            [{"id": "inventory-1", "name": protocol.INVENTORY, "args": {"lldp_wait": 0.0}}],
        )
        node_db.record_event(
            conn,
            row["id"],
            f"discovered at {address}: MACs {', '.join(macs)}",
            event_type="discovery",
        )
    log.info("discovered a machine at %s with MACs %s: node %s", address, macs, node["uuid"])


def _discovered(
    conn: sa.Connection,
    node: dict[str, Any],
    session: dict[str, Any],
    commands: list[dict[str, Any]],
    results: dict[str, Any],
) -> list[dict[str, Any]]:
    """Take the inventory into the node; then power the machine off. The new command list."""
    from ironworks.drivers.agent import properties_from_inventory
    from ironworks.drivers.base import NICS_KEY

    inv = results.get("inventory-1")
    if inv is None or any(c["id"] == "power_off-2" for c in commands):
        return commands
    if inv.get("ok"):
        try:
            props = properties_from_inventory(
                inv["result"].get("inventory") or {}, node["properties"] or {}
            )
        except IronworksError as e:
            message = f"discovery: {e.message}"
        else:
            nics = props.pop(NICS_KEY, [])
            node_db.update_node(conn, node["id"], {"properties": props})
            message = (
                "discovery: inventory taken; "
                + port_db.add_found_nics(conn, node["id"], nics).sentence()
            )
    else:
        message = f"discovery: the agent's inventory failed: {inv.get('error')}"
    node_db.record_event(conn, node["id"], message, event_type="discovery")
    commands = [*commands, {"id": "power_off-2", "name": protocol.POWER_OFF, "args": {}}]
    agent_db.save_commands(conn, node["id"], session["boot_id"], commands)
    return commands


# --- first boot --------------------------------------------------------------------------------
# The config drive of a deploy carries a one-time URL (vendor_data: `ironworks.first_boot_url`
# and cloud-init's phone_home). The deployed OS posts to it once it is up; that ends the
# timeline's "first boot" phase. driver_internal_info is the conductor's column, so it is
# written here only while no conductor holds the node, under the node's row lock.


def first_boot(svc: Services, node_uuid: str, token: str, address: str | None) -> None:
    digest = token_digest(token)
    with svc.db.write() as conn:
        node = agent_db.lock_node_for_report(conn, node_uuid)
        info = dict((node or {}).get("driver_internal_info") or {})
        expected = (info.get(FIRST_BOOT) or {}).get("sha256")
        if node is None or not expected or not hmac.compare_digest(expected, digest):
            raise NotFound(
                "no deploy waits for this first-boot report (the URL was used, or "
                "belongs to an earlier deploy)"
            )
        if node["reservation"] is not None:
            raise Conflict(
                f"node {node['uuid']} is busy ({node['reservation']}); report again in a moment"
            )
        timeline = [dict(p) for p in info.get("timeline") or []]
        phases.end(timeline, phases.FIRST_BOOT, phases.stamp(utcnow()))
        info.update(
            timeline=timeline,
            **{FIRST_BOOT: {"reported_at": utcnow().isoformat(), "from": address}},
        )
        if not agent_db.save_first_boot(conn, node["id"], info):
            # a conductor took the node between the read and the write
            raise Conflict(f"node {node['uuid']} is busy; report again in a moment")
        node_db.record_event(
            conn,
            node["id"],
            f"first boot reported by the deployed OS from {address or 'an unknown address'}",
            event_type="deploy",
        )
    log.info("node %s: first boot reported from %s", node_uuid, address)
