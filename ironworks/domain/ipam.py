"""Address and segment arithmetic of tenant networks (IPAM), without I/O.

A *subnet* is a CIDR (IPv4 or IPv6), an optional gateway and one or more *allocation pools*
(inclusive address ranges inside the CIDR) from which host addresses are handed out. The rules,
checked by `make_subnet` with an error naming the field (Neutron's field names):

* `cidr`: a network address with its prefix (host bits zero), IPv4 or IPv6;
* `gateway_ip`: inside the CIDR and a usable host address: not the network address, not the IPv4
  broadcast address (except on /31 and /32, RFC 3021, and /127 and /128, RFC 6164, where every
  address is usable); by default the first usable address, `None` for no gateway;
* `allocation_pools`: each start <= end, both usable addresses of the CIDR, the pools do not
  overlap one another and none contains the gateway. By default the usable range minus the
  gateway (one or two pools).

`next_free` picks the lowest free address of the pools. It walks the pool ranges and the sorted
used addresses side by side, so its cost follows the number of used addresses, not the size of
the subnet (a /64 has 2^64 addresses: never materialise them). Which addresses are used lives in
the database; this module only does the arithmetic, the database makes allocation unique.

Segmentation ids (VLAN ids, 1-4094 per IEEE 802.1Q; 0 and 4095 are reserved) are handed out from
per-physical-network ranges written as "100-199,300": `parse_ranges`, `next_free_segment`.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ironworks.common.errors import Conflict, InvalidInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_ADDRESS_TYPES = (ipaddress.IPv4Address, ipaddress.IPv6Address)

VLAN_MIN = 1
VLAN_MAX = 4094

# `make_subnet(gateway=DEFAULT_GATEWAY)`: the first usable address of the CIDR.
DEFAULT_GATEWAY = "default"


@dataclass(frozen=True)
class Pool:
    """An inclusive range of addresses handed out to NICs."""

    start: Address
    end: Address

    @property
    def size(self) -> int:
        return int(self.end) - int(self.start) + 1

    def __contains__(self, address: object) -> bool:
        return (
            isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address)
            and address.version == self.start.version
            and self.start <= address <= self.end
        )

    def as_dict(self) -> dict[str, str]:
        return {"start": str(self.start), "end": str(self.end)}


@dataclass(frozen=True)
class Subnet:
    """A validated subnet: build it with `make_subnet`."""

    cidr: Network
    gateway: Address | None
    pools: tuple[Pool, ...]
    dns: tuple[Address, ...] = ()

    @property
    def version(self) -> int:
        return self.cidr.version

    @property
    def capacity(self) -> int:
        """How many addresses the pools can hand out."""
        return sum(p.size for p in self.pools)


# Addresses -----------------------------------------------------------------------------------


def parse_address(value: Any, *, field: str) -> Address:
    try:
        return ipaddress.ip_address(str(value).strip())
    except ValueError:
        raise InvalidInput(
            f"{value!r} is not an IP address: give an IPv4 address (10.0.0.5) or an IPv6 "
            "address (2001:db8::5).",
            field=field,
        ) from None


def parse_cidr(value: Any, *, field: str = "cidr") -> Network:
    text = str(value).strip()
    if "/" not in text:
        raise InvalidInput(
            f"{value!r} has no prefix length: write the subnet as address/prefix, e.g. "
            "10.20.0.0/24 or 2001:db8:20::/64.",
            field=field,
        )
    try:
        return ipaddress.ip_network(text)
    except ValueError as exc:
        if "has host bits set" in str(exc):
            net = ipaddress.ip_network(text, strict=False)
            raise InvalidInput(
                f"{value!r} has host bits set: the network of that address is {net}; give "
                "the network address.",
                field=field,
            ) from None
        raise InvalidInput(
            f"{value!r} is not a subnet: write it as address/prefix, e.g. 10.20.0.0/24 or "
            "2001:db8:20::/64.",
            field=field,
        ) from None


def usable_range(cidr: Network) -> tuple[Address, Address]:
    """The first and last address a host may hold in `cidr`.

    IPv4 reserves the network and broadcast addresses, IPv6 the subnet-router anycast address
    (the network address); point-to-point prefixes (/31, /32, /127, /128) reserve nothing."""
    first, last = cidr.network_address, cidr.broadcast_address
    if cidr.num_addresses <= 2:
        return first, last
    if cidr.version == 4:
        return first + 1, last - 1
    return first + 1, last


def check_host_address(cidr: Network, address: Address, *, field: str) -> None:
    """Raise unless `address` is a usable host address of `cidr` (for fixed IPs and gateways)."""
    if address.version != cidr.version:
        raise InvalidInput(
            f"{address} is an IPv{address.version} address but the subnet {cidr} is "
            f"IPv{cidr.version}: give an address of {cidr}.",
            field=field,
        )
    if address not in cidr:
        raise InvalidInput(
            f"{address} is outside the subnet {cidr}: give an address inside it.", field=field
        )
    first, last = usable_range(cidr)
    if address < first:
        raise InvalidInput(
            f"{address} is the network address of {cidr}, which no host may hold: use an "
            f"address from {first} to {last}.",
            field=field,
        )
    if address > last:
        raise InvalidInput(
            f"{address} is the broadcast address of {cidr}, which no host may hold: use an "
            f"address from {first} to {last}.",
            field=field,
        )


# Subnets -------------------------------------------------------------------------------------


def default_pools(cidr: Network, gateway: Address | None) -> tuple[Pool, ...]:
    """The usable range of `cidr` minus the gateway: one pool, or two around the gateway."""
    first, last = usable_range(cidr)
    if gateway is None or not first <= gateway <= last:
        return (Pool(first, last),)
    pools = []
    if gateway > first:
        pools.append(Pool(first, gateway - 1))
    if gateway < last:
        pools.append(Pool(gateway + 1, last))
    return tuple(pools)


def _parse_pool(cidr: Network, raw: Any, index: int) -> Pool:
    field = f"allocation_pools[{index}]"
    if isinstance(raw, Pool):
        start, end = raw.start, raw.end
    elif isinstance(raw, dict) and {"start", "end"} <= raw.keys():
        start = parse_address(raw["start"], field=f"{field}.start")
        end = parse_address(raw["end"], field=f"{field}.end")
    elif isinstance(raw, list | tuple) and len(raw) == 2:
        start = parse_address(raw[0], field=f"{field}.start")
        end = parse_address(raw[1], field=f"{field}.end")
    else:
        raise InvalidInput(
            f"Allocation pool {index} is {raw!r}: give it as {{'start': ..., 'end': ...}}.",
            field=field,
        )
    check_host_address(cidr, start, field=f"{field}.start")
    check_host_address(cidr, end, field=f"{field}.end")
    if start > end:
        raise InvalidInput(
            f"Allocation pool {index} starts at {start}, after its end {end}: swap them.",
            field=field,
        )
    return Pool(start, end)


def make_subnet(
    cidr: Any,
    *,
    gateway: Any = DEFAULT_GATEWAY,
    pools: Sequence[Any] | None = None,
    dns: Iterable[Any] = (),
) -> Subnet:
    """Validate a subnet's fields and return it; raise InvalidInput naming the field."""
    net = parse_cidr(cidr)
    if gateway == DEFAULT_GATEWAY:
        gw: Address | None = usable_range(net)[0]
    elif gateway is None or gateway == "":
        gw = None
    else:
        gw = parse_address(gateway, field="gateway_ip")
        check_host_address(net, gw, field="gateway_ip")
    if pools is None:
        parsed = default_pools(net, gw)
    else:
        if not pools:
            raise InvalidInput(
                "allocation_pools is empty: give at least one pool, or omit the field to "
                "hand out every address of the subnet but the gateway.",
                field="allocation_pools",
            )
        given = [_parse_pool(net, p, i) for i, p in enumerate(pools)]
        parsed = tuple(sorted(given, key=lambda p: p.start))
        for a, b in itertools.pairwise(parsed):
            if b.start <= a.end:
                raise InvalidInput(
                    f"Allocation pools {a.start}-{a.end} and {b.start}-{b.end} overlap: "
                    "make them disjoint.",
                    field="allocation_pools",
                )
        if gw is not None:
            for p in parsed:
                if gw in p:
                    raise InvalidInput(
                        f"The gateway {gw} lies inside the allocation pool {p.start}-{p.end}: "
                        "exclude it from the pool or move the gateway.",
                        field="allocation_pools",
                    )
    servers = tuple(parse_address(d, field="dns_nameservers") for d in dns)
    return Subnet(cidr=net, gateway=gw, pools=parsed, dns=servers)


def overlapping(cidr: Network, others: Iterable[Network]) -> Network | None:
    """The first of `others` that shares an address with `cidr` (subnets of one network, or of
    one routing domain, must not overlap)."""
    for other in others:
        if other.version == cidr.version and cidr.overlaps(other):
            return other
    return None


# Allocation ----------------------------------------------------------------------------------


def next_free(
    subnet: Subnet, pools: Sequence[Pool] | None, used: Iterable[Address | str]
) -> Address | None:
    """The lowest address of `pools` (the subnet's own when None) that is neither used nor the
    gateway; None when every pool is full.

    Cost: sorting the used addresses, then one pass; a pool's size never matters."""
    ranges = sorted(subnet.pools if pools is None else pools, key=lambda p: p.start)
    taken = {
        int(a) if isinstance(a, _ADDRESS_TYPES) else int(ipaddress.ip_address(a)) for a in used
    }
    if subnet.gateway is not None:
        taken.add(int(subnet.gateway))
    taken_sorted = sorted(taken)
    make = ipaddress.IPv4Address if subnet.version == 4 else ipaddress.IPv6Address
    i = 0
    for pool in ranges:
        candidate, end = int(pool.start), int(pool.end)
        while i < len(taken_sorted) and taken_sorted[i] < candidate:
            i += 1
        while i < len(taken_sorted) and taken_sorted[i] == candidate:
            candidate += 1
            i += 1
        if candidate <= end:
            return make(candidate)
    return None


def allocate(subnet: Subnet, used: Iterable[Address | str], *, name: str = "the subnet") -> Address:
    """`next_free` over the subnet's pools, or Conflict when they are exhausted."""
    address = next_free(subnet, None, used)
    if address is None:
        raise Conflict(
            f"No free address left in {name} ({subnet.cidr}, {subnet.capacity} addresses in its "
            "pools): release addresses, widen the allocation pools or add a subnet.",
            field="subnet",
        )
    return address


# Segmentation ids ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentRange:
    """An inclusive range of segmentation ids (VLAN ids)."""

    first: int
    last: int

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


def check_segment(value: Any, *, field: str = "segmentation_id") -> int:
    """A VLAN id given by hand: an integer from 1 to 4094."""
    try:
        vid = int(str(value).strip())
    except ValueError:
        raise InvalidInput(
            f"{value!r} is not a VLAN id: give a number from {VLAN_MIN} to {VLAN_MAX}.",
            field=field,
        ) from None
    if not VLAN_MIN <= vid <= VLAN_MAX:
        raise InvalidInput(
            f"VLAN id {vid} is out of range: VLAN ids run from {VLAN_MIN} to {VLAN_MAX} "
            "(0 and 4095 are reserved by 802.1Q).",
            field=field,
        )
    return vid


def parse_ranges(text: str, *, field: str = "segmentation_ranges") -> tuple[SegmentRange, ...]:
    """Parse "100-199,300" into sorted, disjoint ranges; raise InvalidInput naming the field."""
    ranges = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            raise InvalidInput(
                f"{text!r} has an empty item: write ranges as '100-199,300'.", field=field
            )
        lo, sep, hi = part.partition("-")
        first = check_segment(lo, field=field)
        last = check_segment(hi, field=field) if sep else first
        if first > last:
            raise InvalidInput(
                f"The range {part!r} runs backwards: write it as {last}-{first}.", field=field
            )
        ranges.append(SegmentRange(first, last))
    ranges.sort(key=lambda r: r.first)
    for a, b in itertools.pairwise(ranges):
        if b.first <= a.last:
            raise InvalidInput(
                f"The ranges {a} and {b} overlap in {text!r}: make them disjoint.", field=field
            )
    return tuple(ranges)


def format_ranges(ranges: Iterable[SegmentRange]) -> str:
    return ",".join(str(r) for r in ranges)


def in_ranges(vid: int, ranges: Iterable[SegmentRange]) -> bool:
    return any(r.first <= vid <= r.last for r in ranges)


def next_free_segment(ranges: Sequence[SegmentRange], used: Iterable[int]) -> int | None:
    """The lowest id of `ranges` not in `used`; None when every range is full."""
    taken = set(used)
    for r in sorted(ranges, key=lambda r: r.first):
        for vid in range(r.first, r.last + 1):  # at most 4094 ids: plain iteration is cheap
            if vid not in taken:
                return vid
    return None


def allocate_segment(
    ranges: Sequence[SegmentRange], used: Iterable[int], *, physical_network: str
) -> int:
    """`next_free_segment`, or Conflict naming the physical network when its ranges are full."""
    vid = next_free_segment(ranges, used)
    if vid is None:
        raise Conflict(
            f"Every VLAN id of physical network {physical_network!r} "
            f"({format_ranges(ranges) or 'no range'}) is in use: widen its segmentation "
            "ranges or delete unused networks.",
            field="segmentation_id",
        )
    return vid
