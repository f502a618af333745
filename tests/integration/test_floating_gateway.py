"""The floating IP gateway with real packets, in namespaces this test creates (never the root
namespace's interfaces): a "fabric" namespace with the two networks' bridges (the network
node's, as the gateway expects them), an "external" namespace on 10.99.72.0/24 (it is also the
external subnet's gateway), a "host" namespace on the project subnet 10.99.73.0/24 holding the
NIC's fixed address, and the router namespace the gateway makes from the database.

Allocate → nothing answers the floating IP; associate → it answers from outside, and only
while the host is there (the host replies, not the router); re-applying changes neither the
ruleset nor the addresses; disassociate → no answer, but the host still reaches outside (the
router's SNAT); release → the router namespace is gone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ironworks.api.app import create_app
from ironworks.db import migrate
from ironworks.db.engine import Database
from ironworks.domain.policy import Role
from ironworks.drivers.gateway import NetnsGateway
from ironworks.services import auth, gateway
from ironworks.services.context import Services
from tests.api.conftest import ADMIN_PASSWORD, add_user, bearer, log_in
from tests.api.conftest import PASSWORD as USER_PASSWORD
from tests.api.test_floating_ips import add_nic
from tests.conftest import make_settings

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("busybox"),
    reason="needs root, nft and busybox (network namespaces)",
)

TAG = f"{os.getpid() % 100000}"
FABRIC, OUTSIDE, HOST = f"iwfg-fab{TAG}", f"iwfg-ext{TAG}", f"iwfg-host{TAG}"
PREFIX = f"iwfg{TAG}-"  # the router namespaces of this test only


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=30, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args)}: {done.stderr or done.stdout}")
    return done


def ping(netns: str, address: str) -> bool:
    done = sh(
        "ip", "netns", "exec", netns, "busybox", "ping", "-c", "1", "-W", "1", address, check=False
    )
    return done.returncode == 0


def answers(netns: str, address: str, tries: int = 3) -> bool:
    """True when one of a few pings is answered (the first may wait on ARP)."""
    return any(ping(netns, address) for _ in range(tries))


def _namespaces() -> list[str]:
    return sh("ip", "netns", "list").stdout.split()


def _cleanup() -> None:
    for name in _namespaces():
        if name.startswith((PREFIX, FABRIC, OUTSIDE, HOST)):
            sh("ip", "netns", "del", name, check=False)


@pytest.fixture
def lab() -> Iterator[None]:
    _cleanup()
    try:
        for ns in (FABRIC, OUTSIDE, HOST):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        yield
    finally:
        _cleanup()


def _plug(ns: str, bridge: str, peer: str, address: str, gateway_ip: str | None) -> None:
    """`ns`'s eth0 on the fabric's `bridge` (its peer is `peer`), with an address and route."""
    sh("ip", "-n", FABRIC, "link", "add", peer, "type", "veth", "peer", "name", "eth0", "netns", ns)
    sh("ip", "-n", FABRIC, "link", "set", peer, "master", bridge, "up")
    sh("ip", "-n", ns, "addr", "add", address, "dev", "eth0")
    sh("ip", "-n", ns, "link", "set", "eth0", "up")
    if gateway_ip:
        sh("ip", "-n", ns, "route", "add", "default", "via", gateway_ip)


@pytest.fixture
def cloud(lab: None, tmp_path: Path) -> Iterator[tuple[httpx.Client, Services]]:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'ironworks.db'}",
        tmp_path,
        auth={"noauth": False, "admin_password": ADMIN_PASSWORD},
        conductor={"hostname": "t", "poll_interval": 0.05, "periodic_interval": 3600},
        gateway={"enabled": True, "bridge_netns": FABRIC, "namespace_prefix": PREFIX},
    )
    db = Database(settings.effective_database_url)
    migrate.upgrade(db)
    svc = Services(db=db, settings=settings)
    auth.bootstrap_admin(svc)
    from starlette.testclient import TestClient

    with TestClient(create_app(svc), base_url="http://testserver") as c:
        yield c, svc
    db.dispose()


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def test_a_floating_ip_answers_while_associated(cloud: tuple[httpx.Client, Services]) -> None:
    c, svc = cloud
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    add_user(svc, "alice", Role.MEMBER, "p1")
    alice = bearer(log_in(c, "alice", USER_PASSWORD))
    _ok(
        c.post(
            "/api/v1/physical-networks",
            json={"name": "fabric", "segmentation_ranges": "100-199"},
            headers=admin,
        ),
        201,
    )
    ext = _ok(
        c.post("/api/v1/networks", json={"name": "ext", "role": "external"}, headers=admin), 201
    )
    pool = [{"start": "10.99.72.100", "end": "10.99.72.150"}]
    body = {"name": "ext-sub", "network": "ext", "cidr": "10.99.72.0/24", "allocation_pools": pool}
    _ok(c.post("/api/v1/subnets", json=body, headers=admin), 201)
    n1 = _ok(c.post("/api/v1/networks", json={"name": "n1"}, headers=alice), 201)
    _ok(
        c.post(
            "/api/v1/subnets",
            json={"name": "s1", "network": "n1", "cidr": "10.99.73.0/24"},
            headers=alice,
        ),
        201,
    )
    # the network node's bridges, named as the gateway expects them (gateway.bridge_template)
    ext_bridge = f"br-vlan{ext['segmentation_id']}"
    tenant_bridge = f"br-vlan{n1['segmentation_id']}"
    for bridge in (ext_bridge, tenant_bridge):
        sh("ip", "-n", FABRIC, "link", "add", bridge, "type", "bridge")
        sh("ip", "-n", FABRIC, "link", "set", bridge, "up")
    _plug(OUTSIDE, ext_bridge, "pext", "10.99.72.1/24", None)
    _plug(HOST, tenant_bridge, "phost", "10.99.73.5/24", "10.99.73.1")
    nic = add_nic(svc, "p1", "s1", "10.99.73.5")

    fip = _ok(c.post("/api/v1/floating-ips", json={}, headers=alice), 201)
    address = fip["address"]
    assert address == "10.99.72.101"  # .100 is the router's own
    (router,) = gateway.plan(svc)
    driver = NetnsGateway(bridge_netns=FABRIC, prefix=PREFIX)
    assert driver.namespaces() == [f"{PREFIX}{router.uuid}"]
    assert answers(OUTSIDE, "10.99.72.100")  # the router is on the external network
    assert not ping(OUTSIDE, address)  # allocated, not associated: nothing answers

    _ok(c.patch(f"/api/v1/floating-ips/{fip['uuid']}", json={"host_nic": nic}, headers=alice))
    assert answers(OUTSIDE, address)
    sh("ip", "-n", HOST, "link", "set", "eth0", "down")  # the host replies, not the router
    assert not ping(OUTSIDE, address)
    sh("ip", "-n", HOST, "link", "set", "eth0", "up")
    sh("ip", "-n", HOST, "route", "replace", "default", "via", "10.99.73.1")  # went with the link
    assert answers(OUTSIDE, address)
    assert answers(HOST, "10.99.72.1")  # the host reaches outside (from its floating IP)

    # idempotent: applying again (as at a restart) changes neither ruleset nor addresses
    ruleset = driver.ruleset(router.uuid)
    assert f"ip daddr {address} dnat to 10.99.73.5" in ruleset, ruleset
    ns = f"{PREFIX}{router.uuid}"
    addresses = sh("ip", "-n", ns, "-4", "-o", "addr", "show").stdout
    links = sh("ip", "-n", ns, "-o", "link", "show").stdout.count("\n")
    gateway.apply(svc)
    gateway.apply(svc)
    assert driver.ruleset(router.uuid) == ruleset
    assert sh("ip", "-n", ns, "-4", "-o", "addr", "show").stdout == addresses
    assert sh("ip", "-n", ns, "-o", "link", "show").stdout.count("\n") == links
    assert answers(OUTSIDE, address)

    _ok(c.patch(f"/api/v1/floating-ips/{fip['uuid']}", json={"host_nic": None}, headers=alice))
    assert not any(ping(OUTSIDE, address) for _ in range(2))
    assert answers(HOST, "10.99.72.1")  # outbound still works: SNAT to the router's address

    assert c.delete(f"/api/v1/floating-ips/{fip['uuid']}", headers=alice).status_code == 204
    assert driver.namespaces() == []  # the project's last floating IP took its router along
