"""Hardware types by name."""

from __future__ import annotations

from ironworks.common.errors import InvalidInput
from ironworks.drivers.base import HardwareType
from ironworks.drivers.fake import FakeHardware
from ironworks.drivers.ipmi import IPMIHardware

HARDWARE_TYPES: dict[str, type[HardwareType]] = {t.name: t for t in (FakeHardware, IPMIHardware)}


def hardware_type(name: str, enabled: list[str] | None = None) -> type[HardwareType]:
    hw = HARDWARE_TYPES.get(name)
    if hw is None or (enabled is not None and name not in enabled):
        choices = enabled if enabled is not None else sorted(HARDWARE_TYPES)
        raise InvalidInput(
            f"driver {name!r} is not an enabled hardware type; choose one of {', '.join(choices)}",
            field="driver",
        )
    return hw
