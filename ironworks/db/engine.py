"""The engine and its transactions.

`Database.write()` is the only way to change rows. On SQLite, one process owns the file and
writers take an in-process lock first, so "database is locked" never reaches a user and no
retry loop sleeps; WAL keeps readers off the writer's back, and `synchronous=NORMAL` keeps every
commit across a process crash (kill -9). On PostgreSQL, writers rely on row locks and
`FOR UPDATE SKIP LOCKED`.

Round trips are what PostgreSQL costs (bench/statements.py counts them), so on PostgreSQL:
* `read()` runs in autocommit: each SELECT sees a fresh snapshot, as it would inside a READ
  COMMITTED transaction, without the BEGIN and ROLLBACK a transaction adds;
* `write(durable=False)` takes its connection from a second pool whose sessions have
  `synchronous_commit = off` (set once per connection, not once per transaction).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine


class CommitHook(Protocol):
    """Rides along with write transactions: `before_commit` runs inside each one that is
    about to commit (it may add rows), `committed` after the commit succeeded."""

    def before_commit(self, conn: Connection) -> None: ...

    def committed(self) -> None: ...


# Set by the API for a request that changes something: its audit event is written in the same
# transaction as the change (api/access.py). Threads the request's work runs in inherit it.
commit_hook: ContextVar[CommitHook | None] = ContextVar("commit_hook", default=None)


def unavailable(exc: BaseException) -> bool:
    """The database could not be reached or dropped the connection (a restart, a failover):
    worth retrying once it answers, unlike an error in the statement itself."""
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(ts: datetime | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite hands them back naive)."""
    return ts.replace(tzinfo=UTC) if ts is not None and ts.tzinfo is None else ts


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            path = url.split(":///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = sa.create_engine(
                url,
                pool_size=pool_size,
                max_overflow=20,
                connect_args={"check_same_thread": False, "timeout": 30},
                json_serializer=_dumps,
                hide_parameters=True,  # a failed statement's log never shows hashes or secrets
                json_deserializer=orjson.loads,
            )
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            sa.event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = sa.create_engine(
                url,
                pool_size=pool_size,
                max_overflow=20,
                # no ping per checkout (a round trip per transaction); a connection broken by a
                # database restart or failover fails the statement using it (the API answers 503
                # with Retry-After, the conductor retries), and the first such error invalidates
                # every pooled connection, so the next checkouts connect afresh
                # (tests/integration/test_db_failover.py)
                pool_recycle=3600,
                json_serializer=_dumps,
                hide_parameters=True,  # a failed statement's log never shows hashes or secrets
                json_deserializer=orjson.loads,
            )
        # PostgreSQL: reads without BEGIN/ROLLBACK; the pool for durable=False writes, made on
        # the first one (only a conductor makes them)
        self._reader = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._pool_size = pool_size
        self._relaxed: Engine | None = None
        self._relaxed_lock = threading.Lock()
        self._write_lock = threading.Lock() if self.is_sqlite else None
        # Embedded SQLite answers in microseconds: the API runs its calls inline on the event
        # loop instead of paying a thread hand-off per request. PostgreSQL calls go to threads.
        self.inline = self.is_sqlite

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads; nothing written through it is kept."""
        with self._reader.connect() as conn:
            yield conn

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[Connection]:
        """One transaction that commits on success and rolls back on any exception.

        `durable=False` is for commits whose loss in a database crash costs only a repeat:
        the conductor's step progress (an unfinished job re-runs its step). On PostgreSQL it
        skips the wait for the WAL flush; a `kill -9` of Ironworks loses nothing either way.
        Work accepted from a client is always committed durably.
        """
        hook = commit_hook.get()
        if self._write_lock is not None:
            with self._write_lock, self.engine.begin() as conn:
                yield conn
                if hook is not None:
                    hook.before_commit(conn)
        else:
            with (self.engine if durable else self._relaxed_engine()).begin() as conn:
                yield conn
                if hook is not None:
                    hook.before_commit(conn)
        if hook is not None:
            hook.committed()

    def _relaxed_engine(self) -> Engine:
        """The pool whose sessions commit without waiting for the WAL flush (PostgreSQL)."""
        with self._relaxed_lock:
            if self._relaxed is None:
                self._relaxed = sa.create_engine(
                    self.url,
                    pool_size=self._pool_size,
                    max_overflow=20,
                    pool_recycle=3600,
                    json_serializer=_dumps,
                    json_deserializer=orjson.loads,
                )
                sa.event.listen(self._relaxed, "connect", _synchronous_commit_off)
            return self._relaxed

    def dispose(self) -> None:
        self.engine.dispose()
        if self._relaxed is not None:
            self._relaxed.dispose()


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def _synchronous_commit_off(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # outside a transaction, or a rollback of the first one would undo the SET
    dbapi_conn.autocommit = True
    with dbapi_conn.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
    dbapi_conn.autocommit = False


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # pysqlite begins a transaction only before the first INSERT/UPDATE/DELETE, so a SAVEPOINT
    # taken before it (begin_nested) became the outermost transaction and its RELEASE committed
    # the work so far: a later rollback kept it. The driver's own handling is off and
    # _sqlite_begin starts every transaction where SQLAlchemy starts it.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN")
