"""Periodic tasks. Each may run any number of times, anywhere: they compare and set.

Work on nodes is split by the consistent hash ring of live conductors of the node's group, so
every node's timeouts (here) and power sync (`power_sync.py`) are looked after by exactly one
conductor at a time.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ironworks.db import agents as agent_db
from ironworks.db import nodes as node_db
from ironworks.db.engine import as_utc, utcnow
from ironworks.db.schema import conductors, nodes
from ironworks.domain import states
from ironworks.domain.hashring import HashRing

if TYPE_CHECKING:
    from ironworks.conductor.conductor import Conductor

log = logging.getLogger(__name__)


def live_ring(c: Conductor) -> HashRing:
    limit = utcnow() - timedelta(seconds=c.cfg.heartbeat_timeout)
    with c.db.read() as conn:
        rows = conn.execute(
            sa.select(conductors.c.hostname, conductors.c.updated_at).where(
                conductors.c.online.is_(True), conductors.c.conductor_group == c.cfg.group
            )
        ).all()
    return HashRing([h for h, seen in rows if as_utc(seen) >= limit] or [c.host])


def take_over_dead_conductors(c: Conductor) -> None:
    """Mark silent conductors offline and release the node locks they held."""
    limit = utcnow() - timedelta(seconds=c.cfg.heartbeat_timeout)
    with c.db.write() as conn:
        dead = [
            h
            for h, seen in conn.execute(
                sa.select(conductors.c.hostname, conductors.c.updated_at).where(
                    conductors.c.online.is_(True), conductors.c.hostname != c.host
                )
            ).all()
            if as_utc(seen) < limit
        ]
        for host in dead:
            conn.execute(
                sa.update(conductors).where(conductors.c.hostname == host).values(online=False)
            )
            freed = conn.execute(
                sa.update(nodes).where(nodes.c.reservation == host).values(reservation=None)
            ).rowcount
            log.warning("conductor %s is silent; took over %d node lock(s)", host, freed)


def fail_expired_waits(c: Conductor) -> None:
    """Nodes that sat in a wait state longer than its timeout fail with a sentence saying so."""
    ring = live_ring(c)
    now = utcnow()
    with c.db.read() as conn:
        rows = [dict(r) for r in conn.execute(
            sa.select(nodes).where(
                nodes.c.provision_state.in_(list(states.WAIT_STATES)), nodes.c.reservation.is_(None),
                nodes.c.conductor_group == c.cfg.group,
            )
        ).mappings()]  # fmt: skip
    for node in rows:
        if ring.owner(node["uuid"]) != c.host:
            continue
        state = node["provision_state"]
        limit = getattr(c.settings.timeouts, states.WAIT_STATES[state])
        since = as_utc(node["provision_updated_at"])
        if since is None or (now - since).total_seconds() < limit:
            continue
        new = states.next_state(state, states.FAIL)
        try:
            stalled = _stalled(c, node)
        except Exception:  # what one agent reported must not keep the others from timing out
            log.exception("node %s: reading what its agent said last failed", node["uuid"])
            stalled = ""
        msg = f"timed out after {limit:.0f} s in '{state}'" + stalled
        with c.db.write() as conn:
            ok = node_db.update_node(
                conn, node["id"],
                {"provision_state": new, "target_provision_state": None, "last_error": msg,
                 "provision_updated_at": now},
                expect={"provision_state": state, "reservation": None},
            )  # fmt: skip
            if ok:
                agent_db.void(conn, node["id"])
                node_db.record_event(conn, node["id"], msg, event_type="provisioning", severity="ERROR",
                                     conductor=c.host, from_state=state, to_state=new,
                                     duration=(now - since).total_seconds())  # fmt: skip
                log.warning("node %s: %s", node["uuid"], msg)


def _stalled(c: Conductor, node: dict[str, Any]) -> str:
    """Which phase stalled and what the agent said last, for the timeout's last_error."""
    line = (node["driver_internal_info"] or {}).get("timeline") or []
    open_phases = [p["phase"] for p in line if isinstance(p, dict) and not p.get("finished")]
    text = f" during '{open_phases[-1]}'" if open_phases else ""
    with c.db.read() as conn:
        session = agent_db.get(conn, node["id"])
    if session is None or session["last_heartbeat"] is None:
        return (
            text + "; the agent never called back (did the node boot the ramdisk? see its console)"
        )
    heard = as_utc(session["last_heartbeat"])
    ago = (utcnow() - heard).total_seconds() if heard else 0.0
    text += f"; the agent at {session['agent_address']} was last heard {ago:.0f} s ago"
    running = session["running"]
    if running:
        text += f", running {running.get('name', '?')}"
        progress = running.get("progress") or {}
        if progress.get("done") is not None:
            total = progress.get("total")
            text += f" ({progress['done']} of {total if total is not None else '?'} bytes)"
    return text
