"""Sockets inside another network namespace.

The lab's provisioning network lives in its own namespace (docs/lab.md, "Network safety":
the root namespace never carries a lab address). A process can still serve it: a socket belongs
to the namespace its creating thread was in, so a short-lived thread enters the namespace
(setns(2)), creates and binds the socket, and ends; the socket stays there while the rest of the
process stays in its own namespace. Needs CAP_SYS_ADMIN (root).
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from ironworks.common.errors import ConfigError

_CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _inside(netns: str, make: Callable[[], socket.socket]) -> socket.socket:
    """`make()` run by a short-lived thread that entered the named namespace: its socket."""
    path = Path("/run/netns") / netns
    if not path.exists():
        raise ConfigError(
            f"boot.netns: network namespace {netns!r} does not exist "
            f"(no {path}); start the lab first (`ironworks lab up`)"
        )
    result: dict[str, object] = {}

    def inside() -> None:
        try:
            with open(path) as f:
                _setns(f.fileno())
            result["sock"] = make()
        except OSError as e:
            result["error"] = e

    t = threading.Thread(target=inside, name=f"netns-{netns}")  # this thread dies in there
    t.start()
    t.join()
    if "error" in result:
        e = result["error"]
        assert isinstance(e, OSError)
        raise e
    sock = result["sock"]
    assert isinstance(sock, socket.socket)
    return sock


def listen_in(netns: str, host: str, port: int, backlog: int = 128) -> socket.socket:
    """A listening TCP socket bound to host:port inside the named namespace."""
    try:
        return _inside(netns, lambda: _listener(host, port, backlog))
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}:{port} in namespace {netns}: {e}") from e


def connect_in(netns: str, host: str, port: int, timeout: float = 10.0) -> socket.socket:
    """A TCP socket connected to host:port from inside the named namespace (the lab switch's
    relay); OSError when nothing answers there."""
    return _inside(netns, lambda: socket.create_connection((host, port), timeout=timeout))


def listen_here(host: str, port: int, backlog: int = 128) -> socket.socket:
    """The boot listener's socket in this process's own namespace (a real provisioning LAN)."""
    try:
        return _listener(host, port, backlog)
    except OSError as e:
        raise ConfigError(f"boot.http_address: cannot listen on {host}:{port}: {e}") from e


def _listener(host: str, port: int, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # No FIN_WAIT2 after our close is acknowledged (accepted sockets inherit it): GRUB reuses
    # its source ports at every boot, and a connection of the last boot lingering there for 60 s
    # would turn the next one away (api/boot.py TitleCaseHeaders).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_LINGER2, -1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock
