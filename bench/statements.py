#!/usr/bin/env python3
"""SQL statements and round trips per API request and per job, counted in-process.

Builds the app the way the API tests do (in-process ASGI client, one `Services`, a real
`Conductor` with its threads) on a fresh PostgreSQL schema (or SQLite), then counts every
statement SQLAlchemy sends (`before_cursor_execute`) and every transaction (`begin`) for:
one node create, one port create, one power request and its job, one provision verb each (manage, provide,
deploy, undeploy) and its job, one GET, one list. Statements from the conductor's threads are
the job's; the others are the request's.

Round trips are what PostgreSQL with psycopg 3 pays: each statement, plus the BEGIN psycopg
sends before the first statement of a transaction and the COMMIT or ROLLBACK at its end (an
autocommit read has neither). The conductor's claim loop claims once more, empty, after each
job; that claim is counted with the job, as it happens on a live server too.

    .venv/bin/python bench/statements.py                  # PostgreSQL from --pg-url
    .venv/bin/python bench/statements.py --backend sqlite -v   # and every statement
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ironworks.api.app import create_app  # noqa: E402
from ironworks.common.crypto import new_key  # noqa: E402
from ironworks.common.settings import load_settings  # noqa: E402
from ironworks.conductor.conductor import Conductor  # noqa: E402
from ironworks.db import migrate  # noqa: E402
from ironworks.db.engine import Database  # noqa: E402
from ironworks.services.context import Services  # noqa: E402

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CONDUCTOR_THREADS = ("job", "claim_loop", "heartbeat_loop", "periodic_loop", "power_sync_loop")


class Tally:
    """Statements and transactions, split by who sent them (request or conductor)."""

    def __init__(self, verbose: bool) -> None:
        self.lock = threading.Lock()
        self.verbose = verbose
        self.reset()

    def reset(self) -> None:
        self.stmts: Counter[str] = Counter()
        self.txns: Counter[str] = Counter()
        self.seen: list[tuple[str, str]] = []

    @staticmethod
    def side() -> str:
        name = threading.current_thread().name
        return "job" if name.startswith(CONDUCTOR_THREADS) else "request"

    def statement(self, conn: sa.Connection, _cursor: Any, text: str, *_a: Any) -> None:
        side = self.side()
        # psycopg begins lazily, at a transaction's first statement: an empty one costs nothing
        opened = conn.info.pop("bench_begun", False)
        with self.lock:
            self.stmts[side] += 1
            if opened:
                self.txns[side] += 1
            if self.verbose:
                self.seen.append(
                    (side, ("BEGIN; " if opened else "") + " ".join(text.split())[:110])
                )

    def begin(self, conn: sa.Connection) -> None:
        autocommit = conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
        if not autocommit:
            conn.info["bench_begun"] = True


def run(url: str, verbose: bool) -> list[tuple[str, int, int, int, int]]:
    home = Path(tempfile.mkdtemp(prefix="iw-statements-"))
    settings = load_settings(
        home=home,
        database_url=url,
        secret_key=new_key(),
        auth={"noauth": True},
        license={"evaluation_nodes": 10**6},
        fake={"delay": 0.0},
        conductor={
            "hostname": "bench",
            "poll_interval": 3600,
            "periodic_interval": 3600,
            "heartbeat_interval": 3600,
            "job_lease": 36000,
            "power_sync_interval": 0,
            "automated_clean": True,
        },
    )
    db = Database(settings.effective_database_url)
    migrate.upgrade(db)
    svc = Services(db=db, settings=settings)
    conductor = Conductor(db, settings)
    conductor.start()
    time.sleep(0.5)  # the loops' first round
    tally = Tally(verbose)
    # every engine: the database may keep more than one pool
    sa.event.listen(sa.Engine, "before_cursor_execute", tally.statement)
    sa.event.listen(sa.Engine, "begin", tally.begin)
    rows: list[tuple[str, int, int, int, int]] = []
    warnings.filterwarnings("ignore", module="starlette")  # httpx under TestClient is fine here
    from starlette.testclient import TestClient

    with TestClient(create_app(svc), base_url="http://testserver") as client:
        client.headers["X-OpenStack-Ironic-API-Version"] = "latest"

        def measure(label: str, call: Any, jobs: int = 0) -> Any:
            done = conductor.jobs_done
            tally.reset()
            r = call()
            assert r.status_code < 300, (label, r.status_code, r.text)
            deadline = time.monotonic() + 30
            while conductor.jobs_done < done + jobs and time.monotonic() < deadline:
                time.sleep(0.01)
            assert conductor.jobs_done >= done + jobs, f"{label}: the job did not finish"
            while True:  # until quiet: the claim loop's next (empty) claim belongs to the job
                before = sum(tally.stmts.values())
                time.sleep(0.4)
                if sum(tally.stmts.values()) == before:
                    break
            with tally.lock:
                rows.append(
                    (
                        label,
                        tally.stmts["request"],
                        tally.txns["request"],
                        tally.stmts["job"],
                        tally.txns["job"],
                    )
                )
                if verbose:
                    print(f"--- {label}")
                    for side, text in tally.seen:
                        print(f"  {side:7} {text}")
            return r

        # a node to warm every statement cache, then the measured one
        for name in ("warm", "n1"):
            r = measure(
                "node create",
                lambda n=name: client.post(
                    "/v1/nodes", json={"driver": "fake-hardware", "name": n}
                ),
            )
        rows.clear()
        u = r.json()["uuid"]
        measure(
            "node create",
            lambda: client.post("/v1/nodes", json={"driver": "fake-hardware", "name": "n2"}),
        )

        measure(
            "port create",
            lambda: client.post("/v1/ports", json={"node_uuid": u, "address": "52:54:00:00:00:01"}),
        )

        def verb(target: str, **body: Any) -> Any:
            return lambda: client.put(
                f"/v1/nodes/{u}/states/provision", json={"target": target, **body}
            )

        measure(
            "power on + job",
            lambda: client.put(f"/v1/nodes/{u}/states/power", json={"target": "power on"}),
            jobs=1,
        )
        measure("manage + job", verb("manage"), jobs=1)
        measure("provide + job", verb("provide"), jobs=1)
        client.patch(
            f"/v1/nodes/{u}",
            json=[
                {"op": "add", "path": "/instance_info", "value": {"image_source": "http://x/img"}}
            ],
        )
        measure("deploy + job", verb("active"), jobs=1)
        measure("undeploy + job", verb("deleted"), jobs=1)
        measure("GET node", lambda: client.get(f"/v1/nodes/{u}"))
        measure("list nodes", lambda: client.get("/v1/nodes"))
        measure("list nodes detail", lambda: client.get("/v1/nodes?detail=True"))
    conductor.stop(wait=True)
    db.dispose()
    return rows


def table(rows: list[tuple[str, int, int, int, int]], backend: str) -> str:
    out = [
        f"{backend}: statements (round trips on PostgreSQL = statements + 2 per transaction)",
        "",
        "| call | request stmts | request txns | request RTs | job stmts | job txns | job RTs |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, rs, rt, js, jt in rows:
        out.append(f"| {label} | {rs} | {rt} | {rs + 2 * rt} | {js} | {jt} | {js + 2 * jt} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL, help="a database to make a schema in")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every statement")
    args = ap.parse_args()
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory() as d:
            print(table(run(f"sqlite:///{d}/ironworks.db", args.verbose), "sqlite"))
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in args.pg_url else "?"
    try:
        rows = run(f"{args.pg_url}{sep}options=-csearch_path%3D{schema}", args.verbose)
        print(table(rows, "postgresql"))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    main()
