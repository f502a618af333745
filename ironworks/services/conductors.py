"""Conductors as the API sees them: alive or not, and which one owns a node.

A conductor is alive while it is `online` and its row's `updated_at` (its heartbeat) is younger
than `conductor.heartbeat_timeout`. Nodes are spread over the live conductors of their
`conductor_group` by a hash ring (domain/hashring.py); `ConductorMap` rebuilds the rings from
the table every few seconds, so an API process learns of a dead or new conductor soon.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from ironworks.common.errors import NotFound
from ironworks.db import conductors as conductor_db
from ironworks.db.engine import as_utc, utcnow
from ironworks.domain.hashring import HashRing
from ironworks.services.context import Services


def list_conductors(svc: Services) -> list[dict[str, Any]]:
    """Every conductor's row with `alive` added."""
    limit = utcnow() - timedelta(seconds=svc.settings.conductor.heartbeat_timeout)
    with svc.db.read() as conn:
        rows = conductor_db.list_all(conn)
    for r in rows:
        seen = as_utc(r["updated_at"] or r["created_at"])
        r["alive"] = bool(r["online"]) and seen is not None and seen >= limit
    return rows


def get_conductor(svc: Services, hostname: str) -> dict[str, Any]:
    for r in list_conductors(svc):
        if r["hostname"] == hostname:
            return r
    raise NotFound(f"Conductor {hostname} could not be found.")


class ConductorMap:
    """Which live conductor owns a node, from a ring refreshed every few seconds."""

    def __init__(self, svc: Services, ttl: float = 5.0) -> None:
        self.svc, self.ttl = svc, ttl
        self._rings: dict[str, HashRing] = {}
        self._at = 0.0
        self._lock = threading.Lock()

    def rings(self) -> dict[str, HashRing]:
        now = time.monotonic()
        if now - self._at > self.ttl:
            with self._lock:
                groups: dict[str, list[str]] = {}
                for c in list_conductors(self.svc):
                    if c["alive"]:
                        groups.setdefault(c["conductor_group"], []).append(c["hostname"])
                self._rings = {g: HashRing(h) for g, h in groups.items()}
                self._at = now
        return self._rings

    def owner(self, node: dict[str, Any]) -> str | None:
        ring = self.rings().get(node.get("conductor_group") or "")
        return ring.owner(node["uuid"]) if ring else None
