"""`/api/v1/images` and `/boot/images/{key}` on SQLite and PostgreSQL: upload (raw, qcow2,
deploy parts), checksums, import from a local HTTP server, Range downloads, scoping."""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ironworks.domain.policy import Role
from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, add_user, bearer, log_in
from tests.conftest import wait_for

needs_qemu_img = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img")
MiB = 1024 * 1024


def disk_bytes(size: int = 2 * MiB) -> bytes:
    """A raw disk with recognizable, non-zero content."""
    return bytes((i * 7 + i // 4096) % 251 for i in range(size))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_qcow2(tmp: Path, raw: bytes) -> bytes:
    src = tmp / "src.raw"
    src.write_bytes(raw)
    out = tmp / "img.qcow2"
    subprocess.run(
        ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(src), str(out)], check=True
    )
    return out.read_bytes()


def boot_listener(services: Any) -> Any:
    """A client of the boot listener's application (what nodes reach; cmd/bootsvc.py)."""
    from starlette.testclient import TestClient

    from ironworks.api.boot import boot_app
    from ironworks.api.native.images import boot_router

    return TestClient(boot_app(services, (boot_router,)), base_url="http://boot")


@pytest.fixture
def files_served(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """A local HTTP server over a directory: (base URL, directory, paths requested)."""
    root = tmp_path / "www"
    root.mkdir()
    seen: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, directory=str(root), **kw)

        def do_GET(self) -> None:
            seen.append(self.path)
            super().do_GET()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root, seen
    server.shutdown()
    server.server_close()


def images_dir(svc: Any) -> Path:
    return Path(svc.settings.home) / "images"


def leftovers(svc: Any) -> list[str]:
    tmp = images_dir(svc) / "tmp"
    return sorted(os.listdir(tmp)) if tmp.exists() else []


def test_create_upload_raw_and_download_with_ranges(client: Any, services: Any) -> None:
    r = client.post(
        "/api/v1/images",
        json={"name": "debian", "min_disk_gb": 2, "properties": {"os_distro": "debian"}},
    )
    assert r.status_code == 201, r.text
    img = r.json()
    assert (img["status"], img["kind"], img["cpu_arch"], img["visibility"]) == (
        "queued",
        "os",
        "x86_64",
        "public",
    )
    data = disk_bytes()
    r = client.put(f"/api/v1/images/{img['uuid']}/file", content=data, params={"sha256": sha(data)})
    assert r.status_code == 200, r.text
    up = r.json()
    assert up["status"] == "active" and up["disk_format"] == "raw"
    assert up["size"] == len(data) and up["sha256"] == sha(data) == up["uploaded_sha256"]
    assert (images_dir(services) / f"{img['uuid']}.raw").read_bytes() == data
    assert leftovers(services) == []

    url = f"/api/v1/images/{img['uuid']}/file"
    full = client.get(url)
    assert full.status_code == 200 and full.content == data
    assert full.headers["accept-ranges"] == "bytes"
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = client.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    bad = client.get(url, headers={"Range": f"bytes={len(data) + 5}-"})
    assert bad.status_code == 416 and bad.headers["content-range"] == f"bytes */{len(data)}"

    # the agent's route (on the boot listener): no token, the same file, HEAD and Range too
    boot = f"/boot/images/{img['uuid']}"
    assert client.get(boot).status_code == 404  # not on the API tenants reach
    listener = boot_listener(services)
    assert listener.get(boot).content == data
    head = listener.head(boot)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(data)
    assert head.content == b""
    r = listener.get(boot, headers={"Range": "bytes=0-3"})
    assert r.status_code == 206 and r.content == data[:4]
    assert listener.get(f"/boot/images/{img['uuid']}.kernel").status_code == 404
    assert listener.get("/boot/images/..%2Fironworks.db").status_code == 404
    assert listener.get("/boot/images/ironworks.db").status_code == 404

    listed = client.get("/api/v1/images", params={"status": "active", "kind": "os"}).json()
    assert [i["name"] for i in listed["images"]] == ["debian"]
    assert client.get("/api/v1/images", params={"kind": "deploy"}).json()["images"] == []
    r = client.get("/api/v1/images", params={"colour": "red"})
    assert r.status_code == 400 and r.json()["field"] == "colour"

    r = client.patch("/api/v1/images/debian", json={"name": "debian12", "properties": {"a": "b"}})
    assert r.status_code == 200 and r.json()["name"] == "debian12"
    assert r.json()["properties"] == {"a": "b"}
    assert client.delete(f"/api/v1/images/{img['uuid']}").status_code == 204
    assert not (images_dir(services) / f"{img['uuid']}.raw").exists()
    assert client.get(boot).status_code == 404
    assert client.get(f"/api/v1/images/{img['uuid']}").status_code == 404


def test_checksum_mismatch_leaves_nothing_behind(client: Any, services: Any) -> None:
    img = client.post("/api/v1/images", json={"name": "x"}).json()
    data = disk_bytes(MiB + 3)
    wrong = sha(b"something else")
    r = client.put(
        f"/api/v1/images/{img['uuid']}/file", content=data, headers={"X-Image-Sha256": wrong}
    )
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["field"] == "sha256"
    assert f"expected sha256 {wrong}, got {sha(data)}" in problem["detail"]
    assert leftovers(services) == []
    assert not (images_dir(services) / f"{img['uuid']}.raw").exists()
    assert client.get(f"/api/v1/images/{img['uuid']}").json()["status"] == "queued"
    r = client.put(f"/api/v1/images/{img['uuid']}/file", content=data, params={"sha256": "abc"})
    assert r.status_code == 400 and r.json()["field"] == "sha256"
    r = client.get(f"/api/v1/images/{img['uuid']}/file")
    assert r.status_code == 409 and "no raw data yet" in r.json()["detail"]


@needs_qemu_img
def test_qcow2_upload_is_served_raw(client: Any, services: Any, tmp_path: Path) -> None:
    raw = disk_bytes(3 * MiB)
    qcow2 = make_qcow2(tmp_path, raw)
    assert qcow2[:4] == b"QFI\xfb"
    img = client.post("/api/v1/images", json={"name": "q", "disk_format": "qcow2"}).json()
    r = client.put(f"/api/v1/images/{img['uuid']}/file", content=qcow2)
    assert r.status_code == 200, r.text
    up = r.json()
    assert up["disk_format"] == "qcow2" and up["status"] == "active"
    assert up["size"] == len(raw) and up["sha256"] == sha(raw)
    assert up["uploaded_sha256"] == sha(qcow2)
    assert client.get(f"/api/v1/images/{img['uuid']}/file").content == raw
    assert leftovers(services) == []


@needs_qemu_img
def test_unknown_formats_and_backing_files_are_refused(
    client: Any, services: Any, tmp_path: Path
) -> None:
    vmdk = tmp_path / "d.vmdk"
    subprocess.run(["qemu-img", "create", "-q", "-f", "vmdk", str(vmdk), "1M"], check=True)
    img = client.post("/api/v1/images", json={"name": "v"}).json()
    r = client.put(f"/api/v1/images/{img['uuid']}/file", content=vmdk.read_bytes())
    assert r.status_code == 400, r.text
    assert "vmdk format" in r.json()["detail"] and r.json()["field"] == "disk_format"
    base = tmp_path / "base.qcow2"
    top = tmp_path / "top.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "1M"], check=True)
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(base), str(top)],
        check=True,
    )
    r = client.put(f"/api/v1/images/{img['uuid']}/file", content=top.read_bytes())
    assert r.status_code == 400 and "backing" in r.json()["detail"]
    declared = client.post("/api/v1/images", json={"name": "d", "disk_format": "qcow2"}).json()
    r = client.put(f"/api/v1/images/{declared['uuid']}/file", content=disk_bytes(4096))
    assert r.status_code == 400 and r.json()["field"] == "disk_format"
    assert leftovers(services) == []
    assert sorted(os.listdir(images_dir(services))) == ["cache", "tmp"]


@needs_qemu_img
def test_import_from_url(client: Any, services: Any, files_served: Any, tmp_path: Path) -> None:
    base, root, seen = files_served
    raw = disk_bytes(2 * MiB)
    (root / "disk.qcow2").write_bytes(make_qcow2(tmp_path, raw))
    uploaded = sha((root / "disk.qcow2").read_bytes())
    img = client.post("/api/v1/images", json={"name": "imp"}).json()
    r = client.post(
        f"/api/v1/images/{img['uuid']}/import",
        json={"url": f"{base}/disk.qcow2", "checksum": f"sha256:{uploaded}"},
    )
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "importing"
    done = wait_for(
        lambda: (
            (i := client.get(f"/api/v1/images/{img['uuid']}").json())["status"] != "importing" and i
        )
    )
    assert done["status"] == "active", done
    assert done["sha256"] == sha(raw) and done["uploaded_sha256"] == uploaded
    assert done["source_url"] == f"{base}/disk.qcow2" and seen == ["/disk.qcow2"]
    assert client.get(f"/api/v1/images/{img['uuid']}/file").content == raw

    # a wrong checksum, a missing file: status error with the reason; nothing kept
    for body, words in (
        ({"url": f"{base}/disk.qcow2", "checksum": "0" * 32}, "checksum mismatch"),
        ({"url": f"{base}/missing.raw"}, "404"),
    ):
        bad = client.post("/api/v1/images", json={"name": "bad"}).json()
        r = client.post(f"/api/v1/images/{bad['uuid']}/import", json=body)
        assert r.status_code == 202, r.text
        failed = wait_for(
            lambda b=bad: (
                (i := client.get(f"/api/v1/images/{b['uuid']}").json())["status"] != "importing"
                and i
            )
        )
        assert failed["status"] == "error" and words in failed["error"], failed
        client.delete(f"/api/v1/images/{bad['uuid']}")
    assert leftovers(services) == []
    r = client.post(f"/api/v1/images/{img['uuid']}/import", json={"url": "ftp://x/y"})
    assert r.status_code == 400 and r.json()["field"] == "url"
    r = client.post(
        f"/api/v1/images/{img['uuid']}/import",
        json={"url": f"{base}/disk.qcow2", "checksum": "sha1:abcd"},
    )
    assert r.status_code == 400 and r.json()["field"] == "checksum"


def test_deploy_image_parts(client: Any, services: Any) -> None:
    img = client.post(
        "/api/v1/images", json={"name": "ramdisk", "kind": "deploy", "cpu_arch": "aarch64"}
    ).json()
    url = f"/api/v1/images/{img['uuid']}/file"
    r = client.put(url, content=b"kernel")
    assert r.status_code == 400 and r.json()["field"] == "part"
    r = client.put(url, content=b"KERNEL", params={"part": "kernel"})
    assert r.status_code == 200 and r.json()["status"] == "queued"
    r = client.put(url, content=b"INITRAMFS!", params={"part": "initramfs"})
    deploy = r.json()
    assert deploy["status"] == "active" and deploy["size"] == 16 and deploy["disk_format"] is None
    assert deploy["parts"]["kernel"] == {"size": 6, "sha256": sha(b"KERNEL")}
    assert client.get(url, params={"part": "initramfs"}).content == b"INITRAMFS!"
    assert boot_listener(services).get(f"/boot/images/{img['uuid']}.kernel").content == b"KERNEL"
    r = client.post("/api/v1/images", json={"name": "d", "kind": "deploy", "disk_format": "raw"})
    assert r.status_code == 400 and r.json()["field"] == "disk_format"
    r = client.post("/api/v1/images", json={"name": "d", "cpu_arch": "mips"})
    assert r.status_code == 400 and r.json()["field"] == "cpu_arch"


def test_scoping_and_who_may_change_what(secure: Any) -> None:
    c, svc = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    add_user(svc, "alice", Role.MEMBER, "p1")
    add_user(svc, "bob", Role.MEMBER, "p2")
    alice = bearer(log_in(c, "alice", PASSWORD))
    bob = bearer(log_in(c, "bob", PASSWORD))
    assert c.post("/api/v1/images", json={"name": "pub"}, headers=admin).status_code == 201
    r = c.post("/api/v1/images", json={"name": "mine"}, headers=alice)  # her only project
    assert r.status_code == 201, r.text
    mine = r.json()
    assert (mine["visibility"], mine["project"]) == ("private", "p1")
    r = c.post("/api/v1/images", json={"name": "x", "visibility": "public"}, headers=alice)
    assert r.status_code == 403 and r.json()["field"] == "visibility"
    r = c.post("/api/v1/images", json={"name": "x", "project": "p2"}, headers=alice)
    assert r.status_code == 404

    names = lambda h: sorted(i["name"] for i in c.get("/api/v1/images", headers=h).json()["images"])  # noqa: E731
    assert names(alice) == ["mine", "pub"]
    assert names(bob) == ["pub"]
    assert names(admin) == ["mine", "pub"]
    assert c.get(f"/api/v1/images/{mine['uuid']}", headers=bob).status_code == 404
    assert c.get(f"/api/v1/images/{mine['uuid']}/file", headers=bob).status_code == 404
    r = c.put(f"/api/v1/images/{mine['uuid']}/file", content=b"x", headers=bob)
    assert r.status_code == 404
    assert c.delete("/api/v1/images/pub", headers=alice).status_code == 403
    r = c.patch(f"/api/v1/images/{mine['uuid']}", json={"visibility": "public"}, headers=alice)
    assert r.status_code == 403

    # shared with p2: bob sees it, cannot change it
    r = c.patch(f"/api/v1/images/{mine['uuid']}", json={"visibility": "shared"}, headers=alice)
    assert r.status_code == 200 and r.json()["projects"] == []
    assert names(bob) == ["pub"]
    r = c.put(f"/api/v1/images/{mine['uuid']}/access/p2", headers=admin)  # alice has no role there
    assert r.status_code == 200 and r.json()["projects"] == ["p2"]
    assert names(bob) == ["mine", "pub"]
    assert "projects" not in c.get(f"/api/v1/images/{mine['uuid']}", headers=bob).json()
    r = c.patch(f"/api/v1/images/{mine['uuid']}", json={"name": "theirs"}, headers=bob)
    assert r.status_code == 403
    assert c.delete(f"/api/v1/images/{mine['uuid']}/access/p2", headers=alice).status_code == 200
    assert names(bob) == ["pub"]
    assert c.delete(f"/api/v1/images/{mine['uuid']}", headers=alice).status_code == 204


def test_sharing_needs_a_role_in_the_target_and_names_prefer_ones_own(secure: Any) -> None:
    """#15 item 9: a project's user cannot push images into projects they have no role in, and
    an image name resolves to the caller's own project's image before public and shared ones."""
    c, svc = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    add_user(svc, "alice", Role.MEMBER, "p1")
    add_user(svc, "bob", Role.MEMBER, "p2")
    alice = bearer(log_in(c, "alice", PASSWORD))
    bob = bearer(log_in(c, "bob", PASSWORD))
    body = {"name": "mine", "visibility": "shared"}
    mine = c.post("/api/v1/images", json=body, headers=alice).json()
    r = c.put(f"/api/v1/images/{mine['uuid']}/access/p2", headers=alice)
    assert r.status_code == 404 and r.json()["detail"] == "project p2 could not be found"
    assert c.get(f"/api/v1/images/{mine['uuid']}", headers=bob).status_code == 404
    assert (
        c.post(
            "/api/v1/projects", json={"name": "p3", "department": "d1"}, headers=admin
        ).status_code
        == 201
    )
    assert c.put("/api/v1/projects/p3/members/alice", json={}, headers=admin).status_code == 200
    alice = bearer(log_in(c, "alice", PASSWORD))  # her new role comes with a new token
    r = c.put(f"/api/v1/images/{mine['uuid']}/access/p3", headers=alice)
    assert r.status_code == 200 and r.json()["projects"] == ["p3"]

    # three images named debian that alice sees: public, hers (p1), bob's shared into p1
    assert c.post("/api/v1/images", json={"name": "debian"}, headers=admin).status_code == 201
    own = c.post("/api/v1/images", json={"name": "debian", "project": "p1"}, headers=alice).json()
    theirs = c.post(
        "/api/v1/images", json={"name": "debian", "visibility": "shared"}, headers=bob
    ).json()
    r = c.put(f"/api/v1/images/{theirs['uuid']}/access/p1", headers=admin)
    assert r.status_code == 200
    r = c.get("/api/v1/images/debian", headers=alice)
    assert r.status_code == 200 and r.json()["uuid"] == own["uuid"], r.text
    # bob: his own before the public one
    assert c.get("/api/v1/images/debian", headers=bob).json()["uuid"] == theirs["uuid"]
    # the cloud admin has no project of its own: the name is ambiguous
    r = c.get("/api/v1/images/debian", headers=admin)
    assert r.status_code == 400 and r.json()["field"] == "image"
