"""Switch drivers (netmiko over SSH): see base.py for the model, README.md for the list."""

from __future__ import annotations

from typing import Any

from ironworks.common.errors import InvalidInput
from ironworks.drivers.switches.base import (
    AddLagPorts,
    Change,
    CreateVlan,
    DeleteVlan,
    RemoveLagPorts,
    RestoreDefaultVlan,
    SetAccessVlan,
    SwitchAccess,
    SwitchDriver,
)
from ironworks.drivers.switches.linux_bridge import LinuxBridge
from ironworks.drivers.switches.vendors import (
    AristaEOS,
    CiscoIOS,
    DellOS10,
    HPComware,
    HuaweiVRP,
    JuniperJunos,
)

# vendor name (stored with each switch) -> driver class
DRIVERS: dict[str, type[SwitchDriver]] = {
    cls.vendor: cls
    for cls in (CiscoIOS, HuaweiVRP, HPComware, JuniperJunos, AristaEOS, DellOS10, LinuxBridge)
}


def access_of(row: dict[str, Any], password: str, secret: str) -> SwitchAccess:
    """How to reach the switch of a stored row (`switches` table), its secrets opened."""
    return SwitchAccess(
        name=row["name"],
        host=row["address"],
        username=row["username"],
        password=password,
        port=row["port"],
        secret=secret,
    )


def driver_for(vendor: str, switch: SwitchAccess, **kwargs) -> SwitchDriver:
    """The driver of `vendor` bound to one switch; InvalidInput naming the choices otherwise."""
    try:
        cls = DRIVERS[vendor]
    except KeyError:
        raise InvalidInput(
            f"Unknown switch vendor {vendor!r}: use one of {', '.join(sorted(DRIVERS))}.",
            field="vendor",
        ) from None
    return cls(switch, **kwargs)


__all__ = [
    "DRIVERS",
    "AddLagPorts",
    "Change",
    "CreateVlan",
    "DeleteVlan",
    "RemoveLagPorts",
    "RestoreDefaultVlan",
    "SetAccessVlan",
    "SwitchAccess",
    "SwitchDriver",
    "access_of",
    "driver_for",
]
