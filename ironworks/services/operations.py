"""Operations on a node's hardware and state.

Long operations (provision verbs, power changes) are accepted in ONE transaction that moves the
node to its working state, records the change in the node's history and queues a job; the
conductor does the rest and the client polls. Short ones (boot device, NMI, validate, console)
run here, synchronously, under the node lock, the way an operator expects a quick answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from ironworks.common.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidStateRequested,
    IronworksError,
)
from ironworks.common.ids import new_uuid
from ironworks.db import agents as agent_db
from ironworks.db import jobs as job_db
from ironworks.db import nodes as node_db
from ironworks.db.engine import utcnow
from ironworks.domain import power, states
from ironworks.domain import versions as v
from ironworks.drivers.base import Task
from ironworks.drivers.registry import interfaces_for
from ironworks.services import licensing, step_lists
from ironworks.services import steps as steps_svc
from ironworks.services.context import Caller, Services

log = logging.getLogger(__name__)

POWER_TARGETS = frozenset(power.TARGETS)
# Verbs refused while the node is in maintenance: they would put a tenant on a broken machine.
NO_MAINTENANCE_VERBS = frozenset({"active", "rebuild", "provide", "adopt"})


def make_task(svc: Services, node: dict[str, Any], purpose: str) -> Task:
    """The driver's view of the node: driver_info decrypted (only here and in the conductor)."""
    return Task(
        node={**node, "driver_info": svc.secrets.open(node.get("driver_info") or {})},
        purpose=purpose,
        conductor=svc.hostname,
        options={"fake_delay": svc.settings.fake.delay},
    )


# --- provisioning --------------------------------------------------------------------------------


def request_provision(
    svc: Services, ident: str, body: dict[str, Any], caller: Caller
) -> dict[str, Any]:
    verb = body.get("target")
    if not isinstance(verb, str):
        raise InvalidInput("target is required: the provision verb", field="target")
    with svc.db.write() as conn:
        node = node_db.get_node(conn, ident)
        if node["provision_state"] == states.ENROLL:  # manage accepts a discovered machine
            licensing.check_acceptance(conn, svc, node["id"])
        target = accept_provision(conn, node, verb, body, caller)
    job_db.wake()
    return {"provision_state": target}


def accept_provision(
    conn: Connection, node: dict[str, Any], verb: str, body: dict[str, Any], caller: Caller
) -> str:
    """In the caller's transaction: check `verb` against the node's state, move the node and
    queue its job; the new provision state. The caller commits, then calls job_db.wake()."""
    state = node["provision_state"]
    if verb in ("service", "unhold") and caller.version >= v.SERVICE_VERB:
        raise InvalidInput(
            f'The requested action "{verb}" is not supported: Ironworks has no servicing '
            "states; run the steps with clean on a manageable node instead",
            field="target",
        )
    min_version = states.VERB_MIN_VERSION.get(verb)
    if min_version is None or caller.version < min_version:
        allowed = states.allowed_verbs(state)
        raise InvalidInput(
            f'The requested action "{verb}" can not be performed on node "{node["uuid"]}" '
            f'while it is in state "{state}". Allowed here: {", ".join(allowed) or "none"}.',
            field="target",
        )
    canonical = states.canonical_verb(verb)
    # Checked before the state, and a 400 like Ironic's NodeInMaintenance: clients retry a
    # 409 for 10-15 s before they show the error.
    if node["maintenance"] and canonical in NO_MAINTENANCE_VERBS:
        raise InvalidInput(
            f"Node {node['uuid']} is in maintenance ({node['maintenance_reason'] or 'no reason'}"
            f"); clear maintenance before {verb}",
            field="maintenance",
        )
    target = states.next_state(state, canonical)
    if target is None:
        allowed = states.allowed_verbs(state)
        raise InvalidStateRequested(
            f'The requested action "{verb}" can not be performed on node "{node["uuid"]}" '
            f'while it is in state "{state}". Allowed in "{state}": '
            f"{', '.join(allowed) or 'none (wait for the current operation)'}."
        )
    if node["reservation"] is not None:
        raise node_db.locked_error(node, node["reservation"], f"provision {verb}")
    if canonical in ("rebuild", "deleted") and node["protected"]:
        raise Forbidden(f"Node {node['uuid']} is protected; unset protected before {verb}")
    args = _provision_args(conn, node, canonical, body, caller)
    values: dict[str, Any] = {
        "provision_state": target,
        "target_provision_state": states.goal_of(canonical, state),
        "provision_updated_at": utcnow(),
        "last_error": None,
    }
    if "instance_info" in args:
        values["instance_info"] = args.pop("instance_info")
    if canonical == "abort":  # the node's agent, if one runs, is done with this phase
        agent_db.void(conn, node["id"])
    if canonical == "inspect":
        values["inspection_started_at"] = utcnow()
        values["inspection_finished_at"] = None
    if target not in states.WORKING_STATES:
        values["target_provision_state"] = None
    event = {
        "event": f"{verb}: {state} -> {target}",
        "event_type": "provisioning",
        "from_state": state,
        "to_state": target,
        "duration": node_db.seconds_in_state(node),
        "user": caller.user,
        "request_id": caller.request_id,
    }
    job = None
    if target in states.WORKING_STATES:
        job = ("provision", {"verb": canonical, **args}, caller.request_id)
    expect = {"provision_state": state, "reservation": None}
    if not job_db.accept(conn, node["id"], values, expect=expect, event=event, job=job):
        raise Conflict(
            f"Node {node['uuid']} changed while the request was handled; retry the request"
        )
    return target


def _provision_args(
    conn: Connection, node: dict[str, Any], verb: str, body: dict[str, Any], caller: Caller
) -> dict[str, Any]:
    args: dict[str, Any] = {}
    configdrive = body.get("configdrive")
    if configdrive is not None:
        if verb not in ("active", "rebuild"):
            raise InvalidInput(
                "configdrive is only accepted with active or rebuild", field="configdrive"
            )
        if not isinstance(configdrive, str | dict):
            raise InvalidInput(
                "configdrive must be a base64 gzipped ISO, a URL, or a JSON object "
                "(meta_data, user_data, network_data)",
                field="configdrive",
            )
        info = dict(node["instance_info"] or {})
        info["configdrive"] = configdrive
        args["instance_info"] = info
    args.update(_requested_steps(conn, node, verb, body, caller))
    if verb == "rescue":
        pw = body.get("rescue_password")
        if not isinstance(pw, str) or not pw.strip():
            raise InvalidInput("rescue needs a non-empty rescue_password", field="rescue_password")
        args["rescue_password_set"] = True
    return args


def _requested_steps(
    conn: Connection, node: dict[str, Any], verb: str, body: dict[str, Any], caller: Caller
) -> dict[str, Any]:
    """The steps a provision request runs, each checked against what the node's interfaces
    declare (services/steps.py): `clean_steps` or a `runbook` with clean, `deploy_steps` and
    the deploy templates the instance's traits name with active and rebuild."""
    for key, version, verbs in (
        ("clean_steps", v.CLEAN_STEPS, ("clean",)),
        ("runbook", v.RUNBOOK_VERB, ("clean",)),
        ("disable_ramdisk", v.DISABLE_RAMDISK, ("clean",)),
        ("deploy_steps", v.DEPLOY_STEPS, ("active", "rebuild")),
        ("service_steps", v.SERVICE_VERB, ()),
    ):
        if body.get(key) is None:
            continue
        if caller.version < version:
            raise InvalidInput(f"{key} needs API version {v.fmt(version)} or later", field=key)
        if verb not in verbs:
            raise InvalidInput(
                f"{key} is not accepted with {verb}"
                + (f"; only with {' or '.join(verbs)}" if verbs else ""),
                field=key,
            )
    args: dict[str, Any] = {}
    if verb == "clean":
        disable = body.get("disable_ramdisk")
        if disable is not None and not isinstance(disable, bool):
            raise InvalidInput("disable_ramdisk must be true or false", field="disable_ramdisk")
        if body.get("runbook") is not None:
            if body.get("clean_steps") is not None:
                raise InvalidInput("give clean_steps or a runbook, not both", field="runbook")
            book = step_lists.runbook_for_node(conn, node, body["runbook"])
            raw, where = step_lists.ordered(book["steps"]), "runbook"
            disable = bool(disable or book["disable_ramdisk"])
        else:
            if body.get("clean_steps") is None:
                raise InvalidInput(
                    "clean needs a non-empty list clean_steps (or a runbook)", field="clean_steps"
                )
            raw, where = body["clean_steps"], "clean_steps"
        ifaces = interfaces_for(node)
        args["clean_steps"] = steps_svc.for_node(
            ifaces, "clean", raw, where, disable_ramdisk=bool(disable)
        )
        if disable:
            args["disable_ramdisk"] = True
    if verb in ("active", "rebuild"):
        deploy_steps = step_lists.deploy_steps(conn, node, body.get("deploy_steps"))
        if deploy_steps:
            args["deploy_steps"] = deploy_steps
    if args.get("clean_steps") or args.get("deploy_steps"):
        args["step_plan"] = new_uuid()  # this request's plan (conductor/stepping.py)
    return args


# --- power ---------------------------------------------------------------------------------------


def request_power(
    svc: Services,
    ident: str,
    body: dict[str, Any],
    caller: Caller,
    also: Callable[[Connection], None] | None = None,
) -> None:
    """Accept a power change: the node's target and a `power` job, in one transaction; `also`
    runs in that transaction once the request is accepted (a host's usage record)."""
    target = body.get("target")
    if target not in POWER_TARGETS:
        raise InvalidInput(
            f"power target {target!r} is not one of {', '.join(sorted(POWER_TARGETS))}",
            field="target",
        )
    if target in power.SOFT_TARGETS and caller.version < v.SOFT_POWER:
        raise InvalidInput(
            f"{target} needs API version {v.fmt(v.SOFT_POWER)} or later", field="target"
        )
    timeout = body.get("timeout")
    if timeout is not None:
        if caller.version < v.POWER_TIMEOUT:
            raise InvalidInput(
                f"timeout needs API version {v.fmt(v.POWER_TIMEOUT)} or later", field="timeout"
            )
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
            raise InvalidInput(
                "timeout must be a whole number of seconds, at least 1", field="timeout"
            )
    with svc.db.write() as conn:
        node = node_db.get_node(conn, ident)
        if node["reservation"] is not None:
            raise node_db.locked_error(node, node["reservation"], f"power {target}")
        if node["target_power_state"] is not None:
            raise Conflict(
                f"Node {node['uuid']} is already changing power to {node['target_power_state']}; "
                "wait for it to finish"
            )
        if node["disable_power_off"] and power.goal_of(target) == power.POWER_OFF:
            raise Conflict(
                f"Node {node['uuid']} has disable_power_off set; it cannot be powered off"
            )
        iface = interfaces_for(node)["power"]
        if target not in iface.supported_power_states(make_task(svc, node, "power")):
            raise InvalidInput(
                f"the {iface.name} power interface does not support {target}", field="target"
            )
        shown = power.goal_of(target)
        ok = job_db.accept(
            conn,
            node["id"],
            {"target_power_state": shown, "last_error": None},
            expect={"reservation": None, "target_power_state": None},
            job=("power", {"target": target, "timeout": timeout}, caller.request_id),
        )
        if not ok:
            raise Conflict(f"Node {node['uuid']} changed while the request was handled; retry")
        if also is not None:
            also(conn)
    job_db.wake()


# --- quick synchronous hardware calls under the lock ---------------------------------------------


@contextmanager
def locked(svc: Services, ident: str, purpose: str) -> Iterator[tuple[dict[str, Any], Task]]:
    """Hold the node lock for a short driver call; always released."""
    with svc.db.write() as conn:
        node = node_db.get_node(conn, ident)
        node_db.reserve(conn, node, svc.hostname, purpose)
    try:
        yield node, make_task(svc, node, purpose)
    finally:
        with svc.db.write() as conn:
            node_db.release(conn, node["id"], svc.hostname)


def set_boot_device(svc: Services, ident: str, body: dict[str, Any]) -> None:
    device = body.get("boot_device")
    persistent = body.get("persistent", False)
    if not isinstance(persistent, bool):
        raise InvalidInput("persistent must be true or false", field="persistent")
    with locked(svc, ident, "setting boot device") as (node, task):
        mgmt = interfaces_for(node)["management"]
        supported = mgmt.get_supported_boot_devices(task)
        if device not in supported:
            raise InvalidInput(
                f"boot_device {device!r} is not supported; use one of {', '.join(supported)}",
                field="boot_device",
            )
        remember = mgmt.set_boot_device(task, device, persistent)
        if remember:
            with svc.db.write() as conn:
                info = {**(node["driver_internal_info"] or {}), **remember}
                node_db.update_node(conn, node["id"], {"driver_internal_info": info})


def get_boot_device(svc: Services, ident: str) -> dict[str, Any]:
    with locked(svc, ident, "reading boot device") as (node, task):
        return interfaces_for(node)["management"].get_boot_device(task)


def supported_boot_devices(svc: Services, ident: str) -> list[str]:
    with svc.db.read() as conn:
        node = node_db.get_node(conn, ident)
    mgmt = interfaces_for(node)["management"]
    return mgmt.get_supported_boot_devices(make_task(svc, node, "boot devices"))


def inject_nmi(svc: Services, ident: str) -> None:
    with locked(svc, ident, "inject NMI") as (node, task):
        interfaces_for(node)["management"].inject_nmi(task)


def validate(svc: Services, ident: str) -> dict[str, dict[str, Any]]:
    with svc.db.read() as conn:
        node = node_db.get_node(conn, ident)
    task = make_task(svc, node, "validate")
    out: dict[str, dict[str, Any]] = {}
    for kind, iface in interfaces_for(node).items():
        if iface.name.startswith("no-"):  # Ironic's convention: absent, so not valid for use
            out[kind] = {"result": False, "reason": f"{kind} is not supported ({iface.name})"}
            continue
        try:
            iface.validate(task)
            out[kind] = {"result": True}
        except IronworksError as e:
            out[kind] = {"result": False, "reason": e.message}
    return out


def console(svc: Services, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        node = node_db.get_node(conn, ident)
    iface = interfaces_for(node)["console"]
    task = make_task(svc, node, "console")
    if not node["console_enabled"]:
        if iface.name.startswith("no-"):
            iface.get_console(task)  # raises "not supported"
        return {"console_enabled": False, "console_info": None}
    return {"console_enabled": True, "console_info": iface.get_console(task)}


def set_console(svc: Services, ident: str, enabled: Any, caller: Caller) -> None:
    if not isinstance(enabled, bool):
        raise InvalidInput("enabled must be true or false", field="enabled")
    with locked(svc, ident, "console") as (node, task):
        iface = interfaces_for(node)["console"]
        if enabled:
            iface.start_console(task)
        else:
            iface.stop_console(task)
        with svc.db.write() as conn:
            node_db.update_node(conn, node["id"], {"console_enabled": enabled})
            node_db.record_event(
                conn,
                node["id"],
                f"Console {'enabled' if enabled else 'disabled'}",
                event_type="console",
                user=caller.user,
                request_id=caller.request_id,
            )


def set_raid_config(svc: Services, ident: str, config: dict[str, Any]) -> None:
    if not isinstance(config, dict):
        raise InvalidInput("the body must be a JSON object with logical_disks", field="body")
    with svc.db.write() as conn:
        node = node_db.get_node(conn, ident)
        iface = interfaces_for(node)["raid"]
        if config:  # an empty object clears the target
            iface.validate_raid_config(make_task(svc, node, "raid"), config)
        node_db.update_node(conn, node["id"], {"target_raid_config": config})


def sensors(svc: Services, ident: str) -> dict[str, Any]:
    with locked(svc, ident, "reading sensors") as (node, task):
        return interfaces_for(node)["management"].get_sensors_data(task)


# --- history -------------------------------------------------------------------------------------


def history(
    svc: Services, ident: str, *, limit: int | None = None, marker: str | None = None
) -> list[dict[str, Any]]:
    with svc.db.read() as conn:
        node = node_db.get_node(conn, ident)
        return node_db.history(
            conn, node["id"], limit=limit or svc.settings.api.max_limit, marker=marker
        )


def history_event(svc: Services, ident: str, event_uuid: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        node = node_db.get_node(conn, ident)
        return node_db.history_event(conn, node["id"], event_uuid)
