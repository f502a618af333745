"""The Redfish management interface: boot device and mode, NMI, and the chassis' sensors."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from ironworks.common.errors import Conflict, InvalidInput, NotSupported
from ironworks.domain.sensors import Health
from ironworks.drivers import base
from ironworks.drivers.base import Task
from ironworks.drivers.redfish.health import health_of
from ironworks.drivers.redfish.session import SystemAccess

# Boot devices and modes by name; sushy's values are looked up on first use (boot_targets,
# boot_modes): a process without Redfish nodes never imports sushy.
BOOT_TARGETS = {
    "pxe": "PXE",
    "disk": "HDD",
    "cdrom": "CD",
    "bios": "BIOS_SETUP",
    "uefi http": "UEFI_HTTP",
}  # members of sushy.BootSource
BOOT_MODES = {"uefi": "UEFI", "bios": "LEGACY"}  # members of sushy.BootSourceOverrideMode


@cache
def boot_targets() -> dict[str, Any]:
    """Boot device name -> sushy.BootSource."""
    import sushy

    return {k: sushy.BootSource[v] for k, v in BOOT_TARGETS.items()}


@cache
def boot_modes() -> dict[str, Any]:
    """Boot mode name -> sushy.BootSourceOverrideMode."""
    import sushy

    return {k: sushy.BootSourceOverrideMode[v] for k, v in BOOT_MODES.items()}


@cache
def _device_of() -> dict[Any, str]:
    return {v: k for k, v in boot_targets().items()}


@cache
def _mode_of() -> dict[Any, str]:
    return {v: k for k, v in boot_modes().items()}


# Ironic's virtual media device types and the Redfish media types that serve each
# (members of sushy's VirtualMediaType).
VMEDIA_TYPES = {"cdrom": ("CD", "DVD"), "floppy": ("FLOPPY",), "disk": ("USB_STICK",)}


def _media_devices(system: Any) -> list[Any]:
    """The system's virtual media devices, or its managers' (older BMCs keep them there)."""
    from sushy.exceptions import MissingAttributeError, ResourceNotFoundError

    try:
        return list(system.virtual_media.get_members())
    except (MissingAttributeError, ResourceNotFoundError):
        found = []
        for manager in system.managers:
            try:
                found.extend(manager.virtual_media.get_members())
            except (MissingAttributeError, ResourceNotFoundError):
                continue
        return found


def _devices_for(system: Any, device_type: str) -> list[Any]:
    from sushy.resources.manager.constants import VirtualMediaType

    wanted = {VirtualMediaType[name] for name in VMEDIA_TYPES[device_type]}
    return [d for d in _media_devices(system) if wanted & set(d.media_types or ())]


class RedfishManagement(SystemAccess, base.ManagementInterface):
    name = "redfish"

    def get_supported_boot_devices(self, task: Task) -> list[str]:
        return list(BOOT_TARGETS)

    def get_boot_device(self, task: Task) -> dict[str, Any]:
        import sushy

        def read(system: Any) -> dict[str, Any]:
            boot = system.boot
            if boot.enabled in (None, sushy.BootSourceOverrideEnabled.DISABLED):
                return {"boot_device": None, "persistent": None}
            return {
                "boot_device": _device_of().get(boot.target),
                "persistent": boot.enabled == sushy.BootSourceOverrideEnabled.CONTINUOUS,
            }

        return self._run(task, "reading the boot device", read)

    def set_boot_device(
        self, task: Task, device: str, persistent: bool = False
    ) -> dict[str, Any] | None:
        import sushy

        source = boot_targets().get(device)
        if source is None:
            raise InvalidInput(
                f"boot_device {device!r} is not supported; use one of {', '.join(BOOT_TARGETS)}",
                field="boot_device",
            )
        enabled = (
            sushy.BootSourceOverrideEnabled.CONTINUOUS
            if persistent
            else sushy.BootSourceOverrideEnabled.ONCE
        )

        def landed(system: Any) -> bool | None:
            boot = system.boot
            return True if (boot.target, boot.enabled) == (source, enabled) else None

        def act(system: Any) -> bool:
            allowed = system.get_allowed_system_boot_source_values()
            if source not in allowed:
                names = sorted(_device_of().get(s, s.value) for s in allowed)
                raise InvalidInput(
                    f"the Redfish system does not offer boot device {device!r}; it offers "
                    f"{', '.join(names)}",
                    field="boot_device",
                )
            system.set_system_boot_options(source, enabled=enabled)
            return True

        self._run(task, f"setting the boot device to {device}", act, landed=landed)
        return None

    def get_boot_mode(self, task: Task) -> str | None:
        """The boot mode the BMC reports ("uefi" or "bios"), None when it does not say."""
        return self._run(
            task, "reading the boot mode", lambda s: _mode_of().get(s.boot.mode) if s.boot else None
        )

    def set_boot_mode(self, task: Task, mode: str) -> None:
        value = boot_modes().get(mode)
        if value is None:
            raise InvalidInput(
                f"boot mode {mode!r} is not supported; use one of {', '.join(BOOT_MODES)}",
                field="boot_mode",
            )
        self._run(
            task,
            f"setting the boot mode to {mode}",
            lambda s: s.set_system_boot_options(mode=value),
        )

    def inject_nmi(self, task: Task) -> None:
        import sushy

        def act(system: Any) -> None:
            if sushy.ResetType.NMI not in system.get_allowed_reset_system_values():
                raise NotSupported("the Redfish system does not offer NMI in its Reset action")
            system.reset_system(sushy.ResetType.NMI)

        self._run(task, "injecting an NMI", act)

    def get_sensors_data(self, task: Task) -> dict[str, Any]:
        return self._run(task, "reading sensors", sensors_of)

    def attach_virtual_media(self, task: Task, device_type: str, image_url: str) -> None:
        """InsertMedia on the first device of `device_type` (the BMC downloads the image)."""

        def act(system: Any) -> None:
            devices = _devices_for(system, device_type)
            if not devices:
                raise NotSupported(
                    f"the Redfish system has no virtual media device for {device_type!r}"
                )
            free = [d for d in devices if not d.inserted]
            if not free:
                raise Conflict(
                    f"every {device_type} virtual media device of the node holds an image "
                    f"({devices[0].image}); detach it first",
                    field="device_type",
                )
            free[0].insert_media(image_url, inserted=True, write_protected=True)

        self._run(task, f"attaching {image_url} as virtual {device_type}", act)

    def detach_virtual_media(self, task: Task, device_types: Sequence[str]) -> None:
        def act(system: Any) -> None:
            for kind in device_types:
                for device in _devices_for(system, kind):
                    if device.inserted or device.image:
                        device.eject_media()

        self._run(task, f"detaching virtual media ({', '.join(device_types)})", act)

    def get_health(self, task: Task) -> Health:
        """Thermal, Power and the system's log services (`health.py`)."""
        return self._run(task, "reading sensors and the event log", health_of)


def _reading(value: Any, unit: str) -> str:
    return f"{value} {unit}" if value is not None else "N/A"


def _health(item: dict[str, Any]) -> dict[str, Any]:
    status = item.get("Status") or {}
    return {"State": status.get("State"), "Health": status.get("Health")}


def sensors_of(system: Any) -> dict[str, dict[str, Any]]:
    """Temperatures, fans, power supplies and voltages of the system's chassis, by name.

    Keys are "<sensor name>@<chassis id>" so two chassis never overwrite each other.
    """
    out: dict[str, dict[str, Any]] = {"Temperature": {}, "Fan": {}, "Power": {}, "Voltage": {}}
    for chassis in system.chassis:
        where = chassis.identity
        if chassis.thermal_data:
            thermal = chassis.thermal.json
            for t in thermal.get("Temperatures") or []:
                out["Temperature"][f"{t.get('Name')}@{where}"] = {
                    "Sensor Reading": _reading(t.get("ReadingCelsius"), "degrees C"),
                    **_health(t),
                }
            for f in thermal.get("Fans") or []:
                name = f.get("Name") or f.get("FanName")
                out["Fan"][f"{name}@{where}"] = {
                    "Sensor Reading": _reading(f.get("Reading"), f.get("ReadingUnits") or "RPM"),
                    **_health(f),
                }
        if chassis.power_data:
            power = chassis.power.json
            for p in power.get("PowerSupplies") or []:
                out["Power"][f"{p.get('Name')}@{where}"] = {
                    "Sensor Reading": _reading(p.get("LastPowerOutputWatts"), "W"),
                    **_health(p),
                }
            for v in power.get("Voltages") or []:
                out["Voltage"][f"{v.get('Name')}@{where}"] = {
                    "Sensor Reading": _reading(v.get("ReadingVolts"), "Volts"),
                    **_health(v),
                }
    return {kind: found for kind, found in out.items() if found}
