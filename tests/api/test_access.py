"""Identity on: tokens, lockout, the permission table cell by cell, and the audit trail.

Runs on SQLite and PostgreSQL. The permission tests are generated from `domain/policy.py`:
every operation the API serves is called as each role, and the answer must be what the table
says (403 naming the operation where it says DENY, anything but 401/403 elsewhere). Operations
whose endpoints do not exist yet are listed in NOT_SERVED, and a test checks that no route maps
to them, so the list cannot go stale silently.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ironworks.api import boot
from ironworks.api.access import PUBLIC, SELF, Allow, declared, served_routes
from ironworks.api.native import images
from ironworks.db.engine import utcnow
from ironworks.db.schema import (
    audit_events,
    nodes,
    tokens,
)
from ironworks.domain import policy
from ironworks.domain.policy import Cell, Role
from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, add_user, bearer, log_in

# --- tokens ---------------------------------------------------------------------------------------


def test_calls_need_a_token(secure: Any) -> None:
    c, _ = secure
    assert c.get("/v1").status_code == 200  # version discovery stays public, as in Ironic
    r = c.get("/v1/nodes")
    assert r.status_code == 401
    assert "this call needs a token" in r.json()["error_message"]
    r = c.get("/api/v1/nodes/export")
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"].startswith("this call needs a token")
    r = c.get("/v1/nodes", headers=bearer("made-up"))
    assert r.status_code == 401 and "not valid" in r.json()["error_message"]


def test_log_in_use_and_revoke_a_token(secure: Any) -> None:
    c, _ = secure
    token = log_in(c, "admin", ADMIN_PASSWORD)
    assert c.get("/v1/nodes", headers=bearer(token)).status_code == 200
    assert c.get("/v1/nodes", headers={"X-Auth-Token": token}).status_code == 200  # OpenStack's
    me = c.get("/api/v1/auth/me", headers=bearer(token)).json()
    assert me["name"] == "admin" and me["is_admin"] and me["roles"] == ["admin"]
    assert c.delete("/api/v1/auth/tokens", headers=bearer(token)).status_code == 204
    r = c.get("/v1/nodes", headers=bearer(token))
    assert r.status_code == 401 and "revoked" in r.json()["error_message"]


def test_expired_token(secure: Any) -> None:
    c, svc = secure
    token = log_in(c, "admin", ADMIN_PASSWORD)
    with svc.db.write() as conn:
        conn.execute(sa.update(tokens).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = c.get("/v1/nodes", headers=bearer(token))
    assert r.status_code == 401 and "expired" in r.json()["error_message"]


def test_wrong_passwords_slow_that_address_down(secure: Any) -> None:
    """#15: throttled per user name and address, never a lockout (tests/api/test_sessions.py)."""
    c, _ = secure
    for _ in range(3):
        r = c.post("/api/v1/auth/tokens", json={"username": "admin", "password": "nope"})
        assert r.status_code == 401 and r.json()["detail"] == "wrong user name or password"
    r = c.post("/api/v1/auth/tokens", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 429
    assert r.json()["detail"] == "too many failed log-ins from your address; try again in 1 s"
    r = c.post("/api/v1/auth/tokens", json={"username": "nobody", "password": "x"})
    assert r.status_code == 401 and r.json()["detail"] == "wrong user name or password"


def test_application_credential(secure: Any) -> None:
    c, _ = secure
    token = log_in(c, "admin", ADMIN_PASSWORD)
    r = c.post(
        "/api/v1/auth/application-credentials", json={"name": "terraform"}, headers=bearer(token)
    )
    assert r.status_code == 201, r.text
    app_token = r.json()["token"]
    assert r.json()["expires_at"] is not None and r.json()["kind"] == "application"
    assert c.get("/v1/nodes", headers=bearer(app_token)).status_code == 200


# --- the permission table, cell by cell --------------------------------------------------------

# One call per operation the API serves today. {node} is a node made by the admin first.
CALLS: dict[str, tuple[str, str, Any]] = {
    "node:read": ("GET", "/v1/nodes/{node}", None),
    "node:create": ("POST", "/v1/nodes", {"driver": "fake-hardware"}),
    "node:update": ("PATCH", "/v1/nodes/{node}", [{"op": "add", "path": "/extra/a", "value": 1}]),
    "node:delete": ("DELETE", "/v1/nodes/{node}", None),
    "node:power": ("PUT", "/v1/nodes/{node}/states/power", {"target": "power on"}),
    "node:maintenance": ("PUT", "/v1/nodes/{node}/maintenance", {"reason": "t"}),
    "node:vmedia": (
        "POST",
        "/v1/nodes/{node}/vmedia",
        {"device_type": "cdrom", "image_url": "http://127.0.0.1:9/boot.iso"},
    ),
    "node:import": ("POST", "/api/v1/nodes/import", None),
    "node:export": ("GET", "/api/v1/nodes/export", None),
    "port:create": ("POST", "/v1/ports", {"node_uuid": "{node}", "address": "52:54:00:12:34:56"}),
    "port:update": ("PATCH", "/v1/ports/{port}", [{"op": "add", "path": "/extra/a", "value": 1}]),
    "port:delete": ("DELETE", "/v1/ports/{port}", None),
    "portgroup:create": ("POST", "/v1/portgroups", {"node_uuid": "{node}"}),
    "portgroup:update": (
        "PATCH",
        "/v1/portgroups/{portgroup}",
        [{"op": "add", "path": "/extra/a", "value": 1}],
    ),
    "portgroup:delete": ("DELETE", "/v1/portgroups/{portgroup}", None),
    "department:read": ("GET", "/api/v1/departments/d1", None),
    "department:create": ("POST", "/api/v1/departments", {"name": "dnew"}),
    "department:update": ("PATCH", "/api/v1/departments/d1", {"description": "x"}),
    "department:delete": ("DELETE", "/api/v1/departments/dempty", None),
    "project:read": ("GET", "/api/v1/projects/p1", None),
    "project:create": ("POST", "/api/v1/projects", {"name": "pnew", "department": "d1"}),
    "project:update": ("PATCH", "/api/v1/projects/p1", {"description": "x"}),
    "project:delete": ("DELETE", "/api/v1/projects/pempty", None),
    "user:read": ("GET", "/api/v1/users", None),
    "user:create": ("POST", "/api/v1/users", {"name": "newbie", "password": "N3w-Passw0rd"}),
    "user:update": ("PATCH", "/api/v1/users/target", {"display_name": "x"}),
    "user:delete": ("DELETE", "/api/v1/users/target", None),
    "membership:update": ("PUT", "/api/v1/projects/p1/members/target", {"role": "member"}),
    "audit:read": ("GET", "/api/v1/audit-events", None),
    "audit:export": ("GET", "/api/v1/audit-events/export", None),
    "flavor:choose": ("GET", "/api/v1/flavors/fpub", None),
    "flavor:create": (
        "POST",
        "/api/v1/flavors",
        {"name": "fnew", "cpus": 1, "memory_mb": 1, "local_gb": 1},
    ),
    "flavor:update": ("PATCH", "/api/v1/flavors/fpub", {"description": "x"}),
    "flavor:delete": ("DELETE", "/api/v1/flavors/fspare", None),
    "host:read": ("GET", "/api/v1/hosts/h1", None),
    "host:create": (
        "POST",
        "/api/v1/hosts",
        {"name": "hnew", "flavor": "fpub", "image": "http://images/i.raw", "project": "p1"},
    ),
    "host:update": ("PATCH", "/api/v1/hosts/h1", {"name": "h1b"}),
    "host:power": ("POST", "/api/v1/hosts/h1/stop", None),
    "host:console": ("POST", "/api/v1/hosts/h1/console", None),
    "host:rebuild": ("POST", "/api/v1/hosts/h1/rebuild", {"image": "i2"}),
    "host:delete": ("DELETE", "/api/v1/hosts/h1", None),
    "host:export": ("GET", "/api/v1/hosts/export", None),
    "host:floating_ip": ("GET", "/api/v1/floating-ips", None),
    # every NIC route's cells: tests/api/test_host_nics.py (test_nic_permission_cells)
    "host:vnic": ("GET", "/api/v1/hosts/h1/nics", None),
    "image:read": ("GET", "/api/v1/images/ipub", None),
    "image:create": ("POST", "/api/v1/images", {"name": "inew", "project": "p1"}),
    "image:update": ("PATCH", "/api/v1/images/ip1", {"properties": {"a": "1"}}),
    "image:delete": ("DELETE", "/api/v1/images/ip1", None),
    "license:read": ("GET", "/api/v1/license", None),
    "license:update": ("PUT", "/api/v1/license", {"not": "a license"}),
    "availability_zone:read": ("GET", "/api/v1/availability-zones", None),
    "monitoring:read": ("GET", "/api/v1/statistics", None),
    "alarm:read": ("GET", "/api/v1/alarms", None),
    "alarm:acknowledge": ("POST", "/api/v1/alarms/{node}/acknowledge", None),  # 404: no alarm
    "metrics:read": ("GET", "/metrics", None),
    # {fabric}, network n1 of p1, its subnet s1 and switch sw1: made by the admin first
    "network_scheme:read": ("GET", "/api/v1/physical-networks/fabric", None),
    "network_scheme:update": ("PATCH", "/api/v1/physical-networks/fabric", {"scheme": "dynamic"}),
    "network:read": ("GET", "/api/v1/networks/n1", None),
    "network:create": ("POST", "/api/v1/networks", {"name": "nnew", "project": "p1"}),
    "network:update": ("PATCH", "/api/v1/networks/n1", {"description": "x"}),
    "network:delete": ("DELETE", "/api/v1/networks/nspare", None),
    "subnet:read": ("GET", "/api/v1/subnets/s1", None),
    "subnet:create": ("POST", "/api/v1/subnets", {"network": "n1", "cidr": "10.21.0.0/24"}),
    "subnet:update": ("PATCH", "/api/v1/subnets/s1", {"dns_nameservers": ["10.0.0.2"]}),
    "subnet:delete": ("DELETE", "/api/v1/subnets/s1", None),
    "switch:read": ("GET", "/api/v1/switches/sw1", None),
    "switch:create": (
        "POST",
        "/api/v1/switches",
        {
            "name": "swnew",
            "vendor": "cisco_ios",
            "address": "10.99.0.3",
            "username": "u",
            "physical_network": "fabric",
        },
    ),
    "switch:update": ("PATCH", "/api/v1/switches/sw1", {"port": 2222}),
    "switch:delete": ("DELETE", "/api/v1/switches/sw1", None),
    "billing:read": ("GET", "/api/v1/billing/prices", None),
    "billing:update": (
        "POST",
        "/api/v1/billing/prices",
        {"flavor": "fpub", "price": "1.50", "currency": "CNY"},
    ),
    "usage:read": ("GET", "/api/v1/usage?project=p1&start=2026-01-01T00:00:00Z", None),
    "deploy_template:read": ("GET", "/v1/deploy_templates", None),
    "deploy_template:update": ("POST", "/v1/deploy_templates", {"name": "bad name"}),
    "runbook:read": ("GET", "/v1/runbooks", None),
    "runbook:update": ("POST", "/v1/runbooks", {"name": "bad name"}),
}
NOT_SERVED = {r.operation for r in policy.RULES} - set(CALLS)
ROLES = [Role.ADMIN, Role.DEPT_ADMIN, Role.PROJECT_ADMIN, Role.MEMBER]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
@pytest.mark.parametrize("operation", sorted(CALLS))
def test_permission_cell(secure: Any, operation: str, role: Role) -> None:
    c, svc = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    node = c.post("/v1/nodes", json={"driver": "fake-hardware"}, headers=admin).json()["uuid"]
    port = c.post(
        "/v1/ports", json={"node_uuid": node, "address": "52:54:00:00:00:01"}, headers=admin
    ).json()["uuid"]
    group = c.post("/v1/portgroups", json={"node_uuid": node}, headers=admin).json()["uuid"]
    name = f"u-{role.value}"
    if role is Role.ADMIN:
        add_user(svc, name, Role.ADMIN)
    else:
        add_user(svc, name, role)
    headers = bearer(log_in(c, name, PASSWORD))
    # what the identity calls act on: an empty department, an empty project of d1, a member
    for path, body in (
        ("/api/v1/departments", {"name": "dempty"}),
        ("/api/v1/projects", {"name": "pempty", "department": "d1"}),
        ("/api/v1/users", {"name": "target", "password": PASSWORD}),
    ):
        assert c.post(path, json=body, headers=admin).status_code == 201
    assert c.put("/api/v1/projects/p1/members/target", json={}, headers=admin).status_code == 200
    # flavors, two available nodes, and a host h1 in p1
    for f in ("fpub", "fspare"):
        r = c.post(
            "/api/v1/flavors",
            json={"name": f, "cpus": 1, "memory_mb": 1, "local_gb": 1},
            headers=admin,
        )
        assert r.status_code == 201, r.text
    free = [
        c.post(
            "/v1/nodes",
            json={
                "driver": "fake-hardware",
                "properties": {"cpus": 1, "memory_mb": 1, "local_gb": 1},
            },
            headers=admin,
        ).json()["uuid"]
        for _ in range(2)
    ]
    with svc.db.write() as conn:
        conn.execute(
            sa.update(nodes).where(nodes.c.uuid.in_(free)).values(provision_state="available")
        )
    r = c.post(
        "/api/v1/hosts",
        json={"name": "h1", "flavor": "fpub", "image": "http://images/i.raw", "project": "p1"},
        headers=admin,
    )
    assert r.status_code == 202, r.text
    # a public image and a private one of p1
    for body in ({"name": "ipub"}, {"name": "ip1", "project": "p1"}):
        r = c.post("/api/v1/images", json=body, headers=admin)
        assert r.status_code == 201, r.text
    if operation.startswith(("network", "subnet:", "switch:")):
        _networks(c, admin)
    method, path, body = CALLS[operation]
    ids = {"node": node, "port": port, "portgroup": group}
    kw: dict[str, Any] = {"headers": headers}
    if operation == "node:import":
        kw["content"] = b"name,driver\nimported,fake-hardware\n"
        kw["headers"] = {**headers, "Content-Type": "text/csv"}
    elif body is not None:
        kw["json"] = _fill(body, ids)
    r = c.request(method, path.format(**ids), **kw)
    cell = policy.rule(operation).cell(role)
    if cell is Cell.DENY:
        assert r.status_code == 403, r.text
        assert f"operation {operation}" in r.text and name in r.text
    else:
        assert r.status_code not in (401, 403), r.text


def _networks(c: httpx.Client, admin: dict[str, str]) -> None:
    """What the network calls act on: physical network `fabric`, networks n1 (with subnet s1)
    and nspare of p1, switch sw1."""
    for path, body in (
        ("/api/v1/physical-networks", {"name": "fabric", "segmentation_ranges": "100-199"}),
        ("/api/v1/networks", {"name": "n1", "project": "p1"}),
        ("/api/v1/networks", {"name": "nspare", "project": "p1"}),
        ("/api/v1/subnets", {"name": "s1", "network": "n1", "cidr": "10.20.0.0/24"}),
        (
            "/api/v1/switches",
            {
                "name": "sw1",
                "vendor": "cisco_ios",
                "address": "10.99.0.2",
                "username": "u",
                "physical_network": "fabric",
            },
        ),
    ):
        r = c.post(path, json=body, headers=admin)
        assert r.status_code == 201, r.text


def test_every_table_row_is_served_or_listed(secure: Any) -> None:
    """Every operation a route serves has a test call in CALLS, and the operations listed as
    not served really have no route: when one gets a route, it must get a call above."""
    c, _ = secure
    served = {declared(route) for _, _, route in served_routes(c.app)} - {PUBLIC, SELF}
    assert served == set(CALLS)
    assert not served & NOT_SERVED


def routes(c: httpx.Client) -> list[tuple[str, str]]:
    """Every (method, path template) the OpenAPI document lists."""
    doc = c.get("/openapi.json").json()
    return [(m.upper(), path) for path, item in doc["paths"].items() for m in item]


def test_every_route_declares_its_operation(secure: Any) -> None:
    """Each route says next to it what it does (a row of the table), or that it is public or
    about the caller's own session; public ones are few."""
    c, _ = secure
    served = list(served_routes(c.app))
    assert len(routes(c)) > 60 and {(m, p) for m, p, _ in served} >= set(routes(c))
    assert not [(m, p) for m, p, route in served if declared(route) is None]
    # what nodes on the provisioning network reach (scripts, ramdisks, images, the agent API)
    # is served by the boot listener, not by the API tenants reach (boot.serve_on_api is off)
    assert not [(m, p) for m, p, _ in served if p.startswith(("/boot/", "/api/v1/agent/"))]
    public = {(m, p) for m, p, route in served if declared(route) == PUBLIC}
    assert public == {
        ("GET", "/"),
        ("GET", "/v1"),
        ("GET", "/v1/"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/docs/oauth2-redirect"),
        ("POST", "/api/v1/auth/tokens"),
    }


def test_the_boot_routes_are_declared_public() -> None:
    """What the boot listener serves (and the API with boot.serve_on_api): no user token."""
    listed = [r for router in (boot.router, images.boot_router) for r in router.routes]
    assert len(listed) >= 8 and {declared(r) for r in listed} == {PUBLIC}


def test_a_route_without_an_operation_is_for_cloud_admins_only(secure: Any) -> None:
    """Fail closed: a route that forgot its declaration is refused to everyone else."""
    c, svc = secure
    c.app.add_api_route("/api/v1/forgotten", lambda: {"ok": True}, methods=["GET"])
    add_user(svc, "dora", Role.DEPT_ADMIN)
    r = c.get("/api/v1/forgotten", headers=bearer(log_in(c, "dora", PASSWORD)))
    assert r.status_code == 403 and "cloud admins only" in r.json()["detail"]
    r = c.get("/api/v1/forgotten", headers=bearer(log_in(c, "admin", ADMIN_PASSWORD)))
    assert r.status_code == 200 and r.json() == {"ok": True}


def test_an_operation_must_be_a_row_of_the_table() -> None:
    with pytest.raises(KeyError, match="host:teleport"):
        Allow("host:teleport")


# --- the audit trail -----------------------------------------------------------------------------


def test_changes_and_refusals_are_audited(secure: Any) -> None:
    c, svc = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    r = c.post("/v1/nodes", json={"name": "audited", "driver": "fake-hardware"}, headers=admin)
    assert r.status_code == 201
    rid = r.headers["x-openstack-request-id"]
    add_user(svc, "mallory", Role.MEMBER)
    member = bearer(log_in(c, "mallory", PASSWORD))
    assert c.delete("/v1/nodes/audited", headers=member).status_code == 403
    assert c.post("/v1/nodes", json={"driver": "warp"}, headers=admin).status_code == 400
    with svc.db.read() as conn:
        rows = [
            dict(r)
            for r in conn.execute(sa.select(audit_events).order_by(audit_events.c.id)).mappings()
        ]
    by_action = [(r["action"], r["user_name"], r["outcome"], r["status_code"]) for r in rows]
    assert by_action == [
        ("auth:login", "admin", "success", 201),
        ("node:create", "admin", "success", 201),
        ("auth:login", "mallory", "success", 201),
        ("node:delete", "mallory", "denied", 403),
        ("node:create", "admin", "failure", 400),
    ]
    created = rows[1]
    assert created["request_id"] == rid and created["source"] == "testclient"
    assert rows[3]["target_type"] == "node" and rows[3]["target_id"] == r.json()["uuid"]
    assert rows[3]["target_name"] == "audited"  # the URL named it: the event has its uuid
    assert "may not delete" in rows[3]["detail"]
    assert "warp" in rows[4]["detail"]


def test_the_audit_line_commits_with_the_change(secure: Any) -> None:
    """A change and its audit event are one transaction: when the event cannot be written,
    the change does not happen either (and when the change fails, no success is recorded)."""
    c, svc = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    r = c.post("/v1/nodes", json={"name": "kept", "driver": "fake-hardware"}, headers=admin)
    assert r.status_code == 201
    with svc.db.read() as conn:
        (event,) = (
            conn.execute(sa.select(audit_events).where(audit_events.c.action == "node:create"))
            .mappings()
            .all()
        )
    assert (event["target_type"], event["status_code"], event["outcome"]) == (
        "node",
        201,
        "success",
    )
    with svc.db.write() as conn:
        conn.execute(sa.text("ALTER TABLE audit_events RENAME TO audit_events_away"))
    try:  # SQLite's error is answered (503); PostgreSQL's reaches the test client as raised
        r = c.post("/v1/nodes", json={"name": "lost", "driver": "fake-hardware"}, headers=admin)
        assert r.status_code >= 500
    except sa.exc.ProgrammingError:
        pass
    with svc.db.write() as conn:
        conn.execute(sa.text("ALTER TABLE audit_events_away RENAME TO audit_events"))
    assert c.get("/v1/nodes/lost", headers=admin).status_code == 404
