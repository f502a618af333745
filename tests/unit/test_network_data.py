"""network_data.json (boot/configdrive.py) against the OpenStack network_data format.

The schema below is the format as Nova writes it and cloud-init reads it
(`cloudinit/sources/helpers/openstack.py`), written down from the published JSON schema that
Ironic validates network_data with (`ironic/api/controllers/v1/network-data-schema.json`,
trimmed to the link, network and service types Ironworks writes). One correction: that file's
bond_mode list says "802.1ad" where Nova, the Linux bonding driver and cloud-init say "802.3ad".
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from ironworks.boot.configdrive import HostNic, NicAddress, network_data
from ironworks.common.errors import InvalidInput
from ironworks.domain.network import BondMode

MAC = {"pattern": "(?i)^([0-9A-F]{2}[:-]){5}([0-9A-F]{2})$", "type": "string"}
MTU = {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 65535}, {"type": "null"}]}
IPV4 = {"type": "string", "format": "ipv4"}
IPV6 = {"type": "string", "format": "ipv6"}


def _network(version: int) -> dict[str, Any]:
    addr = IPV4 if version == 4 else IPV6
    route = {
        "type": "object",
        "required": ["network", "netmask", "gateway"],
        "properties": {"network": addr, "netmask": addr, "gateway": addr},
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "required": ["id", "type", "link", "network_id"],
        "properties": {
            "id": {"type": "string"},
            "type": {"enum": [f"ipv{version}"]},
            "link": {"type": "string"},
            "network_id": {"type": "string"},
            "ip_address": addr,
            "netmask": addr,
            "routes": {"type": "array", "items": route},
            "services": {"type": "array", "items": {"$ref": "#/definitions/service"}},
        },
        "additionalProperties": False,
    }


SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["links", "networks", "services"],
    "additionalProperties": False,
    "properties": {
        "links": {
            "type": "array",
            "items": {
                "oneOf": [
                    {"$ref": "#/definitions/phy"},
                    {"$ref": "#/definitions/bond"},
                    {"$ref": "#/definitions/vlan"},
                ]
            },
        },
        "networks": {"type": "array", "items": {"oneOf": [_network(4), _network(6)]}},
        "services": {"type": "array", "items": {"$ref": "#/definitions/service"}},
    },
    "definitions": {
        "phy": {
            "type": "object",
            "required": ["id", "type", "ethernet_mac_address"],
            "properties": {
                "id": {"type": "string"},
                "type": {"enum": ["phy"]},
                "ethernet_mac_address": MAC,
                "mtu": MTU,
                "vif_id": {"type": "string"},
            },
            "additionalProperties": False,
        },
        "bond": {
            "type": "object",
            "required": ["id", "type", "ethernet_mac_address", "bond_mode", "bond_links"],
            "properties": {
                "id": {"type": "string"},
                "type": {"enum": ["bond"]},
                "ethernet_mac_address": MAC,
                "mtu": MTU,
                "vif_id": {"type": "string"},
                "bond_mode": {
                    "enum": [
                        "802.3ad",
                        "balance-rr",
                        "active-backup",
                        "balance-xor",
                        "broadcast",
                        "balance-tlb",
                        "balance-alb",
                    ]
                },
                "bond_links": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                "bond_miimon": {"type": "integer", "minimum": 0},
            },
            "additionalProperties": False,
        },
        "vlan": {
            "type": "object",
            "required": ["id", "type", "vlan_mac_address", "vlan_link", "vlan_id"],
            "properties": {
                "id": {"type": "string"},
                "type": {"enum": ["vlan"]},
                "vlan_mac_address": MAC,
                "mtu": MTU,
                "vif_id": {"type": "string"},
                "vlan_id": {"type": "integer", "minimum": 1, "maximum": 4094},
                "vlan_link": {"type": "string"},
            },
            "additionalProperties": False,
        },
        "service": {
            "type": "object",
            "required": ["type", "address"],
            "properties": {"type": {"enum": ["dns"]}, "address": {"type": "string"}},
            "additionalProperties": False,
        },
    },
}


def check_format(data: dict[str, Any]) -> None:
    """Valid against the format, and every reference resolves: a bond's members and a VLAN's
    parent are links defined before it, a network's link is a link, ids are unique."""
    jsonschema.validate(data, SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    seen: list[str] = []
    for link in data["links"]:
        assert link["id"] not in seen, link
        for ref in link.get("bond_links", []) + (
            [link["vlan_link"]] if "vlan_link" in link else []
        ):
            assert ref in seen, (link, ref)
        seen.append(link["id"])
    ids = [n["id"] for n in data["networks"]]
    assert len(ids) == len(set(ids))
    assert all(n["link"] in seen for n in data["networks"])


V4 = NicAddress("192.0.2.10", "192.0.2.0/24", "192.0.2.1", ("192.0.2.53",))
V6 = NicAddress("2001:db8::10", "2001:db8::/64", "2001:db8::1", ("2001:db8::53",))


def test_a_plain_port_with_static_ipv4_and_ipv6():
    nic = HostNic(
        "nic-1", "net-1", "52:54:00:00:00:01", ("52:54:00:00:00:01",), mtu=1500, addresses=(V4, V6)
    )
    data = network_data([nic])
    check_format(data)
    assert data["links"] == [
        {
            "id": "phy0",
            "type": "phy",
            "ethernet_mac_address": "52:54:00:00:00:01",
            "mtu": 1500,
            "vif_id": "nic-1",
        }
    ]
    v4, v6 = data["networks"]
    assert v4 == {
        "id": "network0",
        "type": "ipv4",
        "link": "phy0",
        "ip_address": "192.0.2.10",
        "netmask": "255.255.255.0",
        "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "192.0.2.1"}],
        "network_id": "net-1",
        "services": [{"type": "dns", "address": "192.0.2.53"}],
    }
    assert v6["type"] == "ipv6" and v6["netmask"] == "ffff:ffff:ffff:ffff::"
    assert v6["routes"] == [{"network": "::", "netmask": "::", "gateway": "2001:db8::1"}]
    assert data["services"] == [
        {"type": "dns", "address": "192.0.2.53"},
        {"type": "dns", "address": "2001:db8::53"},
    ]


@pytest.mark.parametrize("mode", list(BondMode))
def test_a_bond_of_two_ports_with_a_vlan_on_top(mode):
    bond = HostNic(
        "nic-b",
        "net-b",
        "52:54:00:00:01:01",
        ("52:54:00:00:01:01", "52:54:00:00:01:02"),
        bond_mode=mode,
        mtu=9000,
        vlan_id=150,
        addresses=(V4,),
    )
    data = network_data([bond])
    check_format(data)
    phys = [link for link in data["links"] if link["type"] == "phy"]
    (b,) = [link for link in data["links"] if link["type"] == "bond"]
    (v,) = [link for link in data["links"] if link["type"] == "vlan"]
    assert [p["ethernet_mac_address"] for p in phys] == ["52:54:00:00:01:01", "52:54:00:00:01:02"]
    assert all(p["mtu"] == 9000 and "vif_id" not in p for p in phys)
    assert b["bond_links"] == [p["id"] for p in phys] and b["bond_mode"] == mode.value
    assert b["id"] == "bond0" and b["bond_miimon"] == 100 and b["mtu"] == 9000
    assert b["ethernet_mac_address"] == "52:54:00:00:01:01" and b["vif_id"] == "nic-b"
    assert (v["vlan_link"], v["vlan_id"], v["vlan_mac_address"]) == (
        "bond0",
        150,
        b["ethernet_mac_address"],
    )
    assert data["networks"][0]["link"] == v["id"]


def test_only_one_default_route_per_family_and_nics_without_addresses():
    other = NicAddress("198.51.100.7", "198.51.100.0/24", "198.51.100.1", ("192.0.2.53",))
    nics = [
        HostNic("a", "n-a", "52:54:00:00:02:01", ("52:54:00:00:02:01",), addresses=(V4,)),
        HostNic("b", "n-b", "52:54:00:00:02:02", ("52:54:00:00:02:02",), addresses=(other,)),
        HostNic("c", "n-c", "52:54:00:00:02:03", ("52:54:00:00:02:03",)),
    ]
    data = network_data(nics)
    check_format(data)
    assert [len(n["routes"]) for n in data["networks"]] == [1, 0]
    assert len(data["links"]) == 3 and data["services"] == [
        {"type": "dns", "address": "192.0.2.53"}
    ]


def test_the_checker_catches_a_broken_document():
    good = network_data(
        [HostNic("a", "n", "52:54:00:00:03:01", ("52:54:00:00:03:01",), addresses=(V4,))]
    )
    for broken in (
        {**good, "links": [{**good["links"][0], "ethernet_mac_address": "not-a-mac"}]},
        {**good, "networks": [{**good["networks"][0], "link": "nowhere"}]},
        {k: v for k, v in good.items() if k != "services"},
    ):
        with pytest.raises((jsonschema.ValidationError, AssertionError)):
            check_format(broken)


def test_a_bond_needs_two_ports():
    with pytest.raises(InvalidInput) as err:
        network_data(
            [
                HostNic(
                    "a", "n", "52:54:00:00:04:01", ("52:54:00:00:04:01",), bond_mode=BondMode.LACP
                )
            ]
        )
    assert err.value.field == "ports"
