"""sushy-tools' emulator with a BIOS and firmware versions on its fake systems driver.

sushy-tools 2.2's fake driver (the one that needs no libvirt) keeps no BIOS attributes and no
firmware versions: its /BIOS answers 404 and SimpleUpdate answers 500. Only the libvirt driver
has them, and it applies a BIOS PATCH at once. This script runs the same emulator with the fake
driver taught both, the way a real BMC behaves:

* the BIOS starts with the attributes sushy-tools' libvirt driver uses (its attribute registry
  describes them); a PATCH of the settings object or a ResetBios is staged and applied only when
  the system next powers on or restarts (the pending power change lands: 1-11 s after the
  request, as for every power change of the fake driver);
* firmware versions start at BiosVersion 1.0.0; SimpleUpdate bumps them (sushy-tools' own
  update service does the arithmetic).

Run as `python sushy_bios_emulator.py --config FILE --interface 127.0.0.1 --port N` (the
arguments of `sushy-emulator`). It imports nothing from Ironworks or the tests.
"""

from __future__ import annotations

import copy
import sys
import time
from typing import Any

from sushy_tools.emulator import main as emulator
from sushy_tools.emulator.resources.systems.fakedriver import FakeDriver

DEFAULT_BIOS = {
    "BootMode": "Uefi",
    "EmbeddedSata": "Raid",
    "L2Cache": "10x256 KB",
    "NicBoot1": "NetworkBoot",
    "NumCores": "10",
    "QuietBoot": "true",
    "ProcTurboMode": "Enabled",
    "SecureBootStatus": "Enabled",
    "SerialNumber": "QPX12345",
    "SysPassword": "",
}
DEFAULT_VERSIONS = {"BiosVersion": "1.0.0"}

_plain_update = FakeDriver._update_if_needed


def _update_if_needed(self: FakeDriver, system: dict[str, Any]) -> dict[str, Any]:
    pending = system.get("pending_power")
    powers_on = (
        pending is not None
        and time.time() >= pending["apply_time"]
        and ("On" in pending["power_state"] or "Restart" in pending["power_state"])
    )
    system = _plain_update(self, system)
    if powers_on and (system.get("bios_pending") or system.get("bios_reset")):
        bios = copy.deepcopy(DEFAULT_BIOS if system.get("bios_reset") else _bios(system))
        bios.update(system.get("bios_pending") or {})
        self._update(system, bios=bios, bios_pending=None, bios_reset=None)
    return system


def _bios(system: dict[str, Any]) -> dict[str, Any]:
    return dict(system.get("bios") or DEFAULT_BIOS)


def get_bios(self: FakeDriver, identity: str) -> dict[str, Any]:
    return _bios(self._get(identity))


def set_bios(self: FakeDriver, identity: str, attributes: dict[str, Any]) -> None:
    system = self._get(identity)
    staged = {**(system.get("bios_pending") or {}), **attributes}
    self._update(system, bios_pending=staged)


def reset_bios(self: FakeDriver, identity: str) -> None:
    self._update(identity, bios_reset=True, bios_pending=None)


def get_versions(self: FakeDriver, identity: str) -> dict[str, Any]:
    return dict(self._get(identity).get("versions") or DEFAULT_VERSIONS)


def set_versions(self: FakeDriver, identity: str, versions: dict[str, Any]) -> None:
    system = self._get(identity)
    self._update(system, versions={**get_versions(self, identity), **versions})


FakeDriver._update_if_needed = _update_if_needed  # type: ignore[method-assign]
FakeDriver.get_bios = get_bios  # type: ignore[method-assign]
FakeDriver.set_bios = set_bios  # type: ignore[method-assign]
FakeDriver.reset_bios = reset_bios  # type: ignore[method-assign]
FakeDriver.get_versions = get_versions  # type: ignore[method-assign]
FakeDriver.set_versions = set_versions  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(emulator.main())
