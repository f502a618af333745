"""What a hardware type and its interfaces look like.

A hardware type is a set of interface classes, one chosen per interface kind. Every interface
declares the `driver_info` properties it needs (`Prop`); that one declaration drives validation
errors, `GET /v1/drivers/{name}/properties`, CLI help and the masking of secrets.

Interfaces never touch the database. The conductor gives each call a `Task`: a snapshot of the
node (driver_info already decrypted) and the purpose of the work, and persists what the call
returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

from ironworks.common.errors import DriverError, InvalidInput, IronworksError, NotSupported
from ironworks.domain.nodes import INTERFACE_KINDS
from ironworks.domain.power import HARD_TARGETS, POWER_OFF
from ironworks.domain.sensors import Health

T = TypeVar("T")
BOOT_DEVICES = ("pxe", "disk", "cdrom", "bios", "safe", "wanboot", "uefi http")

StepResult = Literal["done", "wait"]


@dataclass(frozen=True)
class Prop:
    name: str
    description: str
    required: bool = False
    secret: bool = False


@dataclass
class Task:
    """One unit of conductor work on one node."""

    node: dict[str, Any]
    purpose: str
    conductor: str = ""
    # Settings the interfaces may read (timeouts, the fake delay), passed down from cmd/.
    options: dict[str, Any] = field(default_factory=dict)
    # Set by the conductor for provision steps: the job's arguments, the node's other
    # interfaces (an agent deploy drives boot, power and management), the agent session
    # (drivers/agent.py) and the driver_internal_info the step leaves behind.
    args: dict[str, Any] = field(default_factory=dict)
    interfaces: dict[str, Interface] = field(default_factory=dict)
    agent: Any = None
    internal: dict[str, Any] = field(default_factory=dict)
    # Lines for the node's history besides the step's own (e.g. which switch ports moved),
    # written with the step's outcome, failed or not.
    notes: list[str] = field(default_factory=list)
    # What the BMC reported of the BIOS settings and firmware components during this work
    # (`bios_settings`: dicts with name, value and the registry fields; `firmware`: dicts with
    # component, current_version, last_version_flashed): the conductor caches them with the
    # step's outcome (db/bios.py, db/firmware.py). None: not read.
    bios_settings: list[dict[str, Any]] | None = None
    firmware: list[dict[str, Any]] | None = None

    @property
    def driver_info(self) -> dict[str, Any]:
        return self.node.get("driver_info") or {}

    @property
    def uuid(self) -> str:
        return self.node["uuid"]


class Interface:
    kind: ClassVar[str] = ""
    name: ClassVar[str] = ""
    properties: ClassVar[tuple[Prop, ...]] = ()

    def check_formats(self, task: Task) -> None:
        """Raise InvalidInput for a driver_info value present but malformed (on create/patch)."""

    def validate(self, task: Task) -> None:
        """Raise InvalidInput naming the missing or bad driver_info field."""
        self.check_formats(task)
        info = task.driver_info
        missing = [p.name for p in self.properties if p.required and not info.get(p.name)]
        if missing:
            raise InvalidInput(
                f"node {task.uuid}: driver_info is missing {', '.join(missing)} "
                f"needed by the {self.name} {self.kind} interface",
                field="driver_info/" + missing[0],
            )


def _unsupported(iface: Interface, what: str) -> NotSupported:
    return NotSupported(
        f"the {iface.name!r} {iface.kind} interface does not support {what}; "
        f"set {iface.kind}_interface to one that does"
    )


def refused(iface: Interface, task: Task, what: str, instead: str) -> NotSupported:
    """A clear refusal for an operation the node's hardware type cannot do at all: names the
    hardware type and the interface, and says what the operator can do `instead`."""
    driver = task.node.get("driver") or "this"
    return NotSupported(
        f"node {task.uuid}: the {driver} hardware type does not support {what} "
        f"({iface.kind}_interface is {iface.name!r}); {instead}"
    )


def each(
    fn: Callable[[Task], T], tasks: Sequence[Task], concurrency: int, what: str
) -> list[T | IronworksError]:
    """`fn` of every task on up to `concurrency` threads: per task its answer or its error."""

    def one(task: Task) -> T | IronworksError:
        try:
            return fn(task)
        except IronworksError as e:
            return e
        except Exception as e:  # a driver bug must not cost the other nodes their answer
            return DriverError(f"{what} failed: {e!r}")

    if len(tasks) <= 1:
        return [one(t) for t in tasks]
    with ThreadPoolExecutor(min(concurrency, len(tasks)), thread_name_prefix="bmc") as pool:
        return list(pool.map(one, tasks))


def wait_for_power_state(
    read: Callable[[], str], target: str, timeout: float, bmc: str, after: str
) -> str:
    """Poll `read()` until it reports `target`: a power change is done when the BMC says so.

    Polls quickly at first, then every second; on timeout, says what the BMC last reported.
    """
    deadline = time.monotonic() + timeout
    pause = 0.1
    while True:
        state = read()
        if state == target:
            return state
        left = deadline - time.monotonic()
        if left <= 0:
            raise DriverError(
                f"BMC {bmc} still reports {state} {timeout:g} s after {after}; the server did "
                f"not reach {target} in time (raise the timeout or check the server)"
            )
        time.sleep(min(pause, left))
        pause = min(pause * 1.5, 1.0)


def power_off(task: Task) -> None:
    """Power the node off through its power interface; `task.node` holds the state read back
    (a provision step's outcome carries it to the database: conductor/steps.py)."""
    power = task.interfaces["power"]
    assert isinstance(power, PowerInterface)
    task.node["power_state"] = power.set_power_state(task, POWER_OFF)


class PowerInterface(Interface):
    kind = "power"

    def get_power_state(self, task: Task) -> str:
        raise NotImplementedError

    def get_power_states(
        self, tasks: Sequence[Task], concurrency: int
    ) -> list[str | IronworksError]:
        """Many nodes' power states at once (the power sync): per task, its state or its error.

        This default asks `get_power_state` on up to `concurrency` threads; each call keeps to
        its driver's own per-BMC timeout. Interfaces that can ask many BMCs from one thread
        override it (ipmi).
        """

        return each(self.get_power_state, tasks, concurrency, "reading the power state")

    def set_power_state(self, task: Task, state: str, timeout: float | None = None) -> str:
        """Bring the node to `state` (power on/off, soft power off) and return the state read."""
        raise NotImplementedError

    def reboot(self, task: Task, timeout: float | None = None, soft: bool = False) -> str:
        raise NotImplementedError

    def supported_power_states(self, task: Task) -> list[str]:
        return list(HARD_TARGETS)


class ManagementInterface(Interface):
    kind = "management"

    def get_supported_boot_devices(self, task: Task) -> list[str]:
        raise _unsupported(self, "boot devices")

    def get_boot_device(self, task: Task) -> dict[str, Any]:
        raise _unsupported(self, "reading the boot device")

    def set_boot_device(
        self, task: Task, device: str, persistent: bool = False
    ) -> dict[str, Any] | None:
        """Set the next boot device; may return driver_internal_info keys to remember."""
        raise _unsupported(self, "setting the boot device")

    def inject_nmi(self, task: Task) -> None:
        raise _unsupported(self, "injecting an NMI")

    def get_sensors_data(self, task: Task) -> dict[str, Any]:
        raise _unsupported(self, "sensors")

    def attach_virtual_media(self, task: Task, device_type: str, image_url: str) -> None:
        """Insert the image at `image_url` into the BMC's `device_type` (cdrom, floppy, disk)."""
        raise refused(
            self,
            task,
            "virtual media",
            "attach the image through the BMC's own web interface, or enroll the server with "
            "the redfish hardware type",
        )

    def detach_virtual_media(self, task: Task, device_types: Sequence[str]) -> None:
        """Eject whatever media the BMC's `device_types` hold (none inserted: nothing to do)."""
        raise refused(
            self,
            task,
            "virtual media",
            "eject the image through the BMC's own web interface, or enroll the server with "
            "the redfish hardware type",
        )

    def get_health(self, task: Task) -> Health:
        """The node's sensors and its event-log entries new since the last call (the sensor
        cycle; the interface remembers where it read up to, the database de-duplicates)."""
        raise _unsupported(self, "the sensor cycle")

    def get_healths(self, tasks: Sequence[Task], concurrency: int) -> list[Health | IronworksError]:
        """Many nodes' `get_health` at once, per task its answer or its error: this default on
        up to `concurrency` threads; ipmi asks every BMC from one event loop."""
        return each(self.get_health, tasks, concurrency, "reading sensors")


class BootInterface(Interface):
    kind = "boot"

    def prepare_ramdisk(self, task: Task) -> None: ...

    def clean_up_ramdisk(self, task: Task) -> None: ...

    def prepare_instance(self, task: Task) -> None: ...

    def clean_up_instance(self, task: Task) -> None: ...


class DeployInterface(Interface):
    kind = "deploy"

    def deploy(self, task: Task) -> StepResult:
        raise NotImplementedError

    def tear_down(self, task: Task) -> None:
        raise NotImplementedError

    def clean(self, task: Task, steps: list[dict[str, Any]] | None) -> StepResult:
        """Automated cleaning when `steps` is None, else the manual steps given."""
        raise NotImplementedError

    def adopt(self, task: Task) -> None: ...


# Key of the properties an inspection returns under which it lists the NICs it found:
# [{"address": "52:54:00:..", "local_link_connection": {...} (when known)}]. The inspect step
# takes it out of the properties and the conductor turns each NIC into a port of the node.
NICS_KEY = "_nics"
# Key under which an inspection may return its hardware inventory in Ironic's shape
# ({"cpu": {"count", "architecture", "model_name"}, "memory": {"physical_mb"}, ...}); the
# inspect step takes it out of the properties and hands it to the inspection rules. The agent's
# inventory (in driver_internal_info) serves when there is none.
INVENTORY_KEY = "_inventory"


class InspectInterface(Interface):
    kind = "inspect"

    def inspect_hardware(self, task: Task) -> tuple[StepResult, dict[str, Any]]:
        """("done", properties found, NICs under NICS_KEY) or ("wait", {}) when an agent
        will report back."""
        raise _unsupported(self, "inspection")


class ConsoleInterface(Interface):
    kind = "console"

    def start_console(self, task: Task) -> None:
        raise _unsupported(self, "a console")

    def stop_console(self, task: Task) -> None:
        raise _unsupported(self, "a console")

    def get_console(self, task: Task) -> dict[str, Any]:
        raise _unsupported(self, "a console")


class RAIDInterface(Interface):
    kind = "raid"

    def validate_raid_config(self, task: Task, config: dict[str, Any]) -> None:
        raise _unsupported(self, "RAID")

    def create_configuration(self, task: Task) -> dict[str, Any]:
        raise _unsupported(self, "RAID")

    def delete_configuration(self, task: Task) -> None:
        raise _unsupported(self, "RAID")

    def logical_disk_properties(self) -> dict[str, str]:
        """What a logical disk of `target_raid_config` may say (Ironic's
        `GET /v1/drivers/{name}/raid/logical_disk_properties`)."""
        raise _unsupported(self, "RAID")


# Ironic's logical disk properties, described for operators.
LOGICAL_DISK_PROPERTIES = {
    "size_gb": "Size in GiB (integer) of the logical disk, or 'MAX' for the rest. Required.",
    "raid_level": "RAID level of the logical disk: 0, 1, 2, 5, 6, 1+0, 5+0 or 6+0. Required.",
    "volume_name": "Name of the volume. Optional.",
    "is_root_volume": "Whether this is the root volume the image goes to. Optional.",
    "share_physical_disks": "Whether the logical disk may share physical disks with others. "
    "Optional.",
    "disk_type": "Physical disk type: hdd or ssd. Optional.",
    "interface_type": "Physical disk interface: sata, scsi or sas. Optional.",
    "number_of_physical_disks": "Number of physical disks to use. Optional.",
    "controller": "The controller to create the logical disk on. Optional.",
    "physical_disks": "The physical disks to use, as the controller names them. Optional.",
}

# What an operator can do about RAID where Ironworks cannot configure it.
RAID_INSTEAD = (
    "build the arrays in the RAID controller's own setup utility (or its vendor tool), then "
    "deploy: Ironworks writes the image to the logical disk the server presents"
)


# Ironic's argsinfo of the BIOS steps (redfish and fake declare them).
BIOS_APPLY_ARGSINFO = {
    "settings": {
        "description": ('A list of BIOS settings to be applied, each {"name": ..., "value": ...}'),
        "required": True,
    }
}
FIRMWARE_UPDATE_ARGSINFO = {
    "settings": {
        "description": (
            'A list of firmware updates, each {"component": "bios" or "bmc", "url": ...}'
        ),
        "required": True,
    }
}


def check_bios_settings(settings: Any) -> dict[str, Any]:
    """`settings` of a BIOS step as {name: value}, or InvalidInput naming the bad entry."""
    if not isinstance(settings, list) or not settings:
        raise InvalidInput(
            'settings must be a non-empty list of {"name": ..., "value": ...}', field="settings"
        )
    out: dict[str, Any] = {}
    for i, s in enumerate(settings):
        if not isinstance(s, dict) or not isinstance(s.get("name"), str) or "value" not in s:
            raise InvalidInput(
                f'settings[{i}] must be {{"name": <string>, "value": <value>}}',
                field=f"settings/{i}",
            )
        out[s["name"]] = s["value"]
    return out


def check_firmware_settings(settings: Any) -> list[dict[str, str]]:
    """`settings` of a firmware update step, or InvalidInput naming the bad entry."""
    if not isinstance(settings, list) or not settings:
        raise InvalidInput(
            'settings must be a non-empty list of {"component": ..., "url": ...}',
            field="settings",
        )
    for i, s in enumerate(settings):
        ok = isinstance(s, dict) and s.get("component") in ("bios", "bmc")
        if not ok or not isinstance(s.get("url"), str) or not s["url"]:
            raise InvalidInput(
                f'settings[{i}] must be {{"component": "bios" or "bmc", "url": <image URL>}}',
                field=f"settings/{i}",
            )
    return list(settings)


class BIOSInterface(Interface):
    kind = "bios"

    def get_settings(self, task: Task) -> list[dict[str, Any]]:
        """The BIOS settings the BMC reports now: dicts with `name`, `value` and, when the BMC
        has an attribute registry, `attribute_type`, `allowable_values`, bounds, lengths,
        `read_only`, `reset_required`, `unique` (Ironic's registry fields)."""
        raise refused(
            self,
            task,
            "BIOS settings",
            "change them in the server's setup screen, or enroll the server with the redfish "
            "hardware type",
        )


class VendorInterface(Interface):
    kind = "vendor"


class RescueInterface(Interface):
    kind = "rescue"

    def rescue(self, task: Task) -> StepResult:
        raise _unsupported(self, "rescue")

    def unrescue(self, task: Task) -> None:
        raise _unsupported(self, "rescue")


class NetworkInterface(Interface):
    kind = "network"


class StorageInterface(Interface):
    kind = "storage"


class FirmwareInterface(Interface):
    kind = "firmware"

    def get_components(self, task: Task) -> list[dict[str, Any]]:
        """The firmware components the BMC reports: dicts with `component` ("bios", "bmc")
        and `current_version`."""
        raise refused(
            self,
            task,
            "firmware components",
            "read the versions from the BMC's web interface, or enroll the server with the "
            "redfish hardware type",
        )


# Generic "no-*" implementations: the interface exists, the operation is refused clearly.
class NoConsole(ConsoleInterface):
    name = "no-console"


class NoRAID(RAIDInterface):
    name = "no-raid"

    def validate_raid_config(self, task: Task, config: dict[str, Any]) -> None:
        raise refused(self, task, "RAID configuration", RAID_INSTEAD)

    def create_configuration(self, task: Task) -> dict[str, Any]:
        raise refused(self, task, "RAID configuration", RAID_INSTEAD)

    def delete_configuration(self, task: Task) -> None:
        raise refused(self, task, "RAID configuration", RAID_INSTEAD)


class NoBIOS(BIOSInterface):
    name = "no-bios"


class NoVendor(VendorInterface):
    name = "no-vendor"


class NoRescue(RescueInterface):
    name = "no-rescue"


class NoInspect(InspectInterface):
    name = "no-inspect"


class NoBoot(BootInterface):
    """Booting the node over the network is not available with this hardware type yet."""

    name = "no-boot"

    def prepare_ramdisk(self, task: Task) -> None:
        raise _unsupported(self, "booting a ramdisk")

    def prepare_instance(self, task: Task) -> None:
        raise _unsupported(self, "preparing the instance's boot")


class NoDeploy(DeployInterface):
    name = "no-deploy"

    def deploy(self, task: Task) -> StepResult:
        raise _unsupported(self, "deployment")

    def tear_down(self, task: Task) -> None:
        raise _unsupported(self, "tear-down")

    def clean(self, task: Task, steps: list[dict[str, Any]] | None) -> StepResult:
        raise _unsupported(self, "cleaning")

    def adopt(self, task: Task) -> None:
        raise _unsupported(self, "adoption")


class NoFirmware(FirmwareInterface):
    name = "no-firmware"


class FlatNetwork(NetworkInterface):
    """VIFs are recorded on the node's ports and portgroups; the switch is not touched."""

    name = "flat"


class NoopNetwork(NetworkInterface):
    name = "noop"


class NoopStorage(StorageInterface):
    name = "noop"


class HardwareType:
    """A named composition: for each interface kind, the classes allowed (first = default)."""

    name: ClassVar[str] = ""
    interfaces: ClassVar[dict[str, tuple[type[Interface], ...]]] = {}

    @classmethod
    def default(cls, kind: str) -> str:
        return cls.interfaces[kind][0].name

    @classmethod
    def names(cls, kind: str) -> list[str]:
        return [i.name for i in cls.interfaces[kind]]

    @classmethod
    def interface(cls, kind: str, name: str | None) -> Interface:
        for impl in cls.interfaces[kind]:
            if name is None or impl.name == name:
                return impl()
        raise InvalidInput(
            f"{kind}_interface {name!r} is not supported by hardware type {cls.name}; "
            f"choose one of {', '.join(cls.names(kind))}",
            field=f"{kind}_interface",
        )

    @classmethod
    def properties(cls) -> dict[str, Prop]:
        """Every driver_info property of the default interfaces, by name (a key that one
        interface requires and another only reads is listed as required)."""
        out: dict[str, Prop] = {}
        for kind in INTERFACE_KINDS:
            for impl in cls.interfaces[kind]:
                for p in impl.properties:
                    have = out.get(p.name)
                    if have is None or (p.required and not have.required):
                        out[p.name] = p
        return out

    @classmethod
    def secret_keys(cls) -> frozenset[str]:
        return frozenset(n for n, p in cls.properties().items() if p.secret)
