"""The interfaces every BMC-driven hardware type shares until it has its own.

Boot is iPXE and deploy, inspection and cleaning go through the agent ramdisk by default
(docs/provisioning.md); a lab may still pick the fake boot, deploy and inspect interfaces to walk
the whole lifecycle with real power and no network boot.
"""

from __future__ import annotations

from ironworks.drivers import base
from ironworks.drivers.agent import AgentDeploy, AgentInspect
from ironworks.drivers.fake import FakeBoot, FakeDeploy, FakeInspect
from ironworks.drivers.ipxe import IPXEBoot
from ironworks.drivers.sol import IPMISolConsole

Interfaces = dict[str, tuple[type[base.Interface], ...]]

_SHARED: Interfaces = {
    "bios": (base.NoBIOS,),
    "boot": (IPXEBoot, base.NoBoot, FakeBoot),
    "console": (IPMISolConsole, base.NoConsole),
    "deploy": (AgentDeploy, base.NoDeploy, FakeDeploy),
    "firmware": (base.NoFirmware,),
    "inspect": (AgentInspect, base.NoInspect, FakeInspect),
    "network": (base.FlatNetwork, base.NoopNetwork),
    "raid": (base.NoRAID,),
    "rescue": (base.NoRescue,),
    "storage": (base.NoopStorage,),
    "vendor": (base.NoVendor,),
}


def bmc_interfaces(**own: tuple[type[base.Interface], ...]) -> Interfaces:
    """The shared set with the hardware type's own interfaces (power, management, ...) on top."""
    return {**_SHARED, **own}
