"""What the node is made of, read from /proc and /sys (the ramdisk has no udev, lshw or dmidecode).

Every path is taken under `root` so tests build a fake tree in a temporary directory. Reading is
forgiving: a missing or unreadable attribute becomes null (or "" for the DMI strings), because a
partial inventory is worth more to the operator than an error.

- CPU: the `processor` lines of /proc/cpuinfo and its model name; the architecture from
  `platform.machine()` (the kernel's word: x86_64, aarch64).
- Memory: MemTotal rounded up to the next 64 MiB, since the kernel keeps some for itself.
- Disks: /sys/block minus loop, ram, sr, zram and dm- devices; size is sectors × 512.
- NICs: /sys/class/net minus lo and non-Ethernet links; IPv4 from `ip -4 -o addr` (or ioctl).
- LLDP: see lldp.py; only interfaces with carrier, and only when `lldp_wait` > 0.
"""

from __future__ import annotations

import fcntl
import logging
import math
import platform
import socket
import struct
import subprocess
from collections.abc import Mapping
from pathlib import Path

from ironworks_agent import lldp, protocol

log = logging.getLogger("ironworks_agent.inventory")

SKIPPED_DISK_PREFIXES = ("loop", "ram", "sr", "zram", "dm-")
ARPHRD_ETHER = 1
SIOCGIFADDR = 0x8915


def read_attr(path: Path) -> str | None:
    """The stripped text of a sysfs/procfs file, or None when it is missing or unreadable."""
    try:
        return path.read_text(errors="replace").strip()
    except OSError:  # absent, or EINVAL (e.g. `speed` of a link that is down)
        return None


def read_int(path: Path) -> int | None:
    text = read_attr(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def cpu(root: Path, machine: str | None = None) -> protocol.CPU:
    text = read_attr(root / "proc/cpuinfo") or ""
    count, model = 0, ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "processor":
            count += 1
        elif key in ("model name", "cpu model") and not model:
            model = value
    return {
        "count": count or 1,
        "model": model or platform.processor() or "",
        "architecture": machine or platform.machine(),
    }


def memory(root: Path) -> protocol.Memory:
    total_kib = 0
    for line in (read_attr(root / "proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            total_kib = int(line.split()[1])
    return {"total_mb": math.ceil(total_kib / 1024 / 64) * 64}


def _wwn(block: Path) -> str | None:
    """The disk's World Wide Name as `0x...` when sysfs has an NAA or EUI id, else its raw wwid."""
    raw = read_attr(block / "wwid") or read_attr(block / "device/wwid")
    if not raw:
        return None
    for prefix in ("naa.", "eui."):
        if raw.startswith(prefix):
            return "0x" + raw[len(prefix) :].lower()
    return raw


def disk(root: Path, name: str) -> protocol.Disk | None:
    """One disk from /sys/block, or None when it is not one we would write to."""
    block = root / "sys/block" / name
    sectors = read_int(block / "size")
    if name.startswith(SKIPPED_DISK_PREFIXES) or not sectors:
        return None
    serial = (
        read_attr(block / "device/serial")
        or read_attr(block / "serial")  # virtio-blk keeps it on the disk itself
        or read_attr(block / "device/wwid")
        or read_attr(block / "wwid")
    )
    return {
        "name": f"/dev/{name}",
        "size": sectors * 512,
        "serial": serial or None,
        "model": read_attr(block / "device/model") or None,
        "vendor": read_attr(block / "device/vendor") or None,
        "wwn": _wwn(block),
        "rotational": read_attr(block / "queue/rotational") == "1",
        "removable": read_attr(block / "removable") == "1",
    }


def disks(root: Path) -> list[protocol.Disk]:
    base = root / "sys/block"
    names = sorted(p.name for p in base.iterdir()) if base.is_dir() else []
    return [d for d in (disk(root, n) for n in names) if d is not None]


def parse_ip_addr(text: str) -> dict[str, str]:
    """First IPv4 address per interface from `ip -4 -o addr` output (iproute2 or busybox)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] == "inet":
            found.setdefault(fields[1].split("@")[0], fields[3].split("/")[0])
    return found


def _ioctl_ipv4(name: str) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            ifreq = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(ifreq[20:24])


def ipv4_now(names: list[str]) -> dict[str, str]:
    """The IPv4 address of each interface that has one, by ioctl (cheap enough to poll)."""
    return {n: a for n in names if (a := _ioctl_ipv4(n))}


def ipv4_addresses(names: list[str]) -> dict[str, str]:
    """This machine's IPv4 address per interface: `ip` when there is one, else ioctl."""
    try:
        out = subprocess.run(
            ["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, timeout=10
        )
        if out.returncode == 0:
            return parse_ip_addr(out.stdout)
    except (OSError, subprocess.SubprocessError):
        pass
    return {n: a for n in names if (a := _ioctl_ipv4(n))}


def interface_names(root: Path) -> list[str]:
    """Ethernet interfaces (no lo, tunnels or other non-Ethernet links), sorted by name."""
    base = root / "sys/class/net"
    names = sorted(p.name for p in base.iterdir()) if base.is_dir() else []
    return [
        n
        for n in names
        if n != "lo"
        and read_int(base / n / "type") in (None, ARPHRD_ETHER)
        and read_attr(base / n / "address") not in (None, "", "00:00:00:00:00:00")
    ]


def interfaces(
    root: Path, ipv4: Mapping[str, str], lldp_found: Mapping[str, protocol.LLDP | None]
) -> list[protocol.Interface]:
    base = root / "sys/class/net"
    found: list[protocol.Interface] = []
    for name in interface_names(root):
        speed = read_int(base / name / "speed")
        found.append(
            {
                "name": name,
                "mac": (read_attr(base / name / "address") or "").lower(),
                "speed_mbps": speed if speed and speed > 0 else None,
                "link": read_attr(base / name / "carrier") == "1",
                "ipv4": ipv4.get(name),
                "lldp": lldp_found.get(name),
            }
        )
    return found


def system(root: Path) -> protocol.System:
    dmi = root / "sys/class/dmi/id"
    return {
        "vendor": read_attr(dmi / "sys_vendor") or "",
        "product": read_attr(dmi / "product_name") or "",
        "serial": read_attr(dmi / "product_serial") or "",
    }


def boot(root: Path, pxe_mac: str | None) -> protocol.Boot:
    mode = "uefi" if (root / "sys/firmware/efi").exists() else "bios"
    return {"mode": mode, "pxe_mac": pxe_mac}


def collect(
    root: Path = Path("/"),
    lldp_wait: float = 0.0,
    pxe_mac: str | None = None,
    ipv4: Mapping[str, str] | None = None,
    machine: str | None = None,
) -> protocol.Inventory:
    """The whole inventory. `ipv4` (name → address) defaults to asking this machine."""
    names = interface_names(root)
    if ipv4 is None:
        ipv4 = ipv4_addresses(names)
    lldp_found: dict[str, protocol.LLDP | None] = {}
    if lldp_wait > 0:
        up = [n for n in names if read_attr(root / "sys/class/net" / n / "carrier") == "1"]
        lldp_found = lldp.listen(up, lldp_wait)
    return {
        "cpu": cpu(root, machine),
        "memory": memory(root),
        "disks": disks(root),
        "interfaces": interfaces(root, ipv4, lldp_found),
        "system": system(root),
        "boot": boot(root, pxe_mac),
    }


def macs(root: Path = Path("/")) -> list[str]:
    """Every Ethernet MAC of this machine, for lookup."""
    base = root / "sys/class/net"
    return [(read_attr(base / n / "address") or "").lower() for n in interface_names(root)]
