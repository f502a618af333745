"""Resource-pool figures (`GET /api/v1/statistics`) and the database figures of `/metrics`.

The pool: CPU cores, memory and local disk of the nodes, in total, allocated to hosts (a node
with an instance on it gives all of it: bare metal is not shared), free (not allocated) and
available (free on nodes a new host could land on now: `available`, not in maintenance), for the
whole cloud and per availability zone, architecture and resource class; the nodes by provision
state, power state and maintenance; the hosts per department and project.

A cloud admin sees all of it. Anyone else the permission table lets in (`monitoring:read`:
joined projects) sees the host counts of their own projects only: the pool and the node states
are the cloud's, not theirs. The SQL is in `db/statistics.py`: grouped counts, so the Python
here only folds a few rows per combination of zone, architecture and resource class.
"""

from __future__ import annotations

from typing import Any

from ironworks.db import statistics as stats_db
from ironworks.services.context import Caller, Services

UNKNOWN = "unknown"  # nodes whose properties name no cpu_arch, nodes without a resource class
_FIGURES = ("cpus", "memory_mb", "local_gb")


def _empty() -> dict[str, Any]:
    return {
        "nodes": {"total": 0, "allocated": 0, "free": 0, "available": 0},
        **{k: {"total": 0, "allocated": 0, "free": 0, "available": 0} for k in _FIGURES},
    }


def _add(into: dict[str, Any], row: dict[str, Any]) -> None:
    amounts = {"nodes": row["nodes"], **{k: row[k] for k in _FIGURES}}
    for key, amount in amounts.items():
        figure = into[key]
        figure["total"] += amount
        figure["allocated" if row["allocated"] else "free"] += amount
        if row["available"]:
            figure["available"] += amount


def statistics(svc: Services, caller: Caller) -> dict[str, Any]:
    """The figures the caller may see (see the module docstring); `pool` and `nodes` are None
    for a caller who is not a cloud admin."""
    scope = caller.project_ids
    with svc.db.read() as conn:
        per_project = stats_db.hosts_per_project(conn, scope)
        if scope is None:
            pool_rows = stats_db.pool(conn)
            states = stats_db.node_states(conn)
    departments: dict[str, dict[str, Any]] = {}
    for dept_uuid, dept, project_uuid, project, count in per_project:
        entry = departments.setdefault(
            dept_uuid, {"uuid": dept_uuid, "name": dept, "hosts": 0, "projects": []}
        )
        entry["hosts"] += count
        entry["projects"].append({"uuid": project_uuid, "name": project, "hosts": count})
    hosts = {
        "total": sum(d["hosts"] for d in departments.values()),
        "departments": sorted(departments.values(), key=lambda d: d["name"]),
    }
    if scope is not None:
        return {"pool": None, "nodes": None, "hosts": hosts}
    return {"pool": _pool(svc, pool_rows), "nodes": _states(states), "hosts": hosts}


def _pool(svc: Services, rows: list[dict[str, Any]]) -> dict[str, Any]:
    default_zone = svc.settings.default_availability_zone
    total = _empty()
    groups: dict[str, dict[str, dict[str, Any]]] = {
        "availability_zones": {default_zone: _empty()},  # hosts without a zone go there
        "architectures": {},
        "resource_classes": {},
    }
    for row in rows:
        _add(total, row)
        keys = {
            "availability_zones": row["zone"] or default_zone,
            "architectures": row["cpu_arch"] or UNKNOWN,
            "resource_classes": row["resource_class"] or UNKNOWN,
        }
        for group, key in keys.items():
            _add(groups[group].setdefault(key, _empty()), row)
    return {
        "total": total,
        **{g: [{"name": k, **v} for k, v in sorted(by.items())] for g, by in groups.items()},
    }


def _states(rows: list[tuple[str, str | None, bool, int]]) -> dict[str, Any]:
    provision: dict[str, int] = {}
    power: dict[str, int] = {}
    maintenance = 0
    for prov, pw, maint, n in rows:
        provision[prov] = provision.get(prov, 0) + n
        key = pw or "none"
        power[key] = power.get(key, 0) + n
        maintenance += n if maint else 0
    return {
        "total": sum(provision.values()),
        "provision_states": dict(sorted(provision.items())),
        "power_states": dict(sorted(power.items())),
        "maintenance": maintenance,
    }


def node_states(svc: Services) -> list[tuple[str, str | None, bool, int]]:
    """For `/metrics`: (provision_state, power_state, maintenance, nodes) groups."""
    with svc.db.read() as conn:
        return stats_db.node_states(conn)


def job_states(svc: Services) -> list[tuple[str, str, int]]:
    """For `/metrics`: (kind, state, jobs) groups."""
    with svc.db.read() as conn:
        return stats_db.job_states(conn)
