"""Node traits, retirement and chassis `--fields` through the official clients against a live
Ironworks: the `baremetal` CLI (python-ironicclient, in a subprocess as an operator runs it) and
openstacksdk's bare metal proxy. The negative cases are the ones the clients report themselves:
an invalid trait name, removing a trait the node lacks, an unknown node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.compat.test_baremetal_cli import BAREMETAL, Baremetal, create_node, prepare
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


def trait_list(bm: Baremetal, node: str) -> list[str]:
    return [row["traits"] for row in bm.json("node", "trait", "list", node)]


def test_cli_add_list_remove_traits(bm: Baremetal) -> None:
    create_node(bm, "tr-1")
    bm.run("node", "add", "trait", "tr-1", "CUSTOM_GPU", "HW_CPU_X86_AVX2")
    assert sorted(trait_list(bm, "tr-1")) == ["CUSTOM_GPU", "HW_CPU_X86_AVX2"]
    assert sorted(bm.show("tr-1", "traits")["traits"]) == ["CUSTOM_GPU", "HW_CPU_X86_AVX2"]
    bm.run("node", "remove", "trait", "tr-1", "CUSTOM_GPU")
    assert trait_list(bm, "tr-1") == ["HW_CPU_X86_AVX2"]

    bad = bm.run("node", "add", "trait", "tr-1", "custom_lower", ok=False)
    assert "Invalid trait" in bad.stderr + bad.stdout
    missing = bm.run("node", "remove", "trait", "tr-1", "CUSTOM_NOT_THERE", ok=False)
    assert "CUSTOM_NOT_THERE" in missing.stderr + missing.stdout
    gone = bm.run("node", "add", "trait", "no-such-node", "CUSTOM_A", ok=False)
    assert "no-such-node" in gone.stderr + gone.stdout

    bm.run("node", "add", "trait", "tr-1", "CUSTOM_A", "CUSTOM_B")
    bm.run("node", "remove", "trait", "--all", "tr-1")
    assert trait_list(bm, "tr-1") == []


def test_cli_retire_and_chassis_fields(bm: Baremetal, live_server: LiveServer) -> None:
    prepare(live_server, "ret-1", "manage")
    bm.run("node", "set", "--retired", "--retired-reason", "end of warranty", "ret-1")
    got = bm.show("ret-1", "retired", "retired_reason")
    assert got == {"retired": True, "retired_reason": "end of warranty"}
    listed = bm.json("node", "list", "--fields", "uuid", "retired", "--retired")
    assert [n["retired"] for n in listed] == [True]
    bm.run("node", "unset", "--retired-reason", "ret-1")
    assert bm.show("ret-1", "retired_reason")["retired_reason"] is None

    prepare(live_server, "ret-2", "manage", "provide")
    refused = bm.run("node", "set", "--retired", "ret-2", ok=False)
    assert "manageable first" in refused.stderr + refused.stdout

    chassis = bm.json("chassis", "create", "--description", "rack 7")
    got = bm.json("chassis", "show", chassis["uuid"], "--fields", "description")
    assert got == {"description": "rack 7"}


def test_sdk_traits(live_server: LiveServer) -> None:
    openstack = pytest.importorskip("openstack")
    from openstack import exceptions

    conn = openstack.connect(
        auth_type="none",
        baremetal_endpoint_override=live_server.url,
        load_yaml_config=False,
        load_envvars=False,
    )
    sdk: Any = conn.baremetal
    try:
        node = sdk.create_node(driver="fake-hardware", name="sdk-tr")
        sdk.add_node_trait(node, "CUSTOM_FAST")
        sdk.set_node_traits(node, ["CUSTOM_A", "CUSTOM_B", "HW_NIC_SRIOV"])
        assert sorted(sdk.get_node("sdk-tr").traits) == ["CUSTOM_A", "CUSTOM_B", "HW_NIC_SRIOV"]
        assert sdk.remove_node_trait(node, "CUSTOM_A") is True
        with pytest.raises(exceptions.NotFoundException):
            sdk.remove_node_trait(node, "CUSTOM_A", ignore_missing=False)
        with pytest.raises(exceptions.BadRequestException, match="Invalid trait"):
            sdk.add_node_trait(node, "not-a-trait")
        with pytest.raises(exceptions.BadRequestException):
            sdk.set_node_traits(node, [f"CUSTOM_T{i}" for i in range(51)])
        assert sorted(sdk.get_node("sdk-tr").traits) == ["CUSTOM_B", "HW_NIC_SRIOV"]
    finally:
        conn.close()
