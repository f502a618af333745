"""The agent ramdisk: a Debian kernel and a busybox + Python 3.11 initramfs that runs the agent.

Everything comes from Debian packages of the target architecture (debian.py), so an aarch64
ramdisk builds on an amd64 host: nothing of the target is executed during the build, except
`busybox --list-full` when the target is this machine's own architecture (otherwise /init makes
the applet links at boot with `busybox --install -s`).

The archive is laid out in memory (`Layout`: archive path -> file, bytes, symlink, directory or
device node) and written as a gzip'd newc cpio by `write_cpio`, with mtime 0 and root ownership,
so the same inputs give the same bytes. Python comes without tests, IDLE, tkinter and the like;
its shared libraries are the DT_NEEDED closure of the interpreter and of the extension modules
kept, taken from the library packages. Sources are precompiled to unchecked-hash .pyc files when
the building Python is 3.11 (the same bytecode), which saves compiling at every boot under TCG.

Results are cached under `CACHE/ramdisk/ARCH-KEY/`, KEY a hash of every input (package file
names, module list, scripts, the agent's files), and copied to `OUT/ARCH/kernel` and
`OUT/ARCH/initramfs`, the layout the boot service serves (settings `boot.ramdisk_dir`).

/init follows docs/provisioning.md: mount, insmod in dependency order, every NIC up, udhcpc (BOOTIF's
NIC first) with our own lease script, then `python3 -m ironworks_agent` in a loop (5 s apart),
its output on /dev/console; the agent writes /run/ironworks-agent.log itself. With
`ironworks.floor=URL` on the kernel command line /init instead writes URL to /dev/vda with
`wget | dd` and powers off: bench/deploy.py's deploy without orchestration (its floor).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import marshal
import os
import re
import shutil
import stat
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ironworks.builders import debian
from ironworks.builders.debian import BuildError

BUILDER_VERSION = "1"

# Modules of the agent ramdisk, by name; closure() adds their dependencies and softdeps. The three
# CRC algorithms come first: crc_t10dif / crc64_rocksoft / ext4 look them up through the crypto
# API at load time and fail without a provider (NOTES: lab facts).
CRC_MODULES = ["crc32c_generic", "crct10dif_generic", "crc64_rocksoft_generic"]
RAMDISK_MODULES: dict[str, list[str]] = {
    "x86_64": [
        *CRC_MODULES,
        "virtio_pci",
        "virtio_net",
        "virtio_blk",
        "virtio_scsi",
        "e1000",
        "e1000e",
        "ata_piix",
        "ahci",
        "sd_mod",
        "nvme",
        "af_packet",
        "ext4",
        "vfat",
        "nls_cp437",
        "nls_ascii",
        "nls_iso8859_1",
        "nls_utf8",
    ],
    "aarch64": [
        *CRC_MODULES,
        "virtio_mmio",
        "virtio_pci",
        "virtio_net",
        "virtio_blk",
        "virtio_scsi",
        "e1000",
        "e1000e",
        "ahci",
        "sd_mod",
        "nvme",
        "af_packet",
        "ext4",
        "vfat",
        "nls_cp437",
        "nls_ascii",
        "nls_iso8859_1",
        "nls_utf8",
    ],
}

PYTHON_PACKAGES = ["python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib"]
LIBRARY_PACKAGES = ["libc6", "zlib1g", "libexpat1", "libffi8", "libbz2-1.0", "liblzma5", "libuuid1"]
SSL_PACKAGES = ["libssl3"]
PYTHON_PRUNE_DIRS = {
    "test",
    "tests",
    "idlelib",
    "tkinter",
    "turtledemo",
    "ensurepip",
    "pydoc_data",
    "lib2to3",
    "distutils",
    "venv",
    "sqlite3",
    "dbm",
    "curses",
    "unittest",
    "__pycache__",
    "site-packages",
    "dist-packages",
}
PYTHON_PRUNE_FILES = re.compile(r"^(turtle|pydoc|doctest|antigravity|this)\.py$")
# extension modules left out: test helpers, terminals, databases, sound, CJK codecs
DYNLOAD_PRUNE = re.compile(
    r"^(_test\w*|_?xx\w*|_ctypes_test|_curses\w*|readline|_dbm|_gdbm|_sqlite3|_tkinter|nis|"
    r"ossaudiodev|audioop|_crypt|_codecs_\w+|_lsprof)\."
)
SSL_DYNLOAD = re.compile(r"^(_ssl|_hashlib)\.")
AGENT_SITE = "usr/lib/python3/dist-packages"


# --- the archive ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    mode: int  # file type and permission bits, as in st_mode
    data: bytes = b""  # contents, or a symlink's target
    source: Path | None = None  # read at write time instead of data
    rdev: tuple[int, int] = (0, 0)


@dataclass
class Layout:
    """The archive to be: path (no leading slash) -> Entry. Parent directories are implied."""

    entries: dict[str, Entry] = field(default_factory=dict)

    def dir(self, path: str, mode: int = 0o755) -> None:
        self.entries[path.strip("/")] = Entry(stat.S_IFDIR | mode)

    def file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        self.entries[path.strip("/")] = Entry(stat.S_IFREG | mode, data)

    def copy(self, path: str, source: Path, mode: int | None = None) -> None:
        if mode is None:
            mode = 0o755 if os.access(source, os.X_OK) else 0o644
        self.entries[path.strip("/")] = Entry(stat.S_IFREG | mode, source=source)

    def symlink(self, path: str, target: str) -> None:
        self.entries[path.strip("/")] = Entry(stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, path: str, major: int, minor: int, mode: int = 0o600) -> None:
        self.entries[path.strip("/")] = Entry(stat.S_IFCHR | mode, rdev=(major, minor))

    def tree(self, dest: str, src: Path, skip: Iterable[str] = ()) -> None:
        """Add `src` below `dest`, symlinks as symlinks; `skip`: directory names to leave out."""
        skipped = set(skip)
        for root, dirs, files in os.walk(src):
            dirs[:] = sorted(d for d in dirs if d not in skipped)
            rel = Path(root).relative_to(src)
            for name in dirs + sorted(files):
                p = Path(root) / name
                at = f"{dest.strip('/')}/{rel / name}".replace("/./", "/")
                if p.is_symlink():
                    self.symlink(at, os.readlink(p))
                elif p.is_dir():
                    self.dir(at)
                else:
                    self.copy(at, p)

    def all_entries(self) -> list[tuple[str, Entry]]:
        """Every entry with the implied parent directories, parents first."""
        full = dict(self.entries)
        for path in list(full):
            parts = path.split("/")
            for i in range(1, len(parts)):
                full.setdefault("/".join(parts[:i]), Entry(stat.S_IFDIR | 0o755))
        return sorted(full.items())


def _cpio_header(
    ino: int, mode: int, nlink: int, size: int, rdev: tuple[int, int], name: bytes
) -> bytes:
    fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], len(name) + 1, 0]
    head = b"070701" + b"".join(b"%08X" % f for f in fields)
    return _pad(head + name + b"\0")


def _pad(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def write_cpio(entries: Iterable[tuple[str, Entry]], out: Path, level: int = 6) -> int:
    """Write a gzip'd newc cpio (what the kernel unpacks as an initramfs); its size in bytes."""
    with (
        open(out, "wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0, compresslevel=level) as gz,
    ):
        ino = 1
        for path, e in entries:
            data = e.source.read_bytes() if e.source is not None else e.data
            nlink = 2 if stat.S_ISDIR(e.mode) else 1
            gz.write(_cpio_header(ino, e.mode, nlink, len(data), e.rdev, path.encode()))
            gz.write(_pad(data))
            ino += 1
        gz.write(_cpio_header(0, 0, 1, 0, (0, 0), b"TRAILER!!!"))
    return out.stat().st_size


def read_cpio(data: bytes) -> dict[str, tuple[int, bytes]]:
    """An uncompressed newc cpio -> path -> (mode, data). For tests and inspection."""
    found: dict[str, tuple[int, bytes]] = {}
    pos = 0
    while True:
        if data[pos : pos + 6] != b"070701":
            raise ValueError(f"bad cpio magic at {pos}")
        f = [int(data[pos + 6 + 8 * i : pos + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = f[1], f[6], f[11]
        name = data[pos + 110 : pos + 110 + namesize - 1].decode()
        pos += 110 + namesize
        pos += -pos % 4
        body = data[pos : pos + size]
        pos += size
        pos += -pos % 4
        if name == "TRAILER!!!":
            return found
        found[name] = (mode, body)


# --- pieces -----------------------------------------------------------------------------------


@dataclass
class Material:
    """The extracted packages of one build."""

    arch: str  # x86_64 | aarch64
    debs: dict[str, Path]
    trees: dict[str, Path]
    kernel: Path
    moddir: Path

    @property
    def triplet(self) -> str:
        return debian.TRIPLETS[debian.deb_arch(self.arch)]


def gather(arch: str, packages: Iterable[str], deb_cache: Path) -> Material:
    """Fetch and extract the kernel, busybox-static and `packages` for `arch`."""
    darch = debian.deb_arch(arch)
    debian.ensure_architecture(darch)
    names = [debian.kernel_package(darch), "busybox-static", *packages]
    debs = debian.fetch(names, darch, deb_cache)
    trees = {n: debian.extracted(p) for n, p in debs.items()}
    kernel, moddir = debian.kernel_paths(trees[names[0]])
    return Material(arch, debs, trees, kernel, moddir)


def add_busybox(layout: Layout, mat: Material) -> None:
    """busybox at /bin/busybox, /bin/sh, and every applet link when busybox runs here."""
    busybox = mat.trees["busybox-static"] / "bin/busybox"
    layout.copy("bin/busybox", busybox, 0o755)
    layout.symlink("bin/sh", "busybox")
    if os.uname().machine != mat.arch:
        return  # /init runs `busybox --install -s` at boot
    for line in debian.run([busybox, "--list-full"]).split():
        # ELOOP trap: the list holds `busybox` itself; a bin/busybox -> busybox link would
        # replace the binary with a link to itself
        if line.rsplit("/", 1)[-1] != "busybox" and line.strip("/") not in layout.entries:
            layout.symlink(line, "/bin/busybox")


def add_modules(layout: Layout, mat: Material, names: Iterable[str]) -> list[str]:
    """The closure of `names` under /lib/modules/VERSION; their paths in insertion order."""
    index = debian.module_index(mat.moddir)
    paths = []
    for mod in index.closure(names):
        at = f"lib/modules/{mat.moddir.name}/{mod.path}"
        layout.copy(at, mat.moddir / mod.path, 0o644)
        paths.append("/" + at)
    return paths


def add_skeleton(layout: Layout) -> None:
    for d in ("proc", "sys", "dev", "run", "tmp", "mnt", "root", "etc", "var/tmp"):
        layout.dir(d, 0o1777 if d in ("tmp", "var/tmp") else 0o755)
    layout.chardev("dev/console", 5, 1)
    layout.chardev("dev/null", 1, 3, 0o666)
    layout.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    layout.file("etc/group", b"root:x:0:\n")


def _compile(source: bytes, runtime_path: str) -> bytes | None:
    """An unchecked-hash .pyc (PEP 552) of `source`, or None if it does not compile here."""
    try:
        code = compile(source, runtime_path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None
    flags = (0b01).to_bytes(4, "little")  # hash-based, do not check the source
    return (
        importlib.util.MAGIC_NUMBER
        + flags
        + importlib.util.source_hash(source)
        + (marshal.dumps(code))
    )


def add_pycache(layout: Layout, prefix: str) -> int:
    """Precompile every .py under `prefix` (only when this Python is 3.11); files added."""
    if sys.version_info[:2] != (3, 11):
        return 0
    added = 0
    tag = sys.implementation.cache_tag  # cpython-311
    for path, e in list(layout.entries.items()):
        if not (path.startswith(prefix) and path.endswith(".py") and stat.S_ISREG(e.mode)):
            continue
        source = e.source.read_bytes() if e.source is not None else e.data
        pyc = _compile(source, "/" + path)
        if pyc is not None:
            head, name = path.rsplit("/", 1)
            layout.file(f"{head}/__pycache__/{name[:-3]}.{tag}.pyc", pyc)
            added += 1
    return added


def add_python(layout: Layout, mat: Material, *, ssl: bool) -> None:
    """Python 3.11 from Debian, pruned, with the shared libraries its parts need."""
    for pkg in ("libpython3.11-minimal", "libpython3.11-stdlib"):
        tree = mat.trees[pkg]
        layout.tree("usr/lib/python3.11", tree / "usr/lib/python3.11", PYTHON_PRUNE_DIRS)
        if (tree / "etc/python3.11").is_dir():
            layout.tree("etc/python3.11", tree / "etc/python3.11")
    for path in [p for p in layout.entries if p.startswith("usr/lib/python3.11/")]:
        name = path.rsplit("/", 1)[-1]
        if PYTHON_PRUNE_FILES.match(name) or (
            "/lib-dynload/" in path
            and (DYNLOAD_PRUNE.match(name) or (not ssl and SSL_DYNLOAD.match(name)))
        ):
            del layout.entries[path]
    python = mat.trees["python3.11-minimal"] / "usr/bin/python3.11"
    layout.copy("usr/bin/python3.11", python, 0o755)
    layout.symlink("usr/bin/python3", "python3.11")
    elves = [python] + [
        e.source
        for p, e in layout.entries.items()
        if "/lib-dynload/" in p and p.endswith(".so") and e.source is not None
    ]
    add_libraries(layout, mat, elves)


def add_libraries(layout: Layout, mat: Material, elves: list[Path]) -> list[str]:
    """The DT_NEEDED closure of `elves` at /lib/TRIPLET/SONAME, and the program interpreter."""
    search: dict[str, Path] = {}
    for tree in mat.trees.values():
        for d in (f"lib/{mat.triplet}", f"usr/lib/{mat.triplet}", "lib", "usr/lib"):
            if (tree / d).is_dir():
                for p in (tree / d).iterdir():
                    if ".so" in p.name:
                        search.setdefault(p.name, tree / d)
    added: list[str] = []
    todo = list(elves)
    seen: set[str] = set()
    while todo:
        elf = debian.read_elf(todo.pop())
        for soname in elf.needed:
            if soname in seen:
                continue
            seen.add(soname)
            if soname not in search:
                raise BuildError(f"no package of this build provides {soname}")
            real = (search[soname] / soname).resolve()
            if not real.is_file():  # an absolute link inside the tree
                real = search[soname] / os.readlink(search[soname] / soname).rsplit("/", 1)[-1]
            layout.copy(f"lib/{mat.triplet}/{soname}", real, 0o755)
            added.append(soname)
            todo.append(real)
        if elf.interpreter and elf.interpreter.strip("/") not in layout.entries:
            base = elf.interpreter.rsplit("/", 1)[-1]
            if base not in search:
                raise BuildError(f"no package of this build provides {elf.interpreter}")
            src = search[base] / base
            real = src.resolve() if src.resolve().is_file() else search[base] / os.readlink(src)
            layout.copy(elf.interpreter, real, 0o755)
    return added


def agent_files(agent_src: Path) -> list[Path]:
    """The agent package's files, or an error: a ramdisk without a real agent is no use."""
    if not (agent_src / "__init__.py").is_file() or not (agent_src / "__main__.py").is_file():
        raise BuildError(
            f"the agent package is missing or incomplete at {agent_src} (it needs __init__.py "
            "and __main__.py); no ramdisk is built without it",
            field="agent_src",
        )
    return sorted(
        p
        for p in agent_src.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


# --- scripts ----------------------------------------------------------------------------------

UDHCPC_SCRIPT = """\
#!/bin/sh
# udhcpc lease script (busybox ships none): address, default route, DNS from the lease.
case "$1" in
deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
bound|renew)
    ip -4 addr replace "$ip/${mask:-24}" ${broadcast:+broadcast "$broadcast"} dev "$interface"
    if [ -n "$router" ]; then
        ip -4 route del default dev "$interface" 2>/dev/null
        for r in $router; do ip -4 route add default via "$r" dev "$interface" && break; done
    fi
    if [ -n "$dns" ]; then
        : > /etc/resolv.conf
        for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    fi
    echo "ironworks: $interface has $ip/${mask:-24}${router:+ via $router}" > /dev/console
    ;;
esac
exit 0
"""

INIT_TEMPLATE = """\
#!/bin/sh
# Ironworks agent ramdisk /init (ironworks/builders/ramdisk.py; contract: docs/provisioning.md)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root PYTHONUNBUFFERED=1
[ -e /bin/mount ] || /bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /dev/pts /dev/shm
exec </dev/console >/dev/console 2>&1
say() {{ echo "ironworks: $*"; echo "$(date +%T) init: $*" >> /run/ironworks-agent.log; }}
say "ramdisk for {arch}, kernel $(uname -r), up $(cut -d' ' -f1 /proc/uptime) s"
grep -q 'ironworks.debug=1' /proc/cmdline && set -x

failed=""
for m in {modules}; do
    insmod "$m" 2>/dev/null || failed="$failed ${{m##*/}}"
done
[ -z "$failed" ] || say "modules not loaded (no such hardware or CPU feature):$failed"

# The agent starts now, while the network comes up: Python's start-up (seconds under emulation)
# overlaps DHCP, and the agent waits for an address before it looks itself up. Floor mode
# (below) runs no agent.
floor=$(sed -n 's/.*ironworks\\.floor=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
agent_loop() {{
    cd /
    while true; do
        say "starting the agent: python3 -m ironworks_agent"
        python3 -m ironworks_agent --wait-network </dev/null
        say "the agent exited with status $?; restarting in 5 s"
        sleep 5
    done
}}
[ -n "$floor" ] || agent_loop &

sleep 1  # drivers probe asynchronously; give NICs a moment to appear

bootmac=$(sed -n 's/.*BOOTIF=01-\\([0-9a-fA-F-]*\\).*/\\1/p' /proc/cmdline | tr 'A-F-' 'a-f:')
nics=""
ip link set lo up
for d in /sys/class/net/*; do
    n=${{d##*/}}
    [ "$n" = lo ] && continue
    ip link set "$n" up
    if [ "$(cat "$d/address")" = "$bootmac" ]; then nics="$n $nics"; else nics="$nics $n"; fi
done
if [ -z "$nics" ]; then
    say "no network interface"
else
    got=""
    for round in 1 2 3; do
        for n in $nics; do
            if udhcpc -i "$n" -s /etc/udhcpc.script -t 3 -T 2 -n -S; then got=$n; break; fi
        done
        [ -n "$got" ] && break
    done
    if [ -z "$got" ]; then
        say "no DHCP answer on$nics; trying on in the background"
        for n in $nics; do udhcpc -i "$n" -s /etc/udhcpc.script -b -S; done
    fi
fi

# Floor mode, used by bench/deploy.py to measure a deploy without orchestration: with
# ironworks.floor=URL on the command line, stream URL onto /dev/vda and power off instead of
# starting the agent.
if [ -n "$floor" ]; then
    say "floor: writing $floor to /dev/vda"
    rm -f /run/floor.failed
    {{ wget -q -O - "$floor" || touch /run/floor.failed; }} | dd of=/dev/vda bs=1M conv=fsync
    if [ -e /run/floor.failed ]; then echo "IRONWORKS-FLOOR failed"; else
        echo "IRONWORKS-FLOOR written"; fi
    poweroff -f
fi

while true; do sleep 3600; done  # /init is PID 1: it never exits
"""


def render_init(arch: str, modules: Iterable[str]) -> str:
    """/init for modules given as absolute paths in insertion order."""
    mods = " \\\n         ".join(modules) or ":"
    return INIT_TEMPLATE.format(arch=arch, modules=mods)


# --- the build --------------------------------------------------------------------------------


@dataclass
class RamdiskResult:
    arch: str
    kernel: Path
    initramfs: Path
    kernel_size: int
    initramfs_size: int
    seconds: float  # this call
    build_seconds: float  # the build that made the cached files
    cached: bool
    key: str
    modules: list[str]
    kernel_package: str


def _digest(parts: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "little") + p)
    return h.hexdigest()


def _install(src: Path, dest: Path) -> None:
    """Copy, then rename: a reader never sees half a file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def build_ramdisk(
    arch: str,
    out_dir: Path,
    agent_src: Path,
    *,
    cache_dir: Path,
    force: bool = False,
    ssl: bool = True,
    modules: list[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> RamdiskResult:
    """Build (or take from the cache) the agent ramdisk for `arch`; install it as
    `out_dir/ARCH/kernel` and `out_dir/ARCH/initramfs`."""
    started = time.monotonic()
    say = log or (lambda _msg: None)
    names = modules if modules is not None else RAMDISK_MODULES.get(arch)
    if names is None:
        debian.deb_arch(arch)  # raises for an unknown one
        names = []
    files = agent_files(agent_src)  # before any download: fail fast
    packages = PYTHON_PACKAGES + LIBRARY_PACKAGES + (SSL_PACKAGES if ssl else [])
    say(f"fetching Debian packages for {arch}")
    mat = gather(arch, packages, cache_dir / "debs")
    key = _digest(
        [
            BUILDER_VERSION.encode(),
            arch.encode(),
            str(ssl).encode(),
            " ".join(names).encode(),
            INIT_TEMPLATE.encode(),
            UDHCPC_SCRIPT.encode(),
            *[p.name.encode() for p in sorted(mat.debs.values())],
            *[str(f.relative_to(agent_src)).encode() + b"\0" + f.read_bytes() for f in files],
        ]
    )[:16]
    slot = cache_dir / "ramdisk" / f"{arch}-{key}"
    manifest = slot / "manifest.json"
    kernel_pkg = next(iter(mat.debs))
    cached = manifest.is_file() and not force
    if not cached:
        say(f"building {slot}")
        with debian.filling(slot, arch) as (tmp, made):
            layout = Layout()
            add_skeleton(layout)
            add_busybox(layout, mat)
            paths = add_modules(layout, mat, names)
            add_python(layout, mat, ssl=ssl)
            for f in files:
                layout.copy(f"{AGENT_SITE}/ironworks_agent/{f.relative_to(agent_src)}", f, 0o644)
            add_pycache(layout, "usr/lib/")
            layout.file("init", render_init(arch, paths).encode(), 0o755)
            layout.file("etc/udhcpc.script", UDHCPC_SCRIPT.encode(), 0o755)
            layout.symlink("usr/share/udhcpc/default.script", "/etc/udhcpc.script")
            write_cpio(layout.all_entries(), tmp / "initramfs")
            shutil.copyfile(mat.kernel, tmp / "kernel")
            made.update(
                arch=arch,
                key=key,
                kernel_package=kernel_pkg,
                packages=sorted(p.name for p in mat.debs.values()),
                modules=[p.rsplit("/", 1)[-1] for p in paths],
            )
    info = json.loads(manifest.read_text())
    kernel, initramfs = out_dir / arch / "kernel", out_dir / arch / "initramfs"
    _install(slot / "kernel", kernel)
    _install(slot / "initramfs", initramfs)
    return RamdiskResult(
        arch=arch,
        kernel=kernel,
        initramfs=initramfs,
        kernel_size=kernel.stat().st_size,
        initramfs_size=initramfs.stat().st_size,
        seconds=round(time.monotonic() - started, 2),
        build_seconds=info["build_seconds"],
        cached=cached,
        key=key,
        modules=info["modules"],
        kernel_package=kernel_pkg,
    )
