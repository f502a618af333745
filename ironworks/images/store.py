"""Image files under `$IRONWORKS_HOME/images`: receiving, checking, converting, installing.

Layout:
    images/tmp/                  bytes being received or converted (same filesystem, so that
                                 installing a file is a rename)
    images/<uuid>.raw            an OS image's raw disk, as served
    images/<uuid>.kernel         a deploy image's kernel ...
    images/<uuid>.initramfs      ... and initramfs
    images/cache/<key>.raw       the deploy cache: an image fetched from a URL (cache.py)
    <file>.json                  next to each served file: its size and sha256 (and what was
                                 uploaded), so that readers need no database

Nothing is half-written: data arrives in a temporary file, hashed while it is written; a
checksum mismatch or a refused format deletes it; a good file is renamed into place after its
`.json`, so a served file always has its description. qcow2 is converted to raw once, with
`qemu-img convert`, after `qemu-img info` (run under resource limits: the file is untrusted) has
said what it is; qcow2 files with a backing or external data file are refused (they would read
other files of this host).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import uuid as uuidlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from ironworks.common.errors import InvalidInput, IronworksError, NotFound
from ironworks.common.settings import ImageSettings

CHUNK = 1 << 20
ALGORITHMS = {"md5": 32, "sha256": 64, "sha512": 128}  # hex digits of each
DISK_FORMATS = ("raw", "qcow2")
PARTS = ("kernel", "initramfs")  # the files of a deploy image
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_KEY = re.compile(r"^[0-9a-f]{64}$")
# qemu-img info on an untrusted file: at most 1 GiB of memory and 30 s of CPU (a crafted qcow2
# can make it allocate or loop).
_PROBE_LIMITS = ("--as=1073741824", "--cpu=30")


class ImageInvalid(InvalidInput):
    """The data is not an image we can serve (unknown format, backing file, too large)."""

    code = "invalid-image"


class ChecksumMismatch(InvalidInput):
    code = "checksum-mismatch"


class ImageFetchFailed(IronworksError):
    """A download from a URL failed: the remote server, the network, or the URL."""

    status = 502
    code = "image-fetch-failed"


class ImageUnavailable(NotFound):
    """An image has no file to serve (not uploaded yet, or deleted)."""

    code = "image-unavailable"


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    hexdigest: str

    @classmethod
    def parse(cls, text: str, field: str = "checksum") -> Checksum:
        """`algo:hex` (md5, sha256, sha512) or bare hex whose length says the algorithm."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput(
                f"{field} must be a hex digest, optionally prefixed with "
                "'sha256:', 'sha512:' or 'md5:'",
                field=field,
            )
        algo, sep, digest = text.strip().partition(":")
        if not sep:
            algo, digest = "", algo
        algo = algo.lower()
        digest = digest.lower()
        if not _HEX.match(digest):
            raise InvalidInput(f"{field} {text!r} is not a hex digest", field=field)
        if not algo:
            by_length = {n: a for a, n in ALGORITHMS.items()}
            if len(digest) not in by_length:
                raise InvalidInput(
                    f"{field} {text!r} has {len(digest)} hex digits; an md5 has "
                    "32, a sha256 64, a sha512 128",
                    field=field,
                )
            algo = by_length[len(digest)]
        if algo not in ALGORITHMS:
            raise InvalidInput(
                f"{field} algorithm {algo!r} is not supported; use sha256, sha512 or md5",
                field=field,
            )
        if len(digest) != ALGORITHMS[algo]:
            raise InvalidInput(
                f"{field}: a {algo} digest has {ALGORITHMS[algo]} hex digits, not {len(digest)}",
                field=field,
            )
        return cls(algo, digest)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hexdigest}"


@dataclass(frozen=True)
class Received:
    """Bytes received into a temporary file, and their hashes."""

    path: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class Prepared:
    """A file ready to be installed: converted to raw if it was qcow2."""

    path: Path
    size: int
    sha256: str  # of the file to serve
    uploaded_sha256: str  # of the bytes received
    disk_format: str | None  # as received: raw or qcow2 (None: a deploy image's part)

    def meta(self, **extra: Any) -> dict[str, Any]:
        return {
            "size": self.size,
            "sha256": self.sha256,
            "uploaded_sha256": self.uploaded_sha256,
            "disk_format": self.disk_format,
            **extra,
        }


class Sink:
    """A temporary file receiving data, hashing it on the way; `finish` checks the expected
    checksum. Any failure (or `discard`) deletes the file."""

    def __init__(
        self, tmp_dir: Path, expected: Checksum | None = None, field: str = "checksum"
    ) -> None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        self.path = tmp_dir / f"{uuidlib.uuid4().hex}.part"
        self.expected = expected
        self.field = field  # the request's field that gave the expected checksum
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._other = (
            hashlib.new(expected.algorithm)
            if expected is not None and expected.algorithm != "sha256"
            else None
        )
        self._file: BinaryIO | None = open(self.path, "xb")  # noqa: SIM115 (closed in finish)

    def write(self, data: bytes) -> None:
        assert self._file is not None, "the sink is closed"
        self._file.write(data)
        self._sha256.update(data)
        if self._other is not None:
            self._other.update(data)
        self.size += len(data)

    def finish(self) -> Received:
        assert self._file is not None, "the sink is closed"
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
            sha256 = self._sha256.hexdigest()
            if self.expected is not None:
                got = self._other.hexdigest() if self._other is not None else sha256
                if got != self.expected.hexdigest:
                    raise ChecksumMismatch(
                        f"checksum mismatch: expected {self.expected.algorithm} "
                        f"{self.expected.hexdigest}, got {got} ({self.size} bytes received)",
                        field=self.field,
                    )
        except BaseException:
            self.discard()
            raise
        return Received(self.path, self.size, sha256)

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None:
            self.discard()


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


# instance_info key: the image_source URL came from a project's user, so its download (redirects
# too) stays on images.tenant_url_hosts (services/hosts.py sets it, boot/artifacts.py reads it)
TENANT_SOURCE = "image_source_tenant"


def url_allowed(url: str | httpx.URL, hosts: Collection[str]) -> bool:
    """Whether `url` is on one of `hosts`: `name` (its scheme's default port only) or
    `name:port`; IPv6 literals in brackets. Host names compare as written, in lower case."""
    u = httpx.URL(url) if isinstance(url, str) else url
    for entry in hosts:
        try:
            allowed = httpx.URL(f"{u.scheme}://{entry.strip()}/")
        except httpx.InvalidURL:
            continue
        if allowed.host and allowed.host == u.host and allowed.port == u.port:
            return True
    return False


def download(url: str, sink: Sink, timeout: float, hosts: Collection[str] | None = None) -> None:
    """GET `url` (following redirects) into `sink`, streamed; ImageFetchFailed if it fails.
    `timeout` bounds connecting and each wait for more data, not the whole transfer. With
    `hosts` (a tenant's URL), every request, redirects included, must stay on them."""

    def on_allowed_host(request: httpx.Request) -> None:
        if hosts is not None and not url_allowed(request.url, hosts):
            raise ImageFetchFailed(
                f"cannot fetch {url}: it leads to {request.url.host}:"
                f"{request.url.port or request.url.scheme}, which is not one "
                "of images.tenant_url_hosts"
            )

    try:
        with (
            httpx.Client(
                follow_redirects=True,
                timeout=httpx.Timeout(timeout),
                headers={"User-Agent": "ironworks-images"},
                event_hooks={"request": [on_allowed_host]},
            ) as client,
            client.stream("GET", url) as r,
        ):
            if r.status_code != 200:
                raise ImageFetchFailed(
                    f"cannot fetch {url}: the server answered "
                    f"{r.status_code} {r.reason_phrase}".rstrip()
                )
            for chunk in r.iter_bytes(CHUNK):
                sink.write(chunk)
    except httpx.TimeoutException:
        raise ImageFetchFailed(f"cannot fetch {url}: no data for {timeout:g} s") from None
    except httpx.HTTPError as e:
        raise ImageFetchFailed(f"cannot fetch {url}: {e or type(e).__name__}") from None


def check_url(url: Any, field: str = "url") -> str:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidInput(f"{field} must be an http:// or https:// URL", field=field)
    try:
        httpx.URL(url)
    except httpx.InvalidURL as e:
        raise InvalidInput(f"{field} is not a valid URL: {e}", field=field) from None
    return url


def _run(cmd: list[str], timeout: float, what: str) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise ImageInvalid(
            f"cannot {what}: {cmd[0]} is not installed (Debian: apt-get install qemu-utils)",
            field="file",
        ) from None
    except subprocess.TimeoutExpired:
        raise ImageInvalid(
            f"cannot {what}: qemu-img took longer than {timeout:g} s", field="file"
        ) from None
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()
        raise ImageInvalid(
            f"cannot {what}: {why[-1] if why else f'exit {done.returncode}'}", field="file"
        )
    return done.stdout


def probe(path: Path, settings: ImageSettings) -> dict[str, Any]:
    """`qemu-img info --output=json` of an untrusted file, under resource limits."""
    cmd = [settings.qemu_img, "info", "--output=json", str(path)]
    if shutil.which("prlimit"):
        cmd = ["prlimit", *_PROBE_LIMITS, "--", *cmd]
    info: dict[str, Any] = json.loads(_run(cmd, 60.0, "read the image"))
    return info


def prepare(received: Received, settings: ImageSettings, *, convert: bool = True) -> Prepared:
    """The received file made ready to serve: raw as is, qcow2 converted to raw (the received
    file is then deleted); any other format refused. `convert=False`: taken as it is (a deploy
    image's kernel or initramfs). On failure every temporary file is gone."""
    if not convert:
        return Prepared(received.path, received.size, received.sha256, received.sha256, None)
    out = received.path.with_suffix(".raw")
    try:
        info = probe(received.path, settings)
        fmt = info.get("format")
        if fmt == "raw":
            return Prepared(received.path, received.size, received.sha256, received.sha256, "raw")
        if fmt != "qcow2":
            raise ImageInvalid(
                f"the image is in {fmt or 'an unknown'} format; upload or import "
                f"one of: {', '.join(DISK_FORMATS)}",
                field="disk_format",
            )
        data_file = ((info.get("format-specific") or {}).get("data") or {}).get("data-file")
        if info.get("backing-filename") or info.get("full-backing-filename") or data_file:
            raise ImageInvalid(
                "the qcow2 image refers to another file (a backing or external "
                "data file); flatten it first: qemu-img convert -O qcow2 IN OUT",
                field="file",
            )
        virtual = int(info.get("virtual-size") or 0)
        if virtual > settings.max_virtual_size_gb * 1024**3:
            raise ImageInvalid(
                f"the qcow2 image describes a {virtual / 1024**3:.0f} GiB disk; at "
                f"most {settings.max_virtual_size_gb} GiB are accepted "
                "(images.max_virtual_size_gb)",
                field="file",
            )
        _run(
            [
                settings.qemu_img,
                "convert",
                "-q",
                "-f",
                "qcow2",
                "-O",
                "raw",
                str(received.path),
                str(out),
            ],
            settings.convert_timeout,
            "convert the image to raw",
        )
        prepared = Prepared(out, out.stat().st_size, file_digest(out), received.sha256, "qcow2")
    except BaseException:
        out.unlink(missing_ok=True)
        received.path.unlink(missing_ok=True)
        raise
    received.path.unlink(missing_ok=True)
    return prepared


def write_meta(path: Path, meta: dict[str, Any]) -> None:
    """The `.json` next to a served file, written whole (temporary file, then rename)."""
    tmp = path.with_name(f".{path.name}.{uuidlib.uuid4().hex}.json")
    tmp.write_text(json.dumps(meta, sort_keys=True))
    os.replace(tmp, meta_path(path))


def meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def read_meta(path: Path) -> dict[str, Any] | None:
    """The description of a served file, or None when the file or its `.json` is missing."""
    try:
        meta: dict[str, Any] = json.loads(meta_path(path).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return meta if path.is_file() else None


def install(prepared: Prepared, dest: Path, **extra: Any) -> None:
    """Put a prepared file in place: its description first, then the file (a rename)."""
    write_meta(dest, prepared.meta(**extra))
    os.replace(prepared.path, dest)


class ImageStore:
    """Where the files of images and of the deploy cache live (see the module docstring)."""

    def __init__(self, home: Path) -> None:
        self.root = Path(home) / "images"
        self.tmp = self.root / "tmp"
        self.cache = self.root / "cache"

    def ensure(self) -> None:
        for d in (self.root, self.tmp, self.cache):
            d.mkdir(parents=True, exist_ok=True)

    def image_file(self, image_uuid: str, part: str = "raw") -> Path:
        assert _UUID.match(image_uuid) and part in ("raw", *PARTS), (image_uuid, part)
        return self.root / f"{image_uuid}.{part}"

    def cache_file(self, key: str) -> Path:
        assert _KEY.match(key), key
        return self.cache / f"{key}.raw"

    def remove_image(self, image_uuid: str) -> None:
        for part in ("raw", *PARTS):
            path = self.image_file(image_uuid, part)
            path.unlink(missing_ok=True)
            meta_path(path).unlink(missing_ok=True)

    def served(self, name: str) -> Path | None:
        """The file the boot route serves under `name`: `<cache key>`, `<image uuid>` (its raw
        disk) or `<image uuid>.raw|kernel|initramfs`; None when there is none. Names are matched
        against fixed patterns, so no other file can be reached."""
        stem, _, part = name.partition(".")
        if _KEY.match(stem) and part in ("", "raw"):
            path = self.cache_file(stem)
        elif _UUID.match(stem) and part in ("", "raw", *PARTS):
            path = self.image_file(stem, part or "raw")
        else:
            return None
        return path if read_meta(path) is not None else None
