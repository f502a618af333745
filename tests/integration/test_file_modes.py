"""#15 item 9: the state directory and what the server writes there are private under any
umask: the home 0700, the database and the key 0600/0640, never readable by other users."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port


def test_the_home_and_its_files_are_private_under_an_open_umask(tmp_path: Path) -> None:
    home = tmp_path / "home"  # made by the server
    port = free_port()
    env = {**os.environ, "IRONWORKS_HOME": str(home), "IRONWORKS_AUTH__NOAUTH": "true"}
    with (tmp_path / "server.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ironworks.cmd.main", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: os.umask(0),
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/v1", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            else:
                raise AssertionError((tmp_path / "server.log").read_text())
        finally:
            proc.terminate()
            proc.wait(10)
    assert home.stat().st_mode & 0o777 == 0o700
    written = [p for p in home.rglob("*") if p.is_file()]
    assert {"ironworks.db", "secret.key"} <= {p.name for p in written}
    loose = [(str(p), oct(p.stat().st_mode & 0o777)) for p in written if p.stat().st_mode & 0o007]
    assert loose == []
    assert (home / "secret.key").stat().st_mode & 0o077 == 0
