"""Sensors, event logs and alarms against emulated BMCs over real RMCP+/UDP on 127.0.0.1.

A lab BMC is told a PSU failed (`ironworks lab sel inject`, an IPMI platform event message); one
sensor cycle later the node has a critical alarm, a webhook receiver (an HTTP server of the
test) and an SMTP server (aiosmtpd) have it; the event sent deasserted resolves it and both hear
that too. Also: entries are stored once however often they are read, a dead BMC neither stalls
the others nor goes unnoticed, BMC thresholds, our thresholds, and retried notifications.

The cycle is run by calling it (`sensor_interval` 0 turns the thread off). On SQLite and
PostgreSQL (the conftest's `database_url`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from ironworks.db.schema import (
    alarm_notifications,
    alarms,
    conductors,
    nodes,
    sel_entries,
    sensor_readings,
)
from tests.conftest import make_settings
from tests.integration.test_ipmi import free_udp_ports

if TYPE_CHECKING:
    from ironworks.lab.fleet import Fleet

pytest.importorskip("pyghmi", reason="the emulated BMCs need pyghmi")
aiosmtpd = pytest.importorskip("aiosmtpd", reason="the e-mail test needs aiosmtpd")

USER, PASSWORD = "admin", "s3cret"
NAMES = ["psu", "dedup", "dead", "alive", "hot", "retry", "cli"]


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    from ironworks.lab.fleet import Fleet
    from ironworks.lab.spec import BmcSpec

    specs = []
    for name, port in zip(NAMES, free_udp_ports(len(NAMES)), strict=True):
        spec = BmcSpec(name=name, address="127.0.0.1", port=port, username=USER, password=PASSWORD)
        if name == "dead":
            spec = replace(spec, dead=True)
        specs.append(spec)
    with Fleet(specs, shard_size=len(specs)) as f:
        for name in NAMES:
            if name != "dead":
                f.force_power(name, "on")
        yield f


def port_of(fleet: Fleet, name: str) -> int:
    return next(s.port for s in fleet.specs if s.name == name)


def inject(fleet: Fleet, name: str, event: str, clear: bool = False) -> None:
    from ironworks.lab.sel import inject as send

    send("127.0.0.1", port_of(fleet, name), USER, PASSWORD, event, clear)


class Receiver:
    """A webhook receiver on loopback: records every POST; answers 500 to the first `fail`."""

    def __init__(self, fail: int = 0) -> None:
        self.posts: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.fail = fail
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.fail > 0:
                    outer.fail -= 1
                    self.send_response(500)
                else:
                    outer.posts.append((dict(self.headers), json.loads(body)))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    from aiosmtpd.controller import Controller

    from tests.conftest import free_port

    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def alarm_settings(database_url: str, tmp_path: Path, **monitoring: Any) -> Any:
    return make_settings(
        database_url,
        tmp_path,
        conductor={
            "hostname": "test-conductor",
            "poll_interval": 0.05,
            "periodic_interval": 3600,
            "power_sync_interval": 0,
        },
        monitoring={"sensor_interval": 0, "notify_backoff": 0.01, **monitoring},
    )


def enrol(
    client: Any, db: Any, fleet: Fleet, name: str, management: str = "ipmi", **info: Any
) -> str:
    r = client.post(
        "/v1/nodes",
        json={
            "name": name,
            "driver": "ipmi",
            "management_interface": management,
            "driver_info": {
                "ipmi_address": "127.0.0.1",
                "ipmi_port": port_of(fleet, name),
                "ipmi_username": USER,
                "ipmi_password": PASSWORD,
                "ipmi_timeout": 2,
                "ipmi_retries": 1,
                **info,
            },
        },
    )
    assert r.status_code == 201, r.text
    with db.write() as conn:
        conn.execute(
            sa.update(nodes).where(nodes.c.name == name).values(provision_state="manageable")
        )
    return r.json()["uuid"]


def conductor_for(db: Any, settings: Any) -> Any:
    from ironworks.conductor.conductor import Conductor

    c = Conductor(db, settings)
    # a second conductor of a test is the first one restarted: its predecessor's incarnation is
    # what the lock file names (cmd/identity.py), so the name is not refused as a live twin's
    with db.read() as conn:
        c.replaces = conn.execute(
            sa.select(conductors.c.incarnation).where(conductors.c.hostname == c.host)
        ).scalar()
    c.register()
    return c


def alarm_rows(db: Any, name: str) -> list[dict[str, Any]]:
    with db.read() as conn:
        q = (
            sa.select(alarms)
            .join(nodes, nodes.c.id == alarms.c.node_id)
            .where(nodes.c.name == name)
            .order_by(alarms.c.id)
        )
        return [dict(r) for r in conn.execute(q).mappings()]


def metrics(client: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics parsed by prometheus-client's parser: (name, sorted labels) → value."""
    from prometheus_client.parser import text_string_to_metric_families

    r = client.get("/metrics")
    assert r.status_code == 200, r.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def test_psu_failure_fires_notifies_and_resolves(
    client: Any,
    db: Any,
    database_url: str,
    tmp_path: Path,
    fleet: Fleet,
    receiver: Receiver,
    smtp: tuple[Mailbox, int],
) -> None:
    box, smtp_port = smtp
    settings = alarm_settings(
        database_url,
        tmp_path,
        webhooks=[receiver.url],
        email_to=["ops@example.test"],
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
    )
    enrol(client, db, fleet, "psu")
    c = conductor_for(db, settings)
    first = c.sensors.run()
    assert (first.owned, first.read, first.errors) == (1, 1, 0), first
    assert first.readings == 5 and first.fired == 0, first
    assert [a for a in alarm_rows(db, "psu")] == []

    inject(fleet, "psu", "psu-failure")
    report = c.sensors.run()
    assert report.fired == 1, report
    (alarm,) = alarm_rows(db, "psu")
    assert (alarm["rule"], alarm["severity"], alarm["state"]) == ("event_log", "critical", "firing")
    assert alarm["summary"] == "event log: Power Supply PSU1 Power: Failure"
    assert c.notifier.run() == 2
    ((headers, body),) = receiver.posts
    assert body["event"] == "firing" and body["alarm"]["uuid"] == alarm["uuid"]
    assert body["alarm"]["severity"] == "critical" and body["alarm"]["node"]["name"] == "psu"
    assert headers["Idempotency-Key"] == f"{alarm['uuid']}:firing" == body["id"]
    (mail,) = box.messages
    assert mail.rcpt_tos == ["ops@example.test"]
    text = mail.content.decode()
    assert "CRITICAL firing: psu: event log: Power Supply PSU1 Power: Failure" in text
    assert c.notifier.run() == 0, "a notification sent is not sent again"

    # the machine shows it too: the PSU reads 0 W
    r = client.get("/api/v1/nodes/psu/sensors")
    assert r.status_code == 200, r.text
    psu = next(s for s in r.json()["readings"] if s["name"] == "PSU1 Power")
    assert psu["value"] == 0 and psu["unit"] == "W"

    c.sensors.run()  # nothing new: the alarm stays as it is, once
    assert [a["state"] for a in alarm_rows(db, "psu")] == ["firing"]
    gauges = metrics(client)
    assert (
        gauges[
            (
                "ironworks_sensor_reading",
                (("kind", "Temperature"), ("node", "psu"), ("sensor", "CPU1 Temp"), ("unit", "°C")),
            )
        ]
        == 45
    )
    assert (
        gauges[
            (
                "ironworks_sensor_reading",
                (
                    ("kind", "Power Supply"),
                    ("node", "psu"),
                    ("sensor", "PSU1 Power"),
                    ("unit", "W"),
                ),
            )
        ]
        == 0
    )
    assert (
        gauges[
            (
                "ironworks_alarms",
                (("rule", "event_log"), ("severity", "critical"), ("state", "firing")),
            )
        ]
        == 1
    )
    assert (
        gauges[("ironworks_cycle_nodes", (("conductor", "test-conductor"), ("cycle", "sensors")))]
        == 1
    )
    assert not any(name == "ironworks_bmc_errors" for name, _ in gauges)  # none this cycle
    assert gauges[("ironworks_sensor_cycle_seconds", (("conductor", "test-conductor"),))] > 0

    inject(fleet, "psu", "psu-failure", clear=True)
    report = c.sensors.run()
    assert report.resolved == 1, report
    (alarm,) = alarm_rows(db, "psu")
    assert alarm["state"] == "resolved" and alarm["resolved_at"] is not None
    assert c.notifier.run() == 2
    assert [b["event"] for _, b in receiver.posts] == ["firing", "resolved"]
    assert len(box.messages) == 2 and "resolved" in box.messages[1].content.decode()


def test_event_log_entries_are_stored_once(
    client: Any, db: Any, database_url: str, tmp_path: Path, fleet: Fleet
) -> None:
    settings = alarm_settings(database_url, tmp_path)
    enrol(client, db, fleet, "dedup")
    inject(fleet, "dedup", "fan-failure")
    inject(fleet, "dedup", "fan-failure", clear=True)
    c = conductor_for(db, settings)
    c.sensors.run()

    def entries() -> list[tuple[int, str, bool]]:
        with db.read() as conn:
            q = sa.select(sel_entries.c.record_id, sel_entries.c.event, sel_entries.c.asserted)
            return [tuple(r) for r in conn.execute(q.order_by(sel_entries.c.record_id))]

    stored = entries()
    assert stored[-2:] == [
        (stored[-2][0], "Lower Critical", True),
        (stored[-2][0] + 1, "Lower critical deasserted", False),
    ]
    # a new conductor (a restart: nothing remembered) reads the whole log again: no duplicate
    again = conductor_for(db, settings)
    report = again.sensors.run()
    assert report.entries == 0, report
    assert entries() == stored
    inject(fleet, "dedup", "overheat")
    report = again.sensors.run()
    assert report.entries == 1, report
    assert entries()[-1][1:] == ("Upper critical", True)
    # the fan's failure and recovery came between two reads: its alarm fired and resolved;
    # the overheat also crossed the BMC's upper critical threshold: two alarms, both critical
    rows = alarm_rows(db, "dedup")
    assert [(a["summary"], a["state"]) for a in rows if a["state"] == "resolved"] == [
        ("event log: Fan FAN1: Lower Critical", "resolved")
    ]
    rules = sorted((a["rule"], a["severity"]) for a in rows if a["state"] == "firing")
    assert rules == [("bmc_threshold", "critical"), ("event_log", "critical")]
    inject(fleet, "dedup", "overheat", clear=True)
    again.sensors.run()
    assert {a["state"] for a in alarm_rows(db, "dedup")} == {"resolved"}


def test_dead_bmc_stalls_nobody_and_raises_an_alarm(
    client: Any, db: Any, database_url: str, tmp_path: Path, fleet: Fleet
) -> None:
    settings = alarm_settings(database_url, tmp_path, unreachable_after=2)
    enrol(client, db, fleet, "dead")
    enrol(client, db, fleet, "alive", management="ipmitool")  # read by the cycle all the same
    c = conductor_for(db, settings)
    first = c.sensors.run()
    assert (first.owned, first.read, first.errors, first.fired) == (2, 1, 1, 0), first
    with db.read() as conn:
        names = conn.execute(
            sa.select(nodes.c.name)
            .join(sensor_readings, sensor_readings.c.node_id == nodes.c.id)
            .distinct()
        ).scalars()
        assert list(names) == ["alive"]
    second = c.sensors.run()
    assert second.fired == 1, second
    (alarm,) = alarm_rows(db, "dead")
    assert (alarm["rule"], alarm["severity"]) == ("bmc_unreachable", "critical")
    assert alarm["summary"].startswith(
        f"BMC failed 2 reads in a row: no answer from BMC 127.0.0.1:{port_of(fleet, 'dead')}"
    )
    # the operator fixes the address (here: points the node at a live BMC): resolved
    r = client.patch(
        "/v1/nodes/dead",
        json=[
            {"op": "replace", "path": "/driver_info/ipmi_port", "value": port_of(fleet, "alive")}
        ],
    )
    assert r.status_code == 200, r.text
    assert c.sensors.run().resolved == 1
    assert alarm_rows(db, "dead")[0]["state"] == "resolved"


def test_our_thresholds_and_acknowledgement(
    client: Any, db: Any, database_url: str, tmp_path: Path, fleet: Fleet
) -> None:
    settings = alarm_settings(
        database_url,
        tmp_path,
        rules=[{"sensor": "CPU* Temp", "above": 40, "severity": "warning"}],
        bmc_thresholds=False,
    )
    enrol(client, db, fleet, "hot")
    c = conductor_for(db, settings)
    assert c.sensors.run().fired == 1
    (alarm,) = alarm_rows(db, "hot")
    assert (alarm["rule"], alarm["severity"]) == ("sensor_threshold", "warning")
    assert alarm["summary"] == "Temperature sensor CPU1 Temp at 45 °C, at or above 40 °C"
    r = client.post(f"/api/v1/alarms/{alarm['uuid']}/acknowledge")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "acknowledged"
    assert c.sensors.run().fired == 0, "an acknowledged alarm does not fire again"
    fleet.force_power("hot", "off")  # 22 °C: the cause cleared
    assert c.sensors.run().resolved == 1
    assert alarm_rows(db, "hot")[0]["state"] == "resolved"
    fleet.force_power("hot", "on")


def test_a_failed_webhook_is_retried_with_the_same_key(
    client: Any, db: Any, database_url: str, tmp_path: Path, fleet: Fleet
) -> None:
    flaky = Receiver(fail=2)
    try:
        settings = alarm_settings(database_url, tmp_path, webhooks=[flaky.url], notify_attempts=5)
        enrol(client, db, fleet, "retry")
        c = conductor_for(db, settings)
        c.sensors.run()
        inject(fleet, "retry", "psu-failure")
        assert c.sensors.run().fired == 1
        sent = 0
        for _ in range(20):
            sent += c.notifier.run(now=None)
            if sent:
                break
            threading.Event().wait(0.05)
        assert sent == 1 and len(flaky.posts) == 1
        with db.read() as conn:
            (row,) = conn.execute(sa.select(alarm_notifications)).mappings()
        assert row["attempts"] == 3 and row["sent_at"] is not None
    finally:
        inject(fleet, "retry", "psu-failure", clear=True)
        flaky.close()


def test_cli_injects_lists_and_acknowledges(
    client: Any, db: Any, database_url: str, tmp_path: Path, fleet: Fleet
) -> None:
    """`ironworks lab sel inject`, then `ironworks alarm list/ack` and `alarm sensors` against a
    server process on the test's database."""
    from typer.testing import CliRunner

    from ironworks.cmd.main import app
    from tests.conftest import TEST_SECRET_KEY, start_server

    runner = CliRunner()
    settings = alarm_settings(database_url, tmp_path)
    enrol(client, db, fleet, "cli")
    c = conductor_for(db, settings)
    c.sensors.run()
    bmc = f"127.0.0.1:{port_of(fleet, 'cli')}"
    args = ["lab", "sel", "inject", "--bmc", bmc, "--user", USER, "--password", PASSWORD]
    r = runner.invoke(app, [*args, "--event", "psu-failure"])
    assert r.exit_code == 0 and f"psu-failure logged on BMC {bmc}" in r.output, r.output
    r = runner.invoke(app, [*args, "--event", "psu-exploded"])
    assert r.exit_code == 2 and "--event 'psu-exploded' is not one of" in r.output, r.output
    assert c.sensors.run().fired == 1
    server = start_server(
        tmp_path / "server",
        env={
            "IRONWORKS_DATABASE_URL": database_url,
            "IRONWORKS_SECRET_KEY": TEST_SECRET_KEY,
            "IRONWORKS_MONITORING__SENSOR_INTERVAL": "0",
            "IRONWORKS_CONDUCTOR__POWER_SYNC_INTERVAL": "0",
        },
    )
    try:
        url = ["--url", server.url]
        r = runner.invoke(app, ["alarm", "list", "--json", *url])
        assert r.exit_code == 0, r.output
        (alarm,) = json.loads(r.stdout)
        assert alarm["node_name"] == "cli" and alarm["state"] == "firing"
        r = runner.invoke(app, ["alarm", "ack", alarm["uuid"], *url])
        assert r.exit_code == 0 and f"alarm {alarm['uuid']} acknowledged" in r.output, r.output
        r = runner.invoke(app, ["alarm", "list", "--state", "firing", "--json", *url])
        assert json.loads(r.stdout) == []
        r = runner.invoke(app, ["alarm", "sensors", "cli", "--json", *url])
        assert r.exit_code == 0, r.output
        assert {s["name"]: s["value"] for s in json.loads(r.stdout)}["PSU1 Power"] == 0
    finally:
        server.proc.terminate()
        server.proc.wait(10)
        inject(fleet, "cli", "psu-failure", clear=True)


def test_node_state_rules_fire_and_resolve(
    client: Any, db: Any, database_url: str, tmp_path: Path
) -> None:
    """Failed deploys, stuck waits and power failures, on nodes whose driver has no sensors."""
    from datetime import timedelta

    from ironworks.db.engine import utcnow

    settings = alarm_settings(database_url, tmp_path, stuck_after=600)
    for name in ("failed", "stuck", "unpowered"):
        r = client.post("/v1/nodes", json={"name": name, "driver": "fake-hardware"})
        assert r.status_code == 201, r.text
    long_ago = utcnow() - timedelta(hours=2)
    states = {
        "failed": {"provision_state": "deploy failed", "last_error": "image checksum mismatch"},
        "stuck": {"provision_state": "wait call-back", "provision_updated_at": long_ago},
        "unpowered": {
            "provision_state": "manageable",
            "maintenance": True,
            "fault": "power failure",
            "maintenance_reason": "power sync failed 3 times in a row: no answer",
        },
    }
    with db.write() as conn:
        for name, values in states.items():
            conn.execute(sa.update(nodes).where(nodes.c.name == name).values(**values))
    c = conductor_for(db, settings)
    report = c.sensors.run()
    assert (report.owned, report.unsupported, report.errors, report.fired) == (3, 3, 0, 3), report
    summaries = {
        name: [(a["rule"], a["severity"], a["summary"]) for a in alarm_rows(db, name)]
        for name in states
    }
    assert summaries == {
        "failed": [("provision_failure", "critical", "deploy failed: image checksum mismatch")],
        "stuck": [("stuck", "warning", "in 'wait call-back' for 120 min (more than 10 min)")],
        "unpowered": [
            (
                "power_failure",
                "critical",
                "power failure: power sync failed 3 times in a row: no answer",
            )
        ],
    }
    assert c.sensors.run().fired == 0, "a condition that holds fires once"
    with db.write() as conn:
        conn.execute(
            sa.update(nodes)
            .where(nodes.c.name.in_(list(states)))
            .values(provision_state="manageable", maintenance=False, fault=None)
        )
    assert c.sensors.run().resolved == 3
    assert {a["state"] for n in states for a in alarm_rows(db, n)} == {"resolved"}
    # resolved alarms are kept `alarm_retention` after they resolved, then dropped
    (failed_alarm,) = alarm_rows(db, "failed")
    with db.write() as conn:
        conn.execute(
            sa.update(alarms).where(alarms.c.id == failed_alarm["id"]).values(resolved_at=long_ago)
        )
    pruning = conductor_for(db, alarm_settings(database_url, tmp_path, alarm_retention=3600))
    pruning.sensors.run()
    assert [len(alarm_rows(db, n)) for n in states] == [0, 1, 1]
