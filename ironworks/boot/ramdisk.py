"""What booting the agent ramdisk takes, for iPXE (ipxe.py) and GRUB (grub.py) alike: the
description of one boot, the architecture names, the serial console and the kernel command
line.

The command line's keys are the agent's own (`ironworks_agent/protocol.py`): the agent reads
them back from /proc/cmdline, so both sides take them from that one module.
"""

from __future__ import annotations

from dataclasses import dataclass

from ironworks_agent import protocol

# iPXE's ${buildarch} and Linux's machine names → our cpu_arch names.
ARCH_ALIASES = {
    "x86_64": "x86_64",
    "i386": "x86_64",
    "amd64": "x86_64",
    "arm64": "aarch64",
    "aarch64": "aarch64",
}
CONSOLES = {"x86_64": "ttyS0", "aarch64": "ttyAMA0"}


@dataclass(frozen=True)
class RamdiskBoot:
    """Everything a node's agent script needs."""

    base_url: str  # where the node reaches the boot listener
    node_uuid: str | None  # None: an unknown machine booting for discovery
    cpu_arch: str | None  # None: let the boot loader say (iPXE's ${buildarch})
    purpose: str  # "inspect", "deploy", "clean", "rescue", "discover": shown on the console
    extra_params: str = ""
    debug: bool = False
    # The agent session this boot is for (db/agents.py): the agent shows it at lookup, so an
    # agent of an earlier boot can never take this boot's token.
    boot_id: str | None = None


def kernel_params(
    boot: RamdiskBoot, *, console: str, bootif: str, initrd: str | None = None
) -> list[str]:
    """The agent kernel's command line, one word each: the console, where the API is, which
    node and agent session this boot is for, the MAC booted from (`bootif`: its hex digits
    joined by '-', or a boot loader variable that expands to them), the initrd's name where
    the loader needs it (iPXE on UEFI), debug, then the operator's extra parameters."""
    params = [f"console={console}", f"{protocol.CMDLINE_API}={boot.base_url}"]
    if boot.node_uuid:
        params.append(f"{protocol.CMDLINE_NODE}={boot.node_uuid}")
    if boot.boot_id:
        params.append(f"{protocol.CMDLINE_BOOT}={boot.boot_id}")
    params.append(f"{protocol.CMDLINE_BOOTIF}=01-{bootif}")
    if initrd:
        params.append(f"initrd={initrd}")
    if boot.debug:
        params.append(f"{protocol.CMDLINE_DEBUG}=1")
    return params + boot.extra_params.split()
