"""Inspection rules, retirement, volume connector changes and `--fields` through the official
clients against a live Ironworks: the `baremetal` CLI (python-ironicclient, in a subprocess) and
openstacksdk's bare metal proxy. An inspection of a fake-hardware node runs the rules created by
the client (resource class from the CPU model, a trait); the negative cases are the ones the
clients report themselves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ironworks.drivers.fake import FAKE_CPU_MODEL
from tests.compat.test_baremetal_cli import BAREMETAL, Baremetal, prepare
from tests.conftest import LiveServer

pytestmark = [
    pytest.mark.compat,
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:openstack"),
]

CONDITIONS = [
    {"op": "contains", "args": {"value": "{inventory[cpu][model_name]}", "regex": "Xeon"}}
]
ACTIONS = [
    {"op": "set-attribute", "args": {"path": "/resource_class", "value": "xeon"}},
    {"op": "add-trait", "args": {"name": "CUSTOM_XEON"}},
]


@pytest.fixture
def bm(live_server: LiveServer, tmp_path: Path) -> Baremetal:
    pytest.importorskip("ironicclient")
    if not BAREMETAL.exists():
        pytest.skip(f"{BAREMETAL} is not installed")
    return Baremetal(live_server, tmp_path / "client-home")


@pytest.fixture
def sdk(live_server: LiveServer) -> Any:
    openstack = pytest.importorskip("openstack")
    conn = openstack.connect(
        auth_type="none",
        baremetal_endpoint_override=live_server.url,
        load_yaml_config=False,
        load_envvars=False,
    )
    yield conn.baremetal
    conn.close()


def said(done: Any) -> str:
    return done.stderr + done.stdout


def test_cli_inspection_rules_and_an_inspection(bm: Baremetal, live_server: LiveServer) -> None:
    rule = bm.json(
        "inspection",
        "rule",
        "create",
        "--description",
        "Xeon nodes",
        "--priority",
        "50",
        "--conditions",
        json.dumps(CONDITIONS),
        "--actions",
        json.dumps(ACTIONS),
    )
    assert rule["priority"] == 50 and rule["phase"] == "main" and rule["sensitive"] is False
    assert rule["conditions"] == CONDITIONS and rule["actions"] == ACTIONS
    uuid = rule["uuid"]

    listed = bm.json("inspection", "rule", "list")
    assert [(x["uuid"], x["description"]) for x in listed] == [(uuid, "Xeon nodes")]
    long = bm.json("inspection", "rule", "list", "--long")
    assert long[0]["actions"] == ACTIONS
    shown = bm.json("inspection", "rule", "show", uuid)
    assert shown["description"] == "Xeon nodes" and shown["actions"] == ACTIONS
    bm.run("inspection", "rule", "set", uuid, "--priority", "70", "--description", "Xeon")
    shown = bm.json("inspection", "rule", "show", uuid)
    assert shown["priority"] == 70 and shown["description"] == "Xeon"

    prepare(live_server, "rule-1", "manage")
    bm.run("node", "inspect", "rule-1", "--wait", "30")
    node = bm.show("rule-1", "resource_class", "properties", "provision_state")
    assert node["resource_class"] == "xeon" and node["provision_state"] == "manageable"
    assert bm.json("node", "trait", "list", "rule-1") == [{"traits": "CUSTOM_XEON"}]
    assert node["properties"]["cpus"] == 8
    assert FAKE_CPU_MODEL  # the fake's inventory reports a Xeon

    # negative cases the client reports: an unknown op, a bad priority, an unknown rule
    bad = bm.run("inspection", "rule", "create", "--actions", '[{"op": "explode"}]', ok=False)
    assert "unknown action" in said(bad)
    bad = bm.run(
        "inspection",
        "rule",
        "create",
        "--priority",
        "10000",
        "--actions",
        json.dumps(ACTIONS),
        ok=False,
    )
    assert "priority" in said(bad)
    missing = "0b1e4a5c-3f6f-4c39-9b8e-0a4f3f7a0c11"
    assert "could not be found" in said(bm.run("inspection", "rule", "show", missing, ok=False))

    bm.run("inspection", "rule", "delete", uuid)
    assert bm.json("inspection", "rule", "list") == []


def test_cli_retired_volume_connector_set_and_chassis_fields(
    bm: Baremetal, live_server: LiveServer
) -> None:
    prepare(live_server, "ret-1", "manage")
    bm.run("node", "set", "ret-1", "--retired", "--retired-reason", "end of warranty")
    got = bm.show("ret-1", "retired", "retired_reason")
    assert got == {"retired": True, "retired_reason": "end of warranty"}
    # a retired node's provide cleans it and leaves it manageable; the CLI's wait for
    # `available` says so
    waited = bm.run("node", "provide", "ret-1", "--wait", "30", ok=False)
    assert "unexpected stable state manageable" in said(waited)
    assert bm.show("ret-1", "provision_state")["provision_state"] == "manageable"
    bm.run("node", "unset", "ret-1", "--retired")
    assert bm.show("ret-1", "retired", "retired_reason") == {
        "retired": False,
        "retired_reason": None,
    }
    prepare(live_server, "ret-2", "manage", "provide")
    refused = bm.run("node", "set", "ret-2", "--retired", ok=False)
    assert "manageable first" in said(refused)

    conn = bm.json(
        "volume",
        "connector",
        "create",
        "--node",
        "ret-1",
        "--type",
        "iqn",
        "--connector-id",
        "iqn.2026-12.dev.ironworks:r1",
    )
    bm.run("node", "power", "on", "ret-1")
    bm.wait_power("ret-1", "power on")
    refused = bm.run(
        "volume", "connector", "set", conn["uuid"], "--connector-id", "iqn.x:y", ok=False
    )
    assert "power on" in said(refused)
    bm.run("node", "power", "off", "ret-1")
    bm.wait_power("ret-1", "power off")
    bm.run(
        "volume",
        "connector",
        "set",
        conn["uuid"],
        "--connector-id",
        "iqn.2026-12.dev.ironworks:r2",
        "--extra",
        "rack=7",
    )
    shown = bm.json("volume", "connector", "show", conn["uuid"])
    assert shown["connector_id"] == "iqn.2026-12.dev.ironworks:r2"
    assert shown["extra"] == {"rack": 7}  # the client reads "7" as JSON
    bad = bm.run("volume", "connector", "set", conn["uuid"], "--node", "no-such", ok=False)
    assert "does not exist" in said(bad)

    chassis = bm.json("chassis", "create", "--description", "rack 7")
    shown = bm.json("chassis", "show", chassis["uuid"], "--fields", "description")
    assert shown == {"description": "rack 7"}
    bad = bm.run("chassis", "show", chassis["uuid"], "--fields", "bogus", ok=False)
    assert bad.returncode != 0


def test_sdk_inspection_rules_retired_and_volume_connectors(
    sdk: Any, live_server: LiveServer
) -> None:
    from openstack import exceptions

    rule = sdk.create_inspection_rule(
        description="sdk rule", priority=10, conditions=CONDITIONS, actions=ACTIONS
    )
    assert rule.priority == 10 and rule.phase == "main" and rule.actions == ACTIONS
    assert [r.id for r in sdk.inspection_rules()] == [rule.id]
    # the proxy's `details=True` is not in the resource's query mapping (the SDK drops it);
    # `detail=True` is
    detailed = list(sdk.inspection_rules(detail=True))
    assert detailed[0].conditions == CONDITIONS
    rule = sdk.update_inspection_rule(rule, description="renamed")
    assert sdk.get_inspection_rule(rule.id).description == "renamed"
    rule = sdk.patch_inspection_rule(rule, [{"op": "replace", "path": "/priority", "value": 20}])
    assert rule.priority == 20
    with pytest.raises(exceptions.BadRequestException):
        sdk.create_inspection_rule(actions=[{"op": "fail"}])
    with pytest.raises(exceptions.NotFoundException):
        sdk.get_inspection_rule("0b1e4a5c-3f6f-4c39-9b8e-0a4f3f7a0c11")

    prepare(live_server, "sdk-rule", "manage")
    node = sdk.set_node_provision_state("sdk-rule", "inspect", wait=True, timeout=30)
    assert node.resource_class == "xeon" and node.traits == ["CUSTOM_XEON"]
    sdk.delete_inspection_rule(rule.id)
    assert list(sdk.inspection_rules()) == []

    node = sdk.update_node("sdk-rule", is_retired=True, retired_reason="old")
    assert node.is_retired is True and node.retired_reason == "old"
    node = sdk.update_node("sdk-rule", is_retired=False)
    assert node.is_retired is False and node.retired_reason is None

    sdk.set_node_power_state("sdk-rule", "power off", wait=True, timeout=30)
    conn = sdk.create_volume_connector(
        node_id=node.id, type="iqn", connector_id="iqn.2026-12.dev.ironworks:s1"
    )
    conn = sdk.update_volume_connector(conn, connector_id="iqn.2026-12.dev.ironworks:s2")
    assert sdk.get_volume_connector(conn.id).connector_id == "iqn.2026-12.dev.ironworks:s2"
    sdk.set_node_power_state("sdk-rule", "power on", wait=True, timeout=30)
    with pytest.raises(exceptions.BadRequestException):
        sdk.update_volume_connector(conn, connector_id="iqn.x:z")
