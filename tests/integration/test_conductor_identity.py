"""A conductor name belongs to one live process; the first admin is created once.

* a second conductor under a name heard within the heartbeat timeout is refused with a
  sentence naming the setting and the wait; after the timeout the name may be reused;
* the same machine's previous run (its incarnation in the lock file, the lock free because the
  process died) is taken over at once, so a restart after `kill -9` does not wait;
* a conductor whose name was taken while it was silent stops;
* two processes creating the first admin at once: one creates it, the other does nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from ironworks.cmd.identity import NameLock
from ironworks.common.errors import ConfigError
from ironworks.conductor.conductor import Conductor
from ironworks.db import conductors as conductor_db
from ironworks.db.engine import Database, utcnow
from ironworks.db.schema import conductors, users
from ironworks.services import auth
from ironworks.services.context import Services
from tests.conftest import make_settings, wait_for


def _settings(database_url: str, tmp_path: Path, **conductor: object):
    return make_settings(
        database_url,
        tmp_path,
        conductor={
            "hostname": "twin",
            "heartbeat_interval": 0.2,
            "heartbeat_timeout": 30,
            "power_sync_interval": 0,
            **conductor,
        },
    )


def test_a_live_name_is_refused_and_free_after_the_timeout(db, database_url, tmp_path):
    settings = _settings(database_url, tmp_path)
    first = Conductor(db, settings)
    first.register()
    second = Conductor(db, settings)
    with pytest.raises(ConfigError) as e:
        second.register()
    msg = e.value.message
    assert "'twin' is in use" in msg and first.incarnation in msg
    assert "conductor.hostname" in msg and "IRONWORKS_CONDUCTOR__HOSTNAME" in msg
    assert "start again in 30 s" in msg and "conductor.heartbeat_timeout (30 s)" in msg
    # the first one died (no heartbeat) long ago: the name is free
    with db.write() as conn:
        conn.execute(sa.update(conductors).values(updated_at=utcnow() - timedelta(seconds=31)))
    second.register()
    with db.read() as conn:
        assert conn.execute(sa.select(conductors.c.incarnation)).scalar_one() == (
            second.incarnation
        )
    # the first one wakes up: its heartbeat finds the row taken and it stops
    threading.Thread(target=first._heartbeat_loop, daemon=True).start()
    assert wait_for(first.lost_name.is_set, timeout=10)
    with db.read() as conn:
        row = conn.execute(sa.select(conductors.c.incarnation, conductors.c.online)).one()
    assert row.incarnation == second.incarnation and row.online
    first.stop()  # its stop does not mark the other incarnation offline
    with db.read() as conn:
        assert conn.execute(sa.select(conductors.c.online)).scalar_one() is True


def test_a_stopped_conductor_and_a_known_dead_one_are_replaced_at_once(db, database_url, tmp_path):
    settings = _settings(database_url, tmp_path)
    first = Conductor(db, settings)
    first.register()
    first.stop()  # a clean stop marks it offline
    second = Conductor(db, settings)
    second.register()
    third = Conductor(db, settings)
    third.replaces = second.incarnation  # the lock file says: that one was ours, and died
    third.register()


def test_two_first_starts_at_once_one_wins(db, database_url, tmp_path):
    settings = _settings(database_url, tmp_path)
    racers = [Conductor(Database(settings.effective_database_url), settings) for _ in range(4)]
    barrier = threading.Barrier(len(racers))
    outcome: list[str] = []

    def go(c: Conductor) -> None:
        barrier.wait()
        try:
            c.register()
            outcome.append("won")
        except ConfigError:
            outcome.append("refused")
        finally:
            c.db.dispose()

    threads = [threading.Thread(target=go, args=(c,)) for c in racers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.read() as conn:
        rows = conn.execute(sa.select(conductors.c.hostname, conductors.c.incarnation)).all()
    assert sorted(outcome) == ["refused"] * 3 + ["won"], (rows, [c.incarnation for c in racers])


def test_name_lock(tmp_path):
    a = NameLock(tmp_path, "c/1")
    assert a.acquire() is None
    a.record("inc-1")
    with pytest.raises(ConfigError) as e:
        NameLock(tmp_path, "c/1").acquire()
    assert "IRONWORKS_CONDUCTOR__HOSTNAME" in e.value.message
    a.release()  # what the kernel does when the process dies
    b = NameLock(tmp_path, "c/1")
    assert b.acquire() == "inc-1"
    b.release()


def test_first_admin_race_creates_one(db, settings):
    if db.is_sqlite:
        pytest.skip("several `ironworks api` processes share PostgreSQL; SQLite has one owner")
    svcs = [
        Services(db=Database(settings.effective_database_url), settings=settings) for _ in range(4)
    ]
    barrier = threading.Barrier(len(svcs))
    errors: list[BaseException] = []

    def go(s: Services) -> None:
        barrier.wait()
        try:
            auth.bootstrap_admin(s)
        except BaseException as e:
            errors.append(e)
        finally:
            s.db.dispose()

    threads = [threading.Thread(target=go, args=(s,)) for s in svcs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one() == 1


def _conductor_proc(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ironworks.cmd.main", "conductor"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _online(db: Database, name: str) -> str | None:
    with db.read() as conn:
        row = conn.execute(
            sa.select(conductors.c.incarnation, conductors.c.online).where(
                conductors.c.hostname == name
            )
        ).first()
    return row.incarnation if row is not None and row.online else None


@pytest.mark.slow
def test_processes_twin_refused_restart_after_kill_is_not(db, database_url, tmp_path):
    """Real `ironworks conductor` processes on one machine: a twin is refused at once; the
    same conductor restarted right after `kill -9` starts at once (heartbeat timeout 600 s)."""
    home = tmp_path / "home"
    env = {
        **os.environ,
        "IRONWORKS_DATABASE_URL": database_url,
        "IRONWORKS_HOME": str(home),
        "IRONWORKS_CONDUCTOR__HOSTNAME": "box",
        "IRONWORKS_CONDUCTOR__HEARTBEAT_TIMEOUT": "600",
        "IRONWORKS_CONDUCTOR__POWER_SYNC_INTERVAL": "0",
    }
    log = tmp_path / "conductor.log"
    first = _conductor_proc(env, log)
    try:
        inc1 = wait_for(lambda: _online(db, "box"), timeout=60, interval=0.2)
        # a twin with the same home: refused by the lock file
        twin = subprocess.run(
            [sys.executable, "-m", "ironworks.cmd.main", "conductor"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert twin.returncode == 2, twin.stderr
        assert "already runs under the name 'box'" in twin.stderr
        # a twin with another home (say, another machine): refused by the database
        twin = subprocess.run(
            [sys.executable, "-m", "ironworks.cmd.main", "conductor"],
            env={**env, "IRONWORKS_HOME": str(tmp_path / "other")},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert twin.returncode == 2, twin.stderr
        assert "'box' is in use" in twin.stderr and "start again in" in twin.stderr
        assert _online(db, "box") == inc1
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        second = _conductor_proc(env, log)
        try:
            inc2 = wait_for(
                lambda: (i := _online(db, "box")) != inc1 and i, timeout=60, interval=0.2
            )
            # its SIGTERM handler is set once it runs: then a stop marks the row offline
            wait_for(lambda: f"box/{inc2} started" in log.read_text(), timeout=30)
            time.sleep(0.5)
            assert second.poll() is None, log.read_text()
            assert (home / "conductor-box.lock").read_text().strip() == inc2
        finally:
            second.terminate()
            second.wait(15)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    with db.read() as conn:
        assert conductor_db.list_all(conn)[0]["online"] is False  # a clean stop says so
