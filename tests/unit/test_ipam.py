"""IPAM arithmetic: subnet validation, default pools, next free address, VLAN ranges."""

from __future__ import annotations

import ipaddress

import pytest

from ironworks.common.errors import Conflict, InvalidInput
from ironworks.domain import ipam
from ironworks.domain.ipam import Pool

ip = ipaddress.ip_address


def pool(a: str, b: str) -> Pool:
    return Pool(ip(a), ip(b))


# Subnets -------------------------------------------------------------------------------------


def test_ipv4_defaults_gateway_first_and_pool_rest():
    s = ipam.make_subnet("10.20.0.0/24")
    assert s.gateway == ip("10.20.0.1")
    assert s.pools == (pool("10.20.0.2", "10.20.0.254"),)
    assert s.capacity == 253


def test_ipv6_defaults_exclude_only_the_router_anycast_address():
    s = ipam.make_subnet("2001:db8:20::/64")
    assert s.gateway == ip("2001:db8:20::1")
    assert s.pools == (pool("2001:db8:20::2", "2001:db8:20::ffff:ffff:ffff:ffff"),)


def test_gateway_in_the_middle_splits_the_default_pool():
    s = ipam.make_subnet("10.0.0.0/29", gateway="10.0.0.4")
    assert s.pools == (pool("10.0.0.1", "10.0.0.3"), pool("10.0.0.5", "10.0.0.6"))


def test_gateway_at_the_end_leaves_one_pool():
    s = ipam.make_subnet("10.0.0.0/29", gateway="10.0.0.6")
    assert s.pools == (pool("10.0.0.1", "10.0.0.5"),)


def test_no_gateway():
    s = ipam.make_subnet("10.0.0.0/30", gateway=None)
    assert s.gateway is None
    assert s.pools == (pool("10.0.0.1", "10.0.0.2"),)


def test_point_to_point_prefixes_use_every_address():
    assert ipam.usable_range(ipaddress.ip_network("10.0.0.0/31")) == (
        ip("10.0.0.0"),
        ip("10.0.0.1"),
    )
    assert ipam.usable_range(ipaddress.ip_network("2001:db8::/127")) == (
        ip("2001:db8::"),
        ip("2001:db8::1"),
    )
    s = ipam.make_subnet("10.0.0.7/32", gateway=None)
    assert s.pools == (pool("10.0.0.7", "10.0.0.7"),)


@pytest.mark.parametrize(
    ("cidr", "words"),
    [
        ("10.0.0.0", "no prefix length"),
        ("10.0.0.1/24", "host bits set: the network of that address is 10.0.0.0/24"),
        ("10.0.0.0/33", "is not a subnet"),
        ("banana/24", "is not a subnet"),
        ("2001:db8::1/64", "host bits set"),
    ],
)
def test_bad_cidr_names_the_field(cidr, words):
    with pytest.raises(InvalidInput) as err:
        ipam.make_subnet(cidr)
    assert err.value.field == "cidr"
    assert words in err.value.message


@pytest.mark.parametrize(
    ("cidr", "gateway", "words"),
    [
        ("10.0.0.0/24", "10.0.1.1", "outside the subnet"),
        ("10.0.0.0/24", "10.0.0.0", "network address"),
        ("10.0.0.0/24", "10.0.0.255", "broadcast address"),
        ("10.0.0.0/24", "2001:db8::1", "IPv6 address but the subnet 10.0.0.0/24 is IPv4"),
        ("2001:db8::/64", "2001:db8::", "network address"),
        ("10.0.0.0/24", "ten", "is not an IP address"),
    ],
)
def test_bad_gateway_names_the_field(cidr, gateway, words):
    with pytest.raises(InvalidInput) as err:
        ipam.make_subnet(cidr, gateway=gateway)
    assert err.value.field == "gateway_ip"
    assert words in err.value.message


def test_ipv6_last_address_is_a_valid_gateway():
    s = ipam.make_subnet("2001:db8::/126", gateway="2001:db8::3")
    assert s.pools == (pool("2001:db8::1", "2001:db8::2"),)


def test_explicit_pools_are_sorted_and_accept_dicts_or_pairs():
    s = ipam.make_subnet(
        "10.0.0.0/24",
        pools=[{"start": "10.0.0.100", "end": "10.0.0.110"}, ("10.0.0.10", "10.0.0.20")],
    )
    assert s.pools == (pool("10.0.0.10", "10.0.0.20"), pool("10.0.0.100", "10.0.0.110"))
    assert s.capacity == 22


@pytest.mark.parametrize(
    ("pools", "field", "words"),
    [
        ([], "allocation_pools", "is empty"),
        ([{"start": "10.0.0.20", "end": "10.0.0.10"}], "allocation_pools[0]", "swap them"),
        ([{"start": "10.0.0.0", "end": "10.0.0.10"}], "allocation_pools[0].start", "network"),
        ([{"start": "10.0.0.2", "end": "10.0.0.255"}], "allocation_pools[0].end", "broadcast"),
        ([{"start": "10.0.0.2", "end": "10.0.1.5"}], "allocation_pools[0].end", "outside"),
        ([("10.0.0.2", "10.0.0.50"), ("10.0.0.50", "10.0.0.60")], "allocation_pools", "overlap"),
        ([("10.0.0.1", "10.0.0.50")], "allocation_pools", "gateway 10.0.0.1 lies inside"),
        (["10.0.0.2-10.0.0.5"], "allocation_pools[0]", "give it as"),
        ([{"start": "x", "end": "10.0.0.5"}], "allocation_pools[0].start", "not an IP"),
    ],
)
def test_bad_pools_name_the_field(pools, field, words):
    with pytest.raises(InvalidInput) as err:
        ipam.make_subnet("10.0.0.0/24", pools=pools)
    assert err.value.field == field
    assert words in err.value.message


def test_dns_servers_are_parsed_and_checked():
    s = ipam.make_subnet("10.0.0.0/24", dns=["9.9.9.9", "2620:fe::fe"])
    assert s.dns == (ip("9.9.9.9"), ip("2620:fe::fe"))
    with pytest.raises(InvalidInput) as err:
        ipam.make_subnet("10.0.0.0/24", dns=["dns.example"])
    assert err.value.field == "dns_nameservers"


def test_overlapping_subnets():
    n = ipaddress.ip_network
    others = [n("10.1.0.0/16"), n("2001:db8::/32"), n("10.0.0.128/25")]
    assert ipam.overlapping(n("10.0.0.0/24"), others) == n("10.0.0.128/25")
    assert ipam.overlapping(n("10.2.0.0/24"), others) is None


def test_check_host_address_for_fixed_ips():
    net = ipaddress.ip_network("192.168.1.0/24")
    ipam.check_host_address(net, ip("192.168.1.77"), field="fixed_ips[0]")
    with pytest.raises(InvalidInput) as err:
        ipam.check_host_address(net, ip("192.168.2.77"), field="fixed_ips[0]")
    assert err.value.field == "fixed_ips[0]"


# Allocation ----------------------------------------------------------------------------------


def test_next_free_skips_used_and_gateway():
    s = ipam.make_subnet("10.0.0.0/29", gateway="10.0.0.3")
    assert ipam.next_free(s, None, []) == ip("10.0.0.1")
    assert ipam.next_free(s, None, ["10.0.0.1", "10.0.0.2"]) == ip("10.0.0.4")
    # the gateway is never handed out, even from a pool given by the caller
    assert ipam.next_free(s, [pool("10.0.0.3", "10.0.0.4")], []) == ip("10.0.0.4")


def test_next_free_fills_holes_first_and_moves_across_pools():
    s = ipam.make_subnet(
        "10.0.0.0/24", pools=[("10.0.0.10", "10.0.0.12"), ("10.0.0.50", "10.0.0.51")]
    )
    assert ipam.next_free(s, None, ["10.0.0.10", "10.0.0.12"]) == ip("10.0.0.11")
    assert ipam.next_free(s, None, ["10.0.0.10", "10.0.0.11", "10.0.0.12"]) == ip("10.0.0.50")
    # used addresses outside the pools change nothing
    assert ipam.next_free(s, None, ["10.0.0.200", "10.0.0.1"]) == ip("10.0.0.10")


def test_exhaustion_returns_none_and_allocate_raises_a_clear_conflict():
    s = ipam.make_subnet("10.0.0.0/30")  # gateway .1, one address left: .2
    assert ipam.next_free(s, None, [ip("10.0.0.2")]) is None
    with pytest.raises(Conflict) as err:
        ipam.allocate(s, ["10.0.0.2"], name="subnet 'tenant-a'")
    assert (
        "No free address left in subnet 'tenant-a' (10.0.0.0/30, 1 addresses" in err.value.message
    )
    assert err.value.field == "subnet"
    assert ipam.allocate(s, []) == ip("10.0.0.2")


def test_next_free_on_a_slash16_with_many_used_addresses():
    s = ipam.make_subnet("10.50.0.0/16")
    first, _ = ipam.usable_range(s.cidr)
    used = [str(first + i) for i in range(1, 20000)]  # .0.2 onwards: 19,999 addresses, as text
    used.reverse()  # the database hands them over in any order
    assert ipam.next_free(s, None, used) == first + 20000
    hole = used.pop(1234)  # a hole is found first
    assert ipam.next_free(s, None, used) == ip(hole)


def test_next_free_on_a_slash64_never_walks_the_subnet():
    s = ipam.make_subnet("2001:db8:1::/64")
    used = [s.gateway + i for i in range(1, 5000)]
    assert ipam.next_free(s, None, used) == s.gateway + 5000
    # a pool at the very end of the /64
    end = s.cidr.broadcast_address
    assert ipam.next_free(s, [Pool(end - 1, end)], [end - 1]) == end
    assert ipam.next_free(s, [Pool(end - 1, end)], [end - 1, end]) is None


def test_ipv6_allocate_exhausted():
    s = ipam.make_subnet("2001:db8::/126", gateway="2001:db8::1")
    assert s.pools == (pool("2001:db8::2", "2001:db8::3"),)
    with pytest.raises(Conflict):
        ipam.allocate(s, ["2001:db8::2", "2001:db8::3"])


# Segmentation ids ----------------------------------------------------------------------------


def test_parse_and_format_ranges():
    ranges = ipam.parse_ranges(" 300, 100-199 ,4094")
    assert [(r.first, r.last) for r in ranges] == [(100, 199), (300, 300), (4094, 4094)]
    assert ipam.format_ranges(ranges) == "100-199,300,4094"
    assert ipam.in_ranges(150, ranges) and not ipam.in_ranges(200, ranges)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0-10", "out of range"),
        ("4000-4095", "out of range"),
        ("200-100", "runs backwards"),
        ("100-199,150-160", "overlap"),
        ("100,,200", "empty item"),
        ("ten", "not a VLAN id"),
        ("", "empty item"),
    ],
)
def test_bad_ranges_name_the_field(text, words):
    with pytest.raises(InvalidInput) as err:
        ipam.parse_ranges(text)
    assert err.value.field == "segmentation_ranges"
    assert words in err.value.message


def test_next_free_segment_and_exhaustion():
    ranges = ipam.parse_ranges("100-101,300")
    assert ipam.next_free_segment(ranges, []) == 100
    assert ipam.next_free_segment(ranges, [100]) == 101
    assert ipam.next_free_segment(ranges, [100, 101, 5]) == 300
    assert ipam.next_free_segment(ranges, [100, 101, 300]) is None
    with pytest.raises(Conflict) as err:
        ipam.allocate_segment(ranges, [100, 101, 300], physical_network="fabric-a")
    assert "'fabric-a' (100-101,300)" in err.value.message
    assert err.value.field == "segmentation_id"


def test_full_vlan_range_is_cheap():
    ranges = ipam.parse_ranges("1-4094")
    assert ipam.next_free_segment(ranges, range(1, 4094)) == 4094
    assert ipam.next_free_segment(ranges, range(1, 4095)) is None


@pytest.mark.parametrize("value", ["0", 4095, "x"])
def test_check_segment_rejects(value):
    with pytest.raises(InvalidInput) as err:
        ipam.check_segment(value)
    assert err.value.field == "segmentation_id"
