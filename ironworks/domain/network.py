"""The words of tenant networking, as data: schemes, network types, bond modes, port plans.

*Physical network*: one switching fabric (a name, e.g. `fabric-a`); each node port says which one
it is cabled to (from LLDP during inspection, or set by hand), and each switch serves one. The
cloud admin chooses, per physical network, one of three *network schemes* (the PRD's words):

* `dynamic`: Ironworks moves the node's switch ports itself through a switch driver (netmiko over
  SSH; an SDN controller driver later). The node's ports sit on the provisioning VLAN while it is
  inspected and deployed, on the cleaning VLAN while it is cleaned (often the same VLAN), on its
  host's tenant VLAN(s) when active, and go back to the cleaning VLAN on undeploy. The provision
  state machine waits for each switch step; a failed switch step fails the provision step.
* `preconfigured`: the switch ports are already on the right VLANs (e.g. one VLAN per node, set
  once by the network team). Ironworks records the mapping, checks it against LLDP where it can,
  does IPAM and DHCP, and never touches a switch.
* `postconfigured`: Ironworks computes, for each step, the exact switch configuration the
  operator must apply, shows it (API, CLI, node history), and the node waits in a visible state
  until the operator confirms (or a timeout fails the step).

A network has a *type*: `vlan` (an 802.1Q segment, its segmentation id allocated from the
physical network's ranges, see `ipam.parse_ranges`) or `flat` (untagged, no segmentation id: the
provisioning network of a lab or a small site).

*Bonds* are Ironic port groups: `active-backup` (Linux bonding mode 1: one link carries traffic,
the other takes over; nothing to configure on the switch) or `802.3ad` (mode 4, LACP: the switch
side needs a matching link aggregation). The mode names are those of the config drive's
`network_data.json` (`"type": "bond"`, `bond_links`, `bond_mode`, `bond_miimon`), which cloud-init
and Glean turn into a bond on the host.

`port_plan(scheme, step)` says, for one provision step, which network the node's ports belong on,
who moves them (Ironworks, the operator, nobody) and which switch operations that takes. The
conductor turns the plan into concrete changes for a switch driver (`drivers/switches`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ironworks.common.errors import InvalidInput
from ironworks.domain import states


class NetworkScheme(StrEnum):
    """Who configures the switch ports of a physical network (see the module docstring)."""

    DYNAMIC = "dynamic"  # Ironworks, through a switch driver, and waits for it
    PRECONFIGURED = "preconfigured"  # nobody: already done; Ironworks records and checks
    POSTCONFIGURED = "postconfigured"  # the operator, from the commands Ironworks shows


class NetworkType(StrEnum):
    VLAN = "vlan"  # an 802.1Q segment with a segmentation id
    FLAT = "flat"  # untagged, no segmentation id (e.g. the provisioning network)


def check_segmentation(network_type: str, segmentation_id: int | None) -> None:
    """A vlan network needs a segmentation id (1-4094), a flat network must not have one."""
    kind = NetworkType(network_type)
    if kind is NetworkType.FLAT and segmentation_id is not None:
        raise InvalidInput(
            "A flat network is untagged and has no segmentation id: omit segmentation_id or "
            "make the network type 'vlan'.",
            field="segmentation_id",
        )
    if (
        kind is NetworkType.VLAN
        and segmentation_id is not None
        and not 1 <= segmentation_id <= 4094
    ):
        raise InvalidInput(
            f"VLAN id {segmentation_id} is out of range: VLAN ids run from 1 to 4094.",
            field="segmentation_id",
        )


# Bonds ---------------------------------------------------------------------------------------


class BondMode(StrEnum):
    """Bond modes Ironworks supports; the value is the name in network_data.json."""

    ACTIVE_BACKUP = "active-backup"
    LACP = "802.3ad"

    @property
    def kernel_mode(self) -> int:
        """The Linux bonding driver's mode number."""
        return {BondMode.ACTIVE_BACKUP: 1, BondMode.LACP: 4}[self]

    @property
    def needs_switch_lag(self) -> bool:
        """True when the switch must aggregate the member ports (LACP)."""
        return self is BondMode.LACP


_BOND_ALIASES = {
    "active-backup": BondMode.ACTIVE_BACKUP,
    "1": BondMode.ACTIVE_BACKUP,
    "mode1": BondMode.ACTIVE_BACKUP,
    "802.3ad": BondMode.LACP,
    "4": BondMode.LACP,
    "mode4": BondMode.LACP,
    "lacp": BondMode.LACP,
}


def parse_bond_mode(value: Any, *, field: str = "mode") -> BondMode:
    """A port group's mode as Ironic clients write it: a name or the kernel's mode number."""
    key = str(value).strip().lower().replace(" ", "")
    try:
        return _BOND_ALIASES[key]
    except KeyError:
        raise InvalidInput(
            f"Bond mode {value!r} is not supported: use 'active-backup' (mode 1) or "
            "'802.3ad' (mode 4, LACP).",
            field=field,
        ) from None


def bond_link(
    link_id: str,
    mode: BondMode,
    members: list[str],
    *,
    mac: str,
    mtu: int | None = None,
    miimon: int = 100,
) -> dict[str, Any]:
    """One bond entry of network_data.json's `links` (the members are the ids of its `phy`
    links); a VLAN or network entry then refers to `link_id`."""
    if len(members) < 2:
        raise InvalidInput(
            f"Bond {link_id} has {len(members)} member link(s): a bond needs at least two "
            "ports; add ports to the port group.",
            field="ports",
        )
    return {
        "id": link_id,
        "type": "bond",
        "bond_links": list(members),
        "bond_mode": mode.value,
        "bond_miimon": miimon,
        "ethernet_mac_address": mac,
        "mtu": mtu,
    }


# Switch operations per provision step --------------------------------------------------------


class SwitchOp(StrEnum):
    """What a switch driver can do (`drivers/switches/base.py` has one change class each)."""

    SET_ACCESS_VLAN = "set-access-vlan"
    RESTORE_DEFAULT_VLAN = "restore-default-vlan"
    CREATE_VLAN = "create-vlan"
    DELETE_VLAN = "delete-vlan"
    ADD_LAG_PORTS = "add-lag-ports"
    REMOVE_LAG_PORTS = "remove-lag-ports"


class Step(StrEnum):
    """The moments at which a node's ports may have to move."""

    INSPECT = "inspect"
    CLEAN = "clean"
    DEPLOY = "deploy"
    ACTIVE = "active"  # the host runs: its tenant networks
    UNDEPLOY = "undeploy"  # the host is torn down, cleaning follows
    AVAILABLE = "available"  # parked between hosts: ready to PXE boot for the next deploy
    RELEASE = "release"  # the node (or port) leaves Ironworks: hand the switch port back


class Segment(StrEnum):
    """Which network a node's ports belong on."""

    PROVISIONING = "provisioning"
    CLEANING = "cleaning"
    TENANT = "tenant"  # the host's network(s), one per NIC
    DEFAULT = "default"  # the switch port's own default VLAN


class Actor(StrEnum):
    """Who moves the ports at a step."""

    IRONWORKS = "ironworks"  # dynamic: a switch driver, and the state machine waits for it
    OPERATOR = "operator"  # postconfigured: shown, and the node waits for a confirmation
    NOBODY = "nobody"  # preconfigured: recorded and checked against LLDP only


@dataclass(frozen=True)
class PortPlan:
    step: Step
    segment: Segment
    actor: Actor
    ops: tuple[SwitchOp, ...]  # empty when the actor is nobody


# The ports' segment at each step, and the switch operations that put them there. LACP
# aggregation exists only while the host is active: the ramdisk PXE-boots on one member port,
# which a switch with a LAG but no LACP partner yet would not forward.
_STEPS: dict[Step, tuple[Segment, tuple[SwitchOp, ...]]] = {
    Step.INSPECT: (Segment.PROVISIONING, (SwitchOp.SET_ACCESS_VLAN,)),
    Step.CLEAN: (Segment.CLEANING, (SwitchOp.SET_ACCESS_VLAN,)),
    Step.DEPLOY: (Segment.PROVISIONING, (SwitchOp.SET_ACCESS_VLAN,)),
    Step.ACTIVE: (
        Segment.TENANT,
        (SwitchOp.CREATE_VLAN, SwitchOp.ADD_LAG_PORTS, SwitchOp.SET_ACCESS_VLAN),
    ),
    Step.UNDEPLOY: (Segment.CLEANING, (SwitchOp.REMOVE_LAG_PORTS, SwitchOp.SET_ACCESS_VLAN)),
    Step.AVAILABLE: (Segment.PROVISIONING, (SwitchOp.SET_ACCESS_VLAN,)),
    Step.RELEASE: (Segment.DEFAULT, (SwitchOp.REMOVE_LAG_PORTS, SwitchOp.RESTORE_DEFAULT_VLAN)),
}

_ACTORS = {
    NetworkScheme.DYNAMIC: Actor.IRONWORKS,
    NetworkScheme.POSTCONFIGURED: Actor.OPERATOR,
    NetworkScheme.PRECONFIGURED: Actor.NOBODY,
}

# The provision state a node enters -> the step its ports follow. States not listed leave the
# ports where they are (a failed state keeps them for the operator to look at).
STATE_STEPS: dict[str, Step] = {
    states.INSPECTING: Step.INSPECT,
    states.CLEANING: Step.CLEAN,
    states.DEPLOYING: Step.DEPLOY,
    states.ACTIVE: Step.ACTIVE,
    states.DELETING: Step.UNDEPLOY,
    states.AVAILABLE: Step.AVAILABLE,
}


def port_plan(scheme: str, step: str) -> PortPlan:
    """Where a node's ports go at `step` under `scheme`, who moves them and how."""
    actor = _ACTORS[NetworkScheme(scheme)]
    segment, ops = _STEPS[Step(step)]
    return PortPlan(Step(step), segment, actor, () if actor is Actor.NOBODY else ops)


def plan_for_state(scheme: str, provision_state: str) -> PortPlan | None:
    """`port_plan` for the step a provision state starts, or None when the ports stay put."""
    step = STATE_STEPS.get(provision_state)
    return None if step is None else port_plan(scheme, step)
