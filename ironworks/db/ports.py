"""Ports written by the conductor: the NICs an inspection found become ports of the node."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from ironworks.common.ids import new_uuid
from ironworks.db.engine import utcnow
from ironworks.db.schema import nodes, ports

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


@dataclass
class FoundPorts:
    created: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)  # already ports of this node
    elsewhere: dict[str, str] = field(default_factory=dict)  # MAC → the node that has it
    invalid: list[str] = field(default_factory=list)

    def sentence(self) -> str:
        found = len(self.created) + len(self.known) + len(self.elsewhere) + len(self.invalid)
        parts = [f"{len(self.created)} port(s) created", f"{len(self.known)} already known"]
        parts += [
            f"{mac} is a port of node {node}, not added" for mac, node in self.elsewhere.items()
        ]
        parts += [f"{value!r} is not a MAC address, ignored" for value in self.invalid]
        return f"found {found} NIC(s): " + "; ".join(parts)


def add_found_nics(conn: Connection, node_id: int, nics: list[dict[str, Any]]) -> FoundPorts:
    """Create a port per NIC the node does not have yet; fill in an empty local_link_connection
    of a known one. A MAC that another node's port holds is reported, never moved."""
    out = FoundPorts()
    wanted: dict[str, dict[str, Any]] = {}
    for nic in nics:
        mac = str(nic.get("address") or "").strip().lower()
        if not _MAC.match(mac):
            out.invalid.append(str(nic.get("address")))
            continue
        wanted.setdefault(mac, nic)
    if not wanted:
        return out
    rows = conn.execute(
        sa.select(ports.c.id, ports.c.address, ports.c.node_id, ports.c.local_link_connection,
                  nodes.c.uuid)
        .join(nodes, nodes.c.id == ports.c.node_id)
        .where(ports.c.address.in_(list(wanted)))
    ).all()  # fmt: skip
    now = utcnow()
    for port_id, mac, owner, llc, owner_uuid in rows:
        if owner != node_id:
            out.elsewhere[mac] = owner_uuid
            continue
        out.known.append(mac)
        found_llc = wanted[mac].get("local_link_connection")
        if found_llc and not llc:
            conn.execute(sa.update(ports).where(ports.c.id == port_id)
                         .values(local_link_connection=found_llc, updated_at=now))  # fmt: skip
    taken = {r[1] for r in rows}
    new = [
        {"uuid": new_uuid(), "address": mac, "node_id": node_id, "created_at": now,
         "local_link_connection": nic.get("local_link_connection") or {}, "pxe_enabled": True,
         "is_smartnic": False, "available_for_dynamic_portgroup": True, "extra": {},
         "internal_info": {"created_by": "inspection"}}
        for mac, nic in wanted.items() if mac not in taken
    ]  # fmt: skip
    if new:
        conn.execute(sa.insert(ports), new)
        out.created = [p["address"] for p in new]
    return out


# --- reads by MAC: the agent's lookup, dnsmasq's hosts, enrolment --------------------------------


def nics(conn: Connection, node_id: int) -> list[tuple[str, bool]]:
    """The node's ports as (MAC, PXE enabled), by id."""
    q = (
        sa.select(ports.c.address, ports.c.pxe_enabled)
        .where(ports.c.node_id == node_id)
        .order_by(ports.c.id)
    )
    return [(address, pxe) for address, pxe in conn.execute(q)]
