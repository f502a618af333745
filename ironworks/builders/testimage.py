"""The lab's test OS (issue #4 item 8): a tiny whole-disk image that proves a deploy worked.

Layout of the raw image (x86_64, BIOS): an MBR with SYSLINUX's `mbr.bin` and one bootable
partition from 1 MiB to the end of the image: ext4 (`-O ^64bit,^metadata_csum`, which extlinux
needs) labelled `iwtest-root`, holding extlinux, the Debian kernel and a busybox initramfs. The
image has no room for more: after writing it to a larger disk, the agent adds the `config-2`
partition behind it (`attach_config_drive` does the same for tests).

The initramfs' /init loads the disk and filesystem modules, finds the partition labelled
`config-2` (busybox findfs, else by trying each partition as vfat), reads
`openstack/latest/meta_data.json`, writes `/ironworks-marker` on the root partition, prints
`IRONWORKS-TEST-OS hostname=NAME` and `IRONWORKS-TEST-OS booted` on the console, reports its
first boot to the URL of the config drive's vendor_data (udhcpc, wget; docs/provisioning.md),
and stays up with a root shell on the console (prompt `HOSTNAME:/# `): the serial console's
e2e types into it through SOL. A lab image: no password, by design.

aarch64 (UEFI): no SYSLINUX there, so partition 1 is a small FAT EFI system partition (MBR type
0xEF) holding `EFI/BOOT/BOOTAA64.EFI`, a GRUB image (builders/grub.py) whose embedded configuration
finds the ext4 root (partition 2, same label and files) and boots its kernel and initramfs on
`console=ttyAMA0`; the firmware's removable-media path finds it without a boot entry.

There is no udev and the host kernel may have no vfat, so partitions are reached through
`losetup --offset/--sizelimit` (extlinux needs a mounted filesystem) and FAT is written with
`mkfs.vfat --offset` and mtools (`IMG@@OFFSET`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ironworks.builders import debian, grub, ramdisk
from ironworks.builders.debian import BuildError

BUILDER_VERSION = "1"
MIB = 1024 * 1024
SECTOR = 512
ROOT_LABEL = "iwtest-root"
MBR_BIN = [Path("/usr/lib/syslinux/mbr/mbr.bin"), Path("/usr/lib/EXTLINUX/mbr.bin")]
TEST_MODULES = [
    *ramdisk.CRC_MODULES,
    "virtio_pci",
    "virtio_blk",
    "virtio_scsi",
    "virtio_net",
    "af_packet",
    "ata_piix",
    "ahci",
    "sd_mod",
    "nvme",
    "ext4",
    "vfat",
    "nls_cp437",
    "nls_iso8859_1",
    "nls_utf8",
    "nls_ascii",
]
TEST_MODULES_AARCH64 = [
    *ramdisk.CRC_MODULES,
    "virtio_mmio",
    "virtio_pci",
    "virtio_blk",
    "virtio_scsi",
    "virtio_net",
    "af_packet",
    "ahci",
    "sd_mod",
    "nvme",
    "ext4",
    "vfat",
    "nls_cp437",
    "nls_iso8859_1",
    "nls_utf8",
    "nls_ascii",
]
ESP_MB = 8  # aarch64: the EFI system partition, from 1 MiB
# aarch64: GRUB's embedded configuration on the ESP (rescue parser: plain commands only)
UEFI_GRUB_CONFIG = f"""\
search --no-floppy --label {ROOT_LABEL} --set root
linux /boot/vmlinuz console=ttyAMA0 quiet
initrd /boot/initrd.img
boot
"""
UEFI_GRUB_MODULES = [
    "part_msdos",
    "ext2",
    "fat",
    "search",
    "search_label",
    "linux",
    "normal",
    "echo",
    "minicmd",
    "configfile",
    "gzio",
]
MARKER = "IRONWORKS-TEST-OS"

TEST_INIT = """\
#!/bin/sh
# Ironworks lab test OS /init (ironworks/builders/testimage.py)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
[ -e /bin/mount ] || /bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
echo "{marker}: init, kernel $(uname -r), up $(cut -d' ' -f1 /proc/uptime) s"
for m in {modules}; do insmod "$m" 2>/dev/null; done

by_label() {{ findfs "LABEL=$1" 2>/dev/null; }}  # Debian's busybox has no blkid
root="" cfg=""
for i in 1 2 3 4 5 6 7 8 9 10; do
    root=$(by_label {root_label})
    cfg=$(by_label config-2 || by_label CONFIG-2)  # FAT labels are often upper case
    [ -n "$root" ] && [ -n "$cfg" ] && break
    sleep 0.5
done
mkdir -p /mnt/root /mnt/config
if [ -n "$cfg" ]; then
    mount -t vfat -o ro "$cfg" /mnt/config || cfg=""
fi
if [ -z "$cfg" ]; then  # no label seen: try every partition as vfat
    for p in /dev/vd*[0-9] /dev/sd*[0-9] /dev/nvme*p[0-9]*; do
        [ -b "$p" ] || continue
        if mount -t vfat -o ro "$p" /mnt/config 2>/dev/null; then
            [ -f /mnt/config/openstack/latest/meta_data.json ] && {{ cfg=$p; break; }}
            umount /mnt/config
        fi
    done
fi
meta=/mnt/config/openstack/latest/meta_data.json
name=""
if [ -n "$cfg" ] && [ -f "$meta" ]; then
    name=$(tr -d '\\n' < "$meta" | sed -n 's/.*"hostname" *: *"\\([^"]*\\)".*/\\1/p')
    echo "{marker}: config drive $cfg"
else
    echo "{marker}: no config drive (no partition labelled config-2)"
fi
[ -n "$name" ] && hostname "$name"
if [ -n "$root" ] && mount -t ext4 -o rw "$root" /mnt/root; then
    echo "booted at uptime $(cut -d' ' -f1 /proc/uptime) hostname=$name" > /mnt/root/ironworks-marker
    sync
    echo "{marker}: marker written on $root"
else
    echo "{marker}: root partition {root_label} not found; no marker written"
fi
# Static IPv4 from the config drive's network_data.json (the host NICs' addresses).
netdata=/mnt/config/openstack/latest/network_data.json
: > /run/static-addresses
if [ -n "$cfg" ] && [ -f "$netdata" ]; then
    sh /etc/static-network "$netdata" /etc/network_data.awk /run/static-addresses
fi
echo "{marker} hostname=$name"
echo "{marker} booted"

# Report the first boot to the URL of the config drive's vendor_data, as cloud-init's
# phone_home would: DHCP on each NIC until one gets an address, then a POST (with retries).
vendor=/mnt/config/openstack/latest/vendor_data.json
url=""
if [ -n "$cfg" ] && [ -f "$vendor" ]; then
    url=$(tr -d '\\n' < "$vendor" | sed -n 's/.*"first_boot_url" *: *"\\([^"]*\\)".*/\\1/p')
fi
report() {{
    for i in 1 2 3 4 5 6 7 8 9 10; do
        if wget -q -O /dev/null --post-data "instance_id=$name" "$url"; then
            echo "{marker}: first boot reported"
            return
        fi
        sleep 2
    done
}}
if [ -n "$url" ] && [ -s /run/static-addresses ]; then
    # a host on its tenant network: the boot listener is out of its reach (it should be), so
    # try in the background and give the console its shell now
    report >/dev/null 2>&1 &
elif [ -n "$url" ]; then
    for n in $(ls /sys/class/net); do
        [ "$n" = lo ] && continue
        ip link set "$n" up
        udhcpc -i "$n" -s /etc/udhcpc.script -t 5 -T 2 -n -q >/dev/null 2>&1 && break
    done
    report
fi
# A shell on the console (the serial port: the last console= of the kernel command line), for
# the serial console's tests; a new one whenever it exits, since /init must never end.
echo "{marker}: shell on the console"
export PS1='\\h:\\w# ' HOME=/ TERM=vt100
while true; do setsid cttyhack sh -i || sh -i; done
"""

# /etc/static-network NETWORK_DATA AWK OUT: each static IPv4 address of network_data.json on
# the interface whose MAC its link names (busybox ip); the addresses set are listed in OUT.
STATIC_NETWORK = r"""#!/bin/sh
awk -f "$2" "$1" > "$3.all"
: > "$3"
while read -r mac addr gw; do
    dev=""
    for n in /sys/class/net/*; do
        [ "$(tr A-F a-f < "$n/address")" = "$mac" ] && dev=${n##*/}
    done
    if [ -z "$dev" ]; then
        echo "IRONWORKS-TEST-OS: no interface has MAC $mac for $addr"
        continue
    fi
    ip link set "$dev" up
    ip addr add "$addr" dev "$dev" && echo "$dev $addr" >> "$3"
    [ -n "$gw" ] && ip route add default via "$gw" dev "$dev" 2>/dev/null
    echo "IRONWORKS-TEST-OS: address $addr on $dev${gw:+ via $gw}"
done < "$3.all"
rm -f "$3.all"
"""

NETWORK_DATA_AWK = r"""# network_data.json (OpenStack) -> one line per static IPv4 address:
#   MAC ADDRESS/PREFIX [GATEWAY]
# (ironworks/builders/testimage.py: busybox has no JSON tool). Only what
# boot/configdrive.network_data writes: strings without quotes or escapes inside.
function prefix(mask,    n, i, o, bits) {
    n = split(mask, o, ".")
    bits = 0
    for (i = 1; i <= n; i++) bits += b[o[i]]
    return bits
}
{ s = s $0 " " }
END {
    b[255] = 8; b[254] = 7; b[252] = 6; b[248] = 5; b[240] = 4
    b[224] = 3; b[192] = 2; b[128] = 1; b[0] = 0
    n = 0
    while (length(s) > 0) {
        c = substr(s, 1, 1)
        if (c == "\"") {
            rest = substr(s, 2); i = index(rest, "\"")
            tok[++n] = "\"" substr(rest, 1, i - 1); s = substr(rest, i + 1)
        } else if (index("{}[],:", c)) {
            tok[++n] = c; s = substr(s, 2)
        } else if (c == " " || c == "\t" || c == "\r" || c == "\n") {
            s = substr(s, 2)
        } else {
            for (j = 2; j <= length(s) && !index("{}[],: \t\r\n\"", substr(s, j, 1)); j++);
            tok[++n] = substr(s, 1, j - 1); s = substr(s, j)
        }
    }
    depth = 0; section = ""; obj = 0
    for (i = 1; i <= n; i++) {
        t = tok[i]
        if (t == "{") { depth++; if (depth == 2) { obj++; kind[obj] = section }; continue }
        if (t == "}") { depth--; continue }
        if (substr(t, 1, 1) != "\"" || tok[i + 1] != ":") continue
        key = substr(t, 2); v = tok[i + 2]
        if (substr(v, 1, 1) == "\"") v = substr(v, 2)
        if (depth == 1) section = key
        else if (depth == 2) f[obj, key] = v
        else if (depth == 3 && key == "gateway" && section == "networks") gw[obj] = v
    }
    for (o = 1; o <= obj; o++)
        if (kind[o] == "links") {
            mac = f[o, "ethernet_mac_address"]
            if (mac == "") mac = f[o, "vlan_mac_address"]
            macof[f[o, "id"]] = tolower(mac)
        }
    for (o = 1; o <= obj; o++)
        if (kind[o] == "networks" && f[o, "type"] == "ipv4" && f[o, "ip_address"] != "")
            print macof[f[o, "link"]], f[o, "ip_address"] "/" prefix(f[o, "netmask"]), gw[o]
}
"""

EXTLINUX_CONF = """\
SERIAL 0 115200
DEFAULT iwtest
PROMPT 0
TIMEOUT 0
LABEL iwtest
  KERNEL /boot/vmlinuz
  INITRD /boot/initrd.img
  APPEND console=tty0 console=ttyS0,115200 quiet
"""


def render_test_init(modules: list[str]) -> str:
    mods = " \\\n         ".join(modules) or ":"
    return TEST_INIT.format(marker=MARKER, modules=mods, root_label=ROOT_LABEL)


def mbr_partition(boot: bool, ptype: int, start: int, sectors: int) -> bytes:
    """One 16-byte MBR partition entry, LBA only (CHS set to the 'use LBA' values)."""
    chs = b"\xfe\xff\xff"
    return struct.pack("<B3sB3sII", 0x80 if boot else 0, chs, ptype, chs, start, sectors)


def set_partition(disk: Path, number: int, entry: bytes) -> None:
    """Write MBR entry `number` (1-4) and the boot signature, keeping the boot code."""
    with open(disk, "r+b") as f:
        f.seek(446 + 16 * (number - 1))
        f.write(entry)
        f.seek(510)
        f.write(b"\x55\xaa")


def mbr_entries(disk: Path) -> list[tuple[int, int, int]]:
    """(type, start sector, sectors) of the used primary partitions."""
    with open(disk, "rb") as f:
        table = f.read(512)[446:510]
    found = []
    for i in range(4):
        _, _, ptype, _, start, sectors = struct.unpack_from("<B3sB3sII", table, 16 * i)
        if ptype:
            found.append((ptype, start, sectors))
    return found


@dataclass
class TestImageResult:
    path: Path
    size: int
    sha256: str
    seconds: float
    build_seconds: float
    cached: bool
    kernel_package: str


def _mbr_bin() -> Path:
    for p in MBR_BIN:
        if p.is_file():
            return p
    raise BuildError("syslinux's mbr.bin is missing: apt-get install syslinux-common extlinux")


def _make_disk(raw: Path, size_mb: int, kernel: Path, initrd: Path) -> None:
    if os.geteuid() != 0:
        raise BuildError("building the test image needs root (losetup, mount for extlinux)")
    start, sectors = MIB // SECTOR, (size_mb * MIB - MIB) // SECTOR
    with open(raw, "wb") as f:
        f.truncate(size_mb * MIB)
    with tempfile.TemporaryDirectory(prefix="iwtest-") as td:
        stage, mnt = Path(td) / "root", Path(td) / "mnt"
        (stage / "boot/extlinux").mkdir(parents=True)
        mnt.mkdir()
        shutil.copyfile(kernel, stage / "boot/vmlinuz")
        shutil.copyfile(initrd, stage / "boot/initrd.img")
        (stage / "boot/extlinux/extlinux.conf").write_text(EXTLINUX_CONF)
        debian.run(
            [
                "mkfs.ext4",
                "-q",
                "-F",
                "-b",
                "4096",
                "-L",
                ROOT_LABEL,
                "-O",
                "^64bit,^metadata_csum",
                "-E",
                f"offset={start * SECTOR}",
                "-d",
                stage,
                raw,
                f"{sectors * SECTOR // 1024}k",
            ]
        )
        loop = debian.run(
            [
                "losetup",
                "--find",
                "--show",
                "--offset",
                str(start * SECTOR),
                "--sizelimit",
                str(sectors * SECTOR),
                raw,
            ]
        ).strip()
        try:
            debian.run(["mount", "-t", "ext4", loop, mnt])
            try:
                debian.run(["extlinux", "--install", mnt / "boot/extlinux"])
            finally:
                debian.run(["umount", mnt])
        finally:
            debian.run(["losetup", "-d", loop])
    with open(raw, "r+b") as f:
        f.write(_mbr_bin().read_bytes()[:440])
    set_partition(raw, 1, mbr_partition(True, 0x83, start, sectors))


def _make_uefi_disk(raw: Path, size_mb: int, kernel: Path, initrd: Path, loader: Path) -> None:
    """aarch64: p1 FAT ESP with EFI/BOOT/BOOTAA64.EFI, p2 ext4 root; no root privileges needed."""
    esp_start, esp_sectors = MIB // SECTOR, ESP_MB * MIB // SECTOR
    start = esp_start + esp_sectors
    sectors = (size_mb * MIB) // SECTOR - start
    with open(raw, "wb") as f:
        f.truncate(size_mb * MIB)
    debian.run(
        [
            "mkfs.vfat",
            "-n",
            "IWTEST-ESP",
            "--offset",
            str(esp_start),
            raw,
            str(esp_sectors * SECTOR // 1024),
        ]
    )
    img = f"{raw}@@{esp_start * SECTOR}"
    debian.run(["mmd", "-i", img, "::EFI", "::EFI/BOOT"])
    debian.run(["mcopy", "-i", img, loader, "::EFI/BOOT/BOOTAA64.EFI"])
    with tempfile.TemporaryDirectory(prefix="iwtest-") as td:
        stage = Path(td) / "root"
        (stage / "boot").mkdir(parents=True)
        shutil.copyfile(kernel, stage / "boot/vmlinuz")
        shutil.copyfile(initrd, stage / "boot/initrd.img")
        debian.run(
            [
                "mkfs.ext4",
                "-q",
                "-F",
                "-b",
                "4096",
                "-L",
                ROOT_LABEL,
                "-O",
                "^64bit,^metadata_csum",
                "-E",
                f"offset={start * SECTOR}",
                "-d",
                stage,
                raw,
                f"{sectors * SECTOR // 1024}k",
            ]
        )
    set_partition(raw, 1, mbr_partition(False, 0xEF, esp_start, esp_sectors))
    set_partition(raw, 2, mbr_partition(True, 0x83, start, sectors))


def build_test_image(
    out_path: Path,
    arch: str = "x86_64",
    size_mb: int = 64,
    *,
    cache_dir: Path,
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> TestImageResult:
    """Build (or take from the cache) the test OS image and copy it to `out_path`."""
    started = time.monotonic()
    say = log or (lambda _msg: None)
    _check_arch_and_size(arch, size_mb)
    uefi = arch == "aarch64"
    mat = ramdisk.gather(arch, [], cache_dir / "debs")
    kernel_pkg = next(iter(mat.debs))
    modules = TEST_MODULES_AARCH64 if uefi else TEST_MODULES
    grub_debs = grub.fetch_packages(arch, cache_dir) if uefi else {}
    key = _cache_key(arch, size_mb, mat, modules, grub_debs)
    slot = cache_dir / "testimage" / f"{arch}-{key}"
    manifest = slot / "manifest.json"
    cached = manifest.is_file() and not force
    if not cached:
        say(f"building {slot}")
        with debian.filling(slot, arch) as (tmp, made):
            _build_disk(tmp, arch, size_mb, mat, modules, grub_debs)
            made.update(
                arch=arch,
                key=key,
                kernel_package=kernel_pkg,
                size_mb=size_mb,
                sha256=_sha256_of(tmp / "disk.raw"),
            )
    info = json.loads(manifest.read_text())
    ramdisk._install(slot / "disk.raw", out_path)
    return TestImageResult(
        path=out_path,
        size=out_path.stat().st_size,
        sha256=info["sha256"],
        seconds=round(time.monotonic() - started, 2),
        build_seconds=info["build_seconds"],
        cached=cached,
        kernel_package=kernel_pkg,
    )


def _check_arch_and_size(arch: str, size_mb: int) -> None:
    if arch not in ("x86_64", "aarch64"):
        raise BuildError(
            "the test image is built for x86_64 (BIOS) and aarch64 (UEFI) only", field="arch"
        )
    uefi = arch == "aarch64"
    if size_mb < (64 if uefi else 32):
        raise BuildError(
            f"the {arch} test image needs at least {64 if uefi else 32} MiB", field="size_mb"
        )


def _cache_key(
    arch: str,
    size_mb: int,
    mat: ramdisk.Material,
    modules: list[str],
    grub_debs: dict[str, Path],
) -> str:
    """The cache slot's key: a digest of everything that goes into the image."""
    uefi = arch == "aarch64"
    return ramdisk._digest(
        [
            BUILDER_VERSION.encode(),
            arch.encode(),
            str(size_mb).encode(),
            TEST_INIT.encode(),
            NETWORK_DATA_AWK.encode(),
            STATIC_NETWORK.encode(),
            EXTLINUX_CONF.encode(),
            " ".join(modules).encode(),
            ramdisk.UDHCPC_SCRIPT.encode(),
            *[p.name.encode() for p in sorted(mat.debs.values())],
            *(
                [
                    UEFI_GRUB_CONFIG.encode(),
                    " ".join(UEFI_GRUB_MODULES).encode(),
                    *[p.name.encode() for p in sorted(grub_debs.values())],
                ]
                if uefi
                else []
            ),
        ]
    )[:16]


def _build_disk(
    tmp: Path,
    arch: str,
    size_mb: int,
    mat: ramdisk.Material,
    modules: list[str],
    grub_debs: dict[str, Path],
) -> None:
    """Write `tmp/disk.raw`: the busybox initramfs with the test /init, the kernel, and the
    boot loader of the architecture (extlinux for BIOS, GRUB for UEFI)."""
    layout = ramdisk.Layout()
    ramdisk.add_skeleton(layout)
    ramdisk.add_busybox(layout, mat)
    paths = ramdisk.add_modules(layout, mat, modules)
    layout.file("init", render_test_init(paths).encode(), 0o755)
    layout.file("etc/udhcpc.script", ramdisk.UDHCPC_SCRIPT.encode(), 0o755)
    layout.file("etc/network_data.awk", NETWORK_DATA_AWK.encode(), 0o644)
    layout.file("etc/static-network", STATIC_NETWORK.encode(), 0o755)
    ramdisk.write_cpio(layout.all_entries(), tmp / "initrd.img", level=9)
    if arch == "aarch64":
        loader = tmp / "BOOTAA64.EFI"
        grub.mkimage(arch, grub_debs, loader, UEFI_GRUB_MODULES, UEFI_GRUB_CONFIG, "/EFI/BOOT")
        _make_uefi_disk(tmp / "disk.raw", size_mb, mat.kernel, tmp / "initrd.img", loader)
        loader.unlink()
    else:
        _make_disk(tmp / "disk.raw", size_mb, mat.kernel, tmp / "initrd.img")
    (tmp / "initrd.img").unlink()


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def attach_config_drive(
    disk: Path, meta_data: dict[str, object], *, size_mb: int = 64, number: int = 2
) -> int:
    """Append a FAT partition labelled `config-2` holding `openstack/latest/meta_data.json`
    behind the last partition of `disk` (growing the file), as the agent's write_configdrive
    does on a real disk. Returns its byte offset."""
    end = max((s + n for _, s, n in mbr_entries(disk)), default=MIB // SECTOR)
    start = -(-end * SECTOR // MIB) * MIB // SECTOR  # rounded up to 1 MiB
    sectors = size_mb * MIB // SECTOR
    with open(disk, "r+b") as f:
        f.truncate(max(os.fstat(f.fileno()).st_size, (start + sectors) * SECTOR))
    debian.run(
        ["mkfs.vfat", "-n", "config-2", "--offset", str(start), disk, str(sectors * SECTOR // 1024)]
    )
    with tempfile.TemporaryDirectory(prefix="iwcfg-") as td:
        meta = Path(td) / "meta_data.json"
        meta.write_text(json.dumps(meta_data))
        img = f"{disk}@@{start * SECTOR}"
        debian.run(["mmd", "-i", img, "::openstack", "::openstack/latest"])
        debian.run(["mcopy", "-i", img, meta, "::openstack/latest/meta_data.json"])
    set_partition(disk, number, mbr_partition(False, 0x0C, start, sectors))
    return start * SECTOR
