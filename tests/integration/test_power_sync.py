"""The power sync against emulated BMCs over real RMCP+/UDP on 127.0.0.1.

First the bulk reader (`drivers/ipmi_poll.py`) on its own: answers, kept sessions, the errors an
operator reads, cipher suites, a session the BMC forgot. Then the conductor's sync
(`conductor/power_sync.py`) on nodes enrolled through the API: out-of-band changes recorded in
the history or forced back by a power job, silent BMCs put in maintenance for "power failure"
and taken out when they answer again, nodes under an operator's hand left alone.

The sync is run by calling it (`power_sync_interval` 0 turns the periodic thread off), so each
test sees exactly one cycle at a time. SQLite only: the API tests cover both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from ironworks.common.errors import BMCAuthFailed, BMCUnreachable, DriverError
from ironworks.db.schema import audit_events, nodes
from tests.conftest import make_settings, wait_for
from tests.integration.test_ipmi import free_udp_ports

if TYPE_CHECKING:
    from ironworks.drivers.ipmi_poll import Poller
    from ironworks.lab.fleet import Fleet

pytest.importorskip("pyghmi", reason="the emulated BMCs need pyghmi")

USER, PASSWORD = "admin", "s3cret"
NAMES = [
    "on",
    "off",
    "badpass",
    "dead",
    "suite",
    "forgot",
    "drift",
    "force",
    "keepoff",
    "silent",
    "locked",
]


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    from ironworks.lab.fleet import Fleet
    from ironworks.lab.spec import BmcSpec

    specs = []
    for name, port in zip(NAMES, free_udp_ports(len(NAMES)), strict=True):
        spec = BmcSpec(
            name=name,
            address="127.0.0.1",
            port=port,
            username=USER,
            password=PASSWORD,
            power_delay=0.2,
            shutdown_delay=0.3,
        )
        if name == "badpass":
            spec = replace(spec, password="not-" + PASSWORD)
        if name == "dead":
            spec = replace(spec, dead=True)
        specs.append(spec)
    with Fleet(specs, shard_size=len(specs)) as f:
        yield f


def port_of(fleet: Fleet, name: str) -> int:
    return next(s.port for s in fleet.specs if s.name == name)


# --- the bulk reader -------------------------------------------------------------------------------


@pytest.fixture
def poller() -> Poller:
    from ironworks.drivers.ipmi_poll import Poller

    return Poller()  # its own sessions, so that log-in counts are this test's


def target(fleet: Fleet, name: str, **kw: Any) -> Any:
    from ironworks.drivers.ipmi_poll import Target

    kw.setdefault("timeout", 2.0)
    kw.setdefault("tries", 2)
    return Target("127.0.0.1", port_of(fleet, name), USER, PASSWORD, **kw)


def test_reads_power_and_keeps_the_session(fleet: Fleet, poller: Poller) -> None:
    fleet.force_power("on", "on")
    fleet.force_power("off", "off")
    targets = [target(fleet, "on"), target(fleet, "off")]
    assert poller.power_states(targets, 8) == ["power on", "power off"]
    logins = fleet.snapshot("on")["logins"]
    fleet.force_power("on", "off")
    assert poller.power_states(targets, 8) == ["power off", "power off"]
    assert fleet.snapshot("on")["logins"] == logins, "the second read logged in again"


def test_names_a_wrong_password_and_a_dead_bmc(fleet: Fleet, poller: Poller) -> None:
    badpass, dead, on = poller.power_states(
        [target(fleet, "badpass"), target(fleet, "dead", timeout=1.0), target(fleet, "on")], 8
    )
    assert isinstance(badpass, BMCAuthFailed)
    assert badpass.message == (
        f"BMC 127.0.0.1:{port_of(fleet, 'badpass')} rejected the credentials for user admin; "
        "fix driver_info ipmi_username and ipmi_password"
    )
    assert isinstance(dead, BMCUnreachable)
    assert dead.message.startswith(
        f"no answer from BMC 127.0.0.1:{port_of(fleet, 'dead')} within 1 s (2 tries) to a power "
        "status request"
    )
    assert on in ("power on", "power off")


def test_cipher_suite_pinned_by_driver_info(fleet: Fleet, poller: Poller) -> None:
    # The emulated BMCs speak suite 3 only (SHA1): 17 unpinned falls back, 17 pinned is refused.
    sha256, sha1, either = poller.power_states(
        [target(fleet, "suite", suite=17), target(fleet, "suite", suite=3), target(fleet, "on")], 8
    )
    assert isinstance(sha256, DriverError) and not isinstance(sha256, BMCUnreachable)
    assert "cipher suite 17" in sha256.message and "no cipher suite match" in sha256.message
    assert sha1 in ("power on", "power off") and either in ("power on", "power off")


def test_logs_in_again_when_the_bmc_forgot_the_session(fleet: Fleet, poller: Poller) -> None:
    t = target(fleet, "forgot", timeout=3.0, tries=3)
    assert poller.power_states([t], 1) == ["power off"]
    logins = fleet.snapshot("forgot")["logins"]
    # As if the BMC had dropped the session: it ignores packets for a session id it lacks.
    poller._sessions[t.key].bmc_sid ^= 0x5A5A
    fleet.force_power("forgot", "on")
    assert poller.power_states([t], 1) == ["power on"]
    assert fleet.snapshot("forgot")["logins"] == logins + 1


# --- the conductor's sync --------------------------------------------------------------------------


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ironworks.db'}"


def sync_settings(database_url: str, tmp_path: Path, **conductor: Any) -> Any:
    return make_settings(
        database_url,
        tmp_path,
        conductor={
            "hostname": "test-conductor",
            "poll_interval": 0.05,
            "periodic_interval": 3600,
            "power_sync_interval": 0,
            **conductor,
        },
    )


def enrol(client: Any, db: Any, fleet: Fleet, name: str, recorded: str, **fields: Any) -> str:
    """A manageable node whose recorded power state is `recorded`, without a manage cycle."""
    driver_info = fields.pop("driver_info", None) or {
        "ipmi_address": "127.0.0.1",
        "ipmi_port": port_of(fleet, name),
        "ipmi_username": USER,
        "ipmi_password": PASSWORD,
        "ipmi_timeout": 2,
        "ipmi_retries": 1,
    }
    r = client.post(
        "/v1/nodes",
        json={
            "name": name,
            "driver": fields.pop("driver", "ipmi"),
            "driver_info": driver_info,
            **fields,
        },
    )
    assert r.status_code == 201, r.text
    with db.write() as conn:
        conn.execute(
            sa.update(nodes)
            .where(nodes.c.name == name)
            .values(provision_state="manageable", power_state=recorded)
        )
    return r.json()["uuid"]


def history(client: Any, name: str) -> list[dict[str, Any]]:
    r = client.get(f"/v1/nodes/{name}/history", params={"detail": True})
    assert r.status_code == 200, r.text
    return r.json()["history"]


@pytest.fixture
def make_conductor(db: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    from ironworks.conductor.conductor import Conductor

    made: list[Any] = []

    def make(settings: Any, start: bool = False) -> Any:
        c = Conductor(db, settings)
        if made:  # a later one is the earlier one restarted (cmd/identity.py would say so)
            c.replaces = made[-1][0].incarnation
        (c.start if start else c.register)()
        made.append((c, start))
        return c

    yield make
    for c, started in made:
        if started:
            c.stop(wait=True)


def test_records_an_out_of_band_change(
    client: Any, db: Any, settings: Any, fleet: Fleet, make_conductor: Any
) -> None:
    fleet.force_power("drift", "off")
    enrol(client, db, fleet, "drift", "power off")
    c = make_conductor(settings)
    first = c.power_sync.run()
    assert (first.owned, first.checked, first.drift) == (1, 1, 0), first
    fleet.force_power("drift", "on")  # someone pressed the button
    report = c.power_sync.run()
    assert (report.checked, report.drift, report.forced) == (1, 1, 0), report
    assert client.get("/v1/nodes/drift").json()["power_state"] == "power on"
    event = history(client, "drift")[-1]
    assert event["severity"] == "WARNING" and event["event_type"] == "power"
    assert event["event"] == "power state changed out of band: power off -> power on"
    with db.read() as conn:
        audited = (
            conn.execute(sa.select(audit_events).where(audit_events.c.action == "node:power_sync"))
            .mappings()
            .all()
        )
    assert [(a["action"], a["target_name"], a["detail"]) for a in audited] == [
        ("node:power_sync", "drift", "power state changed out of band: power off -> power on")
    ]


def test_force_policy_powers_the_node_back(
    client: Any, db: Any, database_url: str, tmp_path: Path, fleet: Fleet, make_conductor: Any
) -> None:
    fleet.force_power("force", "on")
    fleet.force_power("keepoff", "on")
    enrol(client, db, fleet, "force", "power off")
    enrol(client, db, fleet, "keepoff", "power off", disable_power_off=True)
    c = make_conductor(sync_settings(database_url, tmp_path, power_sync_policy="force"), start=True)
    report = c.power_sync.run()
    assert (report.drift, report.forced) == (2, 1), report
    wait_for(lambda: fleet.snapshot("force")["power"] == "off", timeout=15)
    node = wait_for(
        lambda: (n := client.get("/v1/nodes/force").json())["target_power_state"] is None and n,
        timeout=15,
    )
    assert node["power_state"] == "power off" and not node["last_error"], node
    events = [e["event"] for e in history(client, "force")][-2:]
    assert events == [
        "power state changed out of band: power off -> power on; forcing it back to power off "
        "(power_sync_policy = force)",
        "power off: power off -> power off",
    ]
    # `force` never turns off a disable_power_off node: that drift is recorded instead
    keepoff = client.get("/v1/nodes/keepoff").json()
    assert keepoff["power_state"] == "power on" and fleet.snapshot("keepoff")["power"] == "on"


def test_silent_bmc_goes_to_maintenance_and_back(
    client: Any, db: Any, database_url: str, tmp_path: Path, fleet: Fleet, make_conductor: Any
) -> None:
    enrol(
        client,
        db,
        fleet,
        "silent",
        "power off",
        driver="fake-hardware",
        driver_info={"fake_power_fail": "the BMC is out to lunch"},
    )
    enrol(client, db, fleet, "dead", "power off")
    c = make_conductor(sync_settings(database_url, tmp_path, power_sync_max_failures=2))
    first = c.power_sync.run()
    assert (first.owned, first.errors, first.to_maintenance) == (2, 2, 0), first
    second = c.power_sync.run()
    assert second.to_maintenance == 2, second
    node = client.get("/v1/nodes/silent").json()
    assert node["maintenance"] and node["fault"] == "power failure" and node["power_state"] is None
    assert node["maintenance_reason"] == (
        "power sync failed 2 times in a row: the BMC is out to lunch (injected by driver_info "
        "fake_power_fail)"
    )
    dead = client.get("/v1/nodes/dead").json()
    assert dead["maintenance_reason"].startswith(
        f"power sync failed 2 times in a row: no answer from BMC 127.0.0.1:{port_of(fleet, 'dead')}"
    )
    r = client.patch(
        "/v1/nodes/silent", json=[{"op": "remove", "path": "/driver_info/fake_power_fail"}]
    )
    assert r.status_code == 200, r.text
    third = c.power_sync.run()
    assert (third.recovered, third.errors) == (1, 1), third
    node = client.get("/v1/nodes/silent").json()
    assert not node["maintenance"] and node["fault"] is None and node["power_state"] == "power off"
    assert history(client, "silent")[-1]["event"] == (
        "the BMC answers again (power off); maintenance for 'power failure' cleared"
    )


def test_leaves_nodes_under_an_operators_hand_alone(
    client: Any, db: Any, settings: Any, fleet: Fleet, make_conductor: Any
) -> None:
    enrol(client, db, fleet, "locked", "power off")
    enrol(client, db, fleet, "on", "power off")
    with db.write() as conn:
        conn.execute(
            sa.update(nodes).where(nodes.c.name == "locked").values(reservation="elsewhere")
        )
        conn.execute(sa.update(nodes).where(nodes.c.name == "on").values(maintenance=True))
    c = make_conductor(settings)
    assert c.power_sync.run().owned == 0
