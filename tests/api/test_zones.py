"""`GET /api/v1/availability-zones`: the zones nodes are in, with node counts by architecture
and provision state, for every logged-in user. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ironworks.db.schema import nodes
from ironworks.domain.policy import Role
from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, add_user, bearer, log_in


def test_every_user_lists_the_zones_with_node_counts(secure: Any) -> None:
    c, svc = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    for az, arch in (
        ("rack-a", "x86_64"),
        ("rack-a", "x86_64"),
        ("rack-a", "aarch64"),
        ("rack-b", "aarch64"),
        (None, "x86_64"),
        (None, None),
    ):
        props = {k: v for k, v in (("availability_zone", az), ("cpu_arch", arch)) if v}
        r = c.post(
            "/v1/nodes", json={"driver": "fake-hardware", "properties": props}, headers=admin
        )
        assert r.status_code == 201, r.text
    with svc.db.write() as conn:  # one node of rack-a is available for hosts
        first = conn.execute(sa.select(sa.func.min(nodes.c.id))).scalar_one()
        conn.execute(
            sa.update(nodes).where(nodes.c.id == first).values(provision_state="available")
        )
    add_user(svc, "mallory", Role.MEMBER)
    r = c.get("/api/v1/availability-zones", headers=bearer(log_in(c, "mallory", PASSWORD)))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "availability_zones": [
            {
                "name": "default",
                "nodes": 2,
                "architectures": {"unknown": 1, "x86_64": 1},
                "provision_states": {"enroll": 2},
            },
            {
                "name": "rack-a",
                "nodes": 3,
                "architectures": {"aarch64": 1, "x86_64": 2},
                "provision_states": {"available": 1, "enroll": 2},
            },
            {
                "name": "rack-b",
                "nodes": 1,
                "architectures": {"aarch64": 1},
                "provision_states": {"enroll": 1},
            },
        ]
    }
    assert c.get("/api/v1/availability-zones").status_code == 401


def test_the_default_zone_is_listed_with_no_nodes(secure: Any) -> None:
    c, _ = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    r = c.get("/api/v1/availability-zones", headers=admin)
    assert r.json() == {
        "availability_zones": [
            {"name": "default", "nodes": 0, "architectures": {}, "provision_states": {}}
        ]
    }
