"""The serial console with the API and the conductor as separate processes (`ironworks api`,
`ironworks conductor`, PostgreSQL) and an emulated BMC that speaks SOL to a socket of the test.

The API process claims the one-time URL and relays the WebSocket to the conductor that owns the
node; ipmitool runs under the conductor's process, not the API's; the conductor's internal
WebSocket refuses a wrong key; when the conductor dies, its viewer's session ends with a reason.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import TEST_SECRET_KEY, free_port, wait_for
from tests.integration.test_console import _cmdline, control, received_until
from tests.integration.test_ipmi import free_udp_ports
from tests.integration.test_sol import IPMITOOL, Serial
from tests.integration.test_split import _spawn, _up, pg_database  # noqa: F401 (a fixture)

pytest.importorskip("pyghmi", reason="the lab BMCs need pyghmi")
pytestmark = pytest.mark.skipif(IPMITOOL is None, reason="the SOL bridge runs ipmitool")
ws_client = pytest.importorskip("websockets.sync.client")
H = {"X-OpenStack-Ironic-API-Version": "latest"}
BMC_USER, BMC_PASSWORD = "admin", "s3cret"


def _ancestors(pid: int) -> list[int]:
    """`pid`'s parent, its parent, ... up to init."""
    chain = []
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        chain.append(pid)
    return chain


def _ipmitools(bmc_port: int) -> list[int]:
    return [
        int(pid)
        for pid in os.listdir("/proc")
        if pid.isdigit()
        and str(bmc_port).encode() in _cmdline(pid)
        and b"activate" in _cmdline(pid)
        and b"ipmitool" in _cmdline(pid)
    ]


@pytest.mark.slow
def test_the_api_relays_the_console_to_the_conductor_that_runs_ipmitool(
    pg_database: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    from websockets.exceptions import InvalidStatus

    from ironworks.common.crypto import SecretBox
    from ironworks.lab.fleet import Fleet
    from ironworks.lab.spec import BmcSpec

    serial = Serial(tmp_path / "serial.sock")
    (bmc_port,) = free_udp_ports(1)
    spec = BmcSpec(
        name="split1",
        address="127.0.0.1",
        port=bmc_port,
        username=BMC_USER,
        password=BMC_PASSWORD,
        serial=str(serial.path),
    )
    env = {
        **os.environ,
        "IRONWORKS_DATABASE_URL": pg_database,
        "IRONWORKS_HOME": str(tmp_path),
        "IRONWORKS_AUTH__NOAUTH": "true",
        "IRONWORKS_SECRET_KEY": TEST_SECRET_KEY,
        "IRONWORKS_CONDUCTOR__PERIODIC_INTERVAL": "3600",
    }
    subprocess.run(
        [sys.executable, "-m", "ironworks.cmd.main", "db", "upgrade"],
        env=env,
        check=True,
        timeout=60,
    )
    port, port2, internal = free_port(), free_port(), free_port()
    log = tmp_path / "split.log"
    api = _spawn(["api", "--port", str(port)], env, log)

    def start_conductor(internal: int) -> subprocess.Popen[bytes]:
        conductor_env = {
            **env,
            "IRONWORKS_CONDUCTOR__HOSTNAME": "c1",
            "IRONWORKS_CONSOLE__INTERNAL_PORT": str(internal),
        }
        return _spawn(["conductor"], conductor_env, log)

    conductor = start_conductor(internal)
    procs = [api, conductor]
    url = f"http://127.0.0.1:{port}"
    try:
        with Fleet([spec], shard_size=1), httpx.Client(base_url=url, headers=H, timeout=30) as c:
            wait_for(lambda: _up(url), timeout=30, interval=0.2)
            # another API process, started once the first made the first admin (two starting
            # at once on a new database race to create it)
            procs.append(_spawn(["api", "--port", str(port2)], env, log))
            wait_for(lambda: _up(f"http://127.0.0.1:{port2}"), timeout=30, interval=0.2)
            wait_for(lambda: len(c.get("/v1/conductors").json()["conductors"]) == 1, timeout=30)
            driver_info = {
                "ipmi_address": "127.0.0.1",
                "ipmi_port": bmc_port,
                "ipmi_username": BMC_USER,
                "ipmi_password": BMC_PASSWORD,
            }
            r = c.post(
                "/v1/nodes", json={"name": "n1", "driver": "ipmi", "driver_info": driver_info}
            )
            assert r.status_code == 201, r.text
            path = "/v1/nodes/n1/states/console"
            assert c.put(path, json={"enabled": True}).status_code == 202
            wait_for(lambda: c.get(path).json()["console_enabled"], timeout=30)

            # 1. the console works through the API's WebSocket, bridged on the conductor
            ticket = c.get(path).json()["console_info"]["url"]
            assert ticket.startswith(f"ws://127.0.0.1:{port}/api/v1/consoles/")
            with ws_client.connect(ticket, open_timeout=30) as ws:
                hello = control(ws)
                assert hello["type"] == "info" and hello["mode"] == "read-write", hello
                machine = serial.connect()
                machine.sendall(b"\r\nn1 login: ")
                assert b"n1 login: " in received_until(ws, b"login: ")
                ws.send(b"root\r")
                assert serial.read_until(b"\r").endswith(b"root\r")
                (pid,) = _ipmitools(bmc_port)  # one SOL session, run by the conductor
                assert conductor.pid in _ancestors(pid), (pid, conductor.pid, api.pid)
                assert api.pid not in _ancestors(pid)
                # one writer per node across API processes: a viewer through the other API
                # watches read-only, on the same SOL session
                other = c.get(path).json()["console_info"]["url"]
                other = other.replace(f":{port}/", f":{port2}/")
                with ws_client.connect(other, open_timeout=30) as watcher:
                    said = control(watcher)
                    assert said["mode"] == "read-only", said
                    watcher.send(b"reboot\r")  # dropped: not the writer
                    machine.sendall(b"root\r\n# ")
                    assert b"# " in received_until(watcher, b"# ")
                    assert b"# " in received_until(ws, b"# ")
                    assert _ipmitools(bmc_port) == [pid]
                ws.send(b"hostname\r")
                typed = serial.read_until(b"hostname\r")
                assert typed.endswith(b"hostname\r") and b"reboot" not in typed, typed
            serial.disconnect()
            rows = wait_for(
                lambda: (
                    (
                        got := [
                            r
                            for r in _rows(pg_database)
                            if r["closed_at"] is not None and r["opened_at"] is not None
                        ]
                    )
                    and len(got) == 2
                    and got
                ),
                timeout=30,
            )
            first, watched = sorted(rows, key=lambda r: r["mode"], reverse=True)
            assert first["conductor"] == "c1" and first["mode"] == "read-write", first
            assert first["close_reason"] == "the viewer left", first
            assert first["output_bytes"] == len(b"\r\nn1 login: root\r\n# "), first
            assert watched["conductor"] == "c1" and watched["mode"] == "read-only", watched

            # 2. the conductor's internal WebSocket wants the shared key
            base = f"ws://127.0.0.1:{internal}/internal/consoles/{first['uuid']}"
            for key in ("wrong", ""):
                with pytest.raises(InvalidStatus) as refused:
                    ws_client.connect(
                        base, additional_headers={"X-Ironworks-Console-Key": key}, open_timeout=10
                    )
                assert refused.value.response.status_code == 403
            right = SecretBox(TEST_SECRET_KEY).derive("console relay")
            with ws_client.connect(
                base, additional_headers={"X-Ironworks-Console-Key": right}, open_timeout=10
            ) as ws:  # the right key: let in, but a closed session is not served again
                said = control(ws)
                assert said["type"] == "error" and "not waiting" in said["message"], said

            # 3. the conductor dies: its viewer's session ends, with the reason
            ticket = c.get(path).json()["console_info"]["url"]
            with ws_client.connect(ticket, open_timeout=30) as ws:
                assert control(ws)["mode"] == "read-write"
                serial.connect().sendall(b"still here")
                assert b"still here" in received_until(ws, b"here")
                conductor.send_signal(signal.SIGKILL)
                ended = control(ws)
            assert ended["type"] == "closed" and "conductor" in ended["reason"], ended
            assert "stopped" in ended["reason"], ended
            serial.disconnect()
            (second,) = [
                r
                for r in _rows(pg_database)
                if r["opened_at"] is not None and r["id"] not in (first["id"], watched["id"])
            ]
            assert second["closed_at"] is not None and "stopped" in second["close_reason"]
            for pid in _ipmitools(bmc_port):  # left by the killed conductor, if it outlived it
                os.kill(pid, signal.SIGKILL)

            # while the node's conductor is gone, a new URL says so (its row is still fresh,
            # so it is named as unreachable; later, no conductor would be running)
            ticket = c.get(path).json()["console_info"]["url"]
            with ws_client.connect(ticket, open_timeout=30) as ws:
                said = control(ws)
            assert said["type"] == "error" and "conductor" in said["message"], said
            gone = _rows(pg_database)[-1]
            assert gone["closed_at"] is not None and gone["close_reason"] == said["message"]

            # 4. a conductor that is stopped (SIGTERM) ends its sessions itself, recorded
            conductor = start_conductor(free_port())
            procs.append(conductor)
            wait_for(
                lambda: (
                    _rows(pg_database, "conductors")[0]["console_url"]
                    != f"ws://127.0.0.1:{internal}"
                ),
                timeout=30,
            )
            ticket = c.get(path).json()["console_info"]["url"]
            with ws_client.connect(ticket, open_timeout=30) as ws:
                assert control(ws)["mode"] == "read-write"
                serial.connect().sendall(b"once more")
                assert b"once more" in received_until(ws, b"more")
                conductor.send_signal(signal.SIGTERM)
                ended = control(ws)
            assert ended == {"type": "closed", "reason": "the conductor is stopping"}, ended
            assert conductor.wait(30) == 0
            last = _rows(pg_database)[-1]
            assert last["opened_at"] is not None and last["conductor"] == "c1", last
            assert last["close_reason"] == "the conductor is stopping", last
            assert _ipmitools(bmc_port) == []
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        for pid in _ipmitools(bmc_port):  # left by the killed conductor, if it outlived it
            os.kill(pid, signal.SIGKILL)
        serial.disconnect()


def _rows(db_url: str, table: str = "console_sessions") -> list[dict[str, Any]]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            got = conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")).mappings()
            return [dict(r) for r in got]
    finally:
        engine.dispose()
