"""Node capabilities (domain/capabilities.py): one parse for flavors, drivers and boot."""

from __future__ import annotations

from ironworks.domain.capabilities import capability, parse, unparse, with_capability


def test_both_forms_read_alike() -> None:
    text = {"properties": {"capabilities": "boot_mode: uefi ,secure_boot:true,junk"}}
    obj = {"properties": {"capabilities": {"boot_mode": "uefi", "secure_boot": True}}}
    for node in (text, obj):
        assert capability(node, "boot_mode") == "uefi"
        assert capability(node, "secure_boot") in ("true", "True")
        assert capability(node, "junk") is None
    assert capability({"properties": None}, "boot_mode") is None
    assert parse("a:1,a:2") == {"a": "1"}  # the first of a repeated key counts
    assert parse(42) == {}


def test_setting_one_keeps_the_others_in_ironic_form() -> None:
    props = {"cpus": 4, "capabilities": "secure_boot:true,boot_mode:bios"}
    out = with_capability(props, "boot_mode", "uefi")
    assert out == {"cpus": 4, "capabilities": "boot_mode:uefi,secure_boot:true"}
    assert props["capabilities"] == "secure_boot:true,boot_mode:bios"  # the input is untouched
    assert unparse({}) == ""
