"""`GET /api/v1/statistics` and `/metrics` after a scripted workload, against the database.

On SQLite and PostgreSQL: nodes in several states, architectures, zones and resource classes
enrolled through the API, hosts created by project members through /api/v1/hosts; the figures
must equal what the tables hold, counted here in Python from plain selects.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from ironworks.db.schema import hosts, jobs, nodes
from ironworks.domain.policy import Role
from tests.api.conftest import PASSWORD, add_user, bearer, log_in
from tests.api.test_hosts import ARM, X86, add_nodes, cloud, wait_status

__all__ = ["cloud"]

ROOT = Path(__file__).resolve().parents[2]


def _workload(c: Any, svc: Any, who: dict[str, dict[str, str]]) -> None:
    admin, alice, carol = who["admin"], who["alice"], who["carol"]
    add_nodes(c, svc, admin, 3, X86)
    add_nodes(c, svc, admin, 2, ARM, prefix="arm")
    add_nodes(c, svc, admin, 1, {**X86, "availability_zone": "rack2", "cpus": "24"}, prefix="z")
    r = c.post(
        "/v1/nodes",
        json={
            "name": "raw",
            "driver": "fake-hardware",
            "resource_class": "gpu",
            "properties": {"cpus": "lots"},
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text  # enrolled, no figures: counts as 0
    with svc.db.write() as conn:  # one free node in maintenance, one powered on
        conn.execute(sa.update(nodes).where(nodes.c.name == "n2").values(maintenance=True))
        conn.execute(sa.update(nodes).where(nodes.c.name == "arm1").values(power_state="power on"))
    for headers, name, flavor, count in ((alice, "web", "bm.x86", 2), (carol, "arm", "bm.arm", 1)):
        r = c.post(
            "/api/v1/hosts",
            json={
                "name": name,
                "count": count,
                "flavor": flavor,
                "image": "http://images/debian.qcow2",
            },
            headers=headers,
        )
        assert r.status_code == 202, r.text
    for headers, name in ((alice, "web-1"), (alice, "web-2"), (carol, "arm")):
        wait_status(c, headers, name, "active")


def _amount(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _expected_pool(rows: list[Any], default_zone: str) -> dict[str, Any]:
    def figures(selected: list[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("nodes", "cpus", "memory_mb", "local_gb"):

            def amount(n: Any, key: str = key) -> int:
                return 1 if key == "nodes" else _amount((n.properties or {}).get(key))

            total = sum(amount(n) for n in selected)
            allocated = sum(amount(n) for n in selected if n.instance_uuid)
            available = sum(
                amount(n)
                for n in selected
                if not n.instance_uuid and n.provision_state == "available" and not n.maintenance
            )
            out[key] = {
                "total": total,
                "allocated": allocated,
                "free": total - allocated,
                "available": available,
            }
        return out

    def grouped(key: Any) -> list[dict[str, Any]]:
        names = sorted({key(n) for n in rows})
        return [{"name": k, **figures([n for n in rows if key(n) == k])} for k in names]

    return {
        "total": figures(rows),
        "availability_zones": grouped(
            lambda n: (n.properties or {}).get("availability_zone") or default_zone
        ),
        "architectures": grouped(lambda n: (n.properties or {}).get("cpu_arch") or "unknown"),
        "resource_classes": grouped(lambda n: n.resource_class or "unknown"),
    }


def test_statistics_equal_the_database_and_are_scoped(cloud: Any) -> None:
    c, svc, who = cloud
    _workload(c, svc, who)
    r = c.get("/api/v1/statistics", headers=who["admin"])
    assert r.status_code == 200, r.text
    got = r.json()
    with svc.db.read() as conn:
        rows = list(conn.execute(sa.select(nodes)))
        host_projects = Counter(conn.execute(sa.select(hosts.c.project_id)).scalars())
    assert got["pool"] == _expected_pool(rows, svc.settings.default_availability_zone)
    total = got["pool"]["total"]
    assert total["nodes"] == {"total": 7, "allocated": 3, "free": 4, "available": 2}
    assert total["cpus"]["total"] == 3 * 32 + 2 * 64 + 24
    assert got["nodes"] == {
        "total": 7,
        "provision_states": dict(sorted(Counter(n.provision_state for n in rows).items())),
        "power_states": dict(sorted(Counter(n.power_state or "none" for n in rows).items())),
        "maintenance": sum(1 for n in rows if n.maintenance),
    }
    assert got["hosts"]["total"] == sum(host_projects.values()) == 3
    per = {
        (d["name"], p["name"]): p["hosts"]
        for d in got["hosts"]["departments"]
        for p in d["projects"]
    }
    assert per == {("d1", "p1"): 2, ("d2", "p2"): 1}
    assert [d["hosts"] for d in got["hosts"]["departments"]] == [2, 1]
    # a member sees the host counts of their own projects only; nothing of the pool
    mine = c.get("/api/v1/statistics", headers=who["alice"]).json()
    assert mine["pool"] is None and mine["nodes"] is None
    assert mine["hosts"]["total"] == 2
    assert [
        (d["name"], [p["name"] for p in d["projects"]]) for d in mine["hosts"]["departments"]
    ] == [("d1", ["p1"])]
    # a department admin of d1 sees d1's projects
    add_user(svc, "dora", None)
    add_user(svc, "dave", Role.DEPT_ADMIN)
    dave = bearer(log_in(c, "dave", PASSWORD))
    theirs = c.get("/api/v1/statistics", headers=dave).json()
    assert theirs["pool"] is None and theirs["hosts"]["total"] == 2
    # a user in no project may not look at all
    dora = bearer(log_in(c, "dora", PASSWORD))
    assert c.get("/api/v1/statistics", headers=dora).status_code == 403


def _samples(text: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(text):
        out.setdefault(family.name, []).extend(family.samples)
    return out


def test_metrics_match_the_database_and_time_the_requests(cloud: Any) -> None:
    c, svc, who = cloud
    _workload(c, svc, who)
    # only a cloud admin scrapes (unless api.metrics_public)
    assert c.get("/metrics").status_code == 401
    assert c.get("/metrics", headers=who["alice"]).status_code == 403
    before = _samples(c.get("/metrics", headers=who["admin"]).text)
    for _ in range(3):
        assert c.get("/api/v1/hosts/web-1", headers=who["alice"]).status_code == 200
    assert c.get("/api/v1/hosts/nothing", headers=who["alice"]).status_code == 404
    r = c.get("/metrics", headers=who["admin"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    samples = _samples(r.text)
    with svc.db.read() as conn:
        node_rows = conn.execute(
            sa.select(nodes.c.provision_state, nodes.c.power_state, nodes.c.maintenance)
        ).all()
        job_rows = conn.execute(sa.select(jobs.c.kind, jobs.c.state)).all()
    want_nodes = Counter((p, w or "none", "true" if m else "false") for p, w, m in node_rows)
    got_nodes = {
        (s.labels["provision_state"], s.labels["power_state"], s.labels["maintenance"]): s.value
        for s in samples["ironworks_nodes"]
    }
    assert got_nodes == want_nodes and sum(got_nodes.values()) == 7
    got_jobs = {(s.labels["kind"], s.labels["state"]): s.value for s in samples["ironworks_jobs"]}
    assert got_jobs == Counter(job_rows) and job_rows  # the deploys went through the queue

    def count(found: dict[str, list[Any]], route: str) -> float:
        return sum(
            s.value
            for s in found.get("ironworks_api_request_duration_seconds", [])
            if s.name.endswith("_count") and s.labels == {"route": route, "method": "GET"}
        )

    route = "/api/v1/hosts/{ident}"
    assert count(samples, route) - count(before, route) == 4  # the template, not the raw paths
    assert not any(
        "web-1" in s.labels.get("route", "")
        for s in samples["ironworks_api_request_duration_seconds"]
    )
    assert count(samples, "/metrics") == count(before, "/metrics") + 1 >= 2


def test_metrics_may_be_public(secure: Any) -> None:
    """With api.metrics_public a scraper needs no token; nothing else opens up."""
    from starlette.testclient import TestClient

    from ironworks.api.app import create_app
    from ironworks.services.context import Services

    _, svc = secure
    api = svc.settings.api.model_copy(update={"metrics_public": True})
    opened = Services(db=svc.db, settings=svc.settings.model_copy(update={"api": api}))
    with TestClient(create_app(opened)) as c:
        r = c.get("/metrics")
        assert r.status_code == 200 and "ironworks_nodes" in r.text
        assert c.get("/api/v1/statistics").status_code == 401


def _exprs(panel: dict[str, Any]) -> list[str]:
    return [t["expr"] for t in panel.get("targets", [])]


def test_the_grafana_dashboard_shows_what_metrics_serves(client: Any) -> None:
    """docs/grafana-ironworks.json is a dashboard Grafana imports; every query in it names a
    metric /metrics serves, every metric /metrics serves has a panel and a row in the
    operations guide's table."""
    dashboard = json.loads((ROOT / "docs" / "grafana-ironworks.json").read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    panels = dashboard["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    for p in panels:
        grid = p["gridPos"]
        assert {"x", "y", "w", "h"} <= set(grid) and grid["x"] + grid["w"] <= 24, p["title"]
        if p["type"] == "row":
            continue
        assert p["title"] and _exprs(p), p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]
        for expr in _exprs(p):
            for left, right in ("()", "{}", "[]"):
                assert expr.count(left) == expr.count(right), expr
            assert expr.count('"') % 2 == 0, expr
    assert client.get("/api/v1/hosts").status_code == 200  # a request for the histogram
    r = client.get("/metrics")
    assert r.status_code == 200, r.text
    served: dict[str, set[str]] = {}  # family → the names a query may use
    for family in text_string_to_metric_families(r.text):
        if family.name.endswith("_created"):
            continue  # prometheus-client's creation time of the histogram: nothing to chart
        names = {family.name} | {s.name for s in family.samples}
        if family.type == "histogram":
            names |= {family.name + suffix for suffix in ("_bucket", "_count", "_sum")}
        served[family.name] = names
    documented = re.findall(
        r"^\| `(ironworks_[a-z_]+)` \|", (ROOT / "docs" / "operations.md").read_text(), re.M
    )
    assert sorted(documented) == sorted(served), "docs/operations.md lists what /metrics serves"
    queries = [e for p in panels for e in _exprs(p)]
    queries += [v["query"]["query"] for v in dashboard["templating"]["list"]]
    named = {m for q in queries for m in re.findall(r"\bironworks_[a-z_]+\b", q)}
    unknown = named - set().union(*served.values())
    assert unknown == set(), f"the dashboard asks for metrics /metrics does not serve: {unknown}"
    shown = {f for f, names in served.items() if names & named}
    assert shown == set(served), f"no panel for {set(served) - shown}"
