"""The serial console end to end, without a VM: an emulated BMC that speaks SOL (a shard process,
as `ironworks lab bmc` serves it) whose serial port is a Unix socket of the test, an ipmi node and
a tenant's host on it, and the API served by uvicorn on loopback with identity on.

A viewer opens `POST /api/v1/hosts/{id}/console`'s one-time URL with the `websockets` client;
what the "machine" (the socket) prints reaches the viewer, what the viewer types reaches the
machine. SQLite only: the API tests cover both databases, and this one is about the bridge.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.api.conftest import ADMIN_PASSWORD, PASSWORD
from tests.conftest import free_port, make_settings, wait_for
from tests.integration.test_ipmi import free_udp_ports
from tests.integration.test_sol import IPMITOOL, Serial

pytest.importorskip("pyghmi", reason="the lab BMCs need pyghmi")
pytestmark = pytest.mark.skipif(IPMITOOL is None, reason="the SOL bridge runs ipmitool")
ws_client = pytest.importorskip("websockets.sync.client")
BMC_USER, BMC_PASSWORD = "admin", "s3cret"


@dataclass
class Cloud:
    url: str
    svc: Any
    serial: Serial
    tokens: dict[str, str]
    bmc_port: int

    def headers(self, who: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.tokens[who]}",
            "X-OpenStack-Ironic-API-Version": "latest",
        }

    def post(self, path: str, who: str, **kw: Any) -> httpx.Response:
        return httpx.post(self.url + path, headers=self.headers(who), timeout=30, **kw)

    def get(self, path: str, who: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url + path, headers=self.headers(who), timeout=30, **kw)

    def put(self, path: str, who: str, **kw: Any) -> httpx.Response:
        return httpx.put(self.url + path, headers=self.headers(who), timeout=30, **kw)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    import uvicorn

    from ironworks.api.app import create_app
    from ironworks.db import migrate
    from ironworks.db.engine import Database, utcnow
    from ironworks.db.schema import flavors, hosts, nodes, projects
    from ironworks.lab.fleet import Fleet
    from ironworks.lab.spec import BmcSpec
    from ironworks.services import auth
    from ironworks.services.context import Services

    tmp = tmp_path_factory.mktemp("console")
    serial = Serial(tmp / "serial.sock")
    (bmc_port,) = free_udp_ports(1)
    spec = BmcSpec(
        name="web1",
        address="127.0.0.1",
        port=bmc_port,
        username=BMC_USER,
        password=BMC_PASSWORD,
        serial=str(serial.path),
    )
    settings = make_settings(
        f"sqlite:///{tmp / 'ironworks.db'}",
        tmp,
        auth={"noauth": False, "admin_password": ADMIN_PASSWORD},
        conductor={"hostname": "c1", "poll_interval": 0.05, "periodic_interval": 3600},
        console={"output_limit": 32},
    )
    db = Database(settings.effective_database_url)
    migrate.upgrade(db)
    svc = Services(db=db, settings=settings)
    assert auth.bootstrap_admin(svc) is None
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(svc), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    with Fleet([spec], shard_size=1):
        thread.start()
        wait_for(lambda: server.started, timeout=10)
        url = f"http://127.0.0.1:{port}"

        def log_in(name: str, password: str) -> str:
            r = httpx.post(
                url + "/api/v1/auth/tokens", json={"username": name, "password": password}
            )
            assert r.status_code == 201, r.text
            return str(r.json()["token"])

        c = Cloud(url, svc, serial, {"admin": log_in("admin", ADMIN_PASSWORD)}, bmc_port)
        for path, body in (
            ("/api/v1/departments", {"name": "d1"}),
            ("/api/v1/departments", {"name": "d2"}),
            ("/api/v1/projects", {"name": "p1", "department": "d1"}),
            ("/api/v1/projects", {"name": "p2", "department": "d2"}),
            ("/api/v1/users", {"name": "alice", "password": PASSWORD}),
            ("/api/v1/users", {"name": "carol", "password": PASSWORD}),
            (
                "/api/v1/flavors",
                {"name": "bm", "cpus": 2, "memory_mb": 1024, "local_gb": 10, "cpu_arch": "x86_64"},
            ),
            (
                "/v1/nodes",
                {
                    "name": "web1-node",
                    "driver": "ipmi",
                    "driver_info": {
                        "ipmi_address": "127.0.0.1",
                        "ipmi_port": bmc_port,
                        "ipmi_username": BMC_USER,
                        "ipmi_password": BMC_PASSWORD,
                    },
                },
            ),
        ):
            r = c.post(path, "admin", json=body)
            assert r.status_code == 201, r.text
        for project, user in (("p1", "alice"), ("p2", "carol")):
            r = c.put(f"/api/v1/projects/{project}/members/{user}", "admin", json={})
            assert r.status_code == 200, r.text
            c.tokens[user] = log_in(user, PASSWORD)
        # A tenant's host on the node, as a finished deploy leaves it (the deploy itself is
        # covered elsewhere; here the node only needs its BMC).
        with db.write() as conn:
            now = utcnow()
            node_id = conn.execute(sa.select(nodes.c.id).where(nodes.c.name == "web1-node"))
            project_id = conn.execute(sa.select(projects.c.id).where(projects.c.name == "p1"))
            flavor_id = conn.execute(sa.select(flavors.c.id).where(flavors.c.name == "bm"))
            conn.execute(
                sa.insert(hosts).values(
                    uuid="5f1b7c52-4d1e-4c8e-9d55-1f7b8c1e0a01",
                    name="web1",
                    project_id=project_id.scalar_one(),
                    flavor_id=flavor_id.scalar_one(),
                    node_id=node_id.scalar_one(),
                    image="test-image",
                    availability_zone="default",
                    created_at=now,
                )
            )
            conn.execute(
                sa.update(nodes)
                .where(nodes.c.name == "web1-node")
                .values(provision_state="active", power_state="power on")
            )
        try:
            yield c
        finally:
            server.should_exit = True
            thread.join(10)
            serial.disconnect()
            db.dispose()


def control(ws: Any) -> dict[str, Any]:
    """The next control message, skipping console bytes."""
    while True:
        frame = ws.recv(timeout=30)
        if isinstance(frame, str):
            return dict(json.loads(frame))


def received_until(ws: Any, needle: bytes) -> bytes:
    got = b""
    while needle not in got:
        frame = ws.recv(timeout=30)
        if isinstance(frame, bytes):
            got += frame
    return got


def open_console(cloud: Cloud, who: str) -> Any:
    r = cloud.post("/api/v1/hosts/web1/console", who)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["url"].startswith("ws://127.0.0.1:") and "/api/v1/consoles/" in body["url"]
    return ws_client.connect(body["url"], open_timeout=30), body


def test_a_member_types_on_the_host_console_and_the_audit_shows_the_session(
    cloud: Cloud,
) -> None:
    ws, body = open_console(cloud, "alice")
    with ws:
        hello = control(ws)
        assert hello["type"] == "info" and hello["mode"] == "read-write", hello
        machine = cloud.serial.connect()  # the machine is on: connected to its UART
        machine.sendall(b"\r\nweb1 login: ")
        assert b"web1 login: " in received_until(ws, b"login: ")
        ws.send(b"root\r")
        assert b"root\r" in cloud.serial.read_until(b"\r")
        machine.sendall(b"root\r\nroot@web1:~# ")  # the echo and the prompt
        assert b"root@web1:~# " in received_until(ws, b"# ")

        # a second viewer watches, read-only, and is told so
        other, _ = open_console(cloud, "alice")
        with other:
            said = control(other)
            assert said["mode"] == "read-only", said
            assert "alice is typing" in said["message"]
            other.send(b"reboot\r")  # dropped: not the writer
            machine.sendall(b"uptime-output")
            assert b"uptime-output" in received_until(other, b"output")
            assert b"uptime-output" in received_until(ws, b"output")
        ws.send(b"hostname\r")
        assert cloud.serial.read_until(b"hostname\r").endswith(b"hostname\r")  # no "reboot"

    cloud.serial.disconnect()

    def events() -> list[dict[str, Any]]:
        r = cloud.get(
            "/api/v1/audit-events",
            "admin",
            params={"target_id": "5f1b7c52-4d1e-4c8e-9d55-1f7b8c1e0a01", "sort_key": "created_at"},
        )
        assert r.status_code == 200, r.text
        return list(r.json()["audit_events"])

    def closed(e: dict[str, Any]) -> bool:
        return body["session"] in (e["detail"] or "") and "closed" in e["detail"]

    listed = wait_for(lambda: (got := events()) and any(closed(e) for e in got) and got)
    details = [e["detail"] or "" for e in listed if e["action"] == "host:console"]
    assert any(body["session"] in d and "opened read-write" in d for d in details), details
    assert any(body["session"] in d and "closed" in d and "viewer left" in d for d in details), (
        details
    )
    assert all(e["user_name"] == "alice" for e in listed if e["action"] == "host:console")

    from ironworks.db import consoles as console_db
    from ironworks.db import nodes as node_db

    with cloud.svc.db.read() as conn:
        node = node_db.get_node(conn, "web1-node")
        rows = {r["uuid"]: r for r in console_db.list_for_node(conn, node["id"])}
    kept = rows[body["session"]]
    assert kept["closed_at"] is not None and kept["mode"] == "read-write"
    assert kept["output_bytes"] == 46 and len(kept["output"]) == 32  # the tail, bounded
    assert kept["output"].endswith("uptime-output")


def test_another_projects_member_gets_404_and_a_url_opens_once(cloud: Cloud) -> None:
    r = cloud.post("/api/v1/hosts/web1/console", "carol")
    assert r.status_code == 404, r.text
    ws, body = open_console(cloud, "alice")
    with ws:
        assert control(ws)["mode"] == "read-write"
        cloud.serial.connect()
        again = ws_client.connect(body["url"], open_timeout=30)
        with again:
            refused = control(again)
            assert refused["type"] == "error" and "used already" in refused["message"]
    cloud.serial.disconnect()


def test_ironic_console_routes_give_a_one_time_websocket(cloud: Cloud) -> None:
    r = cloud.get("/v1/nodes/web1-node/states/console", "admin")
    assert r.status_code == 200 and r.json() == {"console_enabled": False, "console_info": None}
    r = cloud.put("/v1/nodes/web1-node/states/console", "admin", json={"enabled": True})
    assert r.status_code == 202, r.text
    info = cloud.get("/v1/nodes/web1-node/states/console", "admin").json()
    assert info["console_enabled"] is True and info["console_info"]["type"] == "websocket"
    with ws_client.connect(info["console_info"]["url"], open_timeout=30) as ws:
        assert control(ws)["mode"] == "read-write"
        machine = cloud.serial.connect()
        machine.sendall(b"BIOS POST")
        assert b"BIOS POST" in received_until(ws, b"POST")
    cloud.serial.disconnect()
    listed = cloud.get("/api/v1/audit-events", "admin", params={"action": "node:console"}).json()
    assert any("opened read-write" in (e["detail"] or "") for e in listed["audit_events"])


def test_the_cli_attaches_a_terminal_and_leaves_with_tilde_dot(cloud: Cloud) -> None:
    """`ironworks host console web1` in a pseudo-terminal, as an operator runs it."""
    import os
    import pty
    import sys

    from tests.integration.test_sol import read_pty

    argv = [sys.executable, "-m", "ironworks.cmd.main", "host", "console", "web1"]
    env = {**os.environ, "IRONWORKS_TOKEN": cloud.tokens["alice"], "IRONWORKS_LANG": "en"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI on the pseudo-terminal
        os.execve(sys.executable, [*argv, "--url", cloud.url], env)
    try:
        assert b"you can type" in read_pty(fd, b"you can type", timeout=60)
        machine = cloud.serial.connect()
        machine.sendall(b"\r\nweb1 login: ")
        assert b"web1 login: " in read_pty(fd, b"login: ")
        os.write(fd, b"root\r")
        assert cloud.serial.read_until(b"\r").endswith(b"root\r")
        machine.sendall(b"root\r\nroot@web1:~# ")
        assert b"root@web1:~# " in read_pty(fd, b"# ")
        os.write(fd, b"echo ~x\r")  # a tilde inside a line is typed as is
        assert cloud.serial.read_until(b"\r").endswith(b"echo ~x\r")
        os.write(fd, b"~.")  # at the start of a line: leave
        assert b"leaving the console" in read_pty(fd, b"leaving")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    cloud.serial.disconnect()


@pytest.mark.parametrize(
    ("setting", "why"),
    [("idle_timeout", "nothing was typed or shown for 1 s"), ("max_session", "longest")],
)
def test_idle_and_overlong_sessions_are_closed_with_the_reason(
    cloud: Cloud, setting: str, why: str
) -> None:
    console = cloud.svc.settings.console
    saved = getattr(console, setting)
    setattr(console, setting, 1.0)  # the app reads its settings object at each session's start
    try:
        ws, _ = open_console(cloud, "alice")
        with ws:
            assert control(ws)["mode"] == "read-write"
            machine = cloud.serial.connect()
            if setting == "max_session":  # busy all along: only the length limit ends it
                while True:
                    machine.sendall(b".")
                    frame = ws.recv(timeout=30)
                    if isinstance(frame, str):
                        ended = json.loads(frame)
                        break
            else:
                ended = control(ws)
        assert ended["type"] == "closed" and why in ended["reason"], ended
    finally:
        setattr(console, setting, saved)
        cloud.serial.disconnect()


def test_ironworks_serve_bridges_the_console_and_closes_it_when_stopped(
    cloud: Cloud, tmp_path: Path
) -> None:
    """The single process of `ironworks serve` (noauth here): a node's console through Ironic's
    routes, and a SIGTERM that ends the session cleanly: recorded, and no ipmitool left."""
    import os
    import signal

    from ironworks.db import consoles as console_db
    from ironworks.db import nodes as node_db
    from ironworks.db.engine import Database
    from tests.conftest import start_server

    server = start_server(tmp_path / "serve")
    v = {"X-OpenStack-Ironic-API-Version": "latest"}
    try:
        driver_info = {
            "ipmi_address": "127.0.0.1",
            "ipmi_port": cloud.bmc_port,
            "ipmi_username": BMC_USER,
            "ipmi_password": BMC_PASSWORD,
        }
        r = httpx.post(
            server.url + "/v1/nodes",
            json={"name": "n1", "driver": "ipmi", "driver_info": driver_info},
            headers=v,
        )
        assert r.status_code == 201, r.text
        path = server.url + "/v1/nodes/n1/states/console"
        assert httpx.put(path, json={"enabled": True}, headers=v).status_code == 202
        url = httpx.get(path, headers=v).json()["console_info"]["url"]
        with ws_client.connect(url, open_timeout=30) as ws:
            assert control(ws)["mode"] == "read-write"
            machine = cloud.serial.connect()
            machine.sendall(b"served by one process")
            assert b"one process" in received_until(ws, b"one process")
            ipmitools = [
                pid
                for pid in os.listdir("/proc")
                if pid.isdigit()
                and f"{cloud.bmc_port}".encode() in _cmdline(pid)
                and b"activate" in _cmdline(pid)
            ]
            assert len(ipmitools) == 1  # the bridge: one ipmitool for the node
            server.proc.send_signal(signal.SIGTERM)
            assert server.proc.wait(30) is not None
        assert not [pid for pid in ipmitools if _cmdline(pid)], server.logs()[-3000:]
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
        cloud.serial.disconnect()
    db = Database(f"sqlite:///{(tmp_path / 'serve' / 'ironworks.db').resolve()}")
    try:
        with db.read() as conn:
            node = node_db.get_node(conn, "n1")
            (row,) = console_db.list_for_node(conn, node["id"])
    finally:
        db.dispose()
    assert row["closed_at"] is not None, server.logs()[-2000:]
    assert row["close_reason"] in ("the server is stopping", "the viewer left"), row


def _cmdline(pid: str) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""
