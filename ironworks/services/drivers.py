"""Drivers (hardware types) as the API lists them: the enabled ones, each with the live
conductors that serve it. What a hardware type is and does lives in drivers/."""

from __future__ import annotations

from typing import Any

from ironworks.common.errors import NotFound, NotSupported
from ironworks.drivers.base import RAID_INSTEAD
from ironworks.drivers.registry import HARDWARE_TYPES
from ironworks.services.conductors import list_conductors
from ironworks.services.context import Services


def list_drivers(svc: Services) -> list[dict[str, Any]]:
    """The enabled hardware types, in the order of the setting: name, hosts, and the type."""
    hosts_by_driver: dict[str, list[str]] = {}
    for c in list_conductors(svc):
        if c["alive"]:
            for d in c["drivers"]:
                hosts_by_driver.setdefault(d, []).append(c["hostname"])
    out = []
    for name in svc.settings.enabled_hardware_types:
        hw = HARDWARE_TYPES.get(name)
        if hw is not None:
            out.append({"name": name, "hosts": hosts_by_driver.get(name, []), "hw": hw})
    return out


def get_driver(svc: Services, name: str) -> dict[str, Any]:
    for d in list_drivers(svc):
        if d["name"] == name:
            return d
    raise NotFound(f"Driver {name} could not be found.")


def logical_disk_properties(svc: Services, name: str) -> dict[str, str]:
    """What `target_raid_config` may say for this hardware type's RAID interface, or a clear
    refusal for a type that cannot configure RAID."""
    hw = get_driver(svc, name)["hw"]
    for impl in hw.interfaces["raid"]:
        if not impl.name.startswith("no-"):
            return impl().logical_disk_properties()
    raise NotSupported(
        f"the {name} hardware type does not support RAID configuration (raid interfaces: "
        f"{', '.join(hw.names('raid'))}); {RAID_INSTEAD}"
    )
