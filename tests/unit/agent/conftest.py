"""A fake machine (a /proc, /sys and /dev tree in a temporary directory) and an HTTP file server.

Disks are sparse regular files under `root/dev`; their sysfs entries say what the kernel would.
The file server is a real `http.server` on 127.0.0.1 with an ephemeral port.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

MIB = 1024 * 1024


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def add_disk(root: Path, name: str, size: int, **attrs: str) -> Path:
    """A disk of `size` bytes; attrs are sysfs files under /sys/block/NAME (e.g. device/serial)."""
    block = root / "sys/block" / name
    write(block / "size", str(size // 512))
    write(block / "removable", attrs.pop("removable", "0"))
    write(block / "queue/rotational", attrs.pop("rotational", "0"))
    for rel, value in attrs.items():
        write(block / rel.replace("__", "/"), value)
    dev = root / "dev" / name
    dev.parent.mkdir(parents=True, exist_ok=True)
    with dev.open("wb") as f:
        f.truncate(size)
    return dev


def add_nic(root: Path, name: str, mac: str, **attrs: str) -> None:
    base = root / "sys/class/net" / name
    write(base / "address", mac)
    write(base / "type", attrs.pop("type", "1"))
    for rel, value in attrs.items():
        write(base / rel, value)


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    """A small x86 VM: 2 CPUs, 512 MiB, one NIC with link, no disks yet."""
    root = tmp_path / "machine"
    write(
        root / "proc/cpuinfo",
        "processor\t: 0\nmodel name\t: QEMU Virtual CPU version 2.5+\n\n"
        "processor\t: 1\nmodel name\t: QEMU Virtual CPU version 2.5+\n",
    )
    write(root / "proc/meminfo", "MemTotal:         482000 kB\nMemFree:          300000 kB")
    write(root / "proc/cmdline", "console=ttyS0 ironworks.node=n1 BOOTIF=01-52-54-00-12-34-56")
    add_nic(root, "lo", "00:00:00:00:00:00", type="772")
    add_nic(root, "eth0", "52:54:00:12:34:56", speed="1000", carrier="1")
    write(root / "sys/class/dmi/id/sys_vendor", "QEMU")
    write(root / "sys/class/dmi/id/product_name", "Standard PC (i440FX + PIIX, 1996)")
    return root


class Files:
    """What the file server serves: path → bytes; `no_length` paths are sent without a length."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.no_length: set[str] = set()
        self.url = ""


@pytest.fixture
def files() -> Iterator[Files]:
    served = Files()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            blob = served.blobs.get(self.path)
            if blob is None:
                self.send_error(404)
                return
            self.send_response(200)
            if self.path in served.no_length:
                self.send_header("Connection", "close")
                self.close_connection = True
            else:
                self.send_header("Content-Length", str(len(blob)))
            self.end_headers()
            self.wfile.write(blob)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
