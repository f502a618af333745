"""The pure parts of the image builders: module closure, package names, cpio, MBR, scripts."""

from __future__ import annotations

import gzip
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from ironworks.builders import debian, ramdisk, testimage
from ironworks.builders.debian import BuildError

MODULES_DEP = """\
kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/fs/mbcache.ko kernel/lib/crc16.ko
kernel/fs/jbd2/jbd2.ko:
kernel/fs/mbcache.ko:
kernel/lib/crc16.ko:
kernel/crypto/crc32c_generic.ko:
kernel/arch/x86/crypto/crc32c-intel.ko:
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/fs/nls/nls_iso8859-1.ko:
"""
SOFTDEP = "# comment\nsoftdep ext4 pre: crc32c\nsoftdep jbd2 pre: crc32c post: crc16\n"
ALIAS = "alias crc32c crc32c_intel\nalias crc32c crc32c_generic\nalias pci:v*d* virtio_blk\n"
BUILTIN = "kernel/net/packet/af_packet.ko\n"


def index() -> debian.ModuleIndex:
    return debian.parse_modules_dep(MODULES_DEP, SOFTDEP, ALIAS, BUILTIN)


def test_closure_puts_softdeps_and_dependencies_first() -> None:
    order = [m.name for m in index().closure(["ext4"])]
    # the generic CRC first (it loads on any CPU), then the accelerated one
    assert order == ["crc32c_generic", "crc32c_intel", "jbd2", "crc16", "mbcache", "ext4"]


def test_closure_dedups_and_keeps_request_order() -> None:
    order = [m.name for m in index().closure(["virtio_blk", "virtio", "nls_iso8859_1"])]
    assert order == ["virtio_ring", "virtio", "virtio_blk", "nls_iso8859_1"]
    assert index().modules["nls_iso8859_1"].path == "kernel/fs/nls/nls_iso8859-1.ko"


def test_builtin_modules_are_skipped_and_unknown_ones_are_errors() -> None:
    assert index().closure(["af_packet"]) == []
    with pytest.raises(BuildError, match="no module e1000, nope"):
        index().closure(["e1000", "virtio", "nope"])


def test_wildcard_aliases_are_ignored() -> None:
    assert "pci:v*d*" not in index().aliases
    assert index().resolve("crc32c") == ["crc32c_generic", "crc32c_intel"]


def test_softdep_parsing_of_modinfo_values() -> None:
    assert debian.parse_softdeps("pre: crc32c crc16 post: x") == {"": (["crc32c", "crc16"], ["x"])}
    assert debian.module_name("kernel/arch/x86/crypto/crc32c-intel.ko.xz") == "crc32c_intel"


def test_candidates_and_file_names() -> None:
    shown = (
        "Package: busybox-static\nVersion: 1:1.35.0-4+b1\nArchitecture: amd64\n\n"
        "Package: libc6\nVersion: 2.36-9\nArchitecture: amd64\nDepends: x\n"
    )
    found = debian.parse_candidates(shown)
    assert found["busybox-static"].filename == "busybox-static_1%3a1.35.0-4+b1_amd64.deb"
    assert found["libc6"].filename == "libc6_2.36-9_amd64.deb"
    with pytest.raises(BuildError, match="unknown architecture 'riscv64'"):
        debian.deb_arch("riscv64")


def test_cpio_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "hello"
    src.write_bytes(b"hi there")
    layout = ramdisk.Layout()
    layout.copy("usr/bin/hello", src, 0o755)
    layout.file("init", b"#!/bin/sh\n", 0o755)
    layout.symlink("bin/sh", "busybox")
    layout.chardev("dev/console", 5, 1)
    out = tmp_path / "initramfs"
    ramdisk.write_cpio(layout.all_entries(), out)
    found = ramdisk.read_cpio(gzip.decompress(out.read_bytes()))
    assert list(found) == [
        "bin",
        "bin/sh",
        "dev",
        "dev/console",
        "init",
        "usr",
        "usr/bin",
        "usr/bin/hello",
    ]
    assert found["usr/bin/hello"] == (stat.S_IFREG | 0o755, b"hi there")
    assert found["bin/sh"] == (stat.S_IFLNK | 0o777, b"busybox")
    assert stat.S_ISCHR(found["dev/console"][0]) and stat.S_ISDIR(found["usr"][0])
    if shutil.which("cpio"):  # GNU cpio reads it too
        listing = subprocess.run(
            ["cpio", "-t"], input=gzip.decompress(out.read_bytes()), capture_output=True, check=True
        ).stdout.decode()
        assert "usr/bin/hello" in listing.split()
    again = tmp_path / "again"
    ramdisk.write_cpio(layout.all_entries(), again)
    assert again.read_bytes() == out.read_bytes()  # reproducible


def test_busybox_links_skip_busybox_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = tmp_path / "bb"
    (tree / "bin").mkdir(parents=True)
    fake = tree / "bin/busybox"
    fake.write_text("#!/bin/sh\nprintf 'bin/busybox\\nbin/ls\\nusr/sbin/udhcpc\\nbin/sh\\n'\n")
    fake.chmod(0o755)
    monkeypatch.setattr(ramdisk.os, "uname", lambda: type("U", (), {"machine": "x86_64"})())
    mat = ramdisk.Material("x86_64", {}, {"busybox-static": tree}, Path("k"), Path("m"))
    layout = ramdisk.Layout()
    ramdisk.add_busybox(layout, mat)
    # ELOOP trap: bin/busybox stays the binary, not a link to itself
    assert layout.entries["bin/busybox"].source == fake
    assert layout.entries["bin/ls"].data == b"/bin/busybox"
    assert layout.entries["usr/sbin/udhcpc"].data == b"/bin/busybox"
    assert layout.entries["bin/sh"].data == b"busybox"


def test_foreign_busybox_installs_its_links_at_boot(tmp_path: Path) -> None:
    tree = tmp_path / "bb"
    (tree / "bin").mkdir(parents=True)
    (tree / "bin/busybox").write_bytes(b"\x7fELF")
    mat = ramdisk.Material("riscv64", {}, {"busybox-static": tree}, Path("k"), Path("m"))
    layout = ramdisk.Layout()
    ramdisk.add_busybox(layout, mat)
    assert sorted(layout.entries) == ["bin/busybox", "bin/sh"]
    assert "busybox --install -s /bin" in ramdisk.render_init("aarch64", [])


def test_init_script_loads_modules_in_order_and_loops_the_agent() -> None:
    text = ramdisk.render_init("x86_64", ["/lib/modules/v/a.ko", "/lib/modules/v/b.ko"])
    assert text.index("/lib/modules/v/a.ko") < text.index("/lib/modules/v/b.ko")
    for needle in (
        "mount -t devtmpfs",
        "udhcpc -i",
        "/etc/udhcpc.script",
        "python3 -m ironworks_agent",
        "sleep 5",
        "BOOTIF=01-",
    ):
        assert needle in text
    # floor mode (bench/deploy.py): write the image by hand and power off, before the agent
    floor = text.index("ironworks\\.floor=")
    assert floor < text.index("python3 -m ironworks_agent")
    assert "dd of=/dev/vda bs=1M conv=fsync" in text and "IRONWORKS-FLOOR written" in text
    assert text.index("poweroff -f") > floor
    if shutil.which("sh"):
        for script in (text, ramdisk.UDHCPC_SCRIPT, testimage.render_test_init(["/m/x.ko"])):
            subprocess.run(["sh", "-n"], input=script.encode(), check=True)


def test_test_init_prints_the_markers() -> None:
    text = testimage.render_test_init(["/lib/modules/v/virtio_blk.ko"])
    assert 'echo "IRONWORKS-TEST-OS hostname=$name"' in text
    assert "IRONWORKS-TEST-OS booted" in text and "config-2" in text
    assert "/ironworks-marker" in text and "poweroff" not in text


def test_missing_agent_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="agent package is missing"):
        ramdisk.agent_files(tmp_path / "ironworks_agent")
    (tmp_path / "a").mkdir()
    (tmp_path / "a/__init__.py").write_text("")
    with pytest.raises(BuildError, match=r"__main__\.py"):
        ramdisk.agent_files(tmp_path / "a")
    (tmp_path / "a/__main__.py").write_text("")
    (tmp_path / "a/__pycache__").mkdir()
    (tmp_path / "a/__pycache__/x.pyc").write_bytes(b"")
    assert [p.name for p in ramdisk.agent_files(tmp_path / "a")] == ["__init__.py", "__main__.py"]


def test_mbr_entries_round_trip(tmp_path: Path) -> None:
    disk = tmp_path / "d"
    disk.write_bytes(b"\0" * 4096)
    testimage.set_partition(disk, 1, testimage.mbr_partition(True, 0x83, 2048, 129024))
    testimage.set_partition(disk, 2, testimage.mbr_partition(False, 0x0C, 131072, 131072))
    data = disk.read_bytes()
    assert data[510:512] == b"\x55\xaa" and data[446] == 0x80
    assert testimage.mbr_entries(disk) == [(0x83, 2048, 129024), (0x0C, 131072, 131072)]


def test_precompiled_pyc_is_an_unchecked_hash_pyc() -> None:
    pyc = ramdisk._compile(b"x = 1\n", "/usr/lib/python3.11/x.py")
    assert pyc is not None and int.from_bytes(pyc[4:8], "little") == 0b01
    assert ramdisk._compile(b"def (:\n", "/bad.py") is None


def test_read_elf_of_a_host_program() -> None:
    ls = Path("/bin/ls")
    if not ls.is_file() or ls.read_bytes()[:4] != b"\x7fELF":
        pytest.skip("no ELF /bin/ls here")
    elf = debian.read_elf(ls)
    assert "libc.so.6" in elf.needed and elf.interpreter and elf.interpreter.startswith("/lib")


def test_grub_netboot_image_is_built_once_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """build_grub runs grub-mkimage from the extracted grub-common on the arm64 modules."""
    from ironworks.builders import grub

    if not shutil.which("sh") or not shutil.which("dpkg"):
        pytest.skip("needs sh and dpkg")
    mods = tmp_path / "mods" / "usr/lib/grub/arm64-efi"
    mods.mkdir(parents=True)
    (mods / "moddep.lst").write_text("net: boot\n")
    tool = tmp_path / "common" / "usr/bin/grub-mkimage"
    tool.parent.mkdir(parents=True)
    # a stand-in: writes its arguments and the embedded config to the -o file
    tool.write_text(
        '#!/bin/sh\nout=""; cfg=""; all="$*"\n'
        'while [ $# -gt 0 ]; do case "$1" in -o) out=$2;; -c) cfg=$2;; esac; shift; done\n'
        '{ echo "$all"; cat "$cfg"; } > "$out"\n'
    )
    tool.chmod(0o755)
    fetched: list[tuple[list[str], str]] = []

    def fetch(names: list[str], arch: str, cache: Path) -> dict[str, Path]:
        fetched.append((list(names), arch))
        return {n: tmp_path / f"{n}_2.06-13_{arch}.deb" for n in names}

    monkeypatch.setattr(debian, "fetch", fetch)
    monkeypatch.setattr(
        debian,
        "extracted",
        lambda deb: tmp_path / ("mods" if deb.name.startswith("grub-efi-arm64-bin") else "common"),
    )
    r = grub.build_grub("aarch64", tmp_path / "out", cache_dir=tmp_path / "cache")
    assert not r.cached and r.image == tmp_path / "out" / "aarch64" / "grubnetaa64.efi"
    text = r.image.read_text()
    assert text.startswith(f"-O arm64-efi -d {mods} -o ")
    assert "-p /grub" in text and " efinet net tftp http linux normal configfile" in text
    assert "configfile (tftp)/grub/grub.cfg" in text  # the embedded config
    assert fetched[0] == (["grub-efi-arm64-bin"], "arm64")
    again = grub.build_grub("aarch64", tmp_path / "out2", cache_dir=tmp_path / "cache")
    assert again.cached and again.key == r.key and again.image.read_text() == text
    with pytest.raises(BuildError, match="iPXE"):
        grub.build_grub("x86_64", tmp_path / "out", cache_dir=tmp_path / "cache")
    with pytest.raises(BuildError, match="unknown architecture"):
        grub.build_grub("riscv64", tmp_path / "out", cache_dir=tmp_path / "cache")


def test_aarch64_ramdisk_modules_include_the_virt_machine_drivers() -> None:
    mods = ramdisk.RAMDISK_MODULES["aarch64"]
    for m in ("virtio_mmio", "virtio_pci", "virtio_net", "virtio_blk", "ext4", "vfat"):
        assert m in mods
    assert "ata_piix" not in mods  # x86 only
