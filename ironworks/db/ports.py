"""Ports (a node's NICs) and portgroups (bonds of ports): lookups, lists, changes, and the
NICs an inspection found, which the conductor turns into ports of the node.

The functions shared by both take `which`, "ports" or "portgroups". A port is found by its
uuid, its MAC or its name; a portgroup by its uuid or name. The VIFs attached to either live in
their `internal_info` (services/ports.py); these functions read and write that column whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from ironworks.common.ids import is_uuid_like, new_uuid, normalize_mac
from ironworks.db import hostnics
from ironworks.db.engine import utcnow
from ironworks.db.lookup import taken
from ironworks.db.pagination import paginate
from ironworks.db.schema import nodes, portgroups, ports

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
        sa.select(
            ports.c.id,
            ports.c.address,
            ports.c.node_id,
            ports.c.local_link_connection,
            nodes.c.uuid,
        )
        .join(nodes, nodes.c.id == ports.c.node_id)
        .where(ports.c.address.in_(list(wanted)))
    ).all()
    now = utcnow()
    for port_id, mac, owner, llc, owner_uuid in rows:
        if owner != node_id:
            out.elsewhere[mac] = owner_uuid
            continue
        out.known.append(mac)
        found_llc = wanted[mac].get("local_link_connection")
        if found_llc and not llc:
            conn.execute(
                sa.update(ports)
                .where(ports.c.id == port_id)
                .values(local_link_connection=found_llc, updated_at=now)
            )
    taken = {r[1] for r in rows}
    new = [
        {
            "uuid": new_uuid(),
            "address": mac,
            "node_id": node_id,
            "created_at": now,
            "local_link_connection": nic.get("local_link_connection") or {},
            "pxe_enabled": True,
            "is_smartnic": False,
            "available_for_dynamic_portgroup": True,
            "extra": {},
            "internal_info": {"created_by": "inspection"},
        }
        for mac, nic in wanted.items()
        if mac not in taken
    ]
    if new:
        conn.execute(sa.insert(ports), new)
        out.created = [p["address"] for p in new]
    return out


# --- ports and portgroups ------------------------------------------------------------------------

_TABLES = {"ports": ports, "portgroups": portgroups}
_INSERTS = {which: sa.insert(t).returning(*t.c) for which, t in _TABLES.items()}
_INSERT_PORTS = sa.insert(ports)


def find(conn: Connection, which: str, ident: str) -> dict[str, Any] | None:
    """The port (by uuid, MAC or name) or portgroup (by uuid or name), or None."""
    t = _TABLES[which]
    mac = normalize_mac(ident) if which == "ports" else None
    if is_uuid_like(ident):
        cond = t.c.uuid == ident.lower()
    elif mac:
        cond = t.c.address == mac
    else:
        cond = t.c.name == ident
    row = conn.execute(sa.select(t).where(cond)).mappings().first()
    return dict(row) if row else None


def _joined(which: str) -> sa.Select:
    """Rows with their node's uuid and, for ports, their portgroup's; `internal_info` shows the
    VIF bound to the row (host_nics) as Ironic does (`_shown`)."""
    t = _TABLES[which]
    q = sa.select(
        t, nodes.c.uuid.label("node_uuid"), hostnics.vif_column(which).label("vif_id")
    ).join(nodes, nodes.c.id == t.c.node_id)
    if which == "ports":
        q = q.add_columns(portgroups.c.uuid.label("portgroup_uuid")).outerjoin(
            portgroups, portgroups.c.id == t.c.portgroup_id
        )
    return q


def _shown(row: Any) -> dict[str, Any]:
    out = dict(row)
    vif = out.pop("vif_id", None)
    if vif is not None:
        out["internal_info"] = {**(out["internal_info"] or {}), hostnics.VIF_KEY: vif}
    return out


def get(conn: Connection, which: str, row_id: int) -> dict[str, Any]:
    """The row with its node's uuid (and a port's portgroup uuid); it must exist."""
    t = _TABLES[which]
    return _shown(conn.execute(_joined(which).where(t.c.id == row_id)).mappings().one())


def page(
    conn: Connection,
    which: str,
    *,
    node_id: int | None,
    portgroup_id: int | None,
    address: str | None,
    sort_key: str,
    sort_dir: str,
    allowed_keys: frozenset[str],
    marker: dict[str, Any] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Rows as `get` gives them, filtered, after the `marker` row, at most `limit`."""
    t = _TABLES[which]
    q = _joined(which)
    if node_id is not None:
        q = q.where(t.c.node_id == node_id)
    if portgroup_id is not None:
        q = q.where(t.c.portgroup_id == portgroup_id)
    if address is not None:
        q = q.where(t.c.address == address)
    q = paginate(
        q,
        t,
        sort_key=sort_key,
        sort_dir=sort_dir,
        allowed_keys=allowed_keys,
        marker=marker,
        limit=limit,
    )
    return [_shown(r) for r in conn.execute(q).mappings()]


def add(conn: Connection, which: str, values: dict[str, Any]) -> dict[str, Any]:
    """Insert one row; the row as stored."""
    return dict(conn.execute(_INSERTS[which], values).mappings().one())


def update(conn: Connection, which: str, row_id: int, values: dict[str, Any]) -> None:
    t = _TABLES[which]
    conn.execute(sa.update(t).where(t.c.id == row_id).values(**values))


def delete(conn: Connection, which: str, row_id: int) -> None:
    t = _TABLES[which]
    conn.execute(sa.delete(t).where(t.c.id == row_id))


def portgroup_uuid(conn: Connection, portgroup_id: int) -> str | None:
    uuid: str | None = conn.execute(
        sa.select(portgroups.c.uuid).where(portgroups.c.id == portgroup_id)
    ).scalar()
    return uuid


def count_members(conn: Connection, portgroup_id: int) -> int:
    """The ports in the portgroup (a bond with ports cannot be deleted)."""
    q = sa.select(sa.func.count()).where(ports.c.portgroup_id == portgroup_id)
    return int(conn.execute(q).scalar_one())


def of_node(conn: Connection, node_id: int) -> list[tuple[str, dict[str, Any]]]:
    """The node's portgroups, then its ports, each by id, as (which, row)."""
    out = []
    for which, t in (("portgroups", portgroups), ("ports", ports)):
        q = sa.select(t).where(t.c.node_id == node_id).order_by(t.c.id)
        out += [(which, dict(r)) for r in conn.execute(q).mappings()]
    return out


def set_internal_info(conn: Connection, which: str, row_id: int, info: dict[str, Any]) -> None:
    update(conn, which, row_id, {"internal_info": info, "updated_at": utcnow()})


# --- reads by MAC: the agent's lookup, dnsmasq's hosts, enrolment --------------------------------


def nics(conn: Connection, node_id: int) -> list[tuple[str, bool]]:
    """The node's ports as (MAC, PXE enabled), by id."""
    q = (
        sa.select(ports.c.address, ports.c.pxe_enabled)
        .where(ports.c.node_id == node_id)
        .order_by(ports.c.id)
    )
    return [(address, pxe) for address, pxe in conn.execute(q)]


def node_ids(conn: Connection, macs: list[str]) -> list[int]:
    """The nodes that have a port with one of these MACs, sorted."""
    q = sa.select(ports.c.node_id).where(ports.c.address.in_(macs))
    return sorted(set(conn.execute(q).scalars()))


def macs_by_node(conn: Connection) -> dict[str, list[str]]:
    """Every node's port MACs, by node uuid (nodes without ports left out)."""
    out: dict[str, list[str]] = {}
    q = sa.select(nodes.c.uuid, ports.c.address).join(ports, ports.c.node_id == nodes.c.id)
    for uuid, mac in conn.execute(q):
        out.setdefault(uuid, []).append(mac)
    return out


def taken_addresses(conn: Connection, macs: Iterable[str]) -> set[str]:
    """Which of these MACs are ports already."""
    return taken(conn, ports.c.address, macs)


def add_many(conn: Connection, values: list[dict[str, Any]]) -> None:
    """Insert ports in one statement (batch enrolment)."""
    conn.execute(_INSERT_PORTS, values)


def macs_by_node_id(conn: Connection) -> dict[int, list[str]]:
    """Every node's port MACs, by node id, each node's by port id."""
    out: dict[int, list[str]] = {}
    for node_id, address in conn.execute(
        sa.select(ports.c.node_id, ports.c.address).order_by(ports.c.id)
    ):
        out.setdefault(node_id, []).append(address)
    return out
