"""The server bounds glibc's malloc arenas at start (cmd/server.limit_malloc_arenas)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ironworks.cmd import server


def test_bounding_the_arenas_never_fails_and_leaves_malloc_working() -> None:
    # in a child: the setting is process-wide and must not leak into the test session
    code = (
        "from ironworks.cmd.server import limit_malloc_arenas\n"
        "limit_malloc_arenas()\n"
        "import threading\n"
        "out = []\n"
        "ts = [threading.Thread(target=lambda: out.append(bytearray(1 << 20))) for _ in range(8)]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]\n"
        "assert len(out) == 8\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_operators_malloc_arena_max_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    monkeypatch.setattr("ctypes.CDLL", lambda *a, **k: calls.append(a))
    server.limit_malloc_arenas()
    assert calls == []
