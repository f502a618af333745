"""GRUB configurations for arm64 UEFI machines, the counterpart of the iPXE scripts (ipxe.py).

Debian has no iPXE for arm64, so those machines PXE-boot a GRUB netboot image
(ironworks/builders/grub.py). Its embedded configuration reads `grub/grub.cfg` from the TFTP root:
`tftp_config`, written with the TFTP root because it names the boot listener. That one loads
`/boot/grub/${net_default_mac}.cfg` over HTTP; a node's configuration follows its provision state
like its iPXE script: the agent ramdisk of its architecture in an agent phase, otherwise `exit`,
which hands the machine back to the firmware's next boot device (the local disk).

GRUB expands `$` and splits on blanks and quotes, so every word we put in a command is quoted.
"""

from __future__ import annotations

from ironworks.boot.ramdisk import ARCH_ALIASES, CONSOLES, RamdiskBoot, kernel_params

TFTP_CONFIG_PATH = "grub/grub.cfg"  # in the TFTP root, where the netboot image looks
RETRIES = 5


def quote(word: str) -> str:
    """One GRUB script word, literally (single quotes; a quote itself as '\\'')."""
    return "'" + word.replace("'", "'\\''") + "'"


def http_device(base_url: str) -> str:
    """`http://10.99.0.1:8080` → `(http,10.99.0.1:8080)`: GRUB's device for that server."""
    host = base_url.split("://", 1)[-1].rstrip("/")
    return f"(http,{host})"


def tftp_config(base_url: str) -> str:
    """grub/grub.cfg in the TFTP root: on to the node's configuration on the boot listener,
    tried `RETRIES` times (GRUB's TCP gives up quickly), then the firmware's next boot device."""
    dev = http_device(base_url)
    tries = " ".join(str(i) for i in range(1, RETRIES + 1))
    return (
        "# Rendered by Ironworks (boot/grub.py): each machine's own configuration is on the "
        "boot listener.\n"
        "set timeout=0\n"
        f"for try in {tries}; do\n"
        '    echo "Ironworks: loading the boot configuration of ${net_default_mac}"\n'
        f'    configfile "{dev}/boot/grub/${{net_default_mac}}.cfg"\n'
        '    echo "Ironworks: no boot configuration for ${net_default_mac} (try ${try})"\n'
        "    sleep 2\n"
        "done\n"
        'echo "Ironworks: the boot listener has no configuration for ${net_default_mac}; '
        'trying the next boot device"\n'
        "exit\n"
    )


def ramdisk_config(boot: RamdiskBoot, mac: str) -> str:
    """Boot the agent ramdisk: `linux` + `initrd` over HTTP, retried, then a reboot.

    GRUB has no `${netX/mac:hexhyp}`: BOOTIF is rendered from `mac`, the MAC the configuration
    was asked for (the one the firmware booted from)."""
    arch = ARCH_ALIASES.get(boot.cpu_arch or "", "aarch64")
    console = CONSOLES.get(arch, "ttyAMA0")
    params = kernel_params(boot, console=console, bootif=mac.lower().replace(":", "-"))
    who = f"node {boot.node_uuid}" if boot.node_uuid else f"an unknown machine ({mac})"
    base = f"{http_device(boot.base_url)}/boot/ramdisk/{arch}"
    cmdline = " ".join(quote(p) for p in params)
    tries = " ".join(str(i) for i in range(1, RETRIES + 1))
    return (
        "set timeout=0\n"
        f"echo {quote(f'Ironworks: {who}: booting the agent ramdisk ({boot.purpose})')}\n"
        f"for try in {tries}; do\n"
        f"    if linux {quote(base + '/kernel')} {cmdline}; then\n"
        f"        if initrd {quote(base + '/initramfs')}; then\n"
        "            boot\n"
        "        fi\n"
        "    fi\n"
        "    echo 'Ironworks: loading the ramdisk failed; retrying in 5 s'\n"
        "    sleep 5\n"
        "done\n"
        f"echo 'Ironworks: the ramdisk could not be loaded {RETRIES} times; rebooting'\n"
        "sleep 10\n"
        "reboot\n"
    )


def local_boot_config(node_uuid: str, state: str) -> str:
    """Back to the firmware, whose next boot device is the disk (UEFI: GRUB `exit`)."""
    say = quote(f"Ironworks: node {node_uuid} is {state}: booting from the local disk")
    return f"echo {say}\nexit\n"
