"""Disks: root disk hints, streaming images from a real HTTP server into files, the config drive
partition, erasing. Every disk is a regular file under the fake machine's /dev."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest

from ironworks_agent import commands, disks, inventory, protocol
from ironworks_agent.disks import DiskError

from .conftest import MIB, Files, add_disk, write

GIB = 1024 * MIB


def disk(name: str, size: int, **kw: object) -> protocol.Disk:
    d: dict[str, object] = {
        "name": name,
        "size": size,
        "serial": None,
        "model": None,
        "vendor": None,
        "wwn": None,
        "rotational": False,
        "removable": False,
    }
    d.update(kw)
    return d  # type: ignore[return-value]


DISKS = [
    disk("/dev/sda", 500 * GIB, serial="S1", model="Samsung SSD", vendor="ATA", wwn="0x5000aa"),
    disk("/dev/sdb", 100 * GIB, serial="S2", model="Samsung SSD", vendor="ATA"),
    disk("/dev/sdc", 8 * GIB, removable=True),
    disk("/dev/vda", 20 * GIB, serial="vd-1"),
]


@pytest.mark.parametrize(
    ("hints", "need", "chosen"),
    [
        (None, 0, "/dev/vda"),
        (None, 30 * GIB, "/dev/sdb"),
        ({}, 0, "/dev/vda"),
        ({"size": 500}, 0, "/dev/sda"),
        ({"serial": "s2"}, 0, "/dev/sdb"),
        ({"name": "sdc"}, 0, "/dev/sdc"),
        ({"name": "/dev/sdc"}, 0, "/dev/sdc"),
        ({"wwn": "0x5000AA"}, 0, "/dev/sda"),
        ({"model": "samsung ssd", "size": 100}, 0, "/dev/sdb"),
        ({"vendor": "ATA"}, 0, "/dev/sda"),
    ],
)
def test_root_disk_by_hints_or_smallest_fixed_that_fits(
    hints: dict | None, need: int, chosen: str
) -> None:
    assert disks.choose_root_disk(DISKS, hints, need)["name"] == chosen


def test_root_disk_refusals_name_the_reason() -> None:
    with pytest.raises(DiskError, match="no disk matches the root device hints"):
        disks.choose_root_disk(DISKS, {"serial": "S1", "size": 100})
    with pytest.raises(DiskError, match="unknown root device hint 'rotational'"):
        disks.choose_root_disk(DISKS, {"rotational": False})
    with pytest.raises(
        DiskError, match=r"^disk /dev/vda has 21474836480 bytes, the image needs 21474836481$"
    ):
        disks.choose_root_disk(DISKS, {"serial": "vd-1"}, 20 * GIB + 1)
    with pytest.raises(DiskError, match=r"^disk /dev/sda has 536870912000 bytes, the image needs"):
        disks.choose_root_disk(DISKS, None, 600 * GIB)
    with pytest.raises(DiskError, match="no fixed disk"):
        disks.choose_root_disk([DISKS[2]], None)


def image_bytes(size: int) -> bytes:
    block = hashlib.sha256(b"ironworks").digest() * 128  # 4 KiB that is not all zeros
    return (block * (size // len(block) + 1))[:size]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_write_image_streams_into_the_disk_and_reports(machine: Path, files: Files) -> None:
    dev = add_disk(machine, "vda", 8 * MIB)
    add_disk(machine, "vdb", 64 * MIB)
    image = image_bytes(3 * MIB + 12345)
    files.blobs["/img.raw"] = image
    seen: list[tuple[int, int | None]] = []
    ctx = commands.Context(root=machine, progress=lambda d, t: seen.append((d, t)))

    out = commands.execute(
        ctx,
        "write_image",
        {
            "url": files.url + "/img.raw",
            "sha256": sha(image),
            "size": len(image),
            "root_device": None,
        },
    )

    assert (out["device"], out["bytes"], out["sha256"]) == ("/dev/vda", len(image), sha(image))
    assert out["seconds"] >= 0 and ctx.root_device == "/dev/vda"
    data = dev.read_bytes()
    assert (
        len(data) == 8 * MIB
        and data[: len(image)] == image
        and data[len(image) :] == bytes(8 * MIB - len(image))
    )
    assert seen[-1] == (len(image), len(image)) and len(seen) == 4  # one per MiB chunk


def test_write_image_bad_checksum_fails_and_leaves_no_bootable_start(
    machine: Path, files: Files
) -> None:
    dev = add_disk(machine, "vda", 8 * MIB)
    image = image_bytes(2 * MIB + 7)
    files.blobs["/img.raw"] = image
    wrong = "0" * 64
    with pytest.raises(DiskError, match=f"^checksum mismatch: expected {wrong}, got {sha(image)}$"):
        disks.write_image(machine, inventory.disks(machine), files.url + "/img.raw", wrong)
    data = dev.read_bytes()
    assert data[:MIB] == bytes(MIB) and data[MIB : len(image)] == image[MIB:]


def test_write_image_refuses_a_small_disk_before_writing(machine: Path, files: Files) -> None:
    dev = add_disk(machine, "vda", 2 * MIB)
    dev.write_bytes(b"\xaa" * 2 * MIB)
    image = image_bytes(3 * MIB)
    files.blobs["/img.raw"] = image
    files.blobs["/stream.raw"] = image
    files.no_length.add("/stream.raw")
    url, found = files.url, inventory.disks(machine)

    with pytest.raises(
        DiskError, match=f"^disk /dev/vda has {2 * MIB} bytes, the image needs {3 * MIB}$"
    ):
        disks.write_image(machine, found, url + "/img.raw", sha(image), size=3 * MIB)
    with pytest.raises(
        DiskError, match=f"^disk /dev/vda has {2 * MIB} bytes, the image needs {3 * MIB}$"
    ):
        disks.write_image(machine, found, url + "/img.raw", sha(image))  # from Content-Length
    assert dev.read_bytes() == b"\xaa" * 2 * MIB
    with pytest.raises(
        DiskError, match=f"^disk /dev/vda has {2 * MIB} bytes, the image needs more than"
    ):
        disks.write_image(
            machine, found, url + "/stream.raw", sha(image)
        )  # no length: stops at the end
    assert dev.stat().st_size == 2 * MIB
    with pytest.raises(DiskError, match="answered 404"):
        disks.write_image(machine, found, url + "/missing.raw", sha(image))


def read_at(path: Path, offset: int, n: int) -> bytes:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read(n)


def mbr(*entries: tuple[int, int, int, int]) -> bytes:
    """Sector 0 with (slot, type, start, sectors) entries and the boot signature."""
    sector = bytearray(512)
    sector[:4] = b"\xeb\x63\x90\x00"  # a bootloader's first bytes, which must survive
    for slot, kind, start, sectors in entries:
        sector[446 + 16 * slot : 462 + 16 * slot] = disks.mbr_entry(kind, start, sectors)
    sector[510:512] = b"\x55\xaa"
    return bytes(sector)


def test_configdrive_goes_into_a_new_partition_at_the_end(machine: Path, files: Files) -> None:
    dev = add_disk(machine, "vda", 200 * MIB)
    first = mbr((0, 0x83, 2048, 100 * 2048))
    with dev.open("r+b") as f:
        f.write(first)
    drive = bytearray(image_bytes(100 * 1024))
    drive[82:90] = b"FAT32   "
    files.blobs["/cd.img"] = bytes(drive)
    args = {
        "url": files.url + "/cd.img",
        "sha256": sha(drive),
        "size": len(drive),
        "device": "/dev/vda",
    }

    out = commands.execute(commands.Context(root=machine), "write_configdrive", args)

    start = (200 - 64) * MIB
    assert out == {"device": "/dev/vda", "partition": 2, "offset": start, "size": 64 * MIB}
    data = read_at(dev, 0, 512)
    assert (
        data[:446] == first[:446]
        and data[446:462] == first[446:462]
        and data[510:512] == b"\x55\xaa"
    )
    entry = data[462:478]
    assert entry == bytes.fromhex("00feffff0cfeffff") + struct.pack("<II", start // 512, 64 * 2048)
    assert data[478:510] == bytes(32)  # slots 3 and 4 stay free
    assert read_at(dev, start, len(drive) + 1) == drive + b"\x00"
    assert [(p.slot, p.start, p.sectors) for p in disks.mbr_partitions(data)] == [
        (0, 2048, 204800),
        (1, start // 512, 131072),
    ]
    # Run again (a retried deploy): the same partition, not a third one.
    again = commands.execute(commands.Context(root=machine), "write_configdrive", args)
    assert again == out and read_at(dev, 0, 512) == data


def test_configdrive_plan_sizes_and_refusals() -> None:
    plan = disks.plan_configdrive(mbr(), 1024 * MIB, 71 * MIB, "/dev/vda")
    assert (plan.slot, plan.start * 512, plan.sectors * 512) == (0, (1024 - 71) * MIB, 71 * MIB)
    odd = disks.plan_configdrive(mbr(), 1024 * MIB + 4096, 64 * MIB, "/dev/vda")  # aligned down
    assert odd.start * 512 == 960 * MIB
    with pytest.raises(DiskError, match=r"^/dev/vda has no MBR partition table$"):
        disks.plan_configdrive(bytes(512), 1024 * MIB, 64 * MIB, "/dev/vda")
    with pytest.raises(DiskError, match="GPT"):
        disks.plan_configdrive(mbr((0, 0xEE, 1, 2**32 - 1)), 1024 * MIB, 64 * MIB, "/dev/vda")
    with pytest.raises(
        DiskError, match="no room for the config drive at the end of /dev/vda: partition 1"
    ):
        disks.plan_configdrive(mbr((0, 0x83, 2048, 1000 * 2048)), 1024 * MIB, 64 * MIB, "/dev/vda")
    full = mbr(*[(i, 0x83, 2048 + i * 2048, 2048) for i in range(4)])
    with pytest.raises(DiskError, match="no free primary slot"):
        disks.plan_configdrive(full, 1024 * MIB, 64 * MIB, "/dev/vda")


def test_configdrive_bad_checksum_adds_no_partition(machine: Path, files: Files) -> None:
    dev = add_disk(machine, "vda", 100 * MIB)
    with dev.open("r+b") as f:
        f.write(mbr((0, 0x83, 2048, 10 * 2048)))
    files.blobs["/cd.img"] = b"config" * 1000
    with pytest.raises(DiskError, match="checksum mismatch"):
        disks.write_configdrive(machine, "/dev/vda", files.url + "/cd.img", "ab" * 32)
    assert read_at(dev, 462, 16) == bytes(16)


def filled_disk(machine: Path, name: str, size: int) -> Path:
    dev = add_disk(machine, name, size)
    dev.write_bytes(b"\xaa" * size)
    return dev


def test_erase_metadata_zeroes_start_end_and_each_partition_start(machine: Path) -> None:
    vda = filled_disk(machine, "vda", 16 * MIB)
    with vda.open("r+b") as f:
        f.write(mbr((0, 0x83, 4 * 2048, 2 * 2048)))  # partition 1 at 4 MiB, from the MBR
    write(machine / "sys/block/vda/vda5/start", str(9 * 2048))  # a logical one sysfs knows
    vdb = filled_disk(
        machine, "vdb", 3 * MIB // 2
    )  # smaller than start + end MiB: no overlap count
    filled_disk(machine, "vdc", 4 * MIB)
    write(machine / "sys/block/vdc/ro", "1")
    progress: list[tuple[int, int | None]] = []

    out = commands.execute(
        commands.Context(root=machine, progress=lambda d, t: progress.append((d, t))),
        "erase_disks",
        {"mode": "metadata"},
    )

    assert out == {
        "disks": [
            {"device": "/dev/vda", "mode": "metadata", "bytes": 4 * MIB},
            {"device": "/dev/vdb", "mode": "metadata", "bytes": 3 * MIB // 2},
        ]
    }
    data = vda.read_bytes()
    zeroed = {0, 4, 9, 15}
    for mib in range(16):
        want = bytes(MIB) if mib in zeroed else b"\xaa" * MIB
        assert data[mib * MIB : (mib + 1) * MIB] == want, mib
    assert vdb.read_bytes() == bytes(3 * MIB // 2)
    assert (machine / "dev/vdc").read_bytes() == b"\xaa" * 4 * MIB
    assert progress[-1] == (5 * MIB + MIB // 2, 5 * MIB + MIB // 2)


def test_erase_full_zeroes_every_byte(machine: Path) -> None:
    vda = filled_disk(machine, "vda", 3 * MIB + 512)
    out = commands.execute(commands.Context(root=machine), "erase_disks", {"mode": "full"})
    assert out == {"disks": [{"device": "/dev/vda", "mode": "full", "bytes": 3 * MIB + 512}]}
    assert vda.read_bytes() == bytes(3 * MIB + 512)
    with pytest.raises(commands.CommandError, match="'mode' to be one of metadata, full"):
        commands.execute(commands.Context(root=machine), "erase_disks", {"mode": "shred"})


def test_partition_starts_from_a_gpt_the_kernel_has_not_read(machine: Path) -> None:
    head = bytearray(MIB)
    head[446 + 4] = 0xEE  # the protective MBR
    head[510:512] = b"\x55\xaa"
    head[512:520] = b"EFI PART"
    struct.pack_into("<QII", head, 512 + 72, 2, 128, 128)  # entries at LBA 2, 128 of 128 bytes
    for i, first in enumerate([2048, 0, 411648]):
        if first:
            head[1024 + 128 * i : 1024 + 128 * i + 16] = b"\x0f" * 16  # any non-zero type GUID
            struct.pack_into("<Q", head, 1024 + 128 * i + 32, first)
    assert disks.partition_starts(machine, "/dev/vda", bytes(head)) == [2048 * 512, 411648 * 512]
