"""What a project router is, its names, and its nftables ruleset: pure functions of the plan.

A router has one leg (a veth pair) on the external network and one on each IPv4 subnet of its
project's own networks. Inside its namespace the external leg holds the router's own address
and, as /32s, the floating IPs that are associated (so the namespace answers ARP for them; an
unassociated floating IP is not on the leg and nothing answers for it). The ruleset:

* `prerouting` (dstnat): each associated floating IP is DNATed to its fixed IP;
* `postrouting` (srcnat): traffic of a fixed IP with a floating IP leaves from the floating IP
  (1:1), all other traffic of the project's subnets from the router's own address (SNAT);
* `forward` (filter, policy drop): replies, the project's subnets going out or between
  themselves, and from outside only connections a DNAT rule let in. Nothing else is routed.

Names are deterministic from ids: the namespace `iwr-<router uuid>` (the prefix is a
setting); inside it `ext0` and
`int-<8 hex of the network uuid>`; their peers, on the network node's bridges,
`iwx<8 hex of the router>` and `iwi<6 hex of the router><6 hex of the network>` (15
characters at most, the kernel's limit).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

PREFIX = "iwr-"
EXTERNAL = "ext0"
TABLE = "ironworks"


@dataclass(frozen=True)
class Leg:
    """The router's interface on one network: the bridge it plugs into on the network node, its
    address with the subnet's prefix (`10.20.0.1/24`), and the subnet (`10.20.0.0/24`)."""

    network: str
    bridge: str
    address: str
    cidr: str


@dataclass(frozen=True)
class Router:
    uuid: str
    external: Leg
    external_gateway: str | None = None
    internal: tuple[Leg, ...] = ()
    # (floating address, fixed address) of each associated floating IP
    floating: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def _hex(uuid: str) -> str:
    return uuid.replace("-", "").lower()


def namespace(router_uuid: str, prefix: str = PREFIX) -> str:
    return f"{prefix}{router_uuid}"


def link_names(router_uuid: str, network_uuid: str | None = None) -> tuple[str, str]:
    """(name inside the namespace, name of its peer on the bridge) of the external leg (no
    network) or of the leg on a project network."""
    r = _hex(router_uuid)
    if network_uuid is None:
        return EXTERNAL, f"iwx{r[:8]}"
    n = _hex(network_uuid)
    return f"int-{n[:8]}", f"iwi{r[:6]}{n[:6]}"


def addresses(router: Router) -> dict[str, list[str]]:
    """Each inside link's addresses (with prefix), sorted: what `ip addr` must show."""
    ext = [router.external.address] + [f"{f}/32" for f, _ in router.floating]
    out = {EXTERNAL: sorted(set(ext))}
    for leg in router.internal:
        out[link_names(router.uuid, leg.network)[0]] = [leg.address]
    return out


def _cidr(value: str) -> str:
    return str(ipaddress.ip_network(value, strict=False))


def render(router: Router) -> str:
    """The whole ruleset of the router's namespace, for `nft -f` (atomic: the file flushes the
    namespace's ruleset and loads the new one in one transaction)."""
    own = str(ipaddress.ip_interface(router.external.address).ip)
    inside = sorted(link_names(router.uuid, leg.network)[0] for leg in router.internal)
    dnat = [f"        ip daddr {f} dnat to {x}" for f, x in sorted(router.floating)]
    snat = [
        f'        oifname "{EXTERNAL}" ip saddr {x} snat to {f}' for f, x in sorted(router.floating)
    ]
    snat += [
        f'        oifname "{EXTERNAL}" ip saddr {c} snat to {own}'
        for c in sorted({_cidr(leg.cidr) for leg in router.internal})
    ]
    forward = ["        ct state established,related accept"]
    if inside:
        names = ", ".join(f'"{n}"' for n in inside)
        forward += [
            f'        iifname {{ {names} }} oifname {{ {names}, "{EXTERNAL}" }} accept',
        ]
    forward += [f'        iifname "{EXTERNAL}" ct status dnat accept']
    lines = [
        "flush ruleset",
        f"table ip {TABLE} {{",
        "    chain prerouting {",
        "        type nat hook prerouting priority dstnat; policy accept;",
        *dnat,
        "    }",
        "    chain postrouting {",
        "        type nat hook postrouting priority srcnat; policy accept;",
        *snat,
        "    }",
        "    chain forward {",
        "        type filter hook forward priority filter; policy drop;",
        *forward,
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n"
