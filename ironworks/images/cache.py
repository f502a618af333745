"""The deploy image cache: what the conductor hands the agent to write.

`ImageCache(settings).fetch(source, checksum)` turns a host's image source into a raw file the
boot HTTP route serves (`/boot/images/<key>`):
- an Ironworks image uuid: its installed raw file (`images/<uuid>.raw`); the key is the uuid;
- an http(s) URL: downloaded once into `images/cache/<key>.raw`, the key being the sha256 of
  the URL and the (normalized) checksum, so the same URL with another checksum is another
  entry. The checksum (`sha256:`, `sha512:`, `md5:` or bare hex) is checked on the bytes as
  downloaded; qcow2 is converted to raw.

Many deploys of one image at once download it once: a lock per key, held in this process (a
thread lock) and across processes (an flock on `cache/<key>.lock`), and a second look after
taking it. Entries stay until removed (no eviction yet). Works on files and HTTP only: no API,
no database.
"""

from __future__ import annotations

import fcntl
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ironworks.common.errors import InvalidInput
from ironworks.common.settings import Settings
from ironworks.images.store import (
    Checksum,
    ChecksumMismatch,
    ImageStore,
    ImageUnavailable,
    Sink,
    check_url,
    download,
    file_digest,
    install,
    prepare,
    read_meta,
    url_allowed,
)

_UUID_CHARS = frozenset("0123456789abcdef-")


@dataclass(frozen=True)
class CachedImage:
    key: str  # the name the boot route serves it under: /boot/images/<key>
    path: Path
    size: int  # bytes of the raw file
    sha256: str  # of the raw file (what the agent must find after writing it)


_GUARD = threading.Lock()
_LOCKS: dict[str, threading.Lock] = {}


def _thread_lock(key: str) -> threading.Lock:
    with _GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _is_image_uuid(source: str) -> bool:
    return len(source) == 36 and set(source) <= _UUID_CHARS and source.count("-") == 4


class ImageCache:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings.images
        self.store = ImageStore(settings.home)

    @staticmethod
    def key_of(url: str, checksum: Checksum | None) -> str:
        return hashlib.sha256(f"{url}\n{checksum or ''}".encode()).hexdigest()

    def fetch(self, source: str, checksum: str | None = None, tenant: bool = False) -> CachedImage:
        """The raw file of `source` (an image uuid or an http(s) URL), fetched if needed. A
        `tenant`'s URL, and every redirect of it, must stay on images.tenant_url_hosts.

        Raises InvalidInput (bad source or checksum), ChecksumMismatch ("checksum mismatch:
        expected ..., got ..."), ImageFetchFailed (download), ImageInvalid (format),
        ImageUnavailable (an image uuid with no installed file)."""
        expected = Checksum.parse(checksum) if checksum else None
        source = source.strip() if isinstance(source, str) else source
        if isinstance(source, str) and _is_image_uuid(source.lower()):
            return self._image(source.lower(), expected)
        url = check_url(source, field="source")
        hosts = self.settings.tenant_url_hosts if tenant else None
        if hosts is not None and not url_allowed(url, hosts):
            raise InvalidInput(
                f"{url} is not on one of images.tenant_url_hosts; a project's "
                "users give images by id",
                field="source",
            )
        key = self.key_of(url, expected)
        path = self.store.cache_file(key)
        hit = self._hit(key, path)
        if hit is not None:
            return hit
        self.store.ensure()
        with _thread_lock(key), _file_lock(self.store.cache / f"{key}.lock"):
            hit = self._hit(key, path)  # another thread or process fetched it meanwhile
            if hit is not None:
                return hit
            sink = Sink(self.store.tmp, expected)
            try:
                download(url, sink, self.settings.import_timeout, hosts)
            except BaseException:
                sink.discard()
                raise
            prepared = prepare(sink.finish(), self.settings)
            install(prepared, path, source=url, checksum=str(expected) if expected else None)
        return CachedImage(key, path, prepared.size, prepared.sha256)

    def _hit(self, key: str, path: Path) -> CachedImage | None:
        meta = read_meta(path)
        if meta is None:
            return None
        return CachedImage(key, path, int(meta["size"]), str(meta["sha256"]))

    def _image(self, image_uuid: str, expected: Checksum | None) -> CachedImage:
        path = self.store.image_file(image_uuid)
        meta = read_meta(path)
        if meta is None:
            raise ImageUnavailable(
                f"image {image_uuid} has no disk to serve: it is not an OS "
                "image, its data was never uploaded, or it was deleted",
                field="image",
            )
        if expected is not None:
            known = {meta.get("sha256"), meta.get("uploaded_sha256")}
            if not (expected.algorithm == "sha256" and expected.hexdigest in known):
                got = file_digest(path, expected.algorithm)
                if got != expected.hexdigest:
                    raise ChecksumMismatch(
                        f"checksum mismatch for image {image_uuid}: expected "
                        f"{expected}, got {expected.algorithm}:{got}",
                        field="checksum",
                    )
        return CachedImage(image_uuid, path, int(meta["size"]), str(meta["sha256"]))
