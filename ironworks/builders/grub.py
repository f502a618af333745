"""The network boot program of arm64 UEFI machines: a GRUB netboot image built from Debian.

Debian ships iPXE for x86 only (/usr/lib/ipxe), and building iPXE for arm64 needs a cross
toolchain. GRUB's arm64 EFI modules are an ordinary Debian package (`grub-efi-arm64-bin`), and
`grub-mkimage` (in `grub-common` of this machine's architecture) assembles an EFI application
from them without running anything of the target. So an arm64 UEFI client's PXE ROM gets this
image over TFTP; GRUB takes the network configuration from the firmware's DHCP answer (efinet),
reads `grub/grub.cfg` from the same TFTP server (Ironworks writes it: it knows the boot URL) and
that one loads the node's own configuration over HTTP from the boot listener
(`/boot/grub/MAC.cfg`, ironworks/boot/grub.py): the agent ramdisk, or `exit` to the next boot
device. Debian's GRUB 2.06 takes a port in `(http,HOST:PORT)`.

Both packages come through apt like the ramdisk's (debian.py) and are used extracted; the
`grub-mkimage` of the extracted `grub-common` runs here (its libraries are the base system's).
The image is cached under `CACHE/grub/arm64-efi-KEY/` (KEY: the package files, the module list,
the embedded configuration) and copied to `OUT/aarch64/grubnetaa64.efi`, next to that
architecture's ramdisk, where the boot service's TFTP root takes it from.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ironworks.builders import debian
from ironworks.builders.debian import BuildError

BUILDER_VERSION = "1"
IMAGE_NAME = "grubnetaa64.efi"  # the TFTP name arm64 UEFI clients are given (boot/dnsmasq.py)
# Ironworks' cpu_arch -> (GRUB platform, the Debian package of its modules).
PLATFORMS = {"aarch64": ("arm64-efi", "grub-efi-arm64-bin")}
# What the image needs; grub-mkimage adds their dependencies (moddep.lst).
MODULES = [
    "efinet",
    "net",
    "tftp",
    "http",
    "linux",
    "normal",
    "configfile",
    "echo",
    "minicmd",
    "test",
    "sleep",
    "reboot",
    "halt",
    "gzio",
    "part_gpt",
    "part_msdos",
    "fat",
    "ext2",
]
# Runs before normal mode, with GRUB's rescue parser: one plain command per line. `(tftp)` is
# the server the firmware's DHCP answer named (net_default_server).
EARLY_CONFIG = """\
echo Ironworks: GRUB network boot (arm64 UEFI)
set prefix=(tftp)/grub
configfile (tftp)/grub/grub.cfg
echo Ironworks: no grub/grub.cfg on the TFTP server; back to the firmware's next boot device
exit
"""


@dataclass
class GrubResult:
    arch: str
    image: Path
    size: int
    seconds: float  # this call
    build_seconds: float  # the build that made the cached image
    cached: bool
    key: str
    packages: list[str]


def _digest(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "little") + p)
    return h.hexdigest()


def _platform(arch: str) -> tuple[str, str]:
    if arch not in PLATFORMS:
        debian.deb_arch(arch)  # raises for an unknown one
        raise BuildError(
            f"{arch} machines boot iPXE (Debian's ipxe package), not GRUB", field="arch"
        )
    return PLATFORMS[arch]


def fetch_packages(arch: str, cache_dir: Path) -> dict[str, Path]:
    """The GRUB modules package of `arch` and this machine's grub-common: name -> .deb."""
    _, modules_pkg = _platform(arch)
    native = debian.run(["dpkg", "--print-architecture"]).strip()
    found = debian.fetch([modules_pkg], debian.deb_arch(arch), cache_dir / "debs")
    found.update(debian.fetch(["grub-common"], native, cache_dir / "debs"))
    return found


def mkimage(
    arch: str, debs: dict[str, Path], out: Path, modules: list[str], config: str, prefix: str
) -> None:
    """Run grub-mkimage (from the extracted grub-common) for `arch` with an embedded `config`."""
    platform, modules_pkg = _platform(arch)
    moddir = debian.extracted(debs[modules_pkg]) / "usr/lib/grub" / platform
    if not (moddir / "moddep.lst").is_file():
        raise BuildError(f"{moddir} holds no GRUB modules (moddep.lst)")
    tool = debian.extracted(debs["grub-common"]) / "usr/bin/grub-mkimage"
    if not tool.is_file():
        raise BuildError(f"{tool} is missing from grub-common")
    with tempfile.TemporaryDirectory(prefix="iwgrub-") as td:
        cfg = Path(td) / "embedded.cfg"
        cfg.write_text(config)
        debian.run(
            [tool, "-O", platform, "-d", moddir, "-o", out, "-p", prefix, "-c", cfg, *modules]
        )


def build_grub(
    arch: str,
    out_dir: Path,
    *,
    cache_dir: Path,
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> GrubResult:
    """Build (or take from the cache) the GRUB netboot image for `arch`; install it as
    `out_dir/ARCH/grubnetaa64.efi`."""
    started = time.monotonic()
    say = log or (lambda _msg: None)
    platform, modules_pkg = _platform(arch)
    say(f"fetching {modules_pkg} ({debian.deb_arch(arch)}) and grub-common")
    found = fetch_packages(arch, cache_dir)
    debs = sorted(p.name for p in found.values())
    key = _digest(
        [
            BUILDER_VERSION.encode(),
            arch.encode(),
            " ".join(MODULES).encode(),
            EARLY_CONFIG.encode(),
            *[d.encode() for d in debs],
        ]
    )[:16]
    slot = cache_dir / "grub" / f"{platform}-{key}"
    manifest = slot / "manifest.json"
    cached = manifest.is_file() and not force
    if not cached:
        say(f"building {slot}")
        with debian.filling(slot, platform) as (tmp, made):
            mkimage(arch, found, tmp / IMAGE_NAME, MODULES, EARLY_CONFIG, "/grub")
            made.update(arch=arch, platform=platform, key=key, packages=debs, modules=MODULES)
    info = json.loads(manifest.read_text())
    image = out_dir / arch / IMAGE_NAME
    image.parent.mkdir(parents=True, exist_ok=True)
    part = image.with_name(f".{IMAGE_NAME}.tmp")
    shutil.copyfile(slot / IMAGE_NAME, part)
    os.replace(part, image)
    return GrubResult(
        arch=arch,
        image=image,
        size=image.stat().st_size,
        seconds=round(time.monotonic() - started, 2),
        build_seconds=info["build_seconds"],
        cached=cached,
        key=key,
        packages=debs,
    )
