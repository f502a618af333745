"""Hardware types by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from ironworks.common.errors import InvalidInput
from ironworks.domain.nodes import INTERFACE_KINDS, is_secret_key
from ironworks.drivers.base import HardwareType, Interface
from ironworks.drivers.declared_steps import StepKind, declared
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


@cache
def secret_keys(driver: str | None) -> frozenset[str]:
    """The driver_info keys a hardware type declares secret; none for a type no longer
    registered (its passwords are still secrets by name: `domain.nodes.is_secret_key`)."""
    hw = HARDWARE_TYPES.get(driver or "")
    return hw.secret_keys() if hw is not None else frozenset()


def secret_test(driver: str | None) -> Callable[[str], bool]:
    """Which driver_info keys of a node of this hardware type are secrets: sealed at rest,
    masked in responses, left out of exports (one rule: domain.nodes.is_secret_key)."""
    declared = secret_keys(driver)
    return lambda key: is_secret_key(key, declared)


def known_steps(kind: StepKind) -> dict[tuple[str, str], dict[str, Any]]:
    """Every `kind` step some interface of a registered hardware type declares, by (interface,
    step): what a deploy template or a runbook, which name no node, may name."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for hw in HARDWARE_TYPES.values():
        for impls in hw.interfaces.values():
            for impl in impls:
                for st in declared(impl(), kind):
                    out.setdefault((st["interface"], st["step"]), st)
    return out
