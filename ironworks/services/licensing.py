"""The installed license: install, show, and the check every enrolment makes.

Without a license the deployment runs in evaluation: up to `license.evaluation_nodes` nodes.
With one, enrolment beyond its `max_nodes` or after its expiry date is refused with a sentence
saying which and what to do; everything else (existing nodes, hosts, power, deploys) keeps
working. The license lives in the database (every api process sees the same), newest row wins.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ironworks.common.errors import Forbidden
from ironworks.db import licenses as license_db
from ironworks.domain import license as lic
from ironworks.domain import states
from ironworks.services.context import Caller, Services


class LicenseLimit(Forbidden):
    code = "license-limit"


def _used(conn: sa.Connection, svc: Services) -> int:
    """The nodes the license counts: discovered machines waiting for an operator's acceptance
    do not, unless boot.discovery_auto_accept says they are accepted as they come (#15)."""
    if svc.settings.boot.discovery_auto_accept:
        return license_db.count_nodes(conn)
    return license_db.count_nodes(conn, unaccepted=states.DISCOVER_PURPOSE)


def check_acceptance(conn: sa.Connection, svc: Services, node_id: int) -> None:
    """An operator accepts a discovered machine by managing it: from then on it counts, so
    the license must have room for it (LicenseLimit otherwise)."""
    if svc.settings.boot.discovery_auto_accept:
        return
    if license_db.is_unaccepted(conn, node_id, states.DISCOVER_PURPOSE):
        check_enrolment(conn, svc, 1)


def _trusted(svc: Services) -> tuple[str, ...]:
    return (*lic.VENDOR_KEYS, *svc.settings.license.trusted_keys)


def _current(conn: sa.Connection, svc: Services) -> lic.License | None:
    doc = license_db.newest_document(conn)
    return None if doc is None else lic.verify(doc, _trusted(svc))


def install(svc: Services, caller: Caller, document: Any) -> dict[str, Any]:
    found = lic.verify(document, _trusted(svc))
    with svc.db.write() as conn:
        license_db.install(conn, document, caller.user)
    caller.acted_on("license", found.id, found.customer)
    return show(svc)


def show(svc: Services) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    with svc.db.read() as conn:
        current = _current(conn, svc)
        used = _used(conn, svc)
        waiting = license_db.count_nodes(conn) - used
    if current is None:
        return {
            "state": "evaluation",
            "nodes_used": used,
            "nodes_awaiting_acceptance": waiting,
            "nodes_allowed": svc.settings.license.evaluation_nodes,
            "license": None,
        }
    state = "expired" if current.expired(today) else "valid"
    return {
        "state": state,
        "nodes_used": used,
        "nodes_awaiting_acceptance": waiting,
        "nodes_allowed": current.max_nodes,
        "days_left": (current.expires - today).days,
        "license": current.as_dict(),
    }


def check_enrolment(conn: sa.Connection, svc: Services, adding: int) -> None:
    """Raise LicenseLimit if `adding` more nodes would break the license (caller's transaction)."""
    unaccepted = None if svc.settings.boot.discovery_auto_accept else states.DISCOVER_PURPOSE
    doc, used = license_db.enrolment_figures(conn, unaccepted=unaccepted)
    current = None if doc is None else lic.verify(doc, _trusted(svc))
    if current is None:
        limit = svc.settings.license.evaluation_nodes
        if used + adding > limit:
            raise LicenseLimit(
                f"without a license Ironworks enrols up to {limit} nodes "
                f"(evaluation); {used} are enrolled and {adding} more were asked "
                "for: install a license (ironworks license install FILE)"
            )
        return
    today = datetime.now(UTC).date()
    if current.expired(today):
        raise LicenseLimit(
            f"the license of {current.customer} expired on {current.expires}: "
            "no more nodes can be enrolled until a renewed license is installed "
            "(existing nodes keep working)"
        )
    if used + adding > current.max_nodes:
        raise LicenseLimit(
            f"the license of {current.customer} allows {current.max_nodes} nodes; "
            f"{used} are enrolled and {adding} more were asked for"
        )
