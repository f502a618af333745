"""Deploy, inspect and clean through the agent in the node's ramdisk (docs/provisioning.md).

Each of these is a resumable step (conductor/steps.py). Run fresh (the API asked), the step
boots the ramdisk: a new agent session, boot device PXE once, power on or reboot; it then waits.
Run again with `resume` (the agent API queued it because the agent called back with nothing left
to do), it reads the session: the last command's result decides the next command, or the end.
The agent pulls its commands with its heartbeats, so the node needs no inbound port.

The timeline of phases (`driver_internal_info/timeline`, domain/phases.py) is written as the
step goes: each phase's start and end, so a deploy can be shown as boot ramdisk → write image →
config drive → reboot to disk.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ironworks.common.errors import DriverError, InvalidInput
from ironworks.domain import phases
from ironworks.domain.capabilities import with_capability
from ironworks.domain.power import POWER_ON
from ironworks.drivers import base
from ironworks.drivers.base import StepResult, Task
from ironworks.drivers.declared_steps import step
from ironworks_agent.protocol import ERASE_DISKS, INVENTORY, WRITE_CONFIGDRIVE, WRITE_IMAGE

_LOG_LINES = 15  # lines of the agent's log carried into last_error
# driver_internal_info key: {"sha256": the first-boot report token's digest} until the deployed
# OS reports (services/agent.first_boot), then {"reported_at", "from"}
FIRST_BOOT = "first_boot"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> str:
    return phases.stamp(datetime.now(UTC))


@dataclass
class AgentSession:
    """The conductor's view of `agent_sessions` for one node, for one step run.

    `start` resets the stored session at once through `reset` (before the node powers on, so a
    fast agent never meets the previous boot's session). `queue` adds commands; the conductor
    stores `commands` with the step's outcome when `dirty`.
    """

    purpose: str | None = None
    boot_id: str | None = None
    commands: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    running: dict[str, Any] | None = None
    last_heartbeat: datetime | None = None
    looked_up: bool = False
    reset: Callable[[str], dict[str, Any]] | None = None
    dirty: bool = False

    @classmethod
    def from_row(
        cls, row: dict[str, Any] | None, reset: Callable[[str], dict[str, Any]] | None = None
    ) -> AgentSession:
        if row is None:
            return cls(reset=reset)
        return cls(
            purpose=row["purpose"],
            boot_id=row["boot_id"],
            commands=list(row["commands"] or []),
            results=dict(row["results"] or {}),
            running=row["running"],
            last_heartbeat=row["last_heartbeat"],
            looked_up=row["token_sha256"] is not None,
            reset=reset,
        )

    def start(self, purpose: str) -> None:
        if self.reset is None:
            raise DriverError("the conductor gave this step no agent session")
        row = self.reset(purpose)
        self.purpose, self.boot_id = purpose, row["boot_id"]
        self.commands, self.results, self.running, self.looked_up = [], {}, None, False
        self.dirty = False

    def queue(self, name: str, args: dict[str, Any]) -> str:
        cid = f"{name}-{len(self.commands) + 1}"
        self.commands.append({"id": cid, "name": name, "args": args, "queued": _now()})
        self.dirty = True
        return cid

    def latest(self, name: str) -> dict[str, Any] | None:
        """The last command of that name with its result (`result` None while not finished)."""
        for cmd in reversed(self.commands):
            if cmd["name"] == name:
                return {**cmd, "outcome": self.results.get(cmd["id"])}
        return None

    def consume(self, cid: str) -> None:
        for cmd in self.commands:
            if cmd["id"] == cid and not cmd.get("consumed"):
                cmd["consumed"] = True
                self.dirty = True


def finished(cmd: dict[str, Any] | None) -> dict[str, Any] | None:
    """The command's result when it succeeded; raises with the agent's words when it failed."""
    if cmd is None or cmd["outcome"] is None:
        return None
    out = cmd["outcome"]
    if out.get("ok"):
        return out.get("result") or {}
    lines = [ln for ln in str(out.get("log") or "").splitlines() if ln.strip()][-_LOG_LINES:]
    tail = ("; agent log: " + " | ".join(lines)) if lines else ""
    raise DriverError(
        f"the agent's {cmd['name']} failed: {out.get('error') or 'no reason given'}{tail}"
    )


# --- the timeline ----------------------------------------------------------------------------


def phase_start(task: Task, phase: str) -> None:
    """Open a phase of the step's timeline (domain/phases.py) now."""
    phases.start(task.internal.setdefault("timeline", []), phase, _now())


def phase_end(task: Task, phase: str, at: str | None = None) -> None:
    """Finish a phase of the step's timeline, now or `at` (when the agent finished it)."""
    phases.end(task.internal.get("timeline", []), phase, at or _now())


def _finished_at(cmd: dict[str, Any]) -> str | None:
    """When the agent API recorded the command's result (the agent's own end of it)."""
    stamp = (cmd.get("outcome") or {}).get("finished")
    if not stamp:
        return None
    return phases.stamp(datetime.fromisoformat(stamp))


# --- booting the ramdisk ----------------------------------------------------------------------


def boot_ramdisk(task: Task, purpose: str) -> None:
    """Reset the agent session, PXE once, and (re)start the node into the ramdisk."""
    boot = task.interfaces["boot"]
    power = task.interfaces["power"]
    assert isinstance(boot, base.BootInterface) and isinstance(power, base.PowerInterface)
    task.agent.start(purpose)
    boot.prepare_ramdisk(task)
    phase_start(task, phases.BOOT_RAMDISK)
    if power.get_power_state(task) == POWER_ON:
        task.node["power_state"] = power.reboot(task)
    else:
        task.node["power_state"] = power.set_power_state(task, POWER_ON)


def _agent_up(task: Task) -> None:
    if not task.agent.looked_up:
        raise DriverError(
            "resumed without an agent: no agent has looked up since the ramdisk was booted"
        )
    phase_end(task, phases.BOOT_RAMDISK)


# --- the interfaces ---------------------------------------------------------------------------


def _drop_configdrive(task: Task) -> None:
    key = task.internal.pop("configdrive_key", None)
    if key and "drop_configdrive" in task.options:
        task.options["drop_configdrive"](key)


class AgentDeploy(base.DeployInterface):
    """Write the image (and the config drive) to the node's disk from the agent ramdisk."""

    name = "agent"

    def validate(self, task: Task) -> None:
        super().validate(task)
        if task.purpose.startswith("provision deploying"):
            info = task.node.get("instance_info") or {}
            if not info.get("image_source"):
                raise InvalidInput(
                    f"node {task.uuid}: instance_info/image_source is missing: set it to an "
                    "image URL or an Ironworks image id",
                    field="instance_info/image_source",
                )

    def deploy(self, task: Task) -> StepResult:
        s: AgentSession = task.agent
        if not task.args.get("resume"):
            # The image first: a bad source or checksum fails at once, before any boot.
            _drop_configdrive(task)  # a failed deploy's, never written
            task.internal["timeline"] = []
            task.internal.pop(FIRST_BOOT, None)  # an earlier deploy's report token
            phase_start(task, phases.FETCH_IMAGE)
            task.internal["deploy_image"] = task.options["resolve_image"](task.node)
            phase_end(task, phases.FETCH_IMAGE)
            boot_ramdisk(task, "deploy")
            return "wait"
        image = s.latest(WRITE_IMAGE)
        drive = (task.node.get("instance_info") or {}).get("configdrive")
        if image is None:
            # Both writes at once: the agent runs them in order (the config drive goes to the
            # disk the image went to), and the node calls back once, when both are done.
            _agent_up(task)
            spec = task.internal.get("deploy_image") or task.options["resolve_image"](task.node)
            hints = (task.node.get("properties") or {}).get("root_device")
            s.queue(
                WRITE_IMAGE,
                {
                    "url": spec["url"],
                    "sha256": spec["sha256"],
                    "size": spec["size"],
                    "root_device": hints,
                },
            )
            phase_start(task, phases.WRITE_IMAGE)
            if drive is not None:
                url = None
                if isinstance(drive, dict):  # the deployed OS reports its first boot (steps.py)
                    token = secrets.token_urlsafe(24)
                    task.internal[FIRST_BOOT] = {"sha256": token_digest(token)}
                    url = task.options["first_boot_url"](task.uuid, token)
                spec = task.options["build_configdrive"](task.node, drive, url)
                task.internal["configdrive_key"] = spec.pop("key", None)
                s.queue(WRITE_CONFIGDRIVE, {**spec, "device": None})
            return "wait"
        written = finished(image)
        if written is None:
            return "wait"
        if not image.get("consumed"):
            s.consume(image["id"])
            phase_end(task, phases.WRITE_IMAGE, _finished_at(image))
            if drive is not None:
                phase_start(task, phases.CONFIG_DRIVE)
                for p in task.internal.get("timeline", []):
                    if p["phase"] == phases.CONFIG_DRIVE and _finished_at(image):
                        p["started"] = _finished_at(image)
        if drive is not None:
            cd = s.latest(WRITE_CONFIGDRIVE)
            if cd is None or finished(cd) is None:
                return "wait"
            s.consume(cd["id"])
            phase_end(task, phases.CONFIG_DRIVE, _finished_at(cd))
            _drop_configdrive(task)
        task.internal["root_device_written"] = written.get("device")
        phase_start(task, phases.REBOOT_TO_DISK)
        base.power_off(task)
        return "done"

    def tear_down(self, task: Task) -> None:
        """Nothing on the disk is touched here: cleaning, which follows, erases it. A first
        boot not reported by now never will be."""
        task.internal.pop(FIRST_BOOT, None)

    def clean(self, task: Task, steps: list[dict[str, Any]] | None) -> StepResult:
        s: AgentSession = task.agent
        if not task.args.get("resume"):
            task.internal["timeline"] = []
            boot_ramdisk(task, "clean")
            return "wait"
        erase = s.latest(ERASE_DISKS)
        if erase is None or erase.get("consumed"):  # none yet, or an earlier step's
            _agent_up(task)
            mode = task.options.get("erase_mode", "metadata")
            for step in steps or []:
                if step.get("step") == "erase_devices":
                    mode = "full"
                elif step.get("step") == "erase_devices_metadata":
                    mode = "metadata"
            s.queue(ERASE_DISKS, {"mode": mode})
            phase_start(task, phases.erase_disks(mode))
            return "wait"
        if finished(erase) is None:
            return "wait"
        s.consume(erase["id"])
        for p in task.internal.get("timeline", []):
            if phases.is_erase_disks(p["phase"]) and p.get("finished") is None:
                p["finished"] = _now()
        return "done"

    @step("clean", priority=10)
    def erase_devices(self, task: Task) -> StepResult:
        """Erase every disk in full from the ramdisk (the agent's `full` erase)."""
        return self.clean(task, [{"interface": "deploy", "step": "erase_devices"}])

    @step("clean", priority=99)
    def erase_devices_metadata(self, task: Task) -> StepResult:
        """Erase the disks' partition tables and signatures from the ramdisk."""
        return self.clean(task, [{"interface": "deploy", "step": "erase_devices_metadata"}])


class AgentInspect(base.InspectInterface):
    """Boot the ramdisk, ask the agent for its inventory, turn it into properties and ports."""

    name = "agent"

    def inspect_hardware(self, task: Task) -> tuple[StepResult, dict[str, Any]]:
        s: AgentSession = task.agent
        if not task.args.get("resume"):
            boot_ramdisk(task, "inspect")
            return "wait", {}
        cmd = s.latest(INVENTORY)
        if cmd is None:
            _agent_up(task)
            s.queue(INVENTORY, {"lldp_wait": float(task.options.get("lldp_wait", 0.0))})
            return "wait", {}
        result = finished(cmd)
        if result is None:
            return "wait", {}
        s.consume(cmd["id"])
        inventory = result.get("inventory")
        if not isinstance(inventory, dict):
            raise DriverError("the agent's inventory result has no 'inventory' object")
        task.internal["inventory"] = inventory
        props = properties_from_inventory(inventory, task.node.get("properties") or {})
        base.power_off(task)
        return "done", props


def properties_from_inventory(inv: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Node properties from an agent inventory, NICs under NICS_KEY; bad shapes are named."""
    try:
        cpu, mem = inv.get("cpu") or {}, inv.get("memory") or {}
        disks = [d for d in inv.get("disks") or [] if not d.get("removable")]
        root = min(
            (d for d in disks if int(d.get("size") or 0) >= 4 * 2**30),
            key=lambda d: int(d["size"]),
            default=None,
        ) or (min(disks, key=lambda d: int(d.get("size") or 0)) if disks else None)
        props = {**current}
        props.update(
            cpus=int(cpu["count"]),
            cpu_arch=str(cpu["architecture"]),
            cpu_model=str(cpu.get("model") or ""),
            memory_mb=int(mem["total_mb"]),
            local_gb=int(int(root["size"]) // 2**30) if root else 0,
        )
        system = inv.get("system") or {}
        props["vendor"] = system.get("vendor") or props.get("vendor")
        boot_mode = (inv.get("boot") or {}).get("mode")
        if boot_mode:
            props = with_capability(props, "boot_mode", str(boot_mode))
        props["disks"] = [
            {k: d.get(k) for k in ("name", "size", "serial", "model", "rotational", "wwn")}
            for d in disks
        ]
        nics = []
        for nic in inv.get("interfaces") or []:
            if not nic.get("mac"):
                continue
            found: dict[str, Any] = {"address": str(nic["mac"]).lower()}
            lldp = nic.get("lldp") or {}
            if lldp.get("chassis_id") and lldp.get("port_id"):
                found["local_link_connection"] = {
                    "switch_id": lldp["chassis_id"],
                    "port_id": lldp["port_id"],
                    **({"switch_info": lldp["system_name"]} if lldp.get("system_name") else {}),
                }
            nics.append(found)
        props[base.NICS_KEY] = nics
        return props
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise DriverError(
            f"the agent's inventory is malformed ({e!r}); it needs cpu.count, "
            "cpu.architecture and memory.total_mb"
        ) from e
