"""The words of networking: schemes, types, bond modes, and the port plan of each step."""

from __future__ import annotations

import pytest

from ironworks.common.errors import InvalidInput
from ironworks.domain import network as n
from ironworks.domain import states
from ironworks.domain.network import Actor, BondMode, NetworkScheme, Segment, Step, SwitchOp


def test_the_prd_words():
    assert {s.value for s in NetworkScheme} == {"dynamic", "preconfigured", "postconfigured"}
    assert {t.value for t in n.NetworkType} == {"vlan", "flat"}


@pytest.mark.parametrize(
    ("given", "mode", "kernel"),
    [
        ("active-backup", BondMode.ACTIVE_BACKUP, 1),
        ("1", BondMode.ACTIVE_BACKUP, 1),
        (1, BondMode.ACTIVE_BACKUP, 1),
        ("802.3ad", BondMode.LACP, 4),
        ("4", BondMode.LACP, 4),
        ("LACP", BondMode.LACP, 4),
    ],
)
def test_bond_modes_parse_names_and_numbers(given, mode, kernel):
    assert n.parse_bond_mode(given) is mode
    assert mode.kernel_mode == kernel


def test_only_lacp_needs_the_switch():
    assert BondMode.LACP.needs_switch_lag
    assert not BondMode.ACTIVE_BACKUP.needs_switch_lag


@pytest.mark.parametrize("given", ["balance-rr", "0", "6", ""])
def test_unsupported_bond_modes_are_refused_with_the_choices(given):
    with pytest.raises(InvalidInput) as err:
        n.parse_bond_mode(given)
    assert err.value.field == "mode"
    assert "'active-backup' (mode 1) or '802.3ad' (mode 4" in err.value.message


def test_bond_link_is_network_data_json():
    link = n.bond_link("bond0", BondMode.LACP, ["eth0", "eth1"], mac="52:54:00:12:34:56", mtu=9000)
    assert link == {
        "id": "bond0",
        "type": "bond",
        "bond_links": ["eth0", "eth1"],
        "bond_mode": "802.3ad",
        "bond_miimon": 100,
        "ethernet_mac_address": "52:54:00:12:34:56",
        "mtu": 9000,
    }
    assert n.bond_link("b", BondMode.ACTIVE_BACKUP, ["a", "c"], mac="m")["bond_mode"] == (
        "active-backup"
    )
    with pytest.raises(InvalidInput) as err:
        n.bond_link("bond0", BondMode.LACP, ["eth0"], mac="52:54:00:12:34:56")
    assert err.value.field == "ports"


def test_segmentation_rules():
    n.check_segmentation("vlan", 100)
    n.check_segmentation("vlan", None)  # to be allocated from the physical network's ranges
    n.check_segmentation("flat", None)
    with pytest.raises(InvalidInput) as err:
        n.check_segmentation("flat", 100)
    assert err.value.field == "segmentation_id"
    with pytest.raises(InvalidInput):
        n.check_segmentation("vlan", 4095)


def test_dynamic_moves_ports_through_the_lifecycle():
    plan = {step: n.port_plan("dynamic", step) for step in Step}
    assert {p.actor for p in plan.values()} == {Actor.IRONWORKS}
    assert plan[Step.INSPECT].segment is Segment.PROVISIONING
    assert plan[Step.CLEAN].segment is Segment.CLEANING
    assert plan[Step.DEPLOY].segment is Segment.PROVISIONING
    assert plan[Step.ACTIVE].segment is Segment.TENANT
    assert plan[Step.UNDEPLOY].segment is Segment.CLEANING
    assert plan[Step.RELEASE].ops == (SwitchOp.REMOVE_LAG_PORTS, SwitchOp.RESTORE_DEFAULT_VLAN)
    # LACP exists only while the host is active: formed entering active, undone on undeploy
    assert SwitchOp.ADD_LAG_PORTS in plan[Step.ACTIVE].ops
    assert SwitchOp.REMOVE_LAG_PORTS in plan[Step.UNDEPLOY].ops
    for step in (Step.INSPECT, Step.CLEAN, Step.DEPLOY):
        assert plan[step].ops == (SwitchOp.SET_ACCESS_VLAN,)


def test_postconfigured_shows_the_same_ops_to_the_operator():
    for step in Step:
        dyn, post = n.port_plan("dynamic", step), n.port_plan("postconfigured", step)
        assert post.actor is Actor.OPERATOR
        assert (post.segment, post.ops) == (dyn.segment, dyn.ops)


def test_preconfigured_never_touches_a_switch_but_knows_the_segment():
    for step in Step:
        plan = n.port_plan("preconfigured", step)
        assert plan.actor is Actor.NOBODY
        assert plan.ops == ()
        assert plan.segment is n.port_plan("dynamic", step).segment


def test_provision_states_map_to_steps():
    assert n.plan_for_state("dynamic", states.DEPLOYING).segment is Segment.PROVISIONING
    assert n.plan_for_state("dynamic", states.ACTIVE).segment is Segment.TENANT
    assert n.plan_for_state("dynamic", states.DELETING).segment is Segment.CLEANING
    assert n.plan_for_state("dynamic", states.DEPLOY_FAILED) is None
    assert set(n.STATE_STEPS) <= states.ALL_STATES


def test_unknown_scheme_or_step_is_a_programming_error():
    with pytest.raises(ValueError):
        n.port_plan("manual", "deploy")
    with pytest.raises(ValueError):
        n.port_plan("dynamic", "reboot")
