"""What a conductor does in each working state, as resumable steps.

A provision job carries no program counter: the node's persisted `provision_state` is where the
work stands. `advance` runs the step for the current working state and commits its outcome —
the next state, the node fields the step produced, a history line — in one transaction. The job
loops until the node rests in a stable, wait or failed state; the last commit also finishes the
job. A crash between two commits leaves the node in a working state with an unfinished job, and
whoever claims the job next runs the step again: steps are written to be safe to repeat.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ironworks.common.errors import IronworksError
from ironworks.conductor import stepping
from ironworks.conductor.switching import clear_marks, mark, marked
from ironworks.db.engine import utcnow
from ironworks.domain import phases, states
from ironworks.domain import power as power_words
from ironworks.domain.network import Step
from ironworks.drivers import base
from ironworks.drivers.agent import FIRST_BOOT, phase_end, phase_start
from ironworks.drivers.base import Interface, Task
from ironworks.drivers.registry import interfaces_for

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What a step produced: the event for the state machine and the node fields to write."""

    event: str
    values: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    # NICs an inspection found (base.NICS_KEY): the conductor makes them ports, same commit
    nics: list[dict[str, Any]] = field(default_factory=list)
    # more lines for the node's history (Task.notes: e.g. the switch ports that moved)
    notes: list[str] = field(default_factory=list)
    # what an inspection found, for the inspection rules (base.INVENTORY_KEY, or the agent's)
    inventory: dict[str, Any] = field(default_factory=dict)
    # what the BMC reported of the BIOS and the firmware (Task.bios_settings, Task.firmware):
    # the conductor caches them in the same commit; None: not read
    bios_settings: list[dict[str, Any]] | None = None
    firmware: list[dict[str, Any]] | None = None


def refresh_hardware_cache(task: Task, ifaces: dict[str, Interface]) -> None:
    """Read the BIOS settings and firmware versions for the cache (verify, inspection, cleaning).

    Best effort: a node whose interfaces cannot read them (no-bios, a BMC without a Bios
    resource) keeps its cache as it was, and the phase goes on.
    """
    for kind, attr in (("bios", "bios_settings"), ("firmware", "firmware")):
        iface = ifaces.get(kind)
        if iface is None or iface.name.startswith("no-") or getattr(task, attr) is not None:
            continue
        try:
            if isinstance(iface, base.BIOSInterface):
                task.bios_settings = iface.get_settings(task)
            elif isinstance(iface, base.FirmwareInterface):
                task.firmware = iface.get_components(task)
        except IronworksError as e:
            log.info("node %s: %s not cached: %s", task.uuid, kind, e.message)


def ports_to(task: Task, step: Step, *, may_wait: bool = True) -> bool:
    """The switch step (conductor/switching.py): move the node's switch ports where `step`
    wants them. False: the operator must apply the shown commands first (post-configured)."""
    switching = task.options.get("switching")
    return True if switching is None else switching.run(task, step, may_wait=may_wait)


def verify(task: Task, ifaces: dict[str, Interface], args: dict[str, Any]) -> Outcome:
    ifaces["power"].validate(task)
    ifaces["management"].validate(task)
    power = ifaces["power"]
    assert isinstance(power, base.PowerInterface)
    values = {"power_state": power.get_power_state(task)}
    refresh_hardware_cache(task, ifaces)
    return Outcome(states.DONE, values)


def inspect(task: Task, ifaces: dict[str, Interface], args: dict[str, Any]) -> Outcome:
    insp = ifaces["inspect"]
    assert isinstance(insp, base.InspectInterface)
    insp.validate(task)
    if not ports_to(task, Step.INSPECT):
        return Outcome(states.NETWORK_WAIT)
    result, found = insp.inspect_hardware(task)
    if result == "wait":
        return Outcome(states.WAIT)
    nics = found.pop(base.NICS_KEY, None) or []
    inventory = found.pop(base.INVENTORY_KEY, None) or task.internal.get("inventory") or {}
    refresh_hardware_cache(task, ifaces)
    values = {
        "properties": found,
        "inspection_finished_at": utcnow(),
        "power_state": task.node.get("power_state"),
    }
    return Outcome(states.DONE, values, nics=nics, inventory=inventory)


def clean(task: Task, ifaces: dict[str, Interface], args: dict[str, Any]) -> Outcome:
    """Automated cleaning (the deploy interface's own), or the manual steps a `clean` request
    (or its runbook) named, in order (conductor/stepping.py)."""
    node = task.node
    manual = stepping.plan(task, "clean", args.get("clean_steps"))
    if not args.get("resume"):  # a resume job carries no arguments: the node keeps this one
        task.internal.pop("disable_ramdisk", None)
        if args.get("disable_ramdisk"):
            task.internal["disable_ramdisk"] = True
    automated = node.get("automated_clean")
    if not manual and (
        automated is False or (automated is None and not task.options.get("automated_clean", True))
    ):
        if not ports_to(task, Step.AVAILABLE):
            return Outcome(states.NETWORK_WAIT)
        return Outcome(states.DONE, {"clean_step": {}}, "automated cleaning disabled: skipped")
    if not marked(task, "cleaned"):
        if not ports_to(task, Step.CLEAN):
            return Outcome(states.NETWORK_WAIT)
        deploy = ifaces["deploy"]
        assert isinstance(deploy, base.DeployInterface)
        if manual:
            result = stepping.run(task, ifaces, "clean")
            if result == "wait":
                return Outcome(states.WAIT, {"clean_step": stepping.current(task, "clean")})
            stepping.forget(task, "clean")
        else:
            deploy.validate(task)
            if deploy.clean(task, None) == "wait":
                return Outcome(states.WAIT)
        if not task.internal.pop("disable_ramdisk", False):  # Ironic leaves the node as it is
            base.power_off(task)
    if not ports_to(task, Step.AVAILABLE):  # parked on the provisioning network
        mark(task, "cleaned")
        return Outcome(states.NETWORK_WAIT)
    clear_marks(task)
    refresh_hardware_cache(task, ifaces)
    return Outcome(states.DONE, {"clean_step": {}, "power_state": task.node["power_state"]})


# Ironic's priority of the core deploy step (deploy.deploy): requested deploy steps with a
# higher priority run before the image is written, the others after it, before the boot to disk.
CORE_DEPLOY_PRIORITY = 100


def deploy(task: Task, ifaces: dict[str, Interface], args: dict[str, Any]) -> Outcome:
    boot, dep, power, mgmt = ifaces["boot"], ifaces["deploy"], ifaces["power"], ifaces["management"]
    assert isinstance(dep, base.DeployInterface) and isinstance(power, base.PowerInterface)
    assert isinstance(boot, base.BootInterface)
    for iface in (power, mgmt, boot, dep):
        iface.validate(task)
    requested = sorted(args.get("deploy_steps") or [], key=lambda s: -int(s.get("priority", 0)))
    if stepping.plan(task, "deploy", requested):
        before = sum(
            1
            for s in task.internal["deploy_steps"]
            if int(s.get("priority", 0)) > CORE_DEPLOY_PRIORITY
        )
        ran_before = task.internal.get("deploy_step_index", 0) < before
        if stepping.run(task, ifaces, "deploy", upto=before) == "wait":
            return Outcome(states.WAIT, {"deploy_step": stepping.current(task, "deploy")})
        if ran_before:  # the core step starts afresh after steps that ran (or resumed) now
            task.args = {**task.args, "resume": False}
    if not marked(task, "written"):
        if not ports_to(task, Step.DEPLOY):
            return Outcome(states.NETWORK_WAIT)
        if not marked(task, "image written"):
            result = dep.deploy(task)
            if result == "wait":
                return Outcome(states.WAIT, {"deploy_step": _CORE_STEP})
            mark(task, "image written")
        if task.internal.get("deploy_steps"):
            if stepping.run(task, ifaces, "deploy") == "wait":
                return Outcome(states.WAIT, {"deploy_step": stepping.current(task, "deploy")})
            stepping.forget(task, "deploy")
    if not ports_to(task, Step.ACTIVE):  # the host's own networks before its first boot
        mark(task, "written")
        return Outcome(states.NETWORK_WAIT)
    clear_marks(task)
    boot.prepare_instance(task)
    state = (
        power.reboot(task)
        if task.node.get("power_state") == power_words.POWER_ON
        else power.set_power_state(task, power_words.POWER_ON)
    )
    phase_end(task, phases.REBOOT_TO_DISK)
    if (task.internal.get(FIRST_BOOT) or {}).get("sha256"):  # ends when the OS reports
        phase_start(task, phases.FIRST_BOOT)
    return Outcome(states.DONE, {"power_state": state, "deploy_step": {}})


_CORE_STEP = {"interface": "deploy", "step": "deploy", "priority": CORE_DEPLOY_PRIORITY}


def tear_down(task: Task, ifaces: dict[str, Interface], args: dict[str, Any]) -> Outcome:
    dep, boot = ifaces["deploy"], ifaces["boot"]
    assert isinstance(dep, base.DeployInterface) and isinstance(boot, base.BootInterface)
    dep.tear_down(task)
    boot.clean_up_instance(task)
    base.power_off(task)
    # off the tenant's networks once the host is off; post-configured ports move at cleaning
    ports_to(task, Step.UNDEPLOY, may_wait=False)
    values: dict[str, Any] = {"power_state": task.node["power_state"]}
    info = {k: v for k, v in (task.node.get("instance_info") or {}).items() if k == "capabilities"}
    values.update(instance_info=info, instance_uuid=None, instance_name=None)
    return Outcome(states.DONE, values)


def adopt(task: Task, ifaces: dict[str, Interface], args: dict[str, Any]) -> Outcome:
    dep = ifaces["deploy"]
    assert isinstance(dep, base.DeployInterface)
    for kind in ("power", "management", "deploy"):
        ifaces[kind].validate(task)
    dep.adopt(task)
    power = ifaces["power"]
    assert isinstance(power, base.PowerInterface)
    return Outcome(states.DONE, {"power_state": power.get_power_state(task)})


def rescue(task: Task, ifaces: dict[str, Interface], args: dict[str, Any]) -> Outcome:
    r = ifaces["rescue"]
    assert isinstance(r, base.RescueInterface)
    return Outcome(states.WAIT if r.rescue(task) == "wait" else states.DONE)


def unrescue(task: Task, ifaces: dict[str, Interface], args: dict[str, Any]) -> Outcome:
    r = ifaces["rescue"]
    assert isinstance(r, base.RescueInterface)
    r.unrescue(task)
    return Outcome(states.DONE)


STEPS = {
    states.VERIFYING: verify,
    states.INSPECTING: inspect,
    states.CLEANING: clean,
    states.DEPLOYING: deploy,
    states.DELETING: tear_down,
    states.ADOPTING: adopt,
    states.RESCUING: rescue,
    states.UNRESCUING: unrescue,
}
assert set(STEPS) == set(states.WORKING_STATES), "every working state needs a step"

# Human words for the phase that failed, for last_error.
PHASE = {
    states.VERIFYING: "verifying BMC access",
    states.INSPECTING: "inspection",
    states.CLEANING: "cleaning",
    states.DEPLOYING: "deployment",
    states.DELETING: "tear-down",
    states.ADOPTING: "adoption",
    states.RESCUING: "rescue",
    states.UNRESCUING: "unrescue",
}


def run_step(task: Task, args: dict[str, Any]) -> Outcome:
    """Run the step of the node's working state; a failure becomes a FAIL outcome with a reason."""
    state = task.node["provision_state"]
    started = time.monotonic()
    before = task.node.get("driver_internal_info") or {}
    power_before = task.node.get("power_state")
    task.args = args
    task.internal = copy.deepcopy(before)
    if not args.get("resume"):  # a fresh request: nothing of an earlier attempt's switch wait
        clear_marks(task, pending=True)
    try:
        task.interfaces = interfaces_for(task.node)
        out = STEPS[state](task, task.interfaces, args)
    except IronworksError as e:
        out = Outcome(states.FAIL, message=f"{PHASE[state]} failed: {e.message}")
    except Exception as e:  # a driver bug must not kill the worker or hide the node's fate
        log.exception("step %s of node %s crashed", state, task.uuid)
        out = Outcome(states.FAIL, message=f"{PHASE[state]} failed with an internal error: {e!r}")
    out.notes = task.notes
    out.bios_settings, out.firmware = task.bios_settings, task.firmware
    if task.internal != before:  # the timeline and what the agent reported, kept on failure too
        out.values.setdefault("driver_internal_info", task.internal)
    if task.node.get("power_state") != power_before:  # e.g. powered on to boot the ramdisk
        out.values.setdefault("power_state", task.node["power_state"])
    log.debug("node %s: %s -> %s in %.3fs", task.uuid, state, out.event, time.monotonic() - started)
    return out
