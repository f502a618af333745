"""Usage metering and prices (#13): hosts of two flavors run for measured intervals, on SQLite and
PostgreSQL, with a conductor and fake hardware.

Time is a clock the code takes as a dependency (`Services.clock`, `Conductor(clock=...)`): the
test moves it, never sleeps for it. Halfway, the API and the conductor are replaced by new ones
on the same database (a restart): the figures must not move.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from ironworks.api.app import create_app
from ironworks.common.settings import Settings
from ironworks.conductor.conductor import Conductor
from ironworks.db import migrate
from ironworks.db import usage as usage_db
from ironworks.db.engine import Database
from ironworks.db.schema import nodes
from ironworks.services import auth
from ironworks.services.context import Services
from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, bearer, log_in
from tests.api.test_hosts import ARM, X86, add_nodes, tenants, wait_status
from tests.conftest import make_settings, wait_for

T0 = datetime(2026, 3, 1, 0, 0, 0, tzinfo=UTC)


@dataclass
class Clock:
    """The "now" of the services and the conductor; moved by the test."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def at(**kw: float) -> str:
    return (T0 + timedelta(**kw)).isoformat()


@dataclass
class Cloud:
    """One API and one conductor on the database; `restart` replaces both."""

    settings: Settings
    clock: Clock
    c: Any = None
    svc: Services | None = None
    conductor: Conductor | None = None
    who: dict[str, dict[str, str]] = field(default_factory=dict)
    _client: Any = None

    def start(self) -> None:
        db = Database(self.settings.effective_database_url)
        self.svc = Services(db=db, settings=self.settings, clock=self.clock)
        self._client = TestClient(create_app(self.svc), base_url="http://testserver")
        self.c = self._client.__enter__()
        self.c.headers["X-OpenStack-Ironic-API-Version"] = "latest"
        self.conductor = Conductor(db, self.settings, clock=self.clock)
        self.conductor.start()

    def stop(self) -> None:
        assert self.conductor is not None and self.svc is not None
        self.conductor.stop(wait=True)
        self._client.__exit__(None, None, None)
        self.svc.db.dispose()

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def cloud(database_url: str, tmp_path: Path) -> Iterator[Cloud]:
    """d1/p1 with alice (member) and dora (d1's admin), d2/p2 with carol; flavors bm.x86
    (public) and bm.arm (p2's); nodes for both."""
    settings = make_settings(
        database_url,
        tmp_path,
        auth={"noauth": False, "admin_password": ADMIN_PASSWORD},
        conductor={"hostname": "t", "poll_interval": 0.05, "periodic_interval": 3600},
        images={"tenant_url_hosts": ["images"]},
    )
    db = Database(settings.effective_database_url)
    migrate.upgrade(db)
    assert auth.bootstrap_admin(Services(db=db, settings=settings)) is None
    db.dispose()
    cloud = Cloud(settings, Clock())
    cloud.start()
    c = cloud.c
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    tenants(c, admin)
    r = c.post("/api/v1/users", json={"name": "dora", "password": PASSWORD}, headers=admin)
    assert r.status_code == 201, r.text
    r = c.put("/api/v1/departments/d1/admins/dora", json={}, headers=admin)
    assert r.status_code in (200, 204), r.text
    assert cloud.svc is not None
    add_nodes(c, cloud.svc, admin, 1, X86)
    add_nodes(c, cloud.svc, admin, 1, ARM, prefix="arm")
    cloud.who = {
        "admin": admin,
        **{n: bearer(log_in(c, n, PASSWORD)) for n in ("alice", "carol", "dora")},
    }
    try:
        yield cloud
    finally:
        cloud.stop()


def report(cloud: Cloud, who: str, **params: str) -> dict[str, Any]:
    r = cloud.c.get("/api/v1/usage", params=params, headers=cloud.who[who])
    assert r.status_code == 200, r.text
    return r.json()


def set_price(cloud: Cloud, flavor: str, price: str, **kw: str) -> httpx.Response:
    body = {"flavor": flavor, "price": price, "currency": "CNY", **kw}
    return cloud.c.post("/api/v1/billing/prices", json=body, headers=cloud.who["admin"])


def power(cloud: Cloud, who: str, name: str, action: str, status: str) -> None:
    r = cloud.c.post(f"/api/v1/hosts/{name}/{action}", headers=cloud.who[who])
    assert r.status_code == 202, r.text
    node = wait_status(cloud.c, cloud.who[who], name, status)["node_uuid"]
    admin = cloud.who["admin"]  # and the power job is over: the next request is not refused
    wait_for(
        lambda: cloud.c.get(f"/v1/nodes/{node}", headers=admin).json()["target_power_state"] is None
    )


def test_two_flavors_measured_intervals_exact_cost_across_a_restart(cloud: Cloud) -> None:
    c, clock = cloud.c, cloud.clock
    assert set_price(cloud, "bm.x86", "1.20").status_code == 201
    assert set_price(cloud, "bm.arm", "3.456").status_code == 201
    # T0: web (bm.x86, p1) and big (bm.arm, p2) are created
    for who, body in (
        ("alice", {"name": "web", "flavor": "bm.x86"}),
        ("carol", {"name": "big", "flavor": "bm.arm"}),
    ):
        r = c.post(
            "/api/v1/hosts",
            json={**body, "image": "http://images/os.qcow2"},
            headers=cloud.who[who],
        )
        assert r.status_code == 202, r.text
    wait_status(c, cloud.who["alice"], "web", "active")
    wait_status(c, cloud.who["carol"], "big", "active")
    clock.advance(hours=2, minutes=30)
    power(cloud, "alice", "web", "stop", "stopped")  # 2:30, web stops accruing
    clock.advance(hours=1)
    power(cloud, "alice", "web", "stop", "stopped")  # a stop of a stopped host: no boundary
    power(cloud, "alice", "web", "start", "active")  # 3:30, web accrues again
    power(cloud, "alice", "web", "reboot", "active")  # no boundary
    # bm.x86 costs 2.00 from 4:00 (set at 3:30, in advance)
    assert set_price(cloud, "bm.x86", "2.00", effective_from=at(hours=4)).status_code == 201
    before = report(cloud, "admin", start=at(), end=at(hours=3, minutes=30))

    cloud.restart()  # a new API and conductor on the same database, the clock unchanged

    assert report(cloud, "admin", start=at(), end=at(hours=3, minutes=30)) == before
    c = cloud.c
    clock.advance(hours=1)
    r = c.post("/api/v1/hosts/web/rebuild", json={}, headers=cloud.who["alice"])
    assert r.status_code == 202, r.text  # 4:30, a boundary: closes one record, opens the next
    wait_status(c, cloud.who["alice"], "web", "active")
    clock.advance(minutes=30)
    assert c.delete("/api/v1/hosts/web", headers=cloud.who["alice"]).status_code == 202  # 5:00
    wait_for(lambda: c.get("/api/v1/hosts/web", headers=cloud.who["admin"]).status_code == 404)
    clock.advance(hours=1)  # 6:00; big still runs

    # the records, as written by each request
    assert cloud.svc is not None
    with cloud.svc.db.read() as conn:
        web = next(r for r in usage_db.overlapping(conn, T0, clock.now) if r["host_name"] == "web")
        rows = usage_db.records_of(conn, web["host_uuid"])
    assert [
        (r["started_by"], r["ended_by"], _utc(r["started_at"]), _utc(r["ended_at"])) for r in rows
    ] == [
        ("create", "stop", T0, T0 + timedelta(hours=2, minutes=30)),
        (
            "start",
            "rebuild",
            T0 + timedelta(hours=3, minutes=30),
            T0 + timedelta(hours=4, minutes=30),
        ),
        ("rebuild", "delete", T0 + timedelta(hours=4, minutes=30), T0 + timedelta(hours=5)),
    ]

    # web: 2.5 h at 1.20 + 0.5 h at 1.20 + 1 h at 2.00 = 5.60; big: 6 h at 3.456 = 20.736 -> 20.74
    full = report(cloud, "admin", start=at(), end=at(hours=8))
    assert full["end"].startswith("2026-03-01T08:00:00")
    lines = {h["host"]: h for h in full["hosts"]}
    assert lines["web"] | {"host_uuid": "-"} == {
        "host": "web",
        "host_uuid": "-",
        "project": "p1",
        "department": "d1",
        "flavor": "bm.x86",
        "seconds": 4 * 3600,
        "hours": "4.0000",
        "currency": "CNY",
        "cost": "5.60",
    }
    assert (lines["big"]["seconds"], lines["big"]["hours"], lines["big"]["cost"]) == (
        6 * 3600,
        "6.0000",
        "20.74",
    )
    assert full["flavors"] == [
        {"flavor": "bm.arm", "hosts": 1, "seconds": 21600, "hours": "6.0000", "currency": "CNY",
         "cost": "20.74"},
        {"flavor": "bm.x86", "hosts": 1, "seconds": 14400, "hours": "4.0000", "currency": "CNY",
         "cost": "5.60"},
    ]  # fmt: skip
    assert full["totals"] == [
        {"currency": "CNY", "seconds": 36000, "hours": "10.0000", "cost": "26.34"}
    ]
    # a period cuts the intervals: 2:00-4:00 holds 0:30 + 0:30 of web, at 1.20
    part = report(cloud, "alice", project="p1", start=at(hours=2), end=at(hours=4))
    assert [(h["host"], h["seconds"], h["cost"]) for h in part["hosts"]] == [("web", 3600, "1.20")]
    # 20 minutes of big: 1/3 h x 3.456 = 1.152 -> 1.15; hours to four places
    odd = report(cloud, "carol", start=at(hours=1), end=at(hours=1, minutes=20))
    assert [(h["hours"], h["cost"]) for h in odd["hosts"]] == [("0.3333", "1.15")]

    # scope: each sees their own
    assert [h["host"] for h in report(cloud, "alice", start=at())["hosts"]] == ["web"]
    assert [h["host"] for h in report(cloud, "carol", start=at())["hosts"]] == ["big"]
    assert [h["host"] for h in report(cloud, "dora", start=at(), department="d1")["hosts"]] == [
        "web"
    ]
    assert [h["host"] for h in report(cloud, "admin", start=at(), department="d2")["hosts"]] == [
        "big"
    ]
    for who, params in (
        ("carol", {"project": "p1"}),
        ("alice", {"department": "d1"}),  # a department's report is for its admins
        ("dora", {"department": "d2"}),
    ):
        r = c.get("/api/v1/usage", params={"start": at(), **params}, headers=cloud.who[who])
        assert r.status_code == 404, (who, params, r.text)

    # exports: the same lines, the numbers as numbers
    params = {"start": at(), "end": at(hours=8)}
    r = c.get("/api/v1/usage/export", params=params, headers=cloud.who["admin"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["host"], x["hours"], x["cost"], x["currency"]) for x in rows] == [
        ("web", "4.0000", "5.60", "CNY"),
        ("big", "6.0000", "20.74", "CNY"),
    ]
    r = c.get(
        "/api/v1/usage/export", params={**params, "format": "xlsx"}, headers=cloud.who["carol"]
    )
    assert r.status_code == 200, r.text
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    got = list(sheet.iter_rows(values_only=True))
    assert got[0][:9] == (
        "project", "department", "host", "host_uuid", "flavor", "seconds", "hours", "currency",
        "cost",
    )  # fmt: skip
    assert len(got) == 2 and got[1][2] == "big" and str(got[1][8]) == "20.74"


def _utc(ts: datetime | None) -> datetime | None:
    return None if ts is None else (ts if ts.tzinfo else ts.replace(tzinfo=UTC))


def test_prices_history_validation_and_scope(cloud: Cloud) -> None:
    c, clock = cloud.c, cloud.clock
    r = set_price(cloud, "bm.x86", "1.5")
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["price"] == "1.5" and first["unit"] == "hour" and first["in_force"]
    assert first["effective_from"].startswith("2026-03-01T00:00:00")
    later = set_price(cloud, "bm.x86", "1.75", effective_from=at(days=1)).json()
    assert not later["in_force"]
    # a second price at the same instant, a past instant, bad numbers: 4xx naming the field
    assert set_price(cloud, "bm.x86", "9").status_code == 409
    for body, fld in (
        ({"effective_from": at(seconds=-1)}, "effective_from"),
        ({"effective_from": "9999-12-31T23:59:59-05:00"}, "effective_from"),
        ({"price": "-1"}, "price"),
        ({"price": "1.0000001"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"price": 1.5}, "price"),  # a float is refused: money is sent as text
        ({"currency": "yuan"}, "currency"),
        ({"unit": "month"}, "unit"),
        ({"colour": "red"}, "colour"),
    ):
        r = c.post(
            "/api/v1/billing/prices",
            json={"flavor": "bm.x86", "price": "1", "currency": "CNY", **body},
            headers=cloud.who["admin"],
        )
        assert r.status_code == 400, (body, r.text)
        assert fld in r.json()["detail"] or r.json().get("field") == fld, (body, r.json())
    r = c.post(
        "/api/v1/billing/prices",
        json={"flavor": "nope", "price": "1", "currency": "CNY"},
        headers=cloud.who["admin"],
    )
    assert r.status_code == 404
    # only the cloud admin sets prices
    for who in ("alice", "dora"):
        r = c.post(
            "/api/v1/billing/prices",
            json={"flavor": "bm.x86", "price": "1", "currency": "CNY"},
            headers=cloud.who[who],
        )
        assert r.status_code == 403, r.text
    assert set_price(cloud, "bm.arm", "3").status_code == 201
    # a day later the scheduled price is the one in force; the history stays
    clock.advance(days=1)
    listed = c.get(
        "/api/v1/billing/prices", params={"flavor": "bm.x86"}, headers=cloud.who["admin"]
    )
    assert [(p["price"], p["in_force"]) for p in listed.json()["prices"]] == [
        ("1.5", False),
        ("1.75", True),
    ]
    # alice's project may not use bm.arm: she sees bm.x86's prices only; carol sees both
    mine = c.get("/api/v1/billing/prices", headers=cloud.who["alice"]).json()["prices"]
    assert {p["flavor"] for p in mine} == {"bm.x86"}
    theirs = c.get("/api/v1/billing/prices", headers=cloud.who["carol"]).json()["prices"]
    assert {p["flavor"] for p in theirs} == {"bm.x86", "bm.arm"}
    # the report's period and parameters
    for params, fld in (
        ({}, "start"),
        ({"start": at(hours=2), "end": at(hours=1)}, "end"),
        ({"start": "yesterday"}, "start"),
        ({"start": at(), "flavor": "x"}, "flavor"),
        ({"start": "9999-12-31T23:59:59-05:00"}, "start"),
        ({"start": at(), "end": "9999-12-31T23:59:59-05:00"}, "end"),
    ):
        r = c.get("/api/v1/usage", params=params, headers=cloud.who["admin"])
        assert r.status_code == 400, (params, r.text)
        assert fld in r.json()["detail"], (params, r.json())


def test_a_tear_down_through_the_node_api_ends_the_hosts_usage(cloud: Cloud) -> None:
    """The cloud admin undeploys a host's node through Ironic's API, not the host's delete: the
    conductor drops the host and closes its record at its clock's now, in that transaction."""
    c, clock, admin = cloud.c, cloud.clock, cloud.who["admin"]
    r = c.post(
        "/api/v1/hosts",
        json={"name": "big", "flavor": "bm.arm", "image": "http://images/os.qcow2"},
        headers=cloud.who["carol"],
    )
    assert r.status_code == 202, r.text
    node = wait_status(c, cloud.who["carol"], "big", "active")["node_uuid"]
    clock.advance(minutes=90)
    r = c.put(f"/v1/nodes/{node}/states/provision", json={"target": "deleted"}, headers=admin)
    assert r.status_code == 202, r.text
    wait_for(lambda: c.get("/api/v1/hosts/big", headers=admin).status_code == 404)
    clock.advance(hours=5)
    found = report(cloud, "carol", start=at())
    assert [(h["host"], h["seconds"], h["currency"], h["cost"]) for h in found["hosts"]] == [
        ("big", 5400, None, None)  # no price was ever set: counted, not costed
    ]
    assert found["totals"] == []


def test_the_billing_routes_are_typed(cloud: Cloud) -> None:
    doc = cloud.c.get("/openapi.json").json()
    ops = {
        op["operationId"]: op
        for path, item in doc["paths"].items()
        if path.startswith(("/api/v1/billing", "/api/v1/usage"))
        for op in item.values()
    }
    assert sorted(ops) == ["export_usage", "list_prices", "set_price", "usage_report"]
    body = ops["set_price"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/PriceSet"}
    assert doc["components"]["schemas"]["PriceSet"]["additionalProperties"] is False
    for name in ("set_price", "list_prices", "usage_report"):
        answer = next(a for s, a in ops[name]["responses"].items() if s.startswith("2"))
        assert "$ref" in answer["content"]["application/json"]["schema"], name
    assert set(ops["export_usage"]["responses"]["200"]["content"]) == {
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }


def test_a_refused_request_writes_no_record(cloud: Cloud) -> None:
    """The record is written in the request's transaction: a start the node refuses (a power
    change already under way) leaves the stopped host without an open record."""
    c, clock, alice = cloud.c, cloud.clock, cloud.who["alice"]
    r = c.post(
        "/api/v1/hosts",
        json={"name": "web", "flavor": "bm.x86", "image": "http://images/os.qcow2"},
        headers=alice,
    )
    assert r.status_code == 202, r.text
    wait_status(c, alice, "web", "active")
    clock.advance(hours=1)
    power(cloud, "alice", "web", "stop", "stopped")
    node = c.get("/api/v1/hosts/web", headers=alice).json()["node_uuid"]
    assert cloud.svc is not None
    with cloud.svc.db.write() as conn:
        conn.execute(
            sa.update(nodes).where(nodes.c.uuid == node).values(target_power_state="power on")
        )
    clock.advance(hours=1)
    r = c.post("/api/v1/hosts/web/start", headers=alice)
    assert r.status_code == 409, r.text
    clock.advance(hours=1)
    found = report(cloud, "alice", start=at())
    assert [(h["host"], h["seconds"]) for h in found["hosts"]] == [("web", 3600)]
