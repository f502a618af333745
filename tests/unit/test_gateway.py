"""The gateway's pure part: names from ids, each link's addresses, the nftables ruleset, and the
bridges the settings name (drivers/gateway/ruleset.py, services/gateway.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ironworks.common.settings import GatewaySettings
from ironworks.drivers.gateway import Leg, Router, link_names, namespace, render
from ironworks.drivers.gateway.ruleset import addresses
from ironworks.services.gateway import bridge

R = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
N1 = "12345678-9abc-4def-8123-456789abcdef"
N2 = "fedcba98-7654-4321-8fed-cba987654321"
EXT = Leg("aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "br-vlan100", "10.99.72.2/24", "10.99.72.0/24")


def _router(**kw: object) -> Router:
    base: dict[str, object] = {
        "uuid": R,
        "external": EXT,
        "external_gateway": "10.99.72.1",
        "internal": (
            Leg(N1, "br-vlan101", "10.20.0.1/24", "10.20.0.0/24"),
            Leg(N2, "br-vlan102", "10.30.0.1/24", "10.30.0.0/24"),
        ),
        "floating": (("10.99.72.9", "10.30.0.7"), ("10.99.72.3", "10.20.0.5")),
    }
    return Router(**{**base, **kw})  # type: ignore[arg-type]


def test_names_are_deterministic_and_fit_the_kernel() -> None:
    assert namespace(R) == f"iwr-{R}" and namespace(R, "lab-") == f"lab-{R}"
    assert link_names(R) == ("ext0", "iwx0f1e2d3c")
    inside, outside = link_names(R, N1)
    assert (inside, outside) == ("int-12345678", "iwi0f1e2d123456")
    assert link_names(R, N1) == (inside, outside)  # the same ids, the same names
    assert all(len(n) <= 15 for n in (*link_names(R), *link_names(R, N2)))
    assert link_names(R, N2)[1] != outside


def test_each_link_holds_its_addresses() -> None:
    assert addresses(_router()) == {
        "ext0": ["10.99.72.2/24", "10.99.72.3/32", "10.99.72.9/32"],
        "int-12345678": ["10.20.0.1/24"],
        "int-fedcba98": ["10.30.0.1/24"],
    }
    # an unassociated floating IP is on no link: nothing answers for it
    assert addresses(_router(floating=()))["ext0"] == ["10.99.72.2/24"]


def test_the_ruleset_maps_each_floating_ip_and_snats_the_rest() -> None:
    text = render(_router())
    assert text.startswith("flush ruleset\ntable ip ironworks {")
    body = [line.strip() for line in text.splitlines()]
    dnat = [line for line in body if "dnat to" in line]
    assert dnat == [
        "ip daddr 10.99.72.3 dnat to 10.20.0.5",
        "ip daddr 10.99.72.9 dnat to 10.30.0.7",
    ]
    snat = [line for line in body if "snat to" in line]
    assert snat == [
        'oifname "ext0" ip saddr 10.20.0.5 snat to 10.99.72.3',
        'oifname "ext0" ip saddr 10.30.0.7 snat to 10.99.72.9',
        'oifname "ext0" ip saddr 10.20.0.0/24 snat to 10.99.72.2',
        'oifname "ext0" ip saddr 10.30.0.0/24 snat to 10.99.72.2',
    ]  # 1:1 first: a mapped host leaves from its floating IP, the others from the router's
    assert "type filter hook forward priority filter; policy drop;" in body
    assert 'iifname "ext0" ct status dnat accept' in body  # from outside: mapped hosts only
    # the same plan in another order renders the same text (applying twice changes nothing)
    shuffled = _router(floating=tuple(reversed(_router().floating)))
    assert render(shuffled) == text


def test_a_router_without_project_subnets_only_forwards_replies() -> None:
    text = render(_router(internal=(), floating=()))
    assert "iifname {" not in text and "snat to" not in text and "dnat to" not in text


def test_bridges_come_from_the_settings() -> None:
    conf = GatewaySettings()
    assert bridge(conf, N1, "vlan", 101) == "br-vlan101"
    assert bridge(conf, N1, "flat", None) == "br-12345678"
    custom = GatewaySettings(bridge_template="vlan{segmentation_id}-{network:.4}")
    assert bridge(custom, N1, "vlan", 7) == "vlan7-1234"


def test_a_bridge_template_that_cannot_fill_in_is_refused() -> None:
    for bad in ("br-{vlan}", "br-{0}", "{network}"):  # unknown name, position, 36 characters
        with pytest.raises(ValidationError) as err:
            GatewaySettings(bridge_template=bad)
        assert "bridge_template" in str(err.value)
