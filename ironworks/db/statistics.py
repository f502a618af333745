"""The figures of the resource pool, the node states and the job queue, as grouped counts.

Every function is one `GROUP BY` statement: its rows are the distinct combinations of the
grouped columns (zones x architectures x resource classes, states, job kinds), never one row per
node, so the statistics endpoint and a Prometheus scrape stay cheap at 10,000 nodes and more.

A node's CPU cores, memory and local disk are the `cpus`, `memory_mb` and `local_gb` of its
properties (as Ironic's inspection and enrolment write them, numbers or numeric strings; anything
else counts as 0). A node is *allocated* while an instance is on it (`instance_uuid`: a host, or
an Ironic client's instance); *available* when a new host could land on it now: provision state
`available`, not in maintenance, not allocated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ironworks.db.schema import departments, hosts, jobs, nodes, projects

RESOURCES = ("cpus", "memory_mb", "local_gb")
_ZONE = nodes.c.properties["availability_zone"].as_string()
_ARCH = nodes.c.properties["cpu_arch"].as_string()


def _amount(key: str, dialect: str) -> sa.ColumnElement[Any]:
    """The node's `properties[key]` as an integer, 0 when it is absent or not a whole number."""
    raw = nodes.c.properties[key].as_string()
    if dialect == "postgresql":
        whole = sa.case(
            (raw.op("~")(r"^\s*[0-9]{1,15}\s*$"), sa.cast(sa.func.trim(raw), sa.BigInteger)),
            else_=0,
        )
    else:  # SQLite's CAST reads the leading digits of a string and gives 0 for none
        whole = sa.cast(raw, sa.BigInteger)
    return sa.func.coalesce(whole, 0)


def pool(conn: sa.Connection) -> list[dict[str, Any]]:
    """One row per (zone, cpu_arch, resource_class, allocated, available) that has nodes:
    `nodes`, and the sums of `cpus`, `memory_mb` and `local_gb`. Zone and architecture as the
    node's properties give them (None: not given)."""
    dialect = conn.dialect.name
    allocated = nodes.c.instance_uuid.is_not(None)
    available = sa.and_(
        nodes.c.provision_state == "available",
        nodes.c.maintenance.is_(False),
        nodes.c.instance_uuid.is_(None),
    )
    allocated_col = sa.case((allocated, 1), else_=0).label("allocated")
    available_col = sa.case((available, 1), else_=0).label("available")
    keys = [_ZONE.label("zone"), _ARCH.label("cpu_arch"), nodes.c.resource_class]
    sums = [sa.func.sum(_amount(k, dialect)).label(k) for k in RESOURCES]
    query = sa.select(
        *keys, allocated_col, available_col, sa.func.count().label("nodes"), *sums
    ).group_by(_ZONE, _ARCH, nodes.c.resource_class, allocated_col, available_col)
    return [
        {**row._asdict(), **{k: int(row._mapping[k] or 0) for k in RESOURCES}}
        for row in conn.execute(query)
    ]


def node_states(conn: sa.Connection) -> list[tuple[str, str | None, bool, int]]:
    """(provision_state, power_state, maintenance, nodes) for every combination that has nodes."""
    query = sa.select(
        nodes.c.provision_state, nodes.c.power_state, nodes.c.maintenance, sa.func.count()
    ).group_by(nodes.c.provision_state, nodes.c.power_state, nodes.c.maintenance)
    return [(p, w, bool(m), n) for p, w, m, n in conn.execute(query)]


def job_states(conn: sa.Connection) -> list[tuple[str, str, int]]:
    """(kind, state, jobs) for every combination in the job queue's table (queued, running,
    done, failed)."""
    query = sa.select(jobs.c.kind, jobs.c.state, sa.func.count()).group_by(
        jobs.c.kind, jobs.c.state
    )
    return [(k, s, n) for k, s, n in conn.execute(query)]


def hosts_per_project(
    conn: sa.Connection, scope: Sequence[int] | None
) -> list[tuple[str, str, str, str, int]]:
    """(department uuid, department name, project uuid, project name, hosts) for every project
    (those in `scope` only, unless it is None), projects without hosts included."""
    count = sa.func.count(hosts.c.id)
    query = (
        sa.select(departments.c.uuid, departments.c.name, projects.c.uuid, projects.c.name, count)
        .select_from(
            projects.join(departments, departments.c.id == projects.c.department_id).outerjoin(
                hosts, hosts.c.project_id == projects.c.id
            )
        )
        .group_by(departments.c.uuid, departments.c.name, projects.c.uuid, projects.c.name)
        .order_by(departments.c.name, projects.c.name)
    )
    if scope is not None:
        query = query.where(projects.c.id.in_(list(scope)))
    return [(du, dn, pu, pn, n) for du, dn, pu, pn, n in conn.execute(query)]
