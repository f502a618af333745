"""Local disks: which one gets the image, streaming images onto it, the config drive, erasing.

Disks are named as the server knows them (`/dev/vda`) and opened under `root`, so a test's disk
is a regular file at `tmp/dev/vda`. A disk's capacity is where a seek to its end lands: that is
the device size for a block device and the file size for a file, so one code path serves both.

Writing streams the HTTP body straight onto the disk in 1 MiB chunks, hashing as it goes (no
temporary copy: the ramdisk is small), refuses before the first byte when the announced size does
not fit, fsyncs, and compares the SHA-256. On a mismatch it zeroes the first MiB it wrote, so a
node never boots half an image.

The config drive goes into a new MBR primary partition at the end of the disk, MiB-aligned. The
data is written first and the partition entry last, so an interrupted run leaves no partition
pointing at garbage; a rerun that finds the same entry reuses it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import logging
import math
import os
import stat
import struct
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ironworks_agent import protocol
from ironworks_agent.protocol import MIB

log = logging.getLogger("ironworks_agent.disks")

Progress = Callable[[int, int | None], None]
CHUNK = MIB
SECTOR = 512
BLKRRPART = 0x125F
DOWNLOAD_TIMEOUT = 60.0
DOWNLOAD_TRIES = 3
MBR_LIMIT_SECTORS = 2**32 - 1
TYPE_GPT_PROTECTIVE, TYPE_FAT32_LBA, TYPE_FAT16_LBA = 0xEE, 0x0C, 0x0E


class DiskError(Exception):
    """A disk operation failed; the message is the one sentence the operator reads."""


def _no_progress(done: int, total: int | None) -> None:
    pass


def device_path(root: Path, name: str) -> Path:
    """Where to open the device the server calls `name` (`/dev/vda` → root/dev/vda)."""
    return root / name.lstrip("/")


def capacity(path: Path) -> int:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.close(fd)


def reread_partitions(path: Path) -> None:
    """Ask the kernel to reread the partition table (BLKRRPART); a file has none to reread."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, BLKRRPART)
    except OSError as e:
        if stat.S_ISBLK(os.fstat(fd).st_mode):
            log.warning("cannot reread the partition table of %s: %s", path, e)
    finally:
        os.close(fd)


# Choosing the root disk.
def _matches(disk: protocol.Disk, hints: Mapping[str, Any]) -> bool:
    for key, want in hints.items():
        if want is None:
            continue
        if key == "size":
            if disk["size"] // protocol.GIB != int(want):
                return False
        elif key == "name":
            if disk["name"] != "/dev/" + str(want).removeprefix("/dev/"):
                return False
        else:
            have = disk.get(key)
            if not isinstance(have, str) or have.strip().casefold() != str(want).strip().casefold():
                return False
    return True


def too_small(name: str, has: int, needs: int) -> DiskError:
    return DiskError(f"disk {name} has {has} bytes, the image needs {needs}")


def choose_root_disk(
    disks: list[protocol.Disk], hints: Mapping[str, Any] | None, need: int = 0
) -> protocol.Disk:
    """The disk the hints name (all given must match), else the smallest fixed one that holds
    `need` bytes. Refuses a disk that is too small rather than picking another."""
    if hints:
        unknown = sorted(set(hints) - set(protocol.ROOT_DEVICE_HINTS))
        if unknown:
            raise DiskError(
                f"unknown root device hint {unknown[0]!r}; known: {', '.join(protocol.ROOT_DEVICE_HINTS)}"
            )
        try:
            found = [d for d in disks if _matches(d, hints)]
        except (TypeError, ValueError):
            raise DiskError(
                f"the size hint must be a whole number of GiB, not {hints.get('size')!r}"
            ) from None
        if not found:
            raise DiskError(f"no disk matches the root device hints {dict(hints)}")
        chosen = found[0]
        if chosen["size"] < need:
            raise too_small(chosen["name"], chosen["size"], need)
        return chosen
    fixed = sorted((d for d in disks if not d["removable"]), key=lambda d: (d["size"], d["name"]))
    if not fixed:
        raise DiskError("this node has no fixed disk to write the image to")
    for d in fixed:
        if d["size"] >= need:
            return d
    raise too_small(fixed[-1]["name"], fixed[-1]["size"], need)


# Streaming.
@contextlib.contextmanager
def download(url: str) -> Iterator[tuple[http.client.HTTPResponse, int | None]]:
    """An open HTTP response and its Content-Length; tries three times to connect."""
    for attempt in range(1, DOWNLOAD_TRIES + 1):
        try:
            resp = urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT)
            break
        except urllib.error.HTTPError as e:
            e.close()
            if e.code < 500 or attempt == DOWNLOAD_TRIES:
                raise DiskError(f"cannot download {url}: the server answered {e.code}") from None
        except (OSError, http.client.HTTPException) as e:
            if attempt == DOWNLOAD_TRIES:
                raise DiskError(f"cannot download {url}: {getattr(e, 'reason', e)}") from None
        log.warning("download of %s failed (try %d); trying again", url, attempt)
        time.sleep(attempt)
    with resp:
        length = resp.headers.get("Content-Length")
        yield resp, int(length) if length and length.isdigit() else None


@dataclass
class Written:
    bytes: int
    sha256: str
    head: bytes  # the first sector written (to tell FAT12/16 from FAT32)


def copy(
    resp: http.client.HTTPResponse,
    path: Path,
    what: str,
    offset: int,
    room: int,
    expected: str,
    total: int | None,
    progress: Progress,
) -> Written:
    """Stream `resp` into `path` at `offset`, never past `room` bytes; fsync; check SHA-256.

    `what` names the space for the error when the image outgrows it ("disk /dev/vda")."""
    digest, done, head = hashlib.sha256(), 0, b""
    fd = os.open(path, os.O_WRONLY)
    try:
        while True:
            try:
                chunk = resp.read(CHUNK)
            except (OSError, http.client.HTTPException) as e:
                raise DiskError(f"the download broke off after {done} bytes: {e}") from None
            if not chunk:
                break
            if done + len(chunk) > room:
                raise DiskError(
                    f"{what} has {room} bytes, the image needs more than {done + len(chunk)}"
                )
            view = memoryview(chunk)
            while view:
                n = os.pwrite(fd, view, offset + done)
                view, done = view[n:], done + n
            digest.update(chunk)
            head = head or chunk[:SECTOR]
            progress(done, total)
        os.fsync(fd)
        got = digest.hexdigest()
        if got != expected.strip().lower():
            os.pwrite(fd, bytes(min(MIB, done)), offset)  # a broken image must not boot
            os.fsync(fd)
            raise DiskError(f"checksum mismatch: expected {expected}, got {got}")
    finally:
        os.close(fd)
    return Written(done, got, head)


def write_image(
    root: Path,
    disks: list[protocol.Disk],
    url: str,
    sha256: str,
    size: int | None = None,
    hints: Mapping[str, Any] | None = None,
    progress: Progress = _no_progress,
) -> protocol.WriteImageResult:
    """Pick the root disk and stream the image onto it."""
    started = time.monotonic()
    with download(url) as (resp, length):
        need = max(size or 0, length or 0)
        disk = choose_root_disk(disks, hints, need)
        path = device_path(root, disk["name"])
        room = capacity(path)
        if need > room:
            raise too_small(disk["name"], room, need)
        log.info("writing %s to %s (%s bytes)", url, disk["name"], need or "unknown")
        out = copy(resp, path, f"disk {disk['name']}", 0, room, sha256, size or length, progress)
    reread_partitions(path)
    seconds = round(time.monotonic() - started, 3)
    log.info("wrote %d bytes to %s in %.1f s", out.bytes, disk["name"], seconds)
    return {"device": disk["name"], "bytes": out.bytes, "sha256": out.sha256, "seconds": seconds}


# MBR.
@dataclass(frozen=True)
class Partition:
    slot: int  # 0..3; the partition number is slot + 1
    type: int
    start: int  # sectors
    sectors: int

    @property
    def end(self) -> int:
        return self.start + self.sectors


def mbr_partitions(sector0: bytes, name: str = "the disk") -> list[Partition]:
    """The used primary entries of an MBR; refuses a disk without one, or with GPT."""
    if len(sector0) < SECTOR or sector0[510:512] != b"\x55\xaa":
        raise DiskError(f"{name} has no MBR partition table")
    found = []
    for slot in range(4):
        entry = sector0[446 + 16 * slot : 462 + 16 * slot]
        kind = entry[4]
        start, sectors = struct.unpack_from("<II", entry, 8)
        if kind == TYPE_GPT_PROTECTIVE:
            raise DiskError(f"{name} has a GPT partition table; the config drive needs MBR")
        if kind or sectors:
            found.append(Partition(slot, kind, start, sectors))
    return found


def mbr_entry(kind: int, start: int, sectors: int) -> bytes:
    """A 16-byte primary entry, LBA only (CHS fields set to the 'beyond 8 GB' marker)."""
    chs = b"\xfe\xff\xff"
    return b"\x00" + chs + bytes([kind]) + chs + struct.pack("<II", start, sectors)


def plan_configdrive(sector0: bytes, disk_bytes: int, part_bytes: int, name: str) -> Partition:
    """Where the config drive goes: the last MiB-aligned `part_bytes` of the disk, in a free slot
    (or the slot that already holds exactly that partition)."""
    used = mbr_partitions(sector0, name)
    start = (disk_bytes - part_bytes) // MIB * MIB // SECTOR
    sectors = part_bytes // SECTOR
    if start * SECTOR < MIB:
        raise too_small(name, disk_bytes, part_bytes + MIB)
    if start + sectors > MBR_LIMIT_SECTORS:
        raise DiskError(
            f"{name} is larger than an MBR can address; the config drive cannot go at its end"
        )
    for p in used:
        if (p.start, p.sectors) == (start, sectors):
            return p
    for p in used:
        if p.end > start and p.start < start + sectors:
            raise DiskError(
                f"no room for the config drive at the end of {name}: partition {p.slot + 1} ends at byte {p.end * SECTOR}"
            )
    free = sorted(set(range(4)) - {p.slot for p in used})
    if not free:
        raise DiskError(f"the partition table of {name} has no free primary slot")
    return Partition(free[0], 0, start, sectors)


def write_configdrive(
    root: Path,
    name: str,
    url: str,
    sha256: str,
    size: int | None = None,
    progress: Progress = _no_progress,
) -> protocol.WriteConfigdriveResult:
    path = device_path(root, name)
    with download(url) as (resp, length):
        image = size or length
        part_bytes = max(protocol.CONFIGDRIVE_MIN_BYTES, math.ceil((image or 0) / MIB) * MIB)
        disk_bytes = capacity(path)
        with path.open("rb") as f:
            sector0 = f.read(SECTOR)
        part = plan_configdrive(sector0, disk_bytes, part_bytes, name)
        offset = part.start * SECTOR
        log.info(
            "writing the config drive to %s partition %d at byte %d", name, part.slot + 1, offset
        )
        where = f"the config drive partition of {name}"
        out = copy(resp, path, where, offset, part_bytes, sha256, image, progress)
    kind = TYPE_FAT32_LBA if out.head[82:90] == b"FAT32   " else TYPE_FAT16_LBA
    at = 446 + 16 * part.slot
    table = sector0[:at] + mbr_entry(kind, part.start, part.sectors) + sector0[at + 16 :]
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, table, 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    reread_partitions(path)
    return {"device": name, "partition": part.slot + 1, "offset": offset, "size": part_bytes}


# Erasing.
def _gpt_starts(head: bytes) -> list[int]:
    """First sectors of the GPT partitions whose entries lie within `head` (the disk's start)."""
    if head[SECTOR : SECTOR + 8] != b"EFI PART":
        return []
    entries_lba, count, size = struct.unpack_from("<QII", head, SECTOR + 72)
    starts = []
    for i in range(min(count, 256)):
        at = entries_lba * SECTOR + i * size
        if size < 128 or at + 48 > len(head):
            break
        first = struct.unpack_from("<Q", head, at + 32)[0]
        if head[at : at + 16] != bytes(16):  # an unused entry has a zero type GUID
            starts.append(first)
    return starts


def partition_starts(root: Path, name: str, head: bytes) -> list[int]:
    """Byte offsets of every partition found in sysfs, the MBR or the GPT of a disk."""
    starts: set[int] = set()
    sysdir = root / "sys/block" / name.removeprefix("/dev/")
    if sysdir.is_dir():
        for part in sysdir.iterdir():
            with contextlib.suppress(OSError, ValueError):
                starts.add(int((part / "start").read_text()) * SECTOR)
    with contextlib.suppress(DiskError):
        starts.update(p.start * SECTOR for p in mbr_partitions(head))
    starts.update(s * SECTOR for s in _gpt_starts(head))
    return sorted(starts)


def erase_plan(root: Path, name: str, mode: str) -> list[tuple[int, int]]:
    """The byte ranges [start, end) that erasing `name` in `mode` zeroes, merged and sorted."""
    path = device_path(root, name)
    size = capacity(path)
    if mode == protocol.ERASE_FULL:
        return [(0, size)] if size else []
    with path.open("rb") as f:
        head = f.read(MIB)
    wanted = [(0, MIB), (size - MIB, size)]
    wanted += [(s, s + MIB) for s in partition_starts(root, name, head)]
    merged: list[tuple[int, int]] = []
    for start, end in sorted((max(0, s), min(size, e)) for s, e in wanted):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def zero(path: Path, ranges: list[tuple[int, int]], progress: Callable[[int], None]) -> int:
    """Write zeros over `ranges` and fsync; `progress` gets the bytes done so far."""
    zeros, done = bytes(CHUNK), 0
    fd = os.open(path, os.O_WRONLY)
    try:
        for start, end in ranges:
            at = start
            while at < end:
                n = os.pwrite(fd, zeros[: min(CHUNK, end - at)], at)
                at, done = at + n, done + n
                progress(done)
        os.fsync(fd)
    finally:
        os.close(fd)
    return done
