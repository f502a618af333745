"""The interfaces every BMC-driven hardware type shares until it has its own.

#4: PXE boot and the agent deploy come with the provisioning issue; until then a lab may pick
the fake boot, deploy and inspect interfaces to walk the whole lifecycle with real power.
"""

from __future__ import annotations

from ironworks.drivers import base
from ironworks.drivers.fake import FakeBoot, FakeDeploy, FakeInspect

Interfaces = dict[str, tuple[type[base.Interface], ...]]

_SHARED: Interfaces = {
    "bios": (base.NoBIOS,),
    "boot": (base.NoBoot, FakeBoot),
    "console": (base.NoConsole,),
    "deploy": (base.NoDeploy, FakeDeploy),
    "firmware": (base.NoFirmware,),
    "inspect": (base.NoInspect, FakeInspect),
    "network": (base.FlatNetwork, base.NoopNetwork),
    "raid": (base.NoRAID,),
    "rescue": (base.NoRescue,),
    "storage": (base.NoopStorage,),
    "vendor": (base.NoVendor,),
}


def bmc_interfaces(**own: tuple[type[base.Interface], ...]) -> Interfaces:
    """The shared set with the hardware type's own interfaces (power, management, ...) on top."""
    return {**_SHARED, **own}
