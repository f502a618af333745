"""The whole loop against a tiny fake Ironworks server (http.server on 127.0.0.1), and the
client's retry rules. The server is real HTTP; only its decisions are scripted."""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ironworks_agent import commands, protocol
from ironworks_agent.agent import Agent
from ironworks_agent.client import AgentClient, ApiError, Backoff, Stopped

from .conftest import MIB, add_disk

IMAGE = bytes(range(256)) * (4 * MIB // 256)
IMAGE_SHA = hashlib.sha256(IMAGE).hexdigest()


class FakeServer:
    """Hands out tokens, records every request, and asks `decide(body)` what to reply."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token = "iwa_first"
        self.lookups: list[dict[str, Any]] = []
        self.heartbeats: list[tuple[str | None, dict[str, Any]]] = []
        self.forced: list[int] = []  # statuses to answer before behaving
        self.interval = 0.05
        self.decide: Callable[[dict[str, Any]], dict[str, Any]] = lambda body: {}
        self.url = ""

    def handle(
        self, path: str, token: str | None, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if self.forced:
                status = self.forced.pop(0)
                return status, {"detail": f"forced {status}"}
            if path == protocol.LOOKUP_PATH:
                self.lookups.append(body)
                return 200, {
                    "node_uuid": "n1",
                    "token": self.token,
                    "heartbeat_interval": self.interval,
                }
            self.heartbeats.append((token, body))
            if token != self.token:
                return 401, {"detail": "stale token"}
            reply = {"commands": [], "ack": [], "heartbeat_interval": self.interval}
            reply.update(self.decide(body))
            return 200, reply


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, reply = fake.handle(self.path, self.headers.get(protocol.TOKEN_HEADER), body)
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header(
                "Content-Type", "application/json" if status < 400 else "application/problem+json"
            )
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # the image, sent slowly so the agent reports progress
            self.send_response(200)
            self.send_header("Content-Length", str(len(IMAGE)))
            self.end_headers()
            for at in range(0, len(IMAGE), MIB):
                self.wfile.write(IMAGE[at : at + MIB])
                self.wfile.flush()
                time.sleep(0.1)

        def log_message(self, *args: object) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{http.server_address[1]}"
    thread = threading.Thread(target=http.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        http.shutdown()
        http.server_close()


def start(agent: Agent) -> threading.Thread:
    thread = threading.Thread(target=agent.run, daemon=True)
    thread.start()
    return thread


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def finish(agent: Agent, thread: threading.Thread) -> None:
    agent.stop()
    thread.join(5)
    assert not thread.is_alive()


def test_lookup_inventory_then_write_image_results_resent_until_acked(
    machine: Path, server: FakeServer
) -> None:
    disk = add_disk(machine, "vda", 8 * MIB, serial="vd-1")
    seen_results: dict[str, int] = {}
    acked: set[str] = set()

    def decide(body: dict[str, Any]) -> dict[str, Any]:
        ids = [r["id"] for r in body["results"]]
        assert len(ids) == len(set(ids)), "a result sent twice in one heartbeat"
        assert not acked & set(ids), "an acked result came back"
        for i in ids:
            seen_results[i] = seen_results.get(i, 0) + 1
        ack = [i for i in ids if seen_results[i] >= 2]  # ack only the second copy
        acked.update(ack)
        reply: dict[str, Any] = {"ack": ack, "commands": []}
        if "c1" not in seen_results:  # resent every time, even while it runs: must run once
            reply["commands"].append({"id": "c1", "name": "inventory", "args": {"lldp_wait": 0.0}})
        elif (
            "c1" in acked and "c2" not in seen_results and (body["running"] or {}).get("id") != "c2"
        ):
            reply["commands"].append(
                {
                    "id": "c2",
                    "name": "write_image",
                    "args": {
                        "url": server.url + "/img.raw",
                        "sha256": IMAGE_SHA,
                        "size": len(IMAGE),
                        "root_device": {"serial": "VD-1"},
                    },
                }
            )
        return reply

    server.decide = decide
    ctx = commands.Context(root=machine, pxe_mac="52:54:00:12:34:56", ipv4={})
    agent = Agent(server.url, root=machine, node_uuid="n1", boot_mac="52:54:00:12:34:56", ctx=ctx)
    thread = start(agent)
    wait_for(lambda: "c2" in acked)
    finish(agent, thread)

    assert server.lookups == [
        {
            "macs": ["52:54:00:12:34:56"],
            "boot_mac": "52:54:00:12:34:56",
            "node_uuid": "n1",
            "boot_id": None,
            "version": "1",
        }
    ]
    assert (machine / "run/ironworks-agent.token").read_text() == "iwa_first"
    bodies = [b for _, b in server.heartbeats]
    assert all(
        t == "iwa_first" and b["node_uuid"] == "n1" and b["version"] == "1"
        for t, b in server.heartbeats
    )
    results = {r["id"]: r for b in bodies for r in b["results"]}
    assert seen_results == {"c1": 2, "c2": 2}
    inv = results["c1"]
    assert (inv["name"], inv["ok"], inv["error"]) == ("inventory", True, None)
    assert inv["result"]["inventory"]["disks"][0]["name"] == "/dev/vda"
    assert inv["result"]["inventory"]["boot"]["pxe_mac"] == "52:54:00:12:34:56"
    assert "running inventory c1" in inv["log"]
    wrote = results["c2"]
    assert wrote["ok"] and wrote["result"]["device"] == "/dev/vda"
    assert (wrote["result"]["bytes"], wrote["result"]["sha256"]) == (len(IMAGE), IMAGE_SHA)
    assert disk.read_bytes()[: len(IMAGE)] == IMAGE
    progress = [
        b["running"]["progress"] for b in bodies if b["running"] and b["running"]["id"] == "c2"
    ]
    assert any(p and 0 < p["done"] < len(IMAGE) and p["total"] == len(IMAGE) for p in progress)

    # A restarted agent reuses the token and the ids it started: no lookup, no second run.
    count = len(server.heartbeats)
    server.decide = lambda body: {"commands": [{"id": "c1", "name": "inventory", "args": {}}]}
    again = Agent(server.url, root=machine, boot_mac="52:54:00:12:34:56", ctx=ctx)
    thread = start(again)
    wait_for(lambda: len(server.heartbeats) >= count + 4)
    finish(again, thread)
    assert len(server.lookups) == 1
    assert all(b["results"] == [] and b["running"] is None for _, b in server.heartbeats[count:])


def test_stale_token_looks_up_again_and_power_off_acts_after_reporting(
    machine: Path, server: FakeServer
) -> None:
    (machine / "run").mkdir()
    (machine / "run/ironworks-agent.token").write_text("iwa_stale")
    server.interval = 5.0  # long: the result must go out at once, not at the next interval
    acted: list[tuple[str, float]] = []
    delivered: list[float] = []

    def decide(body: dict[str, Any]) -> dict[str, Any]:
        if body["results"]:
            delivered.append(time.monotonic())
            return {"ack": ["p1"]}
        return {"commands": [{"id": "p1", "name": "power_off", "args": {}}]}

    server.decide = decide
    ctx = commands.Context(
        root=machine, ipv4={}, power=lambda name: acted.append((name, time.monotonic()))
    )
    agent = Agent(server.url, root=machine, node_uuid="n1", ctx=ctx, power_delay=0.2)
    began = time.monotonic()
    thread = start(agent)
    wait_for(lambda: bool(acted), timeout=4.0)
    finish(agent, thread)

    assert [t for t, _ in server.heartbeats[:2]] == ["iwa_stale", "iwa_first"]
    assert len(server.lookups) == 1
    assert delivered and delivered[0] - began < 2.0
    result = server.heartbeats[-1][1]["results"][0]
    assert (result["id"], result["name"], result["ok"], result["result"]) == (
        "p1",
        "power_off",
        True,
        {},
    )
    assert acted[0][0] == "power_off" and acted[0][1] - delivered[0] >= 0.2


def test_failed_command_reports_one_sentence_and_the_log(machine: Path, server: FakeServer) -> None:
    add_disk(machine, "vda", 1 * MIB)
    got: list[dict[str, Any]] = []

    def decide(body: dict[str, Any]) -> dict[str, Any]:
        got.extend(body["results"])
        if body["results"]:
            return {"ack": [r["id"] for r in body["results"]]}
        return {
            "commands": [
                {
                    "id": "w1",
                    "name": "write_image",
                    "args": {
                        "url": server.url + "/img.raw",
                        "sha256": IMAGE_SHA,
                        "size": len(IMAGE),
                        "root_device": None,
                    },
                },
                {"id": "x1", "name": "format_c", "args": {}},
            ]
        }

    server.decide = decide
    agent = Agent(
        server.url, root=machine, node_uuid="n1", ctx=commands.Context(root=machine, ipv4={})
    )
    thread = start(agent)
    wait_for(lambda: len(got) >= 2)
    finish(agent, thread)

    by_id = {r["id"]: r for r in got}
    assert by_id["w1"]["ok"] is False
    assert by_id["w1"]["error"] == f"disk /dev/vda has {MIB} bytes, the image needs {len(IMAGE)}"
    assert (
        "write_image w1 failed" in by_id["w1"]["log"] and len(by_id["w1"]["log"].splitlines()) <= 40
    )
    assert by_id["x1"]["error"] == "this agent has no command 'format_c'"


def test_client_backs_off_on_5xx_and_waits_30_s_on_lookup_404(server: FakeServer) -> None:
    waits: list[float] = []
    client = AgentClient(server.url, wait=lambda s: waits.append(s) is not None)
    server.forced = [503, 500, 404, 409]
    reply = client.lookup(
        {"macs": ["52:54:00:12:34:56"], "boot_mac": None, "node_uuid": None, "version": "1"}
    )
    assert reply["token"] == "iwa_first"
    assert 0.8 <= waits[0] <= 1.2 and 1.6 <= waits[1] <= 2.4 and waits[2:] == [30.0, 30.0]
    server.forced = [400]
    with pytest.raises(ApiError, match="400: forced 400"):
        client.lookup({"macs": [], "boot_mac": None, "node_uuid": None, "version": "1"})
    stop_after = len(waits) + 5
    dead = AgentClient(
        "http://127.0.0.1:9", wait=lambda s: waits.append(s) is None and len(waits) >= stop_after
    )
    with pytest.raises(Stopped):
        dead.post(protocol.LOOKUP_PATH, {})
    assert all(0.8 * 2**i <= w <= 1.2 * 2**i for i, w in enumerate(waits[-5:]))
    capped = Backoff(rng=random.Random(4))
    assert max(capped.next() for _ in range(10)) <= 30.0 and capped.current == 30.0


def test_restart_reports_the_command_in_flight_as_failed_and_never_reruns_it(
    machine: Path, server: FakeServer
) -> None:
    (machine / "run").mkdir()
    (machine / "run/ironworks-agent.token").write_text("iwa_first")
    (machine / "run/ironworks-agent.state").write_text(
        json.dumps(
            {
                "node_uuid": "n1",
                "seen": ["e1"],
                "pending": [],
                "running": {"id": "e1", "name": "erase_disks"},
            }
        )
    )
    server.decide = lambda body: {"commands": [{"id": "e1", "name": "erase_disks", "args": {}}]}
    agent = Agent(server.url, root=machine, ctx=commands.Context(root=machine, ipv4={}))
    thread = start(agent)
    wait_for(lambda: len(server.heartbeats) >= 4)
    finish(agent, thread)

    assert server.lookups == []
    for _, body in server.heartbeats:
        assert body["running"] is None and body["node_uuid"] == "n1"
        [result] = body["results"]  # never acked, so always there; never a second one
        assert (result["id"], result["ok"]) == ("e1", False)
        assert result["error"] == "the agent restarted while erase_disks ran"


def test_waiting_for_the_network_gives_up_after_its_timeout(tmp_path: Path) -> None:
    from ironworks_agent.agent import Agent
    from tests.unit.agent.conftest import add_nic

    add_nic(tmp_path, "iwnonexist0", "52:54:00:00:00:09")  # no such NIC on this host: no address
    agent = Agent("http://127.0.0.1:9", root=tmp_path)
    started = time.monotonic()
    assert agent.wait_for_address(timeout=0.3, every=0.05) is False
    assert 0.3 <= time.monotonic() - started < 2
