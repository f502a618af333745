#!/usr/bin/env python3
"""Database size per fleet: enrol N fake nodes through the batch enrolment path
(`services/imports.py`, a CSV with two MACs and a sealed BMC password per node), add E lines
of history per node (a deploy's life writes about 10, each power change one more), then print
every table's size (table + indexes + TOAST) and the total. One quick run, no timing.

    .venv/bin/python bench/db_size.py                           # PostgreSQL, 10,000 nodes
    .venv/bin/python bench/db_size.py --backend sqlite --nodes 10000

PostgreSQL: a scratch schema in the database of IRONWORKS_TEST_PG_URL (the tests' one),
dropped at the end. SQLite: a file in a temporary directory (its size, and the dbstat sizes).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ironworks.common.crypto import new_key
from ironworks.common.settings import load_settings
from ironworks.db import migrate
from ironworks.db import nodes as node_db
from ironworks.db.engine import Database, utcnow
from ironworks.db.schema import sensor_readings
from ironworks.services import imports
from ironworks.services.context import Caller, Services

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HEADER = "name,driver,bmc_address,bmc_username,bmc_password,macs,cpu_arch,resource_class,cpus,memory_mb,local_gb"


def csv_rows(n: int) -> bytes:
    lines = [HEADER]
    for i in range(n):
        macs = " ".join(
            f"52:54:{nic:02x}:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}"
            for nic in (0, 1)
        )
        lines.append(
            f"node-{i:05d},fake-hardware,10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255},admin,"
            f"bmc-password-{i},{macs},x86_64,baremetal,64,262144,1800"
        )
    return ("\n".join(lines) + "\n").encode()


def sizes(db: Database, schema: str | None) -> list[tuple[str, int, int]]:
    """(table, rows, bytes), largest first."""
    out = []
    with db.read() as conn:
        names = sa.inspect(conn).get_table_names(schema=schema)
        for name in names:
            rows = conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
            if db.is_sqlite:
                size = conn.execute(
                    sa.text(
                        "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = :t OR name IN "
                        "(SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t)"
                    ),
                    {"t": name},
                ).scalar_one()
            else:
                size = conn.execute(
                    sa.text("SELECT pg_total_relation_size(:t)"), {"t": f'{schema}."{name}"'}
                ).scalar_one()
            out.append((name, rows, int(size)))
    return sorted(out, key=lambda r: -r[2])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nodes", type=int, default=10000)
    p.add_argument("--events", type=int, default=10, help="history lines per node")
    p.add_argument(
        "--readings", type=int, default=20, help="sensor readings per node (5 make one cycle)"
    )
    p.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    p.add_argument("--pg-url", default=PG_URL)
    a = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="iw-dbsize-"))
    schema = None
    if a.backend == "sqlite":
        url = f"sqlite:///{tmp}/ironworks.sqlite"
    else:
        schema = f"iw_size_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(a.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        url = f"{a.pg_url}?options=-csearch_path%3D{schema}"
    settings = load_settings(
        None,
        database_url=url,
        home=tmp,
        license={"evaluation_nodes": 1_000_000},
        auth={"noauth": True},
        secret_key=new_key(),
    )
    db = Database(url)
    try:
        migrate.upgrade(db)
        svc = Services(db=db, settings=settings)
        t0 = time.monotonic()
        report = imports.import_nodes(svc, csv_rows(a.nodes), Caller(request_id="db-size"))
        enrolled = time.monotonic() - t0
        with db.write() as conn:
            ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM nodes"))]
            for k in range(a.events):
                node_db.record_events(
                    conn,
                    ids,
                    f"provision: step {k} done (a line as long as a usual one, with a state)",
                    event_type="provisioning",
                    user="admin",
                    to_state="available",
                    request_id=f"req-{uuid.uuid4()}",
                )
            now = utcnow()
            kinds = (
                ("CPU Temp", "temperature", "C"),
                ("FAN1", "fan", "RPM"),
                ("PSU1", "power", "W"),
            )
            for k in range(a.readings):
                name, kind, unit = kinds[k % len(kinds)]
                conn.execute(
                    sa.insert(sensor_readings),
                    [
                        {
                            "node_id": i,
                            "read_at": now,
                            "name": name,
                            "kind": kind,
                            "unit": unit,
                            "value": 42.5,
                            "status": "ok",
                        }
                        for i in ids
                    ],
                )
        if not db.is_sqlite:
            with db.read() as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
        table = sizes(db, schema)
        total = sum(s for _, _, s in table)
        print(
            f"{a.backend}: {len(report['created'])} nodes enrolled in {enrolled:.1f} s, "
            f"{a.events} history lines and {a.readings} sensor readings each"
        )
        print(f"{'table':<28}{'rows':>10}{'MiB':>10}")
        for name, rows, size in table:
            if size >= 64 * 1024:
                print(f"{name:<28}{rows:>10}{size / 2**20:>10.1f}")
        print(f"{'total (all tables)':<28}{'':>10}{total / 2**20:>10.1f}")
        for name, rows, size in table:
            if name in ("node_history", "sensor_readings") and rows:
                print(f"{name}: {size / rows:.0f} bytes per row with its indexes")
        if db.is_sqlite:
            f = tmp / "ironworks.sqlite"
            print(f"SQLite file: {f.stat().st_size / 2**20:.1f} MiB")
    finally:
        db.dispose()
        if schema:
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
