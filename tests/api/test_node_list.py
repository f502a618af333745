"""`GET /api/v1/nodes`: the console's node list, filtered (name, states, architecture, zone,
maintenance), sorted and paged in SQL; cloud admins only (node:read). Runs on SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from ironworks.db.schema import nodes
from ironworks.domain.policy import Role
from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, add_user, bearer, log_in

# name, cpu_arch, zone, provision_state, power_state, maintenance
NODES = (
    ("rack1-n01", "x86_64", "rack-a", "available", "power off", False),
    ("rack1-n02", "x86_64", "rack-a", "active", "power on", False),
    ("RACK1-n03", "aarch64", "rack-b", "available", "power on", True),
    ("edge_n04", "aarch64", None, "manageable", None, False),
    ("edge~n05", None, None, "enroll", None, False),
)


def _enrol(c: httpx.Client, svc: Any, headers: dict[str, str]) -> None:
    for name, arch, az, state, power, maint in NODES:
        props = {k: v for k, v in (("availability_zone", az), ("cpu_arch", arch)) if v}
        r = c.post(
            "/v1/nodes",
            json={"name": name, "driver": "fake-hardware", "properties": props},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        with svc.db.write() as conn:
            conn.execute(
                sa.update(nodes)
                .where(nodes.c.name == name)
                .values(provision_state=state, power_state=power, maintenance=maint)
            )


def _names(c: httpx.Client, headers: dict[str, str], **params: Any) -> list[str]:
    r = c.get("/api/v1/nodes", params={"sort_key": "name", **params}, headers=headers)
    assert r.status_code == 200, r.text
    return [n["name"] for n in r.json()["nodes"]]


def test_filters_run_on_the_server(secure: Any) -> None:
    c, svc = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    _enrol(c, svc, admin)
    assert _names(c, admin) == ["RACK1-n03", "edge_n04", "edge~n05", "rack1-n01", "rack1-n02"]
    assert _names(c, admin, name="rack1") == ["RACK1-n03", "rack1-n01", "rack1-n02"]
    # LIKE's wildcards are plain characters in the search
    assert _names(c, admin, name="_") == ["edge_n04"]
    assert _names(c, admin, name="%") == []
    assert _names(c, admin, provision_state="available") == ["RACK1-n03", "rack1-n01"]
    assert _names(c, admin, power_state="power on") == ["RACK1-n03", "rack1-n02"]
    assert _names(c, admin, cpu_arch="aarch64") == ["RACK1-n03", "edge_n04"]
    assert _names(c, admin, availability_zone="rack-a") == ["rack1-n01", "rack1-n02"]
    # the default zone holds the nodes that name none
    assert _names(c, admin, availability_zone="default") == ["edge_n04", "edge~n05"]
    assert _names(c, admin, maintenance="true") == ["RACK1-n03"]
    assert _names(c, admin, maintenance="false", cpu_arch="x86_64", power_state="power on") == [
        "rack1-n02"
    ]
    row = c.get("/api/v1/nodes", params={"name": "n04"}, headers=admin).json()["nodes"][0]
    assert row["availability_zone"] == "default"
    assert row["cpu_arch"] == "aarch64"
    assert row["provision_state"] == "manageable"
    assert row["power_state"] is None
    assert set(row) >= {"uuid", "target_provision_state", "target_power_state", "instance_uuid"}


def test_pages_follow_the_marker_in_either_direction(secure: Any) -> None:
    c, svc = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    _enrol(c, svc, admin)
    for sort_dir in ("asc", "desc"):
        seen: list[str] = []
        params: dict[str, Any] = {"limit": 2, "sort_key": "name", "sort_dir": sort_dir}
        while True:
            r = c.get("/api/v1/nodes", params=params, headers=admin)
            assert r.status_code == 200, r.text
            body = r.json()
            seen += [n["name"] for n in body["nodes"]]
            if not body.get("next_marker"):
                break
            params["marker"] = body["next_marker"]
        expected = sorted(n[0] for n in NODES)
        assert seen == (expected if sort_dir == "asc" else expected[::-1])
    # a filtered list pages too
    first = c.get(
        "/api/v1/nodes", params={"limit": 1, "name": "rack1", "sort_key": "name"}, headers=admin
    ).json()
    assert [n["name"] for n in first["nodes"]] == ["RACK1-n03"]
    rest = _names(c, admin, name="rack1", marker=first["next_marker"])
    assert rest == ["rack1-n01", "rack1-n02"]


def test_bad_parameters_are_refused_by_name(secure: Any) -> None:
    c, _ = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    for params, field in (
        ({"provision_state": "sleeping"}, "provision_state"),
        ({"power_state": "on"}, "power_state"),
        ({"maintenance": "perhaps"}, "maintenance"),
        ({"sort_key": "driver_info"}, "sort_key"),
        ({"limit": 0}, "limit"),
        ({"owner": "x"}, "owner"),
        ({"marker": "not-a-node"}, "marker"),
    ):
        r = c.get("/api/v1/nodes", params=params, headers=admin)
        assert r.status_code == 400, (params, r.text)
        assert field in r.text, (params, r.text)


def test_members_may_not_list_nodes(secure: Any) -> None:
    c, svc = secure
    add_user(svc, "mallory", Role.MEMBER)
    r = c.get("/api/v1/nodes", headers=bearer(log_in(c, "mallory", PASSWORD)))
    assert r.status_code == 403, r.text
