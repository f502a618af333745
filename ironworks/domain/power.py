"""Power states, declared once: what a node's `power_state` can read and what a power request
may ask for (`PUT /v1/nodes/{id}/states/power {"target": ...}`).

The words are OpenStack Ironic's. A BMC only ever reports on or off; the other targets are
requests that end in one of those two (`goal_of`). The drivers, the conductor, the API, the
client and the CLI all take these names from here.
"""

from __future__ import annotations

from typing import Final, Literal

POWER_ON: Final = "power on"
POWER_OFF: Final = "power off"
REBOOT: Final = "rebooting"
SOFT_POWER_OFF: Final = "soft power off"
SOFT_REBOOT: Final = "soft rebooting"
# power_state when the BMC could not be read
POWER_ERROR: Final = "error"

PowerTarget = Literal["power on", "power off", "rebooting", "soft power off", "soft rebooting"]
# Every target a power request may name, in the order the CLI offers them.
TARGETS: Final[tuple[PowerTarget, ...]] = (POWER_ON, POWER_OFF, REBOOT, SOFT_POWER_OFF, SOFT_REBOOT)
# Targets that need the OS's cooperation (ACPI), and so API version 1.27.
SOFT_TARGETS: Final = frozenset({SOFT_POWER_OFF, SOFT_REBOOT})
# What every hardware type supports, and what one that cannot do ACPI supports.
HARD_TARGETS: Final[tuple[str, ...]] = (POWER_ON, POWER_OFF, REBOOT)


def goal_of(target: str) -> str:
    """The power_state a request for `target` ends in: off for the two offs, on otherwise (a
    reboot ends powered on)."""
    return POWER_OFF if target in (POWER_OFF, SOFT_POWER_OFF) else POWER_ON
