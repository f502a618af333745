"""Network boot through iPXE: the node's boot device is the switch between ramdisk and disk.

The iPXE script a node gets follows its provision state (boot/ipxe.py, served by the boot
listener), and dnsmasq knows every enrolled node's MACs (the hosts directory kept in step with
the ports table by the boot service), so preparing the ramdisk is only "PXE on the next boot",
and preparing the instance is "disk from now on": set persistently through the BMC, so a
deployed host never loops back into PXE even if its firmware prefers the network.
"""

from __future__ import annotations

from ironworks.drivers import base
from ironworks.drivers.base import Task


def _management(task: Task) -> base.ManagementInterface:
    mgmt = task.interfaces.get("management")
    assert isinstance(mgmt, base.ManagementInterface), "the conductor passes the interfaces"
    return mgmt


class IPXEBoot(base.BootInterface):
    name = "ipxe"

    def prepare_ramdisk(self, task: Task) -> None:
        _management(task).set_boot_device(task, "pxe", persistent=False)

    def clean_up_ramdisk(self, task: Task) -> None:
        """Nothing: the next boot device is set by whatever boots the node next."""

    def prepare_instance(self, task: Task) -> None:
        _management(task).set_boot_device(task, "disk", persistent=True)

    def clean_up_instance(self, task: Task) -> None:
        """Nothing: cleaning, which follows, boots the ramdisk (PXE once) itself."""
