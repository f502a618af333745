"""LLDP frames built by hand, byte by byte, and what the parser makes of them."""

from __future__ import annotations

import struct

from ironworks_agent import lldp

SWITCH_MAC = bytes.fromhex("0011223344aa")


def tlv(kind: int, value: bytes) -> bytes:
    return struct.pack("!H", kind << 9 | len(value)) + value


def frame(*tlvs: bytes, vlan: int | None = None) -> bytes:
    eth = bytes.fromhex("0180c200000e") + SWITCH_MAC
    if vlan is not None:
        eth += struct.pack("!HH", 0x8100, vlan)
    return eth + struct.pack("!H", 0x88CC) + b"".join(tlvs) + tlv(0, b"")


def test_chassis_mac_port_name_system_name_and_description() -> None:
    got = lldp.parse(
        frame(
            tlv(1, b"\x04" + SWITCH_MAC),  # chassis id, subtype MAC address
            tlv(2, b"\x05Ethernet1/7"),  # port id, subtype interface name
            tlv(3, b"\x00\x78"),  # TTL (ignored)
            tlv(4, b"server rack 4 slot 7"),
            tlv(5, b"leaf-04.dc1"),
            tlv(127, b"\x00\x80\xc2\x01\x00\x0a"),  # organisation-specific (ignored)
        )
    )
    assert got == {
        "chassis_id": "00:11:22:33:44:aa",
        "port_id": "Ethernet1/7",
        "system_name": "leaf-04.dc1",
        "port_description": "server rack 4 slot 7",
    }


def test_vlan_tag_port_mac_and_network_address_chassis() -> None:
    got = lldp.parse(
        frame(tlv(1, b"\x05\x01" + bytes([10, 99, 0, 1])), tlv(2, b"\x03" + SWITCH_MAC), vlan=100)
    )
    assert got == {
        "chassis_id": "10.99.0.1",
        "port_id": "00:11:22:33:44:aa",
        "system_name": None,
        "port_description": None,
    }


def test_not_lldp_truncated_or_missing_mandatory_tlvs_is_none() -> None:
    assert lldp.parse(b"\x00" * 10) is None
    ipv4 = bytes.fromhex("0180c200000e") + SWITCH_MAC + b"\x08\x00" + b"\x45" * 40
    assert lldp.parse(ipv4) is None
    assert lldp.parse(frame(tlv(2, b"\x05eth0"))) is None  # no chassis id
    whole = frame(tlv(1, b"\x04" + SWITCH_MAC), tlv(2, b"\x05eth0"))
    assert lldp.parse(whole[:20]) is None  # cut inside the chassis TLV
    assert lldp.parse(whole)["port_id"] == "eth0"  # type: ignore[index]


def test_listen_with_no_interfaces_returns_at_once() -> None:
    assert lldp.listen([], 5.0) == {}
