"""`fake-hardware`: every interface, no hardware, an optional delay per operation.

Failures can be injected the same way: driver_info `fake_<kind>_fail` = "a message" makes every
operation of that interface raise a DriverError with that message.

Delays come from driver_info `fake_<kind>_delay` (seconds, or "min:max" for a random delay in
that range) or else from the deployment's `fake.delay` setting. They make the whole lifecycle
observable (and killable) without a server in a rack.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

from ironworks.common.errors import DriverError, InvalidInput
from ironworks.domain.power import POWER_OFF, POWER_ON, SOFT_POWER_OFF, TARGETS
from ironworks.drivers import base
from ironworks.drivers.base import Prop, Task, check_bios_settings, check_firmware_settings
from ironworks.drivers.declared_steps import step

# The CPU model the fake inspection reports in its inventory.
FAKE_CPU_MODEL = "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz (fake)"


def _delay(task: Task, kind: str) -> None:
    raw = task.driver_info.get(f"fake_{kind}_delay", task.options.get("fake_delay", 0))
    seconds = parse_delay(raw, f"driver_info/fake_{kind}_delay")
    if seconds > 0:
        time.sleep(seconds)
    fail = task.driver_info.get(f"fake_{kind}_fail")
    if fail:
        raise DriverError(f"{fail} (injected by driver_info fake_{kind}_fail)")


def parse_delay(raw: Any, field: str) -> float:
    try:
        if isinstance(raw, str) and ":" in raw:
            lo, hi = (float(x) for x in raw.split(":", 1))
            if lo < 0 or hi < lo:
                raise ValueError
            return random.uniform(lo, hi)
        value = float(raw or 0)
        if value < 0:
            raise ValueError
        return value
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{field} must be seconds (e.g. 2.5) or a range 'min:max', not {raw!r}", field=field
        ) from None


def _delay_prop(kind: str) -> Prop:
    return Prop(f"fake_{kind}_delay", f"Seconds each fake {kind} operation takes, or 'min:max'.")


def _fail_prop(kind: str) -> Prop:
    return Prop(
        f"fake_{kind}_fail", f"If set, every fake {kind} operation fails with this message."
    )


class FakePower(base.PowerInterface):
    name = "fake"
    properties = (
        Prop("fake_bmc_address", "Pretend BMC address, shown only."),
        Prop("fake_username", "Pretend BMC user name."),
        Prop("fake_password", "Pretend BMC password.", secret=True),
        _delay_prop("power"),
        _fail_prop("power"),
    )

    def check_formats(self, task: Task) -> None:
        for p in (
            "power",
            "management",
            "boot",
            "deploy",
            "inspect",
            "console",
            "raid",
            "bios",
            "vendor",
            "rescue",
        ):
            key = f"fake_{p}_delay"
            if key in task.driver_info:
                parse_delay(task.driver_info[key], f"driver_info/{key}")

    def get_power_state(self, task: Task) -> str:
        _delay(task, "power")
        return task.node.get("power_state") or POWER_OFF

    def set_power_state(self, task: Task, state: str, timeout: float | None = None) -> str:
        _delay(task, "power")
        return POWER_OFF if state == SOFT_POWER_OFF else state

    def reboot(self, task: Task, timeout: float | None = None, soft: bool = False) -> str:
        _delay(task, "power")
        return POWER_ON

    def supported_power_states(self, task: Task) -> list[str]:
        return list(TARGETS)


class FakeManagement(base.ManagementInterface):
    name = "fake"
    properties = (_delay_prop("management"), _fail_prop("management"))

    def get_supported_boot_devices(self, task: Task) -> list[str]:
        return ["pxe", "disk", "cdrom", "bios", "safe"]

    def get_boot_device(self, task: Task) -> dict[str, Any]:
        _delay(task, "management")
        internal = task.node.get("driver_internal_info") or {}
        return {
            "boot_device": internal.get("fake_boot_device", "pxe"),
            "persistent": internal.get("fake_boot_device_persistent", False),
        }

    def set_boot_device(
        self, task: Task, device: str, persistent: bool = False
    ) -> dict[str, Any] | None:
        _delay(task, "management")
        # a fake BMC has no memory of its own: the node row keeps it
        return {"fake_boot_device": device, "fake_boot_device_persistent": persistent}

    def inject_nmi(self, task: Task) -> None:
        _delay(task, "management")

    def get_sensors_data(self, task: Task) -> dict[str, Any]:
        return {"Temperature": {"CPU1 Temp": {"Sensor Reading": "40 degrees C"}}}

    def attach_virtual_media(self, task: Task, device_type: str, image_url: str) -> None:
        _delay(task, "management")
        media = dict(task.internal.get(FAKE_VMEDIA) or {})
        media[device_type] = image_url
        task.internal[FAKE_VMEDIA] = media

    def detach_virtual_media(self, task: Task, device_types: Sequence[str]) -> None:
        _delay(task, "management")
        media = {k: v for k, v in (task.internal.get(FAKE_VMEDIA) or {}).items()}
        for kind in device_types:
            media.pop(kind, None)
        task.internal[FAKE_VMEDIA] = media


class FakeBoot(base.BootInterface):
    name = "fake"
    properties = (_delay_prop("boot"), _fail_prop("boot"))

    def prepare_ramdisk(self, task: Task) -> None:
        _delay(task, "boot")

    def prepare_instance(self, task: Task) -> None:
        _delay(task, "boot")


FAKE_STEP_ARGS = {
    "label": {"description": "What the step notes in driver_internal_info.", "required": True},
    "wait": {"description": "Answer 'wait' once before finishing.", "required": False},
}


class FakeDeploy(base.DeployInterface):
    name = "fake"
    properties = (_delay_prop("deploy"), _fail_prop("deploy"))

    def deploy(self, task: Task) -> base.StepResult:
        _delay(task, "deploy")
        return "done"

    def tear_down(self, task: Task) -> None:
        _delay(task, "deploy")

    def clean(self, task: Task, steps: list[dict[str, Any]] | None) -> base.StepResult:
        _delay(task, "deploy")
        return "done"

    @step("clean", priority=10)
    def erase_devices(self, task: Task) -> base.StepResult:
        """Pretend to erase every disk (Ironic's name for a full erase)."""
        _delay(task, "deploy")
        return "done"

    @step("clean", priority=99)
    def erase_devices_metadata(self, task: Task) -> base.StepResult:
        """Pretend to erase the disks' partition tables and signatures."""
        _delay(task, "deploy")
        return "done"

    @step("clean", argsinfo=FAKE_STEP_ARGS, requires_ramdisk=False)
    @step("deploy", argsinfo=FAKE_STEP_ARGS, requires_ramdisk=False)
    @step("service", argsinfo=FAKE_STEP_ARGS, requires_ramdisk=False)
    def record(self, task: Task, label: str, wait: bool = False) -> base.StepResult:
        """A step that only notes that it ran: driver_internal_info `fake_steps` gets `label`
        (tests see the order steps ran in). With `wait`, it first answers "wait" once, the
        way a step that waits for the ramdisk does, and finishes when resumed."""
        _delay(task, "deploy")
        if wait and not task.args.get("resume"):
            return "wait"
        task.internal.setdefault("fake_steps", []).append(label)
        return "done"

    def adopt(self, task: Task) -> None:
        _delay(task, "deploy")


class FakeInspect(base.InspectInterface):
    name = "fake"
    properties = (_delay_prop("inspect"), _fail_prop("inspect"))

    def inspect_hardware(self, task: Task) -> tuple[base.StepResult, dict[str, Any]]:
        _delay(task, "inspect")
        found = {"cpus": 8, "memory_mb": 16384, "local_gb": 100, "cpu_arch": "x86_64"}
        # inspection fills what is unknown and never overwrites what the operator set
        props = {**found, **(task.node.get("properties") or {})}
        inventory = {  # Ironic's inventory shape, for the inspection rules
            "cpu": {
                "count": props["cpus"],
                "architecture": props["cpu_arch"],
                "model_name": FAKE_CPU_MODEL,
            },
            "memory": {"physical_mb": props["memory_mb"]},
            "disks": [{"name": "/dev/sda", "size": _gib(props["local_gb"])}],
            "system_vendor": {"manufacturer": "Ironworks", "product_name": "Fake"},
        }
        return "done", {**props, base.INVENTORY_KEY: inventory}


def _gib(value: Any) -> int:
    try:
        return int(value) * 2**30
    except (TypeError, ValueError):
        return 0


class FakeConsole(base.ConsoleInterface):
    name = "fake"
    properties = (_delay_prop("console"), _fail_prop("console"))

    def start_console(self, task: Task) -> None:
        _delay(task, "console")

    def stop_console(self, task: Task) -> None:
        _delay(task, "console")

    def get_console(self, task: Task) -> dict[str, Any]:
        return {"type": "shellinabox", "url": f"http://127.0.0.1:0/console/{task.uuid}"}


class FakeRAID(base.RAIDInterface):
    name = "fake"
    properties = (_delay_prop("raid"), _fail_prop("raid"))

    def validate_raid_config(self, task: Task, config: dict[str, Any]) -> None:
        disks = config.get("logical_disks")
        if not isinstance(disks, list) or not disks:
            raise InvalidInput(
                "target_raid_config needs a non-empty list 'logical_disks'",
                field="logical_disks",
            )
        for i, d in enumerate(disks):
            if not isinstance(d, dict) or "size_gb" not in d or "raid_level" not in d:
                raise InvalidInput(
                    f"logical_disks[{i}] needs size_gb and raid_level",
                    field=f"logical_disks/{i}",
                )

    def create_configuration(self, task: Task) -> dict[str, Any]:
        _delay(task, "raid")
        return dict(task.node.get("target_raid_config") or {})

    def delete_configuration(self, task: Task) -> None:
        _delay(task, "raid")

    def logical_disk_properties(self) -> dict[str, str]:
        return dict(base.LOGICAL_DISK_PROPERTIES)


# driver_internal_info keys where the fake BMC keeps what a real one would: the BIOS settings
# changed from their defaults, the inserted virtual media, the flashed firmware versions.
FAKE_BIOS = "fake_bios"
FAKE_VMEDIA = "fake_vmedia"
FAKE_FIRMWARE = "fake_firmware"

# The fake BIOS: its settings and their registry, as a Redfish BMC would describe them.
FAKE_BIOS_DEFAULTS: dict[str, dict[str, Any]] = {
    "BootMode": {
        "value": "Uefi",
        "attribute_type": "Enumeration",
        "allowable_values": ["Bios", "Uefi"],
        "reset_required": True,
    },
    "ProcTurboMode": {
        "value": "Enabled",
        "attribute_type": "Enumeration",
        "allowable_values": ["Enabled", "Disabled"],
        "reset_required": True,
    },
    "Virtualization": {
        "value": "Enabled",
        "attribute_type": "Enumeration",
        "allowable_values": ["Enabled", "Disabled"],
        "reset_required": True,
    },
    "NumCores": {
        "value": "8",
        "attribute_type": "Integer",
        "lower_bound": 1,
        "upper_bound": 64,
        "reset_required": True,
    },
    "AssetTag": {
        "value": "",
        "attribute_type": "String",
        "min_length": 0,
        "max_length": 32,
        "read_only": False,
    },
    "SerialNumber": {
        "value": "FAKE-0001",
        "attribute_type": "String",
        "read_only": True,
        "unique": True,
    },
}
FAKE_FIRMWARE_DEFAULTS = {"bios": "1.0.0", "bmc": "2.0.0"}


class FakeBIOS(base.BIOSInterface):
    """A BIOS with FAKE_BIOS_DEFAULTS; changes are kept in driver_internal_info."""

    name = "fake"
    properties = (_delay_prop("bios"), _fail_prop("bios"))

    def get_settings(self, task: Task) -> list[dict[str, Any]]:
        _delay(task, "bios")
        changed = task.internal.get(FAKE_BIOS) or {}
        return [
            {"name": name, **spec, "value": str(changed.get(name, spec["value"]))}
            for name, spec in sorted(FAKE_BIOS_DEFAULTS.items())
        ]

    @step("clean", argsinfo=base.BIOS_APPLY_ARGSINFO, requires_ramdisk=False)
    @step("deploy", argsinfo=base.BIOS_APPLY_ARGSINFO, requires_ramdisk=False)
    def apply_configuration(self, task: Task, settings: Any = None) -> base.StepResult:
        wanted = check_bios_settings(settings)
        for i, name in enumerate(wanted):
            spec = FAKE_BIOS_DEFAULTS.get(name)
            if spec is None:
                raise InvalidInput(
                    f"settings[{i}]: the BIOS has no setting {name!r}; it has "
                    f"{', '.join(sorted(FAKE_BIOS_DEFAULTS))}",
                    field=f"settings/{i}/name",
                )
            if spec.get("read_only"):
                raise InvalidInput(
                    f"settings[{i}]: BIOS setting {name!r} is read-only",
                    field=f"settings/{i}/name",
                )
        _delay(task, "bios")
        task.internal[FAKE_BIOS] = {**(task.internal.get(FAKE_BIOS) or {}), **wanted}
        task.bios_settings = self.get_settings(task)
        return "done"

    @step("clean", requires_ramdisk=False)
    @step("deploy", requires_ramdisk=False)
    def factory_reset(self, task: Task) -> base.StepResult:
        _delay(task, "bios")
        task.internal.pop(FAKE_BIOS, None)
        task.bios_settings = self.get_settings(task)
        return "done"


class FakeVendor(base.VendorInterface):
    name = "fake"
    properties = (_delay_prop("vendor"), _fail_prop("vendor"))


class FakeRescue(base.RescueInterface):
    name = "fake"
    properties = (_delay_prop("rescue"), _fail_prop("rescue"))

    def rescue(self, task: Task) -> base.StepResult:
        _delay(task, "rescue")
        return "done"

    def unrescue(self, task: Task) -> None:
        _delay(task, "rescue")


class FakeFirmware(base.FirmwareInterface):
    """A BIOS and a BMC with FAKE_FIRMWARE_DEFAULTS; an update bumps the minor version."""

    name = "fake"

    def get_components(self, task: Task) -> list[dict[str, Any]]:
        flashed = task.internal.get(FAKE_FIRMWARE) or {}
        return [
            {"component": c, "current_version": flashed.get(c, v)}
            for c, v in FAKE_FIRMWARE_DEFAULTS.items()
        ]

    @step("clean", argsinfo=base.FIRMWARE_UPDATE_ARGSINFO, requires_ramdisk=False)
    @step("service", argsinfo=base.FIRMWARE_UPDATE_ARGSINFO, requires_ramdisk=False)
    def update(self, task: Task, settings: Any = None) -> base.StepResult:
        flashed = dict(task.internal.get(FAKE_FIRMWARE) or {})
        done = []
        for s in check_firmware_settings(settings):
            c = s["component"]
            major, minor, *rest = flashed.get(c, FAKE_FIRMWARE_DEFAULTS[c]).split(".")
            flashed[c] = ".".join([major, str(int(minor) + 1), *rest])
            done.append(c)
        task.internal[FAKE_FIRMWARE] = flashed
        task.firmware = [
            {**c, "last_version_flashed": c["current_version"]} if c["component"] in done else c
            for c in self.get_components(task)
        ]
        return "done"


class FakeHardware(base.HardwareType):
    name = "fake-hardware"
    interfaces = {
        "bios": (FakeBIOS, base.NoBIOS),
        "boot": (FakeBoot,),
        "console": (FakeConsole, base.NoConsole),
        "deploy": (FakeDeploy,),
        "firmware": (FakeFirmware, base.NoFirmware),
        "inspect": (FakeInspect, base.NoInspect),
        "management": (FakeManagement,),
        "network": (base.FlatNetwork, base.NoopNetwork),
        "power": (FakePower,),
        "raid": (FakeRAID, base.NoRAID),
        "rescue": (FakeRescue, base.NoRescue),
        "storage": (base.NoopStorage,),
        "vendor": (FakeVendor, base.NoVendor),
    }
