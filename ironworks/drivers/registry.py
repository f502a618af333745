"""Hardware types by name."""

from __future__ import annotations

from typing import Any

from ironworks.common.errors import InvalidInput
from ironworks.domain.nodes import INTERFACE_KINDS
from ironworks.drivers.base import HardwareType, Interface
from ironworks.drivers.fake import FakeHardware
from ironworks.drivers.ipmi import IPMIHardware
from ironworks.drivers.redfish import RedfishHardware

HARDWARE_TYPES: dict[str, type[HardwareType]] = {
    t.name: t for t in (FakeHardware, IPMIHardware, RedfishHardware)
}


def hardware_type(name: str, enabled: list[str] | None = None) -> type[HardwareType]:
    hw = HARDWARE_TYPES.get(name)
    if hw is None or (enabled is not None and name not in enabled):
        choices = enabled if enabled is not None else sorted(HARDWARE_TYPES)
        raise InvalidInput(
            f"driver {name!r} is not an enabled hardware type; choose one of {', '.join(choices)}",
            field="driver",
        )
    return hw


def interfaces_for(node: dict[str, Any]) -> dict[str, Interface]:
    """The node's interface instances by kind, as its driver and *_interface fields choose."""
    hw = hardware_type(node["driver"])
    return {k: hw.interface(k, node.get(f"{k}_interface")) for k in INTERFACE_KINDS}
