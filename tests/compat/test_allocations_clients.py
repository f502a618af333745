"""Allocations through the official clients against a live Ironworks: the `baremetal` CLI
(python-ironicclient, in a subprocess as an operator runs it) and openstacksdk's bare metal
proxy (`create_allocation`, `wait_for_allocation`, as metalsmith drives them). The negative
cases are the ones the clients report themselves: an unknown candidate node, an invalid trait,
an unknown allocation, an allocation that finds no node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat.test_baremetal_cli import BAREMETAL, Baremetal, prepare
from tests.conftest import LiveServer

pytestmark = [
    pytest.mark.compat,
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:openstack"),
]


@pytest.fixture
def bm(live_server: LiveServer, tmp_path: Path) -> Baremetal:
    pytest.importorskip("ironicclient")
    if not BAREMETAL.exists():
        pytest.skip(f"{BAREMETAL} is not installed")
    return Baremetal(live_server, tmp_path / "client-home")


def available(server: LiveServer, name: str, *traits: str, rc: str = "baremetal") -> str:
    """Set-up only: an available node of resource class `rc` with `traits`; its uuid."""
    prepare(server, name, "manage", "provide", resource_class=rc)
    with httpx.Client(base_url=f"{server.url}/v1", timeout=10) as http:
        h = {"X-OpenStack-Ironic-API-Version": "1.115"}
        if traits:
            r = http.put(f"/nodes/{name}/traits", json={"traits": list(traits)}, headers=h)
            assert r.status_code == 204, r.text
        return str(http.get(f"/nodes/{name}", headers=h).json()["uuid"])


def said(done: Any) -> str:
    return done.stderr + done.stdout


def test_cli_allocation_create_list_show_set_delete(bm: Baremetal, live_server: LiveServer) -> None:
    gpu = available(live_server, "al-1", "CUSTOM_GPU")
    available(live_server, "al-2")

    a = bm.json(
        "allocation",
        "create",
        "--resource-class",
        "baremetal",
        "--trait",
        "CUSTOM_GPU",
        "--name",
        "alloc-1",
        "--extra",
        "team=blue",
        "--wait",
    )
    assert a["state"] == "active" and a["node_uuid"] == gpu
    assert a["traits"] == ["CUSTOM_GPU"] and a["extra"] == {"team": "blue"}
    assert bm.show("al-1", "allocation_uuid", "instance_uuid") == {
        "allocation_uuid": a["uuid"],
        "instance_uuid": a["uuid"],
    }

    listed = bm.json("allocation", "list")
    assert [x["uuid"] for x in listed] == [a["uuid"]]
    by_node = bm.json("allocation", "list", "--node", "al-1")
    assert [x["uuid"] for x in by_node] == [a["uuid"]]
    assert bm.json("allocation", "list", "--state", "error") == []
    shown = bm.json("allocation", "show", "alloc-1")
    assert shown["uuid"] == a["uuid"] and shown["node_uuid"] == gpu

    bm.run("allocation", "set", "alloc-1", "--name", "alloc-one", "--extra", "rack=r7")
    shown = bm.json("allocation", "show", "alloc-one")
    assert shown["extra"] == {"team": "blue", "rack": "r7"}
    bm.run("allocation", "unset", "alloc-one", "--extra", "team")
    assert bm.json("allocation", "show", "alloc-one")["extra"] == {"rack": "r7"}

    # an allocation that finds no node: --wait reports Ironic's error
    none = bm.run(
        "allocation", "create", "--resource-class", "nothing", "--name", "lost", "--wait", ok=False
    )
    assert "no available nodes match the resource class nothing" in said(none)
    assert bm.json("allocation", "show", "lost")["state"] == "error"

    bad = bm.run(
        "allocation",
        "create",
        "--resource-class",
        "baremetal",
        "--candidate-node",
        "ghost",
        ok=False,
    )
    assert "Nodes cannot be found: ghost" in said(bad)
    bad = bm.run(
        "allocation", "create", "--resource-class", "baremetal", "--trait", "custom_x", ok=False
    )
    assert "Invalid trait" in said(bad)
    missing = bm.run("allocation", "show", "no-such-allocation", ok=False)
    assert "no-such-allocation" in said(missing)

    bm.run("allocation", "delete", "alloc-one", "lost")
    assert bm.json("allocation", "list") == []
    assert bm.show("al-1", "allocation_uuid", "instance_uuid") == {
        "allocation_uuid": None,
        "instance_uuid": None,
    }


def test_sdk_create_and_wait_for_allocation(live_server: LiveServer) -> None:
    openstack = pytest.importorskip("openstack")
    from openstack import exceptions

    first = available(live_server, "sdk-al-1", "CUSTOM_FAST")
    second = available(live_server, "sdk-al-2", "CUSTOM_FAST")
    conn = openstack.connect(
        auth_type="none",
        baremetal_endpoint_override=live_server.url,
        load_yaml_config=False,
        load_envvars=False,
    )
    sdk: Any = conn.baremetal
    try:
        a = sdk.create_allocation(
            resource_class="baremetal", traits=["CUSTOM_FAST"], candidate_nodes=[second]
        )
        a = sdk.wait_for_allocation(a, timeout=30)
        assert a.state == "active" and a.node_id == second
        assert sdk.get_node(second).allocation_id == a.id
        assert [x.id for x in sdk.allocations()] == [a.id]

        b = sdk.create_allocation(resource_class="baremetal", name="sdk-b")
        b = sdk.wait_for_allocation(b, timeout=30)
        assert b.node_id == first

        c = sdk.create_allocation(resource_class="baremetal")
        with pytest.raises(exceptions.ResourceFailure, match="no available nodes match"):
            sdk.wait_for_allocation(c, timeout=30)

        with pytest.raises(exceptions.BadRequestException, match="Nodes cannot be found"):
            sdk.create_allocation(resource_class="baremetal", candidate_nodes=["ghost"])
        with pytest.raises(exceptions.BadRequestException, match="Invalid trait"):
            sdk.create_allocation(resource_class="baremetal", traits=["bad-trait"])
        with pytest.raises(exceptions.NotFoundException):
            sdk.get_allocation("no-such-allocation")

        sdk.update_allocation(b, extra={"owner": "me"})
        assert sdk.get_allocation("sdk-b").extra == {"owner": "me"}
        for x in (a, b, c):
            sdk.delete_allocation(x)
        assert list(sdk.allocations()) == []
        assert sdk.get_node(second).allocation_id is None
        assert sdk.get_node(second).instance_id is None
    finally:
        conn.close()
