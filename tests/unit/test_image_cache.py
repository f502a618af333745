"""The deploy image cache (ironworks/images/cache.py) against a real local HTTP server: one
download however many ask at once, checksum formats, mismatches, qcow2, image uuids."""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from ironworks.common.errors import InvalidInput
from ironworks.common.settings import Settings, load_settings
from ironworks.images.cache import CachedImage, ImageCache
from ironworks.images.store import (
    Checksum,
    ChecksumMismatch,
    ImageFetchFailed,
    ImageStore,
    ImageUnavailable,
    Prepared,
    install,
)

DATA = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "home", images={"import_timeout": 5})


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """Serves tmp_path/www slowly (0.3 s before each answer), counting GETs."""
    root = tmp_path / "www"
    root.mkdir()
    seen: list[str] = []

    class Slow(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, directory=str(root), **kw)

        def do_GET(self) -> None:
            seen.append(self.path)
            time.sleep(0.3)
            super().do_GET()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root, seen
    httpd.shutdown()
    httpd.server_close()


def tmp_files(settings: Settings) -> list[str]:
    tmp = ImageStore(settings.home).tmp
    return sorted(os.listdir(tmp)) if tmp.exists() else []


def test_concurrent_fetches_download_once(settings: Settings, server: Any) -> None:
    base, root, seen = server
    (root / "disk.raw").write_bytes(DATA)
    url = f"{base}/disk.raw"
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: ImageCache(settings).fetch(url), range(8)))
    assert seen == ["/disk.raw"]
    assert len(set(got)) == 1
    hit: CachedImage = got[0]
    assert hit.key == hashlib.sha256(f"{url}\n".encode()).hexdigest()
    assert hit.path == Path(settings.home) / "images" / "cache" / f"{hit.key}.raw"
    assert hit.path.read_bytes() == DATA
    assert (hit.size, hit.sha256) == (len(DATA), hashlib.sha256(DATA).hexdigest())
    assert ImageCache(settings).fetch(url) == hit and len(seen) == 1  # later: from the cache
    assert ImageStore(settings.home).served(hit.key) == hit.path
    assert tmp_files(settings) == []


@pytest.mark.parametrize(
    "form",
    [
        lambda d: hashlib.sha256(d).hexdigest(),
        lambda d: hashlib.sha256(d).hexdigest().upper(),
        lambda d: "sha256:" + hashlib.sha256(d).hexdigest(),
        lambda d: hashlib.sha512(d).hexdigest(),
        lambda d: "SHA512:" + hashlib.sha512(d).hexdigest(),
        lambda d: hashlib.md5(d).hexdigest(),
        lambda d: "md5:" + hashlib.md5(d).hexdigest(),
    ],
    ids=["sha256", "SHA256", "sha256:", "sha512", "SHA512:", "md5", "md5:"],
)
def test_checksum_formats(settings: Settings, server: Any, form: Any) -> None:
    base, root, _ = server
    (root / "disk.raw").write_bytes(DATA)
    hit = ImageCache(settings).fetch(f"{base}/disk.raw", form(DATA))
    assert hit.sha256 == hashlib.sha256(DATA).hexdigest()


def test_the_checksum_is_part_of_the_key(settings: Settings) -> None:
    digest = hashlib.sha256(DATA).hexdigest()
    plain = ImageCache.key_of("http://x/y", Checksum.parse(digest))
    assert plain == ImageCache.key_of("http://x/y", Checksum.parse("sha256:" + digest.upper()))
    assert plain != ImageCache.key_of("http://x/y", None)


def test_a_mismatch_names_expected_and_got_and_keeps_nothing(
    settings: Settings, server: Any
) -> None:
    base, root, seen = server
    (root / "disk.raw").write_bytes(DATA)
    wrong = "md5:" + "0" * 32
    with pytest.raises(ChecksumMismatch) as e:
        ImageCache(settings).fetch(f"{base}/disk.raw", wrong)
    assert f"expected md5 {'0' * 32}, got {hashlib.md5(DATA).hexdigest()}" in e.value.message
    assert tmp_files(settings) == []
    assert [p for p in os.listdir(ImageStore(settings.home).cache) if p.endswith(".raw")] == []
    # a later good fetch is not blocked by the failed one
    assert ImageCache(settings).fetch(f"{base}/disk.raw").size == len(DATA)
    assert len(seen) == 2


@pytest.mark.parametrize(
    "checksum",
    ["xyz", "sha1:" + "0" * 40, "sha256:" + "0" * 10, "0" * 50, ""],
)
def test_bad_checksums_are_refused(settings: Settings, checksum: str) -> None:
    with pytest.raises(InvalidInput) as e:
        Checksum.parse(checksum)
    assert e.value.field == "checksum"


def test_bad_sources(settings: Settings, server: Any) -> None:
    base, _, _ = server
    with pytest.raises(InvalidInput):
        ImageCache(settings).fetch("ftp://example.com/x.raw")
    with pytest.raises(ImageFetchFailed) as e:
        ImageCache(settings).fetch(f"{base}/missing.raw")
    assert "404" in e.value.message
    with pytest.raises(ImageFetchFailed):
        ImageCache(settings).fetch("http://127.0.0.1:9/nothing-listens-here")
    assert tmp_files(settings) == []


@pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img")
def test_qcow2_is_converted(settings: Settings, server: Any, tmp_path: Path) -> None:
    base, root, _ = server
    src = tmp_path / "src.raw"
    src.write_bytes(DATA)
    subprocess.run(
        ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(src), str(root / "disk.qcow2")],
        check=True,
    )
    uploaded = hashlib.sha256((root / "disk.qcow2").read_bytes()).hexdigest()
    hit = ImageCache(settings).fetch(f"{base}/disk.qcow2", uploaded)
    assert hit.path.read_bytes() == DATA and hit.sha256 == hashlib.sha256(DATA).hexdigest()
    assert tmp_files(settings) == []


def test_an_image_uuid_gives_its_installed_file(settings: Settings, tmp_path: Path) -> None:
    store = ImageStore(settings.home)
    store.ensure()
    image = "0b5e2b7e-4d44-4c1b-9d55-8a3b4f0f6a11"
    cache = ImageCache(settings)
    with pytest.raises(ImageUnavailable):
        cache.fetch(image)
    staged = store.tmp / "staged"
    staged.write_bytes(DATA)
    digest = hashlib.sha256(DATA).hexdigest()
    install(Prepared(staged, len(DATA), digest, digest, "raw"), store.image_file(image))
    hit = cache.fetch(image)
    assert hit == CachedImage(image, store.image_file(image), len(DATA), digest)
    assert cache.fetch(image, digest) == hit
    assert cache.fetch(image, "md5:" + hashlib.md5(DATA).hexdigest()) == hit
    with pytest.raises(ChecksumMismatch):
        cache.fetch(image, "0" * 64)


@pytest.fixture
def redirector() -> Iterator[str]:
    """Two servers on loopback: at 127.0.0.1 /same redirects to its own /data and /away to
    127.0.0.2's /data; /data is DATA on both. Yields "127.0.0.1:PORT"."""
    other: list[int] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            port = self.server.server_address[1]
            where = {
                "/same": f"http://127.0.0.1:{port}/data",
                "/away": f"http://127.0.0.2:{other[0]}/data",
            }.get(self.path)
            if where:
                self.send_response(302)
                self.send_header("Location", where)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(DATA)))
            self.end_headers()
            self.wfile.write(DATA)

        def log_message(self, *args: Any) -> None:
            pass

    servers = [http.server.ThreadingHTTPServer((a, 0), Handler) for a in ("127.0.0.1", "127.0.0.2")]
    other.append(servers[1].server_address[1])
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{servers[0].server_address[1]}"
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def test_a_tenants_url_and_its_redirects_stay_on_the_allowed_hosts(
    tmp_path: Path, redirector: str
) -> None:
    settings = load_settings(
        home=tmp_path / "home", images={"import_timeout": 5, "tenant_url_hosts": [redirector]}
    )
    cache = ImageCache(settings)
    got = cache.fetch(f"http://{redirector}/same", tenant=True)  # a redirect on the same host
    assert got.size == len(DATA)
    with pytest.raises(ImageFetchFailed, match=r"127\.0\.0\.2.*images\.tenant_url_hosts"):
        cache.fetch(f"http://{redirector}/away", tenant=True)
    with pytest.raises(InvalidInput, match="tenant_url_hosts"):
        cache.fetch(f"http://127.0.0.3:{redirector.split(':')[1]}/data", tenant=True)
    assert cache.fetch(f"http://{redirector}/away").size == len(DATA)  # an admin's: anywhere
