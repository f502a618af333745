"""`services.hostnics.assign`: which free port or port group each NIC of a host is bound to."""

from __future__ import annotations

from typing import Any

from ironworks.services.hostnics import assign


def slot(pk: int, kind: str = "ports", physnet: str | None = None, **kw: Any) -> dict[str, Any]:
    return {
        "id": pk,
        "kind": kind,
        "physical_network": physnet,
        "pxe_enabled": kw.get("pxe", True),
        "taken": kw.get("taken", False),
    }


def ids(picked: list[dict[str, Any]] | None) -> list[tuple[str, int]] | None:
    return None if picked is None else [(s["kind"], s["id"]) for s in picked]


def test_port_groups_then_pxe_ports_then_the_rest() -> None:
    slots = [slot(1, pxe=False), slot(2), slot(3, "portgroups")]
    assert ids(assign(slots, ["a", "a", "a"])) == [("portgroups", 3), ("ports", 2), ("ports", 1)]


def test_taken_slots_are_skipped_and_too_many_nics_is_none() -> None:
    slots = [slot(1, taken=True), slot(2)]
    assert ids(assign(slots, ["a"])) == [("ports", 2)]
    assert assign(slots, ["a", "a"]) is None
    assert assign([], ["a"]) is None
    assert assign(slots, []) == []


def test_a_cabled_port_serves_its_fabric_only_and_goes_first() -> None:
    """A NIC of fabric a takes a's own port before an uncabled one, so that the uncabled one is
    left for b: taken greedily the other way round, b would have nothing."""
    slots = [slot(1, physnet=None), slot(2, physnet="a")]
    assert ids(assign(slots, ["a", "b"])) == [("ports", 2), ("ports", 1)]
    assert ids(assign(slots, ["b", "a"])) == [("ports", 1), ("ports", 2)]
    assert assign([slot(1, physnet="a")], ["b"]) is None
    assert assign(slots, ["b", "b"]) is None
