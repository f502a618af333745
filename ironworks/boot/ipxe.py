"""iPXE scripts: the entry script every iPXE client gets, and each node's own.

`boot.ipxe` chains to `/boot/<mac>.ipxe` for the MAC iPXE booted from. A node's script follows
its provision state: while the conductor needs the agent (inspection, deployment, cleaning,
rescue) it boots the agent ramdisk of the node's architecture; in every other state it hands
the machine back to its firmware's next boot device (the local disk), so a node that PXE-boots
by mistake never reinstalls itself.
"""

from __future__ import annotations

from ironworks.boot.ramdisk import ARCH_ALIASES, CONSOLES, RamdiskBoot, kernel_params


def entry_script(base_url: str) -> str:
    return (
        "#!ipxe\n"
        f"chain --autofree {base_url}/boot/${{netX/mac:hexhyp}}.ipxe || goto nonode\n"
        ":nonode\n"
        "echo Ironworks has no boot script for ${netX/mac}; trying the next boot device\n"
        "exit\n"
    )


def ramdisk_script(boot: RamdiskBoot) -> str:
    arch = ARCH_ALIASES.get(boot.cpu_arch or "")
    arch_part = arch or "${buildarch}"
    console = CONSOLES.get(arch or "", "ttyS0")
    params = kernel_params(boot, console=console, bootif="${netX/mac:hexhyp}", initrd="initramfs")
    who = f"node {boot.node_uuid}" if boot.node_uuid else "an unknown machine (${netX/mac})"
    base = f"{boot.base_url}/boot/ramdisk/{arch_part}"
    return (
        "#!ipxe\n"
        f"echo Ironworks: {who}: booting the agent ramdisk ({boot.purpose})\n"
        "set tries:int32 0\n"
        ":load\n"
        f"kernel {base}/kernel {' '.join(params)} || goto retry\n"
        f"initrd --name initramfs {base}/initramfs || goto retry\n"
        "boot || goto retry\n"
        ":retry\n"
        "inc tries\n"
        "iseq ${tries} 5 && goto give_up ||\n"
        "echo Ironworks: loading the ramdisk failed; retrying in 5 s\n"
        "sleep 5\n"
        "goto load\n"
        ":give_up\n"
        "echo Ironworks: the ramdisk could not be loaded 5 times; rebooting\n"
        "sleep 10\n"
        "reboot\n"
    )


def local_boot_script(node_uuid: str, state: str, uefi: bool) -> str:
    """Hand the machine to the next boot device: the disk."""
    say = f"echo Ironworks: node {node_uuid} is {state}: booting from the local disk\n"
    if uefi:
        return "#!ipxe\n" + say + "exit\n"
    return "#!ipxe\n" + say + "sanboot --no-describe --drive 0x80 || exit\n"
