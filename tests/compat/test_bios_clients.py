"""BIOS settings, firmware components, virtual media and RAID properties through the official
clients against a live Ironworks: the `baremetal` CLI (python-ironicclient; it has no vmedia
commands) and openstacksdk's bare metal proxy (firmware and vmedia; it has no BIOS calls).
Negative cases: an unknown setting (404), an ipmi node (the hardware type's refusal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from ironworks.drivers.fake import FAKE_BIOS_DEFAULTS, FAKE_VMEDIA
from tests.compat.test_baremetal_cli import BAREMETAL, Baremetal, prepare
from tests.conftest import LiveServer

pytestmark = [
    pytest.mark.compat,
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:openstack"),
]

IPMI = {
    "driver": "ipmi",
    "driver_info": {"ipmi_address": "127.0.0.1", "ipmi_username": "a", "ipmi_password": "b"},
}


@pytest.fixture
def bm(live_server: LiveServer, tmp_path: Path) -> Baremetal:
    pytest.importorskip("ironicclient")
    if not BAREMETAL.exists():
        pytest.skip(f"{BAREMETAL} is not installed")
    return Baremetal(live_server, tmp_path / "client-home")


def test_cli_bios_settings_and_firmware(bm: Baremetal, live_server: LiveServer) -> None:
    prepare(live_server, "bios-1", "manage")  # verify fills the cache
    rows = bm.json("node", "bios", "setting", "list", "bios-1")
    names = [r["name"] for r in rows]
    assert names == sorted(FAKE_BIOS_DEFAULTS)
    values = {r["name"]: r["value"] for r in rows}
    assert values["Virtualization"] == "Enabled"

    long = bm.json("node", "bios", "setting", "list", "--long", "bios-1")
    virt = next(r for r in long if r["name"] == "Virtualization")
    assert virt["allowable_values"] == ["Enabled", "Disabled"]

    shown = bm.json("node", "bios", "setting", "show", "bios-1", "NumCores")
    assert shown["name"] == "NumCores" and shown["value"] == "8"
    missing = bm.run("node", "bios", "setting", "show", "bios-1", "NoSuchKnob", ok=False)
    assert "NoSuchKnob" in missing.stderr + missing.stdout

    firmware = bm.json("node", "firmware", "list", "bios-1")
    got = {r["component"]: r for r in firmware}
    assert got["bios"]["current_version"] == "1.0.0" and got["bmc"]["initial_version"] == "2.0.0"


def test_cli_refusals_name_the_hardware_type(bm: Baremetal, live_server: LiveServer) -> None:
    prepare(live_server, "ipmi-1", **IPMI)
    for args in (
        ("node", "bios", "setting", "list", "ipmi-1"),
        ("node", "bios", "setting", "show", "ipmi-1", "BootMode"),
        ("node", "firmware", "list", "ipmi-1"),
    ):
        out = bm.run(*args, ok=False)
        assert "ipmi hardware type does not support" in out.stderr + out.stdout, args

    props = bm.json("driver", "raid", "property", "list", "fake-hardware")
    assert {p["property"] for p in props} >= {"size_gb", "raid_level"}
    refused = bm.run("driver", "raid", "property", "list", "ipmi", ok=False)
    assert "does not support RAID" in refused.stderr + refused.stdout


def test_sdk_firmware_and_vmedia(live_server: LiveServer) -> None:
    openstack = pytest.importorskip("openstack")
    from openstack import exceptions

    prepare(live_server, "vm-1", "manage")
    prepare(live_server, "ipmi-2", **IPMI)
    conn = openstack.connect(
        auth_type="none",
        baremetal_endpoint_override=live_server.url,
        load_yaml_config=False,
        load_envvars=False,
    )
    sdk: Any = conn.baremetal

    def internal() -> dict[str, Any]:
        latest = {"X-OpenStack-Ironic-API-Version": "latest"}
        with httpx.Client(base_url=f"{live_server.url}/v1", timeout=10, headers=latest) as http:
            return http.get("/nodes/vm-1").json()["driver_internal_info"]

    try:
        firmware = sdk.list_node_firmware("vm-1")["firmware"]
        assert {c["component"] for c in firmware} == {"bios", "bmc"}

        sdk.attach_vmedia_to_node("vm-1", "cdrom", "http://127.0.0.1:9/boot.iso")
        assert internal()[FAKE_VMEDIA] == {"cdrom": "http://127.0.0.1:9/boot.iso"}
        sdk.detach_vmedia_from_node("vm-1", ["cdrom"])
        assert internal()[FAKE_VMEDIA] == {}

        with pytest.raises(exceptions.BadRequestException, match="device_type"):
            sdk.attach_vmedia_to_node("vm-1", "tape", "http://127.0.0.1:9/boot.iso")
        with pytest.raises(exceptions.BadRequestException, match="ipmi hardware type"):
            sdk.attach_vmedia_to_node("ipmi-2", "cdrom", "http://127.0.0.1:9/boot.iso")
        with pytest.raises(exceptions.BadRequestException, match="ipmi hardware type"):
            sdk.list_node_firmware("ipmi-2")
    finally:
        conn.close()
