"""The job queue: work accepted by the API, run by conductors, never lost.

* `enqueue` runs inside the API's transaction, beside the node change the job belongs to.
* `claim` hands up to N runnable jobs to one conductor with a lease: queued jobs whose
  `not_before` has passed, and running jobs whose lease expired (their conductor died).
  PostgreSQL uses `FOR UPDATE SKIP LOCKED` so conductors never wait on each other; SQLite has
  one writer.
* `finish` is called in the same transaction as the node's last state change, so a job that
  is marked done has had its effect exactly once; a job interrupted by a crash is claimed again
  and resumes from the node's persisted state.
* Wake-up: PostgreSQL `NOTIFY ironworks_jobs` in the enqueuing transaction; in one process, an
  event the conductor waits on. Polling is the fallback.
* Round trips: on PostgreSQL, `accept` (the API: node change, history line, new job, NOTIFY)
  and `commit_step` (the conductor: job finished or renewed, node change, history line) are
  one statement each, data-modifying CTEs; on SQLite they run as separate statements, which
  cost nothing there.
"""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.db import nodes as node_db
from ironworks.db.engine import Database, utcnow
from ironworks.db.schema import jobs, node_history, nodes

CHANNEL = "ironworks_jobs"

# Set after a commit that queued work; the in-process conductor waits on it.
jobs_event = threading.Event()


_INSERT_JOB = sa.insert(jobs).returning(jobs.c.id)


def enqueue(
    conn: Connection,
    node_id: int,
    kind: str,
    args: dict[str, Any] | None = None,
    *,
    request_id: str | None = None,
) -> int:
    job_id = conn.execute(
        _INSERT_JOB,
        {
            "node_id": node_id,
            "kind": kind,
            "args": args or {},
            "state": "queued",
            "attempts": 0,
            "request_id": request_id,
            "created_at": utcnow(),
        },
    ).scalar_one()
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(f"NOTIFY {CHANNEL}"))
    return job_id


# --- several changes in one statement ------------------------------------------------------------

# Built once per shape (see node_db.node_update): (update statement id, history?, job kind)
_COMBINED: dict[tuple[int, bool, str | None], sa.Select] = {}
_HISTORY_COLUMNS = [c.name for c in node_history.c if c.name != "id"]
_NEW_JOB_COLUMNS = ["node_id", "kind", "args", "state", "attempts", "request_id", "created_at"]


def _param(table: sa.Table, column: str, prefix: str) -> sa.Cast[Any]:
    # cast: a NULL in a SELECT list would otherwise reach PostgreSQL untyped (as text)
    col = table.c[column]
    return sa.cast(sa.bindparam(f"{prefix}{column}", type_=col.type), col.type)


def _combined(update: sa.Update, history: bool, job: str | None) -> sa.Select:
    """WITH n AS (UPDATE nodes ...), [h AS (INSERT history line)], [j AS (the job)] SELECT ...

    `job`: "new" inserts a job for the node and NOTIFYs (the row is returned only if the node's
    compare-and-set held); "finish" / "renew" update the claimed job `j_id` if `j_owner` still
    runs it (the row is returned only then)."""
    key = (id(update), history, job)
    stmt = _COMBINED.get(key)
    if stmt is not None:
        return stmt
    n = update.returning(nodes.c.id).cte("n")
    ctes: list[sa.CTE] = []
    if history:
        row = [
            n.c.id if c == "node_id" else _param(node_history, c, "h_") for c in _HISTORY_COLUMNS
        ]
        ctes.append(sa.insert(node_history).from_select(_HISTORY_COLUMNS, sa.select(*row)).cte("h"))
    if job == "new":
        row = [n.c.id if c == "node_id" else _param(jobs, c, "j_") for c in _NEW_JOB_COLUMNS]
        ctes.append(sa.insert(jobs).from_select(_NEW_JOB_COLUMNS, sa.select(*row)).cte("j"))
        stmt = sa.select(n.c.id, sa.func.pg_notify(CHANNEL, ""))
    elif job in ("finish", "renew"):
        values = (
            {c: _param(jobs, c, "j_") for c in ("state", "last_error", "finished_at")}
            | {"lease_until": None}
            if job == "finish"
            else {"lease_until": _param(jobs, "lease_until", "j_")}
        )
        j = (
            sa.update(jobs)
            .where(
                jobs.c.id == sa.bindparam("j_id"),
                jobs.c.owner == sa.bindparam("j_owner"),
                jobs.c.state == "running",
            )
            .values(values)
            .returning(jobs.c.id)
            .cte("j")
        )
        ctes.append(n)
        stmt = sa.select(j.c.id)
    else:
        stmt = sa.select(n.c.id)
    stmt = stmt.add_cte(*ctes)
    _COMBINED[key] = stmt
    return stmt


def accept(
    conn: Connection,
    node_id: int,
    values: dict[str, Any],
    *,
    expect: dict[str, Any],
    event: dict[str, Any] | None = None,
    job: tuple[str, dict[str, Any], str | None] | None = None,
) -> bool:
    """Accept work on a node: update it if the `expect` columns still hold (compare-and-set),
    and only then write its history line (`event`: node_db.record_event's arguments, the text
    under "event") and queue a job (`job`: kind, args, request id). False if the node changed
    meanwhile: nothing was written. The caller commits, then calls `wake()`."""
    if conn.dialect.name != "postgresql":
        if not node_db.update_node(conn, node_id, values, expect=expect):
            return False
        if event is not None:
            node_db.record_event(conn, node_id, **event)
        if job is not None:
            enqueue(conn, node_id, job[0], job[1], request_id=job[2])
        return True
    update, params = node_db.node_update(node_id, values, expect)
    if event is not None:
        params.update({f"h_{k}": v for k, v in node_db.event_row(node_id, **event).items()})
    if job is not None:
        kind, args, request_id = job
        params.update(
            j_kind=kind,
            j_args=args or {},
            j_state="queued",
            j_attempts=0,
            j_request_id=request_id,
            j_created_at=utcnow(),
        )
    stmt = _combined(update, event is not None, "new" if job is not None else None)
    return conn.execute(stmt, params).first() is not None


def commit_step(
    conn: Connection,
    job_id: int,
    owner: str,
    node_id: int,
    values: dict[str, Any],
    event: dict[str, Any],
    *,
    final: bool,
    lease: float,
    error: str | None = None,
) -> bool:
    """The conductor's commit of a step: the job finished (`final`, failed with `error` if
    given) or its lease renewed, the node's new values and the history line (`event`:
    node_db.record_event's arguments). False if `owner` no longer runs the job: the caller
    must roll back (raise)."""
    if conn.dialect.name != "postgresql":
        ok = (
            finish(conn, job_id, owner, error=error) if final else renew(conn, job_id, owner, lease)
        )
        if ok:
            node_db.update_node(conn, node_id, values)
            node_db.record_event(conn, node_id, **event)
        return ok
    update, params = node_db.node_update(node_id, values)
    params.update({f"h_{k}": v for k, v in node_db.event_row(node_id, **event).items()})
    params.update(j_id=job_id, j_owner=owner)
    now = utcnow()
    if final:
        params.update(j_state="failed" if error else "done", j_last_error=error, j_finished_at=now)
    else:
        params["j_lease_until"] = now + timedelta(seconds=lease)
    stmt = _combined(update, True, "finish" if final else "renew")
    return conn.execute(stmt, params).first() is not None


def wake() -> None:
    """Tell the in-process conductor that work was committed."""
    jobs_event.set()


def claim(
    db: Database, owner: str, host: str, limit: int, lease: float, group: str = ""
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Claim up to `limit` runnable jobs of the nodes of conductor group `group` AND the locks
    of those nodes, in one transaction (a conductor works only for its group's nodes: its boot
    services sit on their provisioning network).

    A job whose node is locked by someone else (or by an earlier job of this batch) goes back
    to the queue for a fraction of a second. Returns (job, node row) pairs, oldest job first;
    fewer than `limit` means the queue held no more runnable jobs (else `jobs_event` is set).
    """
    now = utcnow()
    runnable = sa.or_(
        sa.and_(
            jobs.c.state == "queued", sa.or_(jobs.c.not_before.is_(None), jobs.c.not_before <= now)
        ),
        sa.and_(jobs.c.state == "running", jobs.c.lease_until < now),
    )
    pick = (
        sa.select(jobs.c.id)
        .join(nodes, nodes.c.id == jobs.c.node_id)
        .where(runnable, nodes.c.conductor_group == group)
        .order_by(jobs.c.id)
        .limit(limit)
    )
    if not db.is_sqlite:
        pick = pick.with_for_update(of=jobs, skip_locked=True)
    stmt = (
        sa.update(jobs)
        .where(jobs.c.id.in_(pick.scalar_subquery()))
        .values(
            state="running",
            owner=owner,
            lease_until=now + timedelta(seconds=lease),
            attempts=jobs.c.attempts + 1,
            started_at=sa.func.coalesce(jobs.c.started_at, now),
        )
        .returning(
            jobs.c.id, jobs.c.node_id, jobs.c.kind, jobs.c.args, jobs.c.request_id, jobs.c.attempts
        )
    )
    with db.write(durable=False) as conn:  # a lost claim is reclaimed when its lease expires
        claimed = sorted((dict(r) for r in conn.execute(stmt).mappings()), key=lambda r: r["id"])
        if not claimed:
            return []
        wanted = sorted({j["node_id"] for j in claimed})
        rows = {  # the locked rows themselves: no second read
            r["id"]: dict(r)
            for r in conn.execute(
                sa.update(nodes)
                .where(nodes.c.id.in_(wanted), nodes.c.reservation.is_(None))
                .values(reservation=host)
                .returning(*nodes.c)
            ).mappings()
        }
        out, later, taken = [], [], set()
        for job in claimed:
            if job["node_id"] in rows and job["node_id"] not in taken:
                taken.add(job["node_id"])
                out.append((job, rows[job["node_id"]]))
            else:
                later.append(job["id"])
        if later:
            conn.execute(
                sa.update(jobs)
                .where(jobs.c.id.in_(later))
                .values(
                    state="queued",
                    owner=None,
                    lease_until=None,
                    not_before=now + timedelta(seconds=0.1 + random.random() * 0.4),
                    attempts=jobs.c.attempts - 1,
                )
            )
    if later and len(claimed) == limit:  # a full batch, partly put back: more may be queued
        wake()
    return out


def finish(conn: Connection, job_id: int, owner: str, *, error: str | None = None) -> bool:
    """Mark the job done if we still own it; False means someone took it over."""
    return (
        conn.execute(
            sa.update(jobs)
            .where(jobs.c.id == job_id, jobs.c.owner == owner, jobs.c.state == "running")
            .values(
                state="failed" if error else "done",
                last_error=error,
                finished_at=utcnow(),
                lease_until=None,
            )
        ).rowcount
        == 1
    )


def renew(conn: Connection, job_id: int, owner: str, lease: float) -> bool:
    """Extend one job's lease if we still own it; False means someone took it over."""
    return (
        conn.execute(
            sa.update(jobs)
            .where(jobs.c.id == job_id, jobs.c.owner == owner, jobs.c.state == "running")
            .values(lease_until=utcnow() + timedelta(seconds=lease))
        ).rowcount
        == 1
    )


def postpone(conn: Connection, job_id: int, owner: str, seconds: float) -> None:
    """Give the job back to the queue (the node was locked); it runs again after `seconds`.
    Only while it runs: a job whose end was committed (though the commit's answer was lost to
    a dropped connection) stays done."""
    conn.execute(
        sa.update(jobs)
        .where(jobs.c.id == job_id, jobs.c.owner == owner, jobs.c.state == "running")
        .values(
            state="queued",
            owner=None,
            lease_until=None,
            not_before=utcnow() + timedelta(seconds=seconds),
            attempts=jobs.c.attempts - 1,
        )
    )


def renew_leases(db: Database, owner: str, lease: float) -> int:
    with db.write() as conn:
        return conn.execute(
            sa.update(jobs)
            .where(jobs.c.owner == owner, jobs.c.state == "running")
            .values(lease_until=utcnow() + timedelta(seconds=lease))
        ).rowcount


def release_owned_by(db: Database, owners_like: str, except_owner: str) -> int:
    """Requeue running jobs of an earlier incarnation of this conductor (after a crash)."""
    with db.write() as conn:
        return conn.execute(
            sa.update(jobs)
            .where(
                jobs.c.state == "running",
                jobs.c.owner.like(owners_like),
                jobs.c.owner != except_owner,
            )
            .values(state="queued", owner=None, lease_until=None)
        ).rowcount
