"""Inventory from a fake /proc and /sys tree, and the kernel command line."""

from __future__ import annotations

from pathlib import Path

from ironworks_agent import inventory
from ironworks_agent.__main__ import bootif_mac, parse_cmdline

from .conftest import MIB, add_disk, add_nic, write


def test_inventory_reads_cpu_memory_disks_nics_system_and_boot(machine: Path) -> None:
    add_disk(machine, "vda", 1024 * MIB, serial="disk-serial-1")  # virtio: serial on the disk
    add_disk(
        machine,
        "sda",
        2048 * MIB,
        rotational="1",
        device__model="QEMU HARDDISK ",
        device__vendor="ATA     ",
        device__serial="QM0001",
        wwid="naa.5000C500ABCDEF01",
    )
    add_disk(machine, "sdb", 8 * MIB, removable="1", device__wwid="t10.ATA USBSTICK")
    for skipped in ("loop0", "ram0", "sr0", "zram0", "dm-0"):
        add_disk(machine, skipped, 16 * MIB)
    add_disk(machine, "nbd0", 0)  # no medium
    add_nic(machine, "eth1", "52:54:00:AB:CD:EF", speed="-1", carrier="0")
    add_nic(machine, "sit0", "00:00:00:00", type="776")
    (machine / "sys/firmware/efi").mkdir(parents=True)

    inv = inventory.collect(
        machine, pxe_mac="52:54:00:12:34:56", ipv4={"eth0": "10.99.1.20"}, machine="x86_64"
    )

    assert inv["cpu"] == {
        "count": 2,
        "model": "QEMU Virtual CPU version 2.5+",
        "architecture": "x86_64",
    }
    assert inv["memory"] == {"total_mb": 512}  # 482000 kB = 470.7 MiB, up to the next 64 MiB
    assert inv["disks"] == [
        {
            "name": "/dev/sda",
            "size": 2048 * MIB,
            "serial": "QM0001",
            "model": "QEMU HARDDISK",
            "vendor": "ATA",
            "wwn": "0x5000c500abcdef01",
            "rotational": True,
            "removable": False,
        },
        {
            "name": "/dev/sdb",
            "size": 8 * MIB,
            "serial": "t10.ATA USBSTICK",
            "model": None,
            "vendor": None,
            "wwn": "t10.ATA USBSTICK",
            "rotational": False,
            "removable": True,
        },
        {
            "name": "/dev/vda",
            "size": 1024 * MIB,
            "serial": "disk-serial-1",
            "model": None,
            "vendor": None,
            "wwn": None,
            "rotational": False,
            "removable": False,
        },
    ]
    assert inv["interfaces"] == [
        {
            "name": "eth0",
            "mac": "52:54:00:12:34:56",
            "speed_mbps": 1000,
            "link": True,
            "ipv4": "10.99.1.20",
            "lldp": None,
        },
        {
            "name": "eth1",
            "mac": "52:54:00:ab:cd:ef",
            "speed_mbps": None,
            "link": False,
            "ipv4": None,
            "lldp": None,
        },
    ]
    assert inv["system"] == {
        "vendor": "QEMU",
        "product": "Standard PC (i440FX + PIIX, 1996)",
        "serial": "",
    }
    assert inv["boot"] == {"mode": "uefi", "pxe_mac": "52:54:00:12:34:56"}
    assert inventory.macs(machine) == ["52:54:00:12:34:56", "52:54:00:ab:cd:ef"]


def test_memory_rounds_up_to_64_mib_and_bios_without_efi(machine: Path) -> None:
    write(machine / "proc/meminfo", f"MemTotal: {1024 * 1024} kB")  # exactly 1 GiB stays
    assert inventory.memory(machine) == {"total_mb": 1024}
    write(machine / "proc/meminfo", f"MemTotal: {1024 * 1024 + 1} kB")
    assert inventory.memory(machine) == {"total_mb": 1088}
    assert inventory.boot(machine, None) == {"mode": "bios", "pxe_mac": None}


def test_ipv4_from_ip_addr_output_iproute2_and_busybox() -> None:
    text = (
        "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
        "2: eth0    inet 10.99.1.20/16 brd 10.99.255.255 scope global eth0\\       valid_lft forever\n"
        "2: eth0    inet 10.99.1.21/16 scope global secondary eth0\n"
        "5: veth1@if4    inet 192.168.7.2/24 scope global veth1\n"
    )
    assert inventory.parse_ip_addr(text) == {
        "lo": "127.0.0.1",
        "eth0": "10.99.1.20",
        "veth1": "192.168.7.2",
    }


def test_kernel_command_line_and_bootif() -> None:
    words = parse_cmdline(
        "console=ttyS0 ironworks.api=http://10.99.0.1:8080 ironworks.node=u-1 "
        "BOOTIF=01-52-54-00-12-34-56 ironworks.debug=1 quiet"
    )
    assert words["ironworks.api"] == "http://10.99.0.1:8080"
    assert words["ironworks.node"] == "u-1" and words["quiet"] == ""
    assert bootif_mac(words["BOOTIF"]) == "52:54:00:12:34:56"
    assert bootif_mac("52-54-00-12-34-56") == "52:54:00:12:34:56"
    assert bootif_mac("garbage") is None and bootif_mac(None) is None
