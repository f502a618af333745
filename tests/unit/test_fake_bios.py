"""The fake BIOS and firmware interfaces' steps, called the way the conductor's step runner calls
them, and the refusals of the no-* interfaces naming the hardware type."""

from __future__ import annotations

import pytest

from ironworks.common.errors import InvalidInput, NotSupported
from ironworks.drivers import base
from ironworks.drivers.declared_steps import find
from ironworks.drivers.fake import FAKE_BIOS, FakeBIOS, FakeFirmware
from ironworks.drivers.registry import interfaces_for


def task(driver: str = "fake-hardware") -> base.Task:
    return base.Task(node={"uuid": "n-1", "driver": driver, "driver_info": {}}, purpose="test")


def values(t: base.Task) -> dict[str, str]:
    return {s["name"]: s["value"] for s in t.bios_settings or []}


def test_apply_then_factory_reset():
    t, bios = task(), FakeBIOS()
    step = find({"bios": bios}, "deploy", "bios", "apply_configuration")
    assert step(t, settings=[{"name": "Virtualization", "value": "Disabled"}]) == "done"
    assert values(t)["Virtualization"] == "Disabled"
    assert t.internal[FAKE_BIOS] == {"Virtualization": "Disabled"}
    assert {s["name"]: s["value"] for s in bios.get_settings(t)}["Virtualization"] == "Disabled"
    assert bios.factory_reset(t) == "done"
    assert values(t)["Virtualization"] == "Enabled" and FAKE_BIOS not in t.internal


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (None, "settings"),
        ([{"name": "Nope", "value": 1}], "settings/0/name"),
        ([{"name": "SerialNumber", "value": "x"}], "settings/0/name"),
        ([{"name": "BootMode"}], "settings/0"),
    ],
)
def test_bad_settings(settings, field):
    with pytest.raises(InvalidInput) as e:
        FakeBIOS().apply_configuration(task(), settings=settings)
    assert e.value.field == field


def test_firmware_update_bumps_and_flags_the_flashed_version():
    t, fw = task(), FakeFirmware()
    assert fw.update(t, settings=[{"component": "bios", "url": "http://x/b.bin"}]) == "done"
    got = {c["component"]: c for c in t.firmware or []}
    assert got["bios"] == {
        "component": "bios",
        "current_version": "1.1.0",
        "last_version_flashed": "1.1.0",
    }
    assert "last_version_flashed" not in got["bmc"]
    with pytest.raises(InvalidInput):
        fw.update(t, settings=[{"component": "nic", "url": "http://x"}])


def test_ipmi_refusals_name_the_type_and_what_to_do():
    t = task("ipmi")
    t.node.update(driver_info={"ipmi_address": "127.0.0.1"})
    ifaces = interfaces_for({"driver": "ipmi"})
    for call in (
        lambda: ifaces["bios"].get_settings(t),
        lambda: ifaces["firmware"].get_components(t),
        lambda: ifaces["management"].attach_virtual_media(t, "cdrom", "http://x/y.iso"),
        lambda: ifaces["raid"].validate_raid_config(t, {"logical_disks": [{}]}),
    ):
        with pytest.raises(NotSupported) as e:
            call()
        assert "the ipmi hardware type does not support" in e.value.message
        assert ";" in e.value.message  # followed by what the operator can do
