"""Debian packages as build material: fetch, extract, and the kernel's module closure.

Packages come from this machine's apt sources (`apt-get download`) into a cache directory and are
kept there by file name (`NAME_VERSION_ARCH.deb`), so a build downloads only what apt's candidate
version changed. Packages of another architecture (arm64 on an amd64 host) need that architecture
in dpkg's list; `fetch` adds it (and runs `apt-get update`) only when such a package is asked for.

Extracted trees live next to the .deb files (`tree/NAME_VERSION_ARCH/`) and are made once.

The module closure reads each module's `.modinfo` section (`depends=`, `softdep=`, `alias=`):
that is what `depmod` reads too, and it needs no host tool and works for any architecture. When
the tree already holds `modules.dep` (someone ran `depmod -b`), those files are used instead.
Insertion order is: a module's `pre:` softdeps, its dependencies, itself, its `post:` softdeps.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ironworks.common.errors import IronworksError

# CPU architecture (Ironworks' cpu_arch) -> Debian architecture.
DEB_ARCHES: dict[str, str] = {"x86_64": "amd64", "aarch64": "arm64"}
# Debian architecture -> multiarch triplet (library directories).
TRIPLETS: dict[str, str] = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}


class BuildError(IronworksError):
    """Building a boot artefact failed; the message names the step and the cause."""

    code = "build-error"


def deb_arch(arch: str) -> str:
    try:
        return DEB_ARCHES[arch]
    except KeyError:
        raise BuildError(
            f"unknown architecture {arch!r}: use one of {', '.join(DEB_ARCHES)}", field="arch"
        ) from None


def run(cmd: Sequence[str | Path], *, cwd: Path | None = None, timeout: float = 600) -> str:
    """Run a tool; its stdout, or a BuildError with the end of its stderr."""
    args = [str(c) for c in cmd]
    try:
        done = subprocess.run(
            args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise BuildError(f"{args[0]} is not installed on this machine") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"{' '.join(args[:3])} ... took longer than {timeout:.0f} s") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise BuildError(f"{' '.join(args[:4])} failed ({done.returncode}): {' | '.join(tail)}")
    return done.stdout


# --- packages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    name: str
    version: str
    arch: str  # the package's Architecture field: amd64, arm64 or all

    @property
    def filename(self) -> str:
        """What `apt-get download` names the file (the epoch's colon is %3a)."""
        return f"{self.name}_{self.version.replace(':', '%3a')}_{self.arch}.deb"


def ensure_architecture(arch: str) -> None:
    """Let apt fetch packages of Debian architecture `arch` (adds it to dpkg when foreign)."""
    native = run(["dpkg", "--print-architecture"]).strip()
    if arch == native:
        return
    if arch in run(["dpkg", "--print-foreign-architectures"]).split():
        return
    run(["dpkg", "--add-architecture", arch])
    run(["apt-get", "update"], timeout=900)


def kernel_package(arch: str) -> str:
    """The current `linux-image-X.Y.Z-N-ARCH` package that `linux-image-ARCH` points to."""
    out = run(["apt-cache", "depends", f"linux-image-{arch}:{arch}"])
    found = re.search(rf"linux-image-\d[\w.+~-]*?-{arch}\b", out)
    if found is None:
        raise BuildError(f"apt knows no kernel for {arch}: linux-image-{arch} has no dependency")
    return found.group(0)


def parse_candidates(text: str) -> dict[str, Candidate]:
    """`apt-cache show --no-all-versions` output -> candidate per package name."""
    found: dict[str, Candidate] = {}
    for stanza in re.split(r"\n\s*\n", text):
        fields = dict(re.findall(r"^([\w-]+): ?(.*)$", stanza, re.MULTILINE))
        if "Package" in fields and "Version" in fields:
            name = fields["Package"]
            found.setdefault(name, Candidate(name, fields["Version"], fields["Architecture"]))
    return found


def fetch(names: Iterable[str], arch: str, cache_dir: Path) -> dict[str, Path]:
    """Download the candidate version of each package of Debian architecture `arch` into
    `cache_dir` unless it is there already; name -> .deb path."""
    names = list(dict.fromkeys(names))
    ensure_architecture(arch)
    cache_dir.mkdir(parents=True, exist_ok=True)
    try:
        shown = run(["apt-cache", "show", "--no-all-versions", *[f"{n}:{arch}" for n in names]])
    except BuildError as e:
        raise BuildError(f"apt does not know every package of {names}: {e.message}") from None
    cands = parse_candidates(shown)
    missing = [n for n in names if n not in cands]
    if missing:
        raise BuildError(f"apt has no candidate for {', '.join(missing)} ({arch})")
    wanted = [cands[n] for n in names]
    to_get = [c for c in wanted if not (cache_dir / c.filename).is_file()]
    if to_get:
        # apt-get download writes into the current directory, as root without its sandbox
        run(
            ["apt-get", "download", *[f"{c.name}:{c.arch}={c.version}" for c in to_get]],
            cwd=cache_dir,
            timeout=900,
        )
    paths = {}
    for c in wanted:
        path = cache_dir / c.filename
        if not path.is_file():
            raise BuildError(f"apt-get download did not write {path}")
        paths[c.name] = path
    return paths


def extracted(deb: Path) -> Path:
    """The package's files, extracted once to `DIR/tree/NAME_VERSION_ARCH/` beside the .deb."""
    dest = deb.parent / "tree" / deb.name.removesuffix(".deb")
    if dest.is_dir():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".x-", dir=dest.parent))
    try:
        run(["dpkg-deb", "-x", deb, tmp])
        os.rename(tmp, dest)  # atomic: a half-extracted tree is never seen
    except OSError:
        # another builder (a test worker, a second `ironworks ramdisk build`) extracted the same
        # package at the same time and renamed its tree first: theirs is as good as ours
        shutil.rmtree(tmp, ignore_errors=True)
        if not dest.is_dir():
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def kernel_paths(tree: Path) -> tuple[Path, Path]:
    """(vmlinuz, modules dir `lib/modules/VERSION`) of an extracted linux-image package."""
    kernels = sorted((tree / "boot").glob("vmlinuz-*"))
    dirs = sorted((tree / "lib/modules").glob("*")) or sorted((tree / "usr/lib/modules").glob("*"))
    if not kernels or not dirs:
        raise BuildError(f"{tree} holds no boot/vmlinuz-* and lib/modules/VERSION")
    return kernels[-1], dirs[-1]


# --- ELF --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Elf:
    """The parts of a 64-bit ELF file a build needs: section contents by name, DT_NEEDED, the
    program interpreter. Read with struct, so files of any architecture can be inspected."""

    sections: dict[str, bytes]
    needed: tuple[str, ...]
    interpreter: str | None


def read_elf(path: Path, want: Sequence[str] = ()) -> Elf:
    data = path.read_bytes()
    if data[:4] != b"\x7fELF":
        raise BuildError(f"{path} is not an ELF file")
    if data[4] != 2:
        raise BuildError(f"{path} is not a 64-bit ELF file")
    e = "<" if data[5] == 1 else ">"
    phoff, shoff = struct.unpack_from(e + "QQ", data, 0x20)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(e + "HHHHH", data, 0x36)
    interp = None
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(
            e + "IIQQQQ", data, phoff + i * phentsize
        )
        if p_type == 3:  # PT_INTERP
            interp = data[p_offset : p_offset + p_filesz].rstrip(b"\0").decode()
    heads = [
        struct.unpack_from(e + "IIQQQQII", data, shoff + i * shentsize) for i in range(shnum)
    ]  # name, type, flags, addr, offset, size, link, info

    def body(h: tuple[int, ...]) -> bytes:
        return data[h[4] : h[4] + h[5]]

    names = body(heads[shstrndx]) if shnum else b""

    def name_of(h: tuple[int, ...]) -> str:
        return names[h[0] : names.index(b"\0", h[0])].decode()

    sections = {name_of(h): body(h) for h in heads if name_of(h) in want}
    needed: list[str] = []
    for h in heads:
        if h[1] != 6:  # SHT_DYNAMIC
            continue
        strtab, dyn = body(heads[h[6]]), body(h)
        for off in range(0, len(dyn) - 15, 16):
            tag, val = struct.unpack_from(e + "qQ", dyn, off)
            if tag == 0:
                break
            if tag == 1:  # DT_NEEDED
                needed.append(strtab[val : strtab.index(b"\0", val)].decode())
    return Elf(sections, tuple(needed), interp)


# --- kernel modules ---------------------------------------------------------------------------


def module_name(path_or_name: str) -> str:
    """`kernel/arch/x86/crypto/crc32c-intel.ko` -> `crc32c_intel` (the kernel's spelling)."""
    base = path_or_name.rsplit("/", 1)[-1]
    base = re.sub(r"\.ko(\.(xz|gz|zst))?$", "", base)
    return base.replace("-", "_")


@dataclass
class Module:
    name: str
    path: str  # relative to lib/modules/VERSION
    depends: list[str] = field(default_factory=list)
    pre: list[str] = field(default_factory=list)
    post: list[str] = field(default_factory=list)


@dataclass
class ModuleIndex:
    modules: dict[str, Module]
    # exact aliases only (no wildcards) -> every module that provides it
    aliases: dict[str, list[str]] = field(default_factory=dict)
    builtin: set[str] = field(default_factory=set)

    def resolve(self, name: str) -> list[str]:
        """A module name, or an alias (a softdep may name `crypto-crc32c`), to module names.
        For an alias, every provider: the generic one first (it loads on any CPU), then the
        accelerated ones (they refuse CPUs without their instructions, harmlessly)."""
        n = module_name(name)
        if n in self.modules:
            return [n]
        found = self.aliases.get(name) or self.aliases.get(n) or []
        return sorted(found, key=lambda m: (not m.endswith("_generic"), m))

    def closure(self, names: Iterable[str]) -> list[Module]:
        """The modules to insert for `names`, in insertion order. Built-in names are skipped;
        an unknown name is an error; an unresolvable softdep is ignored (it is soft)."""
        order: list[Module] = []
        done: set[str] = set()
        unknown: list[str] = []

        def visit(name: str) -> None:
            if name in done:
                return
            done.add(name)  # before the recursion: a cycle ends here
            mod = self.modules[name]
            for soft in mod.pre:
                for r in self.resolve(soft):
                    visit(r)
            for dep in mod.depends:
                if not (found := self.resolve(dep)) and module_name(dep) not in self.builtin:
                    unknown.append(dep)
                for r in found:
                    visit(r)
            order.append(mod)
            for soft in mod.post:
                for r in self.resolve(soft):
                    visit(r)

        for name in names:
            if not (found := self.resolve(name)) and module_name(name) not in self.builtin:
                unknown.append(name)
            for r in found:
                visit(r)
        if unknown:
            raise BuildError(f"the kernel has no module {', '.join(sorted(set(unknown)))}")
        return order


def parse_softdeps(text: str) -> dict[str, tuple[list[str], list[str]]]:
    """`modules.softdep` lines (`softdep ext4 pre: crc32c`), or one `.modinfo` softdep value
    under the key "" -> name -> (pre, post)."""
    found: dict[str, tuple[list[str], list[str]]] = {}
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words[:1] == ["softdep"] and len(words) >= 2:
            name, words = module_name(words[1]), words[2:]
        elif words and words[0] in ("pre:", "post:"):
            name = ""
        else:
            continue
        pre, post = found.setdefault(name, ([], []))
        target = pre
        for w in words:
            if w in ("pre:", "post:"):
                target = pre if w == "pre:" else post
            else:
                target.append(w)
    return found


def parse_modules_dep(
    dep: str, softdep: str = "", alias: str = "", builtin: str = ""
) -> ModuleIndex:
    """An index from depmod's files: modules.dep, modules.softdep, modules.alias, modules.builtin."""
    modules: dict[str, Module] = {}
    for line in dep.splitlines():
        if ":" not in line:
            continue
        path, deps = line.split(":", 1)
        name = module_name(path.strip())
        modules[name] = Module(name, path.strip(), [module_name(d) for d in deps.split()])
    for name, (pre, post) in parse_softdeps(softdep).items():
        if name in modules:
            modules[name].pre, modules[name].post = pre, post
    aliases: dict[str, list[str]] = {}
    for line in alias.splitlines():
        words = line.split()
        if len(words) == 3 and words[0] == "alias" and not re.search(r"[*?\[]", words[1]):
            aliases.setdefault(words[1], []).append(module_name(words[2]))
    built = {module_name(x) for x in builtin.split()}
    return ModuleIndex(modules, aliases, built)


def modinfo(path: Path) -> list[tuple[str, str]]:
    """The key=value pairs of a module's .modinfo section."""
    raw = read_elf(path, [".modinfo"]).sections.get(".modinfo", b"")
    pairs = []
    for item in raw.split(b"\0"):
        if b"=" in item:
            k, v = item.decode(errors="replace").split("=", 1)
            pairs.append((k, v))
    return pairs


def index_from_modinfo(moddir: Path) -> ModuleIndex:
    """An index read from every module's .modinfo (what depmod would compute)."""
    modules: dict[str, Module] = {}
    aliases: dict[str, list[str]] = {}
    for ko in sorted(moddir.rglob("*.ko")):
        info = modinfo(ko)
        name = next((v for k, v in info if k == "name"), None) or module_name(ko.name)
        mod = Module(module_name(name), str(ko.relative_to(moddir)))
        for k, v in info:
            if k == "depends":
                mod.depends = [module_name(d) for d in v.split(",") if d]
            elif k == "softdep":
                pre, post = parse_softdeps(v).get("", ([], []))
                mod.pre += pre
                mod.post += post
            elif k == "alias" and not re.search(r"[*?\[]", v):
                aliases.setdefault(v, []).append(mod.name)
        modules[mod.name] = mod
    builtin = (
        (moddir / "modules.builtin").read_text() if (moddir / "modules.builtin").is_file() else ""
    )
    return ModuleIndex(modules, aliases, {module_name(x) for x in builtin.split()})


def module_index(moddir: Path) -> ModuleIndex:
    """The index of an extracted `lib/modules/VERSION`: depmod's files when present."""
    if (moddir / "modules.dep").is_file():

        def read(name: str) -> str:
            p = moddir / name
            return p.read_text() if p.is_file() else ""

        return parse_modules_dep(
            read("modules.dep"),
            read("modules.softdep"),
            read("modules.alias"),
            read("modules.builtin"),
        )
    if any(moddir.rglob("*.ko.*")):
        raise BuildError(f"{moddir} has compressed modules and no modules.dep: run depmod -b")
    return index_from_modinfo(moddir)


@contextmanager
def filling(slot: Path, prefix: str) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Build a cache slot: into a temporary directory beside it, which becomes `slot` (with
    `manifest.json`: what the builder put in the dict, and the build's seconds) by one rename
    when the block succeeds, and is removed when it fails. A reader never sees half a build."""
    slot.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{prefix}-", dir=slot.parent))
    manifest: dict[str, Any] = {}
    started = time.monotonic()
    try:
        yield tmp, manifest
        manifest["build_seconds"] = round(time.monotonic() - started, 2)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
        if slot.exists():
            shutil.rmtree(slot)
        os.rename(tmp, slot)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
