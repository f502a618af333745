"""Declared steps through the official clients against a live Ironworks: the `baremetal` CLI
(python-ironicclient, in a subprocess) for deploy templates, runbooks and manual cleaning, and
openstacksdk's bare metal proxy for deploy templates and a manual clean. The negative cases
are the ones the clients report themselves: a name that is no trait, a step no driver
declares, an undeclared step in a manual clean, a runbook the node's traits do not name."""

from __future__ import annotations

import json
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
H = {"X-OpenStack-Ironic-API-Version": "1.115"}


@pytest.fixture
def bm(live_server: LiveServer, tmp_path: Path) -> Baremetal:
    pytest.importorskip("ironicclient")
    if not BAREMETAL.exists():
        pytest.skip(f"{BAREMETAL} is not installed")
    return Baremetal(live_server, tmp_path / "client-home")


def record(label: str, **more: Any) -> dict[str, Any]:
    return {"interface": "deploy", "step": "record", "args": {"label": label}, **more}


def internal(server: LiveServer, node: str) -> dict[str, Any]:
    """driver_internal_info, read back with a plain API call (not under test)."""
    with httpx.Client(base_url=f"{server.url}/v1", timeout=10, headers=H) as http:
        return dict(http.get(f"/nodes/{node}").json()["driver_internal_info"])


def said(done: Any) -> str:
    return done.stderr + done.stdout


def test_cli_deploy_template_create_list_show_set_delete(bm: Baremetal) -> None:
    steps = json.dumps([record("t", priority=50)])
    t = bm.json("deploy", "template", "create", "CUSTOM_WEB", "--steps", steps, "--extra", "a=b")
    assert t["name"] == "CUSTOM_WEB" and t["extra"] == {"a": "b"}
    assert t["steps"] == [record("t", priority=50)]
    assert [x["name"] for x in bm.json("deploy", "template", "list")] == ["CUSTOM_WEB"]
    long = bm.json("deploy", "template", "list", "--long")
    assert long[0]["steps"] == [record("t", priority=50)]
    shown = bm.json("deploy", "template", "show", "CUSTOM_WEB")
    assert shown["uuid"] == t["uuid"]
    bm.run("deploy", "template", "set", "CUSTOM_WEB", "--name", "CUSTOM_WEB2", "--extra", "c=d")
    shown = bm.json("deploy", "template", "show", t["uuid"])
    assert shown["name"] == "CUSTOM_WEB2" and shown["extra"] == {"a": "b", "c": "d"}

    bad = bm.run("deploy", "template", "create", "not-a-trait", "--steps", steps, ok=False)
    assert "not a valid trait" in said(bad)
    unknown = json.dumps([{"interface": "deploy", "step": "nope", "args": {}, "priority": 1}])
    bad = bm.run("deploy", "template", "create", "CUSTOM_X", "--steps", unknown, ok=False)
    assert "deploy.nope" in said(bad)
    missing = bm.run("deploy", "template", "show", "CUSTOM_NONE", ok=False)
    assert "CUSTOM_NONE" in said(missing)

    bm.run("deploy", "template", "delete", "CUSTOM_WEB2")
    assert bm.json("deploy", "template", "list") == []


def test_cli_manual_clean_and_runbook(bm: Baremetal, live_server: LiveServer) -> None:
    prepare(live_server, "st-1", "manage")
    # an undeclared step is refused by name; a declared one runs
    bad = json.dumps([{"interface": "deploy", "step": "nope"}])
    refused = bm.run("node", "clean", "st-1", "--clean-steps", bad, ok=False)
    assert "deploy.nope" in said(refused)
    good = json.dumps([record("manual")])
    bm.run("node", "clean", "st-1", "--clean-steps", good, "--wait", "60")
    assert internal(live_server, "st-1")["fake_steps"] == ["manual"]

    steps = json.dumps([record("b", order=2), record("a", order=1)])
    rb = bm.json("runbook", "create", "--name", "CUSTOM_RB", "--steps", steps, "--public")
    assert rb["name"] == "CUSTOM_RB" and rb["public"] is True
    assert [x["name"] for x in bm.json("runbook", "list")] == ["CUSTOM_RB"]
    assert bm.json("runbook", "show", "CUSTOM_RB")["uuid"] == rb["uuid"]
    bm.run("runbook", "set", "CUSTOM_RB", "--extra", "k=v")
    assert bm.json("runbook", "show", rb["uuid"])["extra"] == {"k": "v"}
    bad = bm.run("runbook", "create", "--name", "bad name", "--steps", steps, ok=False)
    assert "not a valid trait" in said(bad)

    no_trait = bm.run("node", "clean", "st-1", "--runbook", "CUSTOM_RB", ok=False)
    assert "trait CUSTOM_RB" in said(no_trait)
    bm.run("node", "add", "trait", "st-1", "CUSTOM_RB")
    bm.run("node", "clean", "st-1", "--runbook", "CUSTOM_RB", "--wait", "60")
    assert internal(live_server, "st-1")["fake_steps"] == ["manual", "a", "b"]
    bm.run("runbook", "delete", "CUSTOM_RB")
    assert bm.json("runbook", "list") == []


def test_sdk_deploy_templates_and_clean(live_server: LiveServer) -> None:
    openstack = pytest.importorskip("openstack")
    from openstack import exceptions

    prepare(live_server, "sdk-st-1", "manage")
    conn = openstack.connect(
        auth_type="none",
        baremetal_endpoint_override=live_server.url,
        load_yaml_config=False,
        load_envvars=False,
    )
    sdk: Any = conn.baremetal
    try:
        t = sdk.create_deploy_template(name="CUSTOM_SDK", steps=[record("s", priority=10)])
        assert t.name == "CUSTOM_SDK" and t.steps == [record("s", priority=10)]
        assert [x.name for x in sdk.deploy_templates()] == ["CUSTOM_SDK"]
        sdk.update_deploy_template(t, extra={"x": "y"})
        assert sdk.get_deploy_template(t.id).extra == {"x": "y"}
        with pytest.raises(exceptions.BadRequestException, match="not a valid trait"):
            sdk.create_deploy_template(name="lower", steps=[record("s", priority=10)])
        with pytest.raises(exceptions.BadRequestException, match="needs argument 'label'"):
            sdk.create_deploy_template(
                name="CUSTOM_NOARG",
                steps=[{"interface": "deploy", "step": "record", "args": {}, "priority": 1}],
            )
        sdk.delete_deploy_template(t)
        assert list(sdk.deploy_templates()) == []

        with pytest.raises(exceptions.BadRequestException, match=r"deploy\.nope"):
            sdk.set_node_provision_state(
                "sdk-st-1", "clean", clean_steps=[{"interface": "deploy", "step": "nope"}]
            )
        sdk.set_node_provision_state(
            "sdk-st-1", "clean", clean_steps=[record("sdk")], wait=True, timeout=60
        )
        assert internal(live_server, "sdk-st-1")["fake_steps"] == ["sdk"]
    finally:
        conn.close()
