"""Ironic API microversions: the range we serve and what each version shows.

A request says which version it speaks in `X-OpenStack-Ironic-API-Version` ("1.78" or
"latest"); without it, the minimum. Behaviour that changed with a version is looked up here,
never sprinkled as `if version >= ...` through handlers: node and port fields by the version
that introduced them (node fields: the node field table, domain/nodes.py), provision verbs by
theirs (states.VERB_MIN_VERSION).
"""

from __future__ import annotations

import re

from ironworks.common.errors import InvalidInput, NotAcceptable
from ironworks.domain import nodes

Version = tuple[int, int]

MIN_VERSION: Version = (1, 1)
MAX_VERSION: Version = (1, 115)
HEADER = "X-OpenStack-Ironic-API-Version"

_RE = re.compile(r"^(\d+)\.(\d+)$")


def fmt(v: Version) -> str:
    return f"{v[0]}.{v[1]}"


def negotiate(header: str | None) -> Version:
    """The version a request asked for, or NotAcceptable/InvalidInput."""
    if header is None or header == "":
        return MIN_VERSION
    value = header.strip()
    if value.lower() == "latest":
        return MAX_VERSION
    # clients may send "baremetal 1.78" (the OpenStack-API-Version form)
    if value.lower().startswith("baremetal "):
        value = value.split(None, 1)[1]
    m = _RE.match(value)
    if not m:
        raise InvalidInput(
            f"Invalid value for {HEADER} header: {header!r}; use MAJOR.MINOR or 'latest'",
            field=HEADER,
        )
    v = (int(m.group(1)), int(m.group(2)))
    if v < MIN_VERSION or v > MAX_VERSION:
        raise NotAcceptable(
            f"Version {fmt(v)} was requested but the minor version is not supported by this "
            f"service. The supported version range is: [{fmt(MIN_VERSION)}, {fmt(MAX_VERSION)}]."
        )
    return v


# Node fields and the version that made them visible (absent: since 1.1): the `since` column
# of the node field table (domain/nodes.py), and the links that came later.
NODE_LINK_VERSIONS: dict[str, Version] = {"portgroups": (1, 24), "volume": (1, 32)}
NODE_FIELD_VERSIONS: dict[str, Version] = {
    **{f.name: f.since for f in nodes.FIELDS if f.since is not None},
    **NODE_LINK_VERSIONS,
}

PORT_FIELD_VERSIONS: dict[str, Version] = {
    "local_link_connection": (1, 19),
    "pxe_enabled": (1, 19),
    "portgroup_uuid": (1, 24),
    "physical_network": (1, 34),
    "is_smartnic": (1, 53),
    "name": (1, 88),
    "description": (1, 97),
    "vendor": (1, 100),
    "category": (1, 101),
    "available_for_dynamic_portgroup": (1, 111),
}

PORTGROUP_FIELD_VERSIONS: dict[str, Version] = {
    "mode": (1, 26),
    "properties": (1, 26),
    "physical_network": (1, 102),
    "category": (1, 103),
    "dynamic_portgroup": (1, 111),
}

# Detail fields of a node history event.
HISTORY_FIELD_VERSIONS: dict[str, Version] = {
    "project": (1, 113),
    "state": (1, 115),
    "target_provision_state": (1, 115),
    "duration_seconds": (1, 115),
}

# Node list query parameters (filters) and the version that introduced each.
NODE_FILTER_VERSIONS: dict[str, Version] = {
    "associated": MIN_VERSION,
    "maintenance": MIN_VERSION,
    "retired": (1, 61),
    "provision_state": (1, 9),
    "driver": (1, 16),
    "resource_class": (1, 21),
    "fault": (1, 42),
    "conductor_group": (1, 46),
    "conductor": (1, 49),
    "owner": (1, 50),
    "description_contains": (1, 51),
    "lessee": (1, 65),
    "shard": (1, 82),
    "include_children": (1, 83),
    "parent_node": (1, 83),
    "instance_name": (1, 104),
    "instance_uuid": MIN_VERSION,
    "chassis_uuid": MIN_VERSION,
}

# Resource endpoints and the version that introduced them.
ENDPOINT_VERSIONS: dict[str, Version] = {
    "portgroups": (1, 23),
    "vifs": (1, 28),
    "inject_nmi": (1, 29),
    "volume": (1, 32),
    "conductors": (1, 49),
    "history": (1, 78),
    "raid": (1, 12),
    "traits": (1, 37),
    "allocations": (1, 52),
    "inspection_rules": (1, 96),
    "deploy_templates": (1, 55),
    "runbooks": (1, 92),
    "bios": (1, 40),
    "firmware": (1, 86),
    "vmedia": (1, 89),
}

# Behaviour switches.
ENROLL_ON_CREATE: Version = (1, 11)  # before: new nodes start 'available'
AVAILABLE_NOT_NONE: Version = (1, 2)  # before: 'available' is shown as None
POWER_TIMEOUT: Version = (1, 27)  # power requests may carry a timeout
SOFT_POWER: Version = (1, 27)
INSPECT_WAIT_VISIBLE: Version = (1, 39)  # before: shown as inspecting
FIELDS_PARAM: Version = (1, 8)
STATES_LINK: Version = (1, 14)  # before: a node shows no "states" link
DETAIL_PARAM: Version = (1, 43)
ALLOCATION_UPDATE: Version = (1, 57)  # PATCH of an allocation's name and extra
ALLOCATION_BACKFILL: Version = (1, 58)  # `node` in a new allocation: an already deployed node
ALLOCATION_OWNER: Version = (1, 60)  # an allocation's `owner`
CLEAN_STEPS: Version = (1, 15)  # the `clean` verb and its `clean_steps` (manual cleaning)
DEPLOY_STEPS: Version = (1, 69)  # `deploy_steps` with active and rebuild
DISABLE_RAMDISK: Version = (1, 70)  # `disable_ramdisk` with clean
SERVICE_VERB: Version = (1, 87)  # the `service` verb and `service_steps` (refused: see states)
RUNBOOK_VERB: Version = (1, 92)  # `runbook` with clean
BIOS_REGISTRY: Version = (1, 74)  # BIOS settings' registry fields, `detail` and `fields`


def visible(field: str, table: dict[str, Version], version: Version) -> bool:
    return version >= table.get(field, MIN_VERSION)


def require(feature: str, version: Version) -> None:
    needed = ENDPOINT_VERSIONS.get(feature)
    if needed is not None and version < needed:
        from ironworks.common.errors import NotFound

        raise NotFound(
            f"{feature} needs API version {fmt(needed)} or later; this request used "
            f"{fmt(version)} (send {HEADER}: {fmt(needed)})"
        )
