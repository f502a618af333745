"""Periodic tasks. Each may run any number of times, anywhere: they compare and set.

Work on nodes is split by the consistent hash ring of live conductors of the node's group, so
every node's timeouts (here), power sync (`power_sync.py`) and sensor cycle (`sensors.py`) are
looked after by exactly one
conductor at a time.

The tasks see their conductor through `Member`: its database, its settings and its host name,
nothing of its threads or jobs (the `Conductor` is one; a test may pass anything that has them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from ironworks.common.errors import IronworksError
from ironworks.common.settings import ConductorSettings, Settings
from ironworks.db import agents as agent_db
from ironworks.db import conductors as conductor_db
from ironworks.db import nodes as node_db
from ironworks.db.engine import Database, as_utc, utcnow
from ironworks.domain import states
from ironworks.domain.hashring import HashRing
from ironworks.drivers.base import Task
from ironworks.drivers.registry import interfaces_for

log = logging.getLogger(__name__)
T = TypeVar("T")


class Member(Protocol):
    """What a periodic task needs of the conductor it runs in."""

    db: Database
    settings: Settings
    cfg: ConductorSettings  # settings.conductor
    host: str
    # since when its heartbeats reach the database without a break (None: they fail now)
    connected_since: datetime | None


def ask_in_bulk(
    mine: list[dict[str, Any]],
    kind: str,
    task: Callable[[dict[str, Any], str], Task],
    purpose: str,
    ask: Callable[[Any, list[Task]], Sequence[T]],
) -> dict[str, T | IronworksError]:
    """uuid → what `ask(interface, tasks)` answered for the node, one call per interface class
    of `kind` (power, management) over all its nodes: the power sync's and the sensor cycle's
    fan-out. A node whose interface or task cannot be made (a driver no longer enabled, say)
    gets that error."""
    groups: dict[type, tuple[Any, list[tuple[str, Task]]]] = {}
    out: dict[str, T | IronworksError] = {}
    for node in mine:
        try:
            iface = interfaces_for(node)[kind]
            made = task(node, purpose)
        except IronworksError as e:
            out[node["uuid"]] = e
            continue
        groups.setdefault(type(iface), (iface, []))[1].append((node["uuid"], made))
    for iface, items in groups.values():
        answers = ask(iface, [t for _, t in items])
        for (uuid, _), answer in zip(items, answers, strict=True):
            out[uuid] = answer
    return out


def live_ring(c: Member) -> HashRing:
    limit = utcnow() - timedelta(seconds=c.cfg.heartbeat_timeout)
    with c.db.read() as conn:
        live = conductor_db.heard_in_group(conn, c.cfg.group, limit)
    return HashRing(live or [c.host])


def take_over_dead_conductors(c: Member) -> None:
    """Mark silent conductors offline and release the node locks they held.

    Only by a conductor that has itself been heard for a whole heartbeat timeout: after a
    database outage every conductor looks silent until its next heartbeat, and the first one
    back must not take the live ones' locks."""
    limit = utcnow() - timedelta(seconds=c.cfg.heartbeat_timeout)
    if c.connected_since is None or c.connected_since > limit:
        return
    with c.db.write() as conn:
        for host in conductor_db.silent_since(conn, limit, besides=c.host):
            conductor_db.mark_offline(conn, host, touch=False)
            freed = node_db.release_all_held_by(conn, host)
            log.warning("conductor %s is silent; took over %d node lock(s)", host, freed)


def fail_expired_waits(c: Member) -> None:
    """Nodes that sat in a wait state longer than its timeout fail with a sentence saying so."""
    ring = live_ring(c)
    now = utcnow()
    with c.db.read() as conn:
        rows = node_db.unlocked_waiting(conn, list(states.WAIT_STATES), c.cfg.group)
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
            stalled = (
                _unconfirmed(node) if state in states.NETWORK_WAIT_STATES else _stalled(c, node)
            )
        except Exception:  # what one agent reported must not keep the others from timing out
            log.exception("node %s: reading what its agent said last failed", node["uuid"])
            stalled = ""
        msg = f"timed out after {limit:.0f} s in '{state}'" + stalled
        with c.db.write() as conn:
            ok = node_db.update_node(
                conn,
                node["id"],
                {
                    "provision_state": new,
                    "target_provision_state": None,
                    "last_error": msg,
                    "provision_updated_at": now,
                },
                expect={"provision_state": state, "reservation": None},
            )
            if ok:
                agent_db.void(conn, node["id"])
                node_db.record_event(
                    conn,
                    node["id"],
                    msg,
                    event_type="provisioning",
                    severity="ERROR",
                    conductor=c.host,
                    from_state=state,
                    to_state=new,
                    duration=(now - since).total_seconds(),
                )
                log.warning("node %s: %s", node["uuid"], msg)


def _unconfirmed(node: dict[str, Any]) -> str:
    """Which switch commands the operator never confirmed, for the timeout's last_error."""
    pending = ((node["driver_internal_info"] or {}).get("network") or {}).get("pending") or {}
    names = ", ".join(e["switch"] for e in pending.get("switches", [])) or "?"
    return (
        f": nobody confirmed the switch configuration of step '{pending.get('step', '?')}' "
        f"(switch {names}); see GET /api/v1/nodes/{node['uuid']}/network"
    )


def _stalled(c: Member, node: dict[str, Any]) -> str:
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
