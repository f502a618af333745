"""`/metrics` after a scripted workload, every figure against the database.

Emulated BMCs over real RMCP+/UDP on 127.0.0.1 (one dead, one refusing our password) and
fake-hardware nodes; a running conductor does the jobs (manage, provide, power, one of which
fails on the dead BMC); the power sync and the sensor cycle are run by calling them. The scrape
is parsed by prometheus-client's parser, and each metric the operations guide names is compared
with what the tables hold, selected here. On SQLite and PostgreSQL (the conftest's
`database_url`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from ironworks.db import conductors as conductor_db
from ironworks.db import monitoring as mon_db
from ironworks.db.engine import utcnow
from ironworks.db.schema import alarms, jobs, nodes, sensor_readings
from tests.conftest import make_settings, wait_for
from tests.integration.test_ipmi import free_udp_ports

if TYPE_CHECKING:
    from ironworks.lab.fleet import Fleet

pytest.importorskip("pyghmi", reason="the emulated BMCs need pyghmi")
USER, PASSWORD = "admin", "s3cret"
BMCS = ["on", "off", "badpass", "dead"]
HOST = "metrics-conductor"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    from ironworks.lab.fleet import Fleet
    from ironworks.lab.spec import BmcSpec

    specs = []
    for name, port in zip(BMCS, free_udp_ports(len(BMCS)), strict=True):
        spec = BmcSpec(name=name, address="127.0.0.1", port=port, username=USER, password=PASSWORD)
        specs.append(replace(spec, dead=True) if name == "dead" else spec)
    with Fleet(specs, shard_size=len(specs)) as f:
        f.force_power("on", "on")
        f.force_power("off", "off")
        f.force_power("badpass", "on")
        yield f


@pytest.fixture
def conductor(db: Any, database_url: str, tmp_path: Path) -> Iterator[Any]:
    """A running conductor (it does the jobs) whose power sync and sensor cycle only run when
    the test calls them."""
    from ironworks.conductor.conductor import Conductor

    settings = make_settings(
        database_url,
        tmp_path,
        conductor={
            "hostname": HOST,
            "poll_interval": 0.05,
            "periodic_interval": 3600,
            "power_sync_interval": 0,
        },
        monitoring={"sensor_interval": 0, "unreachable_after": 1},
    )
    c = Conductor(db, settings)
    c.start()
    yield c
    c.stop(wait=True)


def enrol_ipmi(client: Any, fleet: Fleet, name: str, password: str = PASSWORD) -> None:
    port = next(s.port for s in fleet.specs if s.name == name)
    r = client.post(
        "/v1/nodes",
        json={
            "name": name,
            "driver": "ipmi",
            "management_interface": "ipmi",
            "driver_info": {
                "ipmi_address": "127.0.0.1",
                "ipmi_port": port,
                "ipmi_username": USER,
                "ipmi_password": password,
                "ipmi_timeout": 2,
                "ipmi_retries": 1,
            },
        },
    )
    assert r.status_code == 201, r.text


def settled(client: Any, name: str) -> dict[str, Any]:
    """The node once no state change is under way."""

    def done() -> dict[str, Any] | None:
        n = client.get(f"/v1/nodes/{name}").json()
        busy = n["target_provision_state"] or n["target_power_state"] or n["reservation"]
        return None if busy else n

    found: dict[str, Any] = wait_for(done, timeout=30)
    return found


def act(client: Any, name: str, what: str, target: str) -> None:
    r = client.put(f"/v1/nodes/{name}/states/{what}", json={"target": target})
    assert r.status_code == 202, r.text
    settled(client, name)


def scrape(client: Any) -> Samples:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), r.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def of(samples: Samples, name: str, *labels: str) -> dict[tuple[str, ...], float]:
    """The samples of one metric: (its label values in the order given) → value."""
    return {tuple(dict(got)[k] for k in labels): v for (n, got), v in samples.items() if n == name}


def test_metrics_match_the_database_after_a_workload(
    client: Any, db: Any, fleet: Fleet, conductor: Any
) -> None:
    # --- the workload ---------------------------------------------------------------------------
    for name in ("on", "off", "dead"):
        enrol_ipmi(client, fleet, name)
    enrol_ipmi(client, fleet, "badpass", password="wrong")
    for name in ("fake1", "fake2", "fake3"):
        r = client.post("/v1/nodes", json={"name": name, "driver": "fake-hardware"})
        assert r.status_code == 201, r.text
    for name in ("on", "off", "fake1", "fake2"):  # verified against their BMCs by a job
        act(client, name, "provision", "manage")
    act(client, "fake1", "provision", "provide")
    # the BMCs that would fail verification are made manageable behind the API's back, so that
    # a power request and the power sync still ask them
    with db.write() as conn:
        conn.execute(
            sa.update(nodes)
            .where(nodes.c.name.in_(["badpass", "dead"]))
            .values(provision_state="manageable")
        )
    act(client, "on", "power", "power on")
    act(client, "fake2", "power", "power on")
    act(client, "dead", "power", "power on")  # the failing job
    assert client.get("/v1/nodes/dead").json()["last_error"]

    sync = conductor.power_sync.run()
    assert (sync.owned, sync.checked, sync.errors) == (6, 4, 2), sync
    sensors = conductor.sensors.run()
    assert (sensors.owned, sensors.read, sensors.errors) == (6, 2, 2), sensors
    samples = scrape(client)

    # --- the database ---------------------------------------------------------------------------
    with db.read() as conn:
        node_rows = conn.execute(
            sa.select(nodes.c.provision_state, nodes.c.power_state, nodes.c.maintenance)
        ).all()
        job_rows = conn.execute(sa.select(jobs.c.kind, jobs.c.state)).all()
        last = (
            sa.select(sensor_readings.c.node_id, sa.func.max(sensor_readings.c.read_at).label("at"))
            .group_by(sensor_readings.c.node_id)
            .subquery()
        )
        reading_rows = conn.execute(
            sa.select(
                nodes.c.name,
                sensor_readings.c.name,
                sensor_readings.c.kind,
                sensor_readings.c.unit,
                sensor_readings.c.value,
            )
            .join(nodes, nodes.c.id == sensor_readings.c.node_id)
            .join(
                last,
                sa.and_(
                    last.c.node_id == sensor_readings.c.node_id,
                    last.c.at == sensor_readings.c.read_at,
                ),
            )
            .where(sensor_readings.c.value.is_not(None))
        ).all()
        alarm_rows = conn.execute(
            sa.select(alarms.c.rule, alarms.c.severity, alarms.c.state).where(
                alarms.c.state.in_(["firing", "acknowledged"])
            )
        ).all()
        cycles = mon_db.last_cycles(conn)

    # nodes by provision and power state
    want_nodes = Counter((p, w or "none", "true" if m else "false") for p, w, m in node_rows)
    got_nodes = of(samples, "ironworks_nodes", "provision_state", "power_state", "maintenance")
    assert got_nodes == want_nodes and sum(got_nodes.values()) == 7
    assert got_nodes[("available", "power off", "false")] == 1  # fake1, provided
    # jobs by kind and state, a failed one among them
    got_jobs = of(samples, "ironworks_jobs", "kind", "state")
    assert got_jobs == Counter(job_rows)
    assert got_jobs[("power", "failed")] == 1 and got_jobs[("power", "done")] == 2
    # sensor readings: the last cycle's of the two BMCs that answered
    got_readings = of(samples, "ironworks_sensor_reading", "node", "sensor", "kind", "unit")
    assert got_readings == {(n, s, k, u): v for n, s, k, u, v in reading_rows}
    assert {n for n, *_ in got_readings} == {"on", "off"} and len(got_readings) >= 4
    # open alarms: the dead BMC and the refusing one are unreachable (unreachable_after = 1)
    got_alarms = of(samples, "ironworks_alarms", "rule", "severity", "state")
    assert got_alarms == Counter(alarm_rows)
    assert got_alarms[("bmc_unreachable", "critical", "firing")] == 2
    # each cycle's duration, nodes and BMC errors by kind, as the conductor recorded them
    by_cycle = {c["cycle"]: c for c in cycles}
    assert set(by_cycle) == {"sensors", "power_sync"}
    assert {c["conductor"] for c in cycles} == {HOST}
    for cycle, metric, report in (
        ("power_sync", "ironworks_power_sync_cycle_seconds", sync),
        ("sensors", "ironworks_sensor_cycle_seconds", sensors),
    ):
        row = by_cycle[cycle]
        assert (row["seconds"], row["owned"], row["errors"]) == (
            report.seconds,
            report.owned,
            report.errors,
        )
        assert of(samples, metric, "conductor") == {(HOST,): row["seconds"]}
        assert row["seconds"] >= 2  # the dead BMC's timeout was waited for, once
        assert (
            of(samples, "ironworks_cycle_nodes", "cycle", "conductor")[cycle, HOST]
            == (row["owned"])
        )
        assert row["errors_by_kind"] == report.error_kinds
    got_errors = of(samples, "ironworks_bmc_errors", "cycle", "kind", "conductor")
    assert got_errors == {
        (c["cycle"], kind, c["conductor"]): n
        for c in cycles
        for kind, n in c["errors_by_kind"].items()
    }
    assert got_errors == {
        ("power_sync", "bmc-unreachable", HOST): 1,
        ("power_sync", "bmc-auth-failed", HOST): 1,
        ("sensors", "bmc-unreachable", HOST): 1,
        ("sensors", "bmc-auth-failed", HOST): 1,
    }
    # API latency by route template: the three power requests under one label, no raw names
    got_counts = of(samples, "ironworks_api_request_duration_seconds_count", "route", "method")
    assert got_counts[("/v1/nodes/{ident}/states/power", "PUT")] == 3
    assert got_counts[("/v1/nodes/{ident}/states/provision", "PUT")] == 5
    assert not any("fake" in route or "dead" in route for route, _ in got_counts)

    # a second sync after the BMC is fixed: its errors of that kind are gone, not kept
    port = next(s.port for s in fleet.specs if s.name == "on")
    r = client.patch(
        "/v1/nodes/dead",
        json=[{"op": "replace", "path": "/driver_info/ipmi_port", "value": port}],
    )
    assert r.status_code == 200, r.text
    assert conductor.power_sync.run().error_kinds == {"bmc-auth-failed": 1}
    got_errors = of(scrape(client), "ironworks_bmc_errors", "cycle", "kind", "conductor")
    assert got_errors[("power_sync", "bmc-auth-failed", HOST)] == 1
    assert ("power_sync", "bmc-unreachable", HOST) not in got_errors

    # a conductor marked offline (stopped, or found silent) drops out of the figures
    with db.write() as conn:
        conductor_db.claim_name(
            conn, "gone", group="", incarnation="x", drivers=[], heard_after=utcnow()
        )
        mon_db.record_cycle(conn, "gone", "power_sync", utcnow(), 1.5, 3, {"bmc-unreachable": 3})
        conductor_db.mark_offline(conn, "gone")
    got = scrape(client)
    assert {c for (c,) in of(got, "ironworks_power_sync_cycle_seconds", "conductor")} == {HOST}
    assert {c for *_, c in of(got, "ironworks_bmc_errors", "cycle", "kind", "conductor")} == {HOST}
    with db.write() as conn:
        conductor_db.claim_name(
            conn, "gone", group="", incarnation="y", drivers=[], heard_after=utcnow()
        )
    back = of(scrape(client), "ironworks_bmc_errors", "cycle", "kind", "conductor")
    assert back[("power_sync", "bmc-unreachable", "gone")] == 3
