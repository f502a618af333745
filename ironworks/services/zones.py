"""Availability zones: where a host may be placed.

A node is in the zone its properties name (`properties/availability_zone`), or in the
deployment's default zone (`default_availability_zone`) when they name none; hosts are created
in a zone and land on one of its nodes. The default zone is always listed, with no nodes if
need be, since hosts created without a zone go there. Every logged-in user may list them
(the PRD: the bare-metal zone is visible to and usable by users).
"""

from __future__ import annotations

from typing import Any

from ironworks.db import zones as zone_db
from ironworks.services.context import Services

UNKNOWN_ARCH = "unknown"  # nodes whose properties name no cpu_arch


def list_zones(svc: Services) -> list[dict[str, Any]]:
    """Each zone, by name: its nodes, counted in all, by architecture and by provision state."""
    default = svc.settings.default_availability_zone
    zones: dict[str, dict[str, Any]] = {
        default: {"name": default, "nodes": 0, "architectures": {}, "provision_states": {}}
    }
    with svc.db.read() as conn:
        counts = zone_db.node_counts(conn)
    for zone, arch, state, n in counts:
        name = zone or default
        entry = zones.setdefault(
            name, {"name": name, "nodes": 0, "architectures": {}, "provision_states": {}}
        )
        entry["nodes"] += n
        key = arch or UNKNOWN_ARCH
        entry["architectures"][key] = entry["architectures"].get(key, 0) + n
        entry["provision_states"][state] = entry["provision_states"].get(state, 0) + n
    return [
        {
            **z,
            "architectures": dict(sorted(z["architectures"].items())),
            "provision_states": dict(sorted(z["provision_states"].items())),
        }
        for _, z in sorted(zones.items())
    ]
