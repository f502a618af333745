"""The Redfish BIOS and firmware interfaces: settings through the system's Bios resource, versions
from the system (BiosVersion) and its manager (FirmwareVersion), updates through the
UpdateService's SimpleUpdate.

BIOS changes are staged: `apply_configuration` and `factory_reset` PATCH the Bios resource's
settings object (or post ResetBios), reboot the system (a BIOS applies staged settings during
POST) and read the settings back until they show the change or `BIOS_APPLY_TIMEOUT` passes.
The settings read last are left on the task for the conductor to cache.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ironworks.common.errors import DriverError, InvalidInput, NotSupported
from ironworks.drivers import base
from ironworks.drivers.base import Task, check_bios_settings, check_firmware_settings
from ironworks.drivers.declared_steps import step
from ironworks.drivers.redfish.info import target_of
from ironworks.drivers.redfish.power import RedfishPower
from ironworks.drivers.redfish.session import SystemAccess

log = logging.getLogger(__name__)

BIOS_APPLY_TIMEOUT = 600.0  # seconds after the reboot for the BIOS to show staged settings
FIRMWARE_TIMEOUT = 1800.0  # seconds for an updated component to report its new version
POLL = 2.0  # seconds between reads while waiting

# Ironic's registry fields and the sushy attribute names they come from.
_REGISTRY = {
    "attribute_type": "attribute_type",
    "allowable_values": "allowable_values",
    "lower_bound": "lower_bound",
    "upper_bound": "upper_bound",
    "min_length": "min_length",
    "max_length": "max_length",
    "read_only": "read_only",
    "reset_required": "reset_required",
    "unique": "unique",
}


def _registry(bios: Any) -> dict[str, Any]:
    """The BIOS attribute registry's entries by name; empty when the BMC has none."""
    try:
        registry = bios.get_attribute_registry()
        entries = registry.registry_entries.attributes if registry is not None else []
    except Exception:  # a registry is optional; a broken one must not hide the settings
        log.debug("no usable BIOS attribute registry at %s", bios.path, exc_info=True)
        return {}
    return {e.name: e for e in entries or []}


def _allowable(values: Any) -> list[str] | None:
    if not values:
        return None
    return [v.get("ValueName") if isinstance(v, dict) else str(v) for v in values]


def settings_of(system: Any) -> list[dict[str, Any]]:
    """The system's current BIOS attributes, with the registry's description of each."""
    bios = system.bios
    entries = _registry(bios)
    out = []
    for name, value in sorted((bios.attributes or {}).items()):
        row: dict[str, Any] = {"name": name, "value": None if value is None else str(value)}
        entry = entries.get(name)
        if entry is not None:
            for ours, theirs in _REGISTRY.items():
                row[ours] = getattr(entry, theirs, None)
            row["allowable_values"] = _allowable(row["allowable_values"])
        out.append(row)
    return out


def _power(task: Task) -> base.PowerInterface:
    power = task.interfaces.get("power")
    return power if isinstance(power, base.PowerInterface) else RedfishPower()


class RedfishBIOS(SystemAccess, base.BIOSInterface):
    name = "redfish"

    def get_settings(self, task: Task) -> list[dict[str, Any]]:
        return self._run(task, "reading the BIOS settings", settings_of)

    def _settle(self, task: Task, done: Callable[[list[dict[str, Any]]], bool], what: str) -> None:
        """Reboot so the BIOS applies what is staged, then read until `done(settings)`."""
        _power(task).reboot(task, task.options.get("power_timeout"))
        limit = float(task.options.get("bios_apply_timeout") or BIOS_APPLY_TIMEOUT)
        deadline = time.monotonic() + limit
        while True:
            current = self.get_settings(task)
            if done(current):
                task.bios_settings = current
                return
            if time.monotonic() >= deadline:
                task.bios_settings = current
                raise DriverError(
                    f"Redfish service {target_of(task).url} accepted {what} but the BIOS does "
                    f"not show it {limit:g} s after the reboot; look at the server's console"
                )
            time.sleep(POLL)

    @step("clean", argsinfo=base.BIOS_APPLY_ARGSINFO, requires_ramdisk=False)
    @step("deploy", argsinfo=base.BIOS_APPLY_ARGSINFO, requires_ramdisk=False)
    def apply_configuration(self, task: Task, settings: Any = None) -> base.StepResult:
        wanted = {k: v for k, v in check_bios_settings(settings).items()}

        def stage(system: Any) -> None:
            bios = system.bios
            have = bios.attributes or {}
            entries = _registry(bios)
            for i, name in enumerate(wanted):
                if name not in have:
                    raise InvalidInput(
                        f"settings[{i}]: the BIOS has no setting {name!r}",
                        field=f"settings/{i}/name",
                    )
                entry = entries.get(name)
                if entry is not None and (entry.read_only or entry.immutable):
                    raise InvalidInput(
                        f"settings[{i}]: BIOS setting {name!r} is read-only",
                        field=f"settings/{i}/name",
                    )
            bios.set_attributes(wanted)

        self._run(task, "staging BIOS settings", stage)
        expect = {k: str(v) for k, v in wanted.items()}

        def applied(current: list[dict[str, Any]]) -> bool:
            seen = {s["name"]: s["value"] for s in current}
            return all(seen.get(k) == v for k, v in expect.items())

        self._settle(task, applied, "the BIOS settings")
        return "done"

    @step("clean", requires_ramdisk=False)
    @step("deploy", requires_ramdisk=False)
    def factory_reset(self, task: Task) -> base.StepResult:
        self._run(task, "resetting the BIOS to its defaults", lambda s: s.bios.reset_bios())
        self._settle(task, lambda current: True, "the BIOS reset")
        return "done"


def components_of(system: Any) -> list[dict[str, Any]]:
    """ "bios" from the system's BiosVersion, "bmc" from its first manager's FirmwareVersion."""
    out = []
    if system.bios_version:
        out.append({"component": "bios", "current_version": system.bios_version})
    try:
        managers = system.managers
    except Exception:  # a system without a manager link still has its BIOS version
        managers = []
    if managers and managers[0].firmware_version:
        out.append({"component": "bmc", "current_version": managers[0].firmware_version})
    return out


class RedfishFirmware(SystemAccess, base.FirmwareInterface):
    name = "redfish"

    def get_components(self, task: Task) -> list[dict[str, Any]]:
        return self._run(task, "reading the firmware versions", components_of)

    @step("clean", argsinfo=base.FIRMWARE_UPDATE_ARGSINFO, requires_ramdisk=False)
    @step("service", argsinfo=base.FIRMWARE_UPDATE_ARGSINFO, requires_ramdisk=False)
    def update(self, task: Task, settings: Any = None) -> base.StepResult:
        """SimpleUpdate of each component from its URL, one after the other; done when the
        component reports a version other than before."""
        for s in check_firmware_settings(settings):
            component, url = s["component"], s["url"]
            before = self._version(task, component)

            def send(system: Any, component: str = component, url: str = url) -> None:
                if component == "bios":
                    target = system.path
                else:
                    managers = system.managers
                    if not managers:
                        raise NotSupported("the Redfish system names no manager to update")
                    target = managers[0].path
                system.root.get_update_service().simple_update(url, targets=[target])

            self._run(task, f"updating the {component} firmware from {url}", send)
            limit = float(task.options.get("firmware_timeout") or FIRMWARE_TIMEOUT)
            deadline = time.monotonic() + limit
            while (now := self._version(task, component)) == before:
                if time.monotonic() >= deadline:
                    raise DriverError(
                        f"Redfish service {target_of(task).url} accepted the {component} "
                        f"update but still reports version {before} after {limit:g} s"
                    )
                time.sleep(POLL)
            log.info("node %s: %s firmware %s -> %s", task.uuid, component, before, now)
            flashed = {"component": component, "current_version": now, "last_version_flashed": now}
            task.firmware = [
                *(c for c in task.firmware or [] if c["component"] != component),
                flashed,
            ]
        return "done"

    def _version(self, task: Task, component: str) -> str | None:
        for c in self.get_components(task):
            if c["component"] == component:
                return c["current_version"]
        return None
