"""The conductor: claims jobs, runs them under the node lock, keeps itself known.

Threads:
* claim loop — claims as many runnable jobs as it has free workers, wakes on the in-process
  event (embedded), on PostgreSQL NOTIFY (split mode), or every `poll_interval`;
* workers — a pool of `workers` threads; one job each;
* heartbeat — refreshes the conductor row and the leases of the jobs it runs;
* periodic — takeover of dead conductors' locks, wait-state timeouts;
* power sync — every `power_sync_interval`, the BMCs' power states against the database
  (`power_sync.py`);
* sensor cycle — every `monitoring.sensor_interval`, sensors and event logs, alarms
  (`sensors.py`);
* notify — sends the alarm notifications that are due (`notify.py`), after each sensor cycle
  and every 5 s for retries.

Crash model: every state change and the job's completion are committed together, so after a
`kill -9` nothing accepted is lost (the job row stays unfinished) and nothing finished runs
again. On start, the conductor drops the locks its previous incarnation held and requeues its
jobs at once instead of waiting for their leases to expire.

Identity: the conductor's name (`conductor.hostname`) is refused at start while another
incarnation heard within `heartbeat_timeout` holds it (`register`); `replaces` names an
incarnation known dead whose name is taken over at once (`cmd/identity.py` finds it). A
conductor whose heartbeat finds its row taken by another incarnation stops (`lost_name`).

Database outages: every loop catches the error and tries again; a job whose result could not
be written is given back to the queue as soon as the database answers again (`_settle`), so a
PostgreSQL restart or failover loses no job. The engine reconnects on its own (db/engine.py).
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from ironworks import __version__
from ironworks.boot.artifacts import DeployArtifacts
from ironworks.common.crypto import SecretBox, box_from_settings
from ironworks.common.errors import ConfigError, IronworksError, NotFound, SecretUndecryptable
from ironworks.common.ids import new_uuid
from ironworks.common.logging import request_id_var
from ironworks.common.settings import Settings
from ironworks.conductor import periodic
from ironworks.conductor.notify import Notifier
from ironworks.conductor.power_sync import PowerSync
from ironworks.conductor.sensors import SensorCycle
from ironworks.conductor.steps import Outcome, run_step
from ironworks.conductor.switching import DriverFor, Switching, host_network_data
from ironworks.db import agents as agent_db
from ironworks.db import allocations as alloc_db
from ironworks.db import bios as bios_db
from ironworks.db import conductors as conductor_db
from ironworks.db import firmware as firmware_db
from ironworks.db import inspection_rules as rule_db
from ironworks.db import jobs as job_db
from ironworks.db import migrate
from ironworks.db import nodes as node_db
from ironworks.db import ports as port_db
from ironworks.db.engine import Database, unavailable, utcnow
from ironworks.domain import inspection_rules, states
from ironworks.domain import power as power_words
from ironworks.domain.network import Step
from ironworks.drivers import base
from ironworks.drivers.agent import AgentDeploy, AgentInspect, AgentSession
from ironworks.drivers.base import Task
from ironworks.drivers.registry import interfaces_for

log = logging.getLogger(__name__)


# A job whose run fails this many times outside its steps is given up, with the node told why.
MAX_ATTEMPTS = 5


class LostLease(Exception):
    """Another conductor took our job over (we were too slow to renew); abandon the work."""


class Conductor:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        secret_box: SecretBox | None = None,
        switch_driver: DriverFor | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        # "now" of a host's usage record closed when its node's tear-down drops the host
        # (services/usage.py); tests pass the clock their API's Services has
        self.clock = clock
        self.settings = settings
        # opens driver_info secrets for the drivers; cmd/ hands down the one it loaded
        self.secret_box = secret_box or box_from_settings(settings)
        # the switch step of each provision step (`switch_driver`: the seam tests use)
        self.switching = Switching(db, self.secret_box, switch_driver)
        self.cfg = settings.conductor
        self.host = self.cfg.hostname
        self.incarnation = new_uuid()
        self.owner = f"{self.host}/{self.incarnation}"
        # ws://host:port of the consoles this process serves to the API (`ironworks conductor`
        # sets it before `start`; with `ironworks serve` the API runs them itself)
        self.console_url: str | None = None
        # an incarnation of this name known dead (cmd/identity.py): taken over at once; and who
        # wants to know the incarnation once it is registered
        self.replaces: str | None = None
        self.on_registered: Callable[[str], None] | None = None
        # set when another process registered under our name while we were silent: we stopped
        self.lost_name = threading.Event()
        # since when our heartbeats reach the database without a break (periodic.Member)
        self.connected_since: datetime | None = None
        self._pool = ThreadPoolExecutor(self.cfg.workers, thread_name_prefix="job")
        self._busy = 0
        self._busy_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.jobs_done = 0
        self.power_sync = PowerSync(self, self._task)
        self.sensors = SensorCycle(self, self._task)
        self.notifier = Notifier(db, settings)
        self.artifacts = DeployArtifacts(settings)

    # --- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self.register()
        self.recover()
        loops = [
            self._claim_loop,
            self._heartbeat_loop,
            self._periodic_loop,
            self._power_sync_loop,
            self._sensor_loop,
            self._notify_loop,
        ]
        if not self.db.is_sqlite:
            loops.append(self._listen_loop)
        for fn in loops:
            t = threading.Thread(target=fn, name=fn.__name__.strip("_"), daemon=True)
            t.start()
            self._threads.append(t)
        log.info("conductor %s started with %d workers", self.owner, self.cfg.workers)

    def stop(self, wait: bool = True) -> None:
        self._stop.set()
        job_db.wake()
        self.notifier.wake.set()
        self._pool.shutdown(wait=wait, cancel_futures=True)
        if wait:  # the loops see _stop within their poll interval; none writes after stop()
            for t in self._threads:
                if t is not threading.current_thread():
                    t.join(timeout=10)
        try:
            with self.db.write() as conn:
                conductor_db.mark_offline(conn, self.host, incarnation=self.incarnation)
        except Exception:  # the database may be gone at shutdown
            log.warning("could not mark conductor %s offline", self.host)

    def register(self) -> None:
        """Take the name for this incarnation, or raise ConfigError saying who holds it."""
        timeout = self.cfg.heartbeat_timeout
        with self.db.write() as conn:
            holder = conductor_db.claim_name(
                conn,
                self.host,
                group=self.cfg.group,
                incarnation=self.incarnation,
                drivers=list(self.settings.enabled_hardware_types),
                heard_after=utcnow() - timedelta(seconds=timeout),
                replaces=self.replaces,
                console_url=self.console_url,
                release=__version__,
                schema_head=migrate.code_head(),
            )
        if holder is not None:
            ago = max(0.0, (utcnow() - holder.heard).total_seconds())
            raise ConfigError(
                f"conductor name {self.host!r} is in use: a conductor registered under it "
                f"(incarnation {holder.incarnation}) was heard {ago:.0f} s ago. Give each "
                "conductor its own name with the setting conductor.hostname (environment: "
                "IRONWORKS_CONDUCTOR__HOSTNAME). If it is this conductor's previous run on "
                "another machine or state directory that died without stopping, start again "
                f"in {max(1.0, timeout - ago):.0f} s, when its heartbeat is older than "
                f"conductor.heartbeat_timeout ({timeout:.0f} s)",
                field="conductor.hostname",
            )
        self.connected_since = utcnow()
        if self.on_registered is not None:
            self.on_registered(self.incarnation)

    def recover(self) -> None:
        """Take back what an earlier incarnation of this conductor left behind."""
        with self.db.write() as conn:
            freed = node_db.release_all_held_by(conn, self.host)
        requeued = job_db.release_owned_by(self.db, f"{self.host}/%", self.owner)
        if freed or requeued:
            log.warning(
                "recovered after an unclean stop: %d node lock(s) released, %d job(s) requeued",
                freed,
                requeued,
            )

    # --- loops -----------------------------------------------------------------------------------

    def _claim_loop(self) -> None:
        while not self._stop.is_set():
            try:
                job_db.jobs_event.clear()
                limit = min(self.cfg.workers - self._busy, 64)
                claimed = (
                    job_db.claim(
                        self.db, self.owner, self.host, limit, self.cfg.job_lease, self.cfg.group
                    )
                    if limit > 0
                    else []
                )
                for job, node in claimed:
                    with self._busy_lock:
                        self._busy += 1
                    self._pool.submit(self._run, job, node)
                if claimed and len(claimed) == limit:  # there may be more: claim again
                    continue
                # Fewer than asked for: the queue is empty for now, and whatever is queued from
                # here on sets the event (it was cleared before the claim), so wait for it.
                woken = job_db.jobs_event.wait(self.cfg.poll_interval)
                if woken and self.cfg.claim_delay:
                    self._stop.wait(self.cfg.claim_delay)
            except Exception:
                log.exception("claim loop error; retrying")
                self._stop.wait(self.cfg.poll_interval)

    def _heartbeat_loop(self) -> None:
        interval = min(self.cfg.heartbeat_interval, self.cfg.job_lease / 3)
        while not self._stop.wait(interval):
            try:
                with self.db.write() as conn:
                    ours = conductor_db.heartbeat(conn, self.host, self.incarnation)
                if not ours:
                    log.critical(
                        "another process registered as conductor %r while this one was silent; "
                        "it has taken this conductor's work over. Stopping; give each "
                        "conductor its own name (conductor.hostname)",
                        self.host,
                    )
                    self.lost_name.set()
                    self._stop.set()
                    job_db.wake()
                    return
                job_db.renew_leases(self.db, self.owner, self.cfg.job_lease)
                if self.connected_since is None:
                    self.connected_since = utcnow()
            except Exception as e:
                if unavailable(e):
                    self.connected_since = None
                    log.warning("heartbeat: the database is unavailable (%s); retrying", e)
                else:
                    log.exception("heartbeat failed")

    def _power_sync_loop(self) -> None:
        every = self.cfg.power_sync_interval
        while every and not self._stop.wait(every):
            try:
                self.power_sync.run()
            except Exception:
                log.exception("power sync failed")

    def _sensor_loop(self) -> None:
        every = self.settings.monitoring.sensor_interval
        while every and not self._stop.wait(every):
            try:
                self.sensors.run()
                self.notifier.wake.set()
            except Exception:
                log.exception("sensor cycle failed")

    def _notify_loop(self) -> None:
        """Alarm notifications: after each sensor cycle, and every few seconds for retries."""
        while not self._stop.is_set():
            self.notifier.wake.wait(5.0)
            self.notifier.wake.clear()
            if self._stop.is_set():
                return
            try:
                self.notifier.run()
            except Exception:
                log.exception("sending alarm notifications failed")

    def _periodic_loop(self) -> None:
        while not self._stop.wait(self.cfg.periodic_interval):
            for name, fn in (
                ("takeover", periodic.take_over_dead_conductors),
                ("timeouts", periodic.fail_expired_waits),
            ):
                try:
                    fn(self)
                except Exception:
                    log.exception("periodic task %s failed", name)

    def _listen_loop(self) -> None:
        import psycopg

        url = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {job_db.CHANNEL}")
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            job_db.wake()
            except Exception:
                log.warning("LISTEN connection lost; polling until it is back", exc_info=True)
                self._stop.wait(2.0)

    # --- one job ---------------------------------------------------------------------------------

    def _run(self, job: dict[str, Any], node: dict[str, Any]) -> None:
        """Run one claimed job; the claim already holds the node lock for us."""
        token = request_id_var.set(job.get("request_id") or f"job-{job['id']}")
        try:
            try:
                if job["kind"] == "provision":
                    self._provision(job, node)
                elif job["kind"] == "power":
                    self._power(job, node)
                elif job["kind"] == "network":
                    self._network(job, node)
                else:
                    log.error(
                        "job %s has unknown kind %r; marking it failed", job["id"], job["kind"]
                    )
                    with self.db.write() as conn:
                        job_db.finish(
                            conn, job["id"], self.owner, error=f"unknown job kind {job['kind']}"
                        )
                        node_db.release(conn, job["node_id"], self.host)
                self.jobs_done += 1
            except LostLease:
                log.warning("job %s was taken over by another conductor; abandoning it", job["id"])
                self._settle(lambda conn: node_db.release(conn, job["node_id"], self.host))
            except NotFound:
                log.info("job %s: its node was deleted meanwhile; nothing to do", job["id"])
            except SecretUndecryptable as e:  # an operator must fix the key: no traceback
                log.error(
                    "job %s on node %s: %s; retrying in 60 s", job["id"], node["uuid"], e.message
                )
                self._settle(lambda conn: self._put_back(conn, job, 60.0))
            except Exception as e:
                if unavailable(e):  # not the job's fault: it runs again once the database is back
                    log.warning(
                        "job %s: the database is unavailable (%s); it goes back to the queue "
                        "when the database answers",
                        job["id"],
                        e,
                    )
                    self._settle(lambda conn: self._put_back(conn, job, 0.0))
                elif job["attempts"] >= MAX_ATTEMPTS:
                    log.exception("job %s failed %d times; giving up", job["id"], job["attempts"])
                    self._give_up(job, e)
                else:
                    log.exception("job %s failed unexpectedly; it will be retried", job["id"])
                    self._settle(lambda conn: self._put_back(conn, job, 5.0 * job["attempts"]))
        finally:
            with self._busy_lock:
                was_full = self._busy >= self.cfg.workers
                self._busy -= 1
            if was_full:  # the claim loop stopped claiming for want of a worker: one is free now
                job_db.wake()
            request_id_var.reset(token)

    def _put_back(self, conn: Any, job: dict[str, Any], seconds: float) -> None:
        node_db.release(conn, job["node_id"], self.host)
        job_db.postpone(conn, job["id"], self.owner, seconds)

    def _settle(self, write: Callable[[Any], object]) -> None:
        """Run `write` in a transaction, retrying while the database is unavailable (a restart,
        a failover): a job's hand-back must not be lost to an outage, or the job would stay
        ours, its lease renewed by our heartbeat, and never run. Gives up only when the
        conductor stops (the next start requeues the job, `recover`)."""
        delay = 0.5
        while True:
            try:
                with self.db.write() as conn:
                    write(conn)
                return
            except Exception as e:
                if not unavailable(e):
                    raise
                log.warning("the database is unavailable (%s); retrying in %.1f s", e, delay)
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, 5.0)

    def _give_up(self, job: dict[str, Any], exc: Exception) -> None:
        """A job that keeps failing outside its steps (e.g. the database refuses a write):
        stop retrying, and say so on the node instead of looping forever."""
        msg = (
            f"internal error after {job['attempts']} attempts ({exc!r}); the conductor log has "
            f"the details under request id {job.get('request_id')}"
        )
        with self.db.write() as conn:
            node = node_db.get_node(conn, job["node_id"])
            values: dict[str, Any] = {"last_error": msg, "reservation": None}
            if job["kind"] == "power":
                values["target_power_state"] = None
            elif node["provision_state"] in states.WORKING_STATES:
                values["provision_state"] = states.next_state(node["provision_state"], states.FAIL)
                values["target_provision_state"] = None
            node_db.update_node(conn, node["id"], values)
            node_db.record_event(
                conn,
                node["id"],
                msg,
                event_type=job["kind"],
                severity="ERROR",
                conductor=self.host,
                request_id=job.get("request_id"),
            )
            job_db.finish(conn, job["id"], self.owner, error=msg)

    def _task(self, node: dict[str, Any], purpose: str) -> Task:
        """The driver's view of the node, driver_info decrypted; `node` itself stays sealed,
        so nothing the conductor writes back can carry a plain password."""
        info = self.secret_box.open(node.get("driver_info") or {})
        return Task(
            node={**node, "driver_info": info},
            purpose=purpose,
            conductor=self.host,
            options={
                "fake_delay": self.settings.fake.delay,
                "automated_clean": self.cfg.automated_clean,
                "resolve_image": self.artifacts.resolve_image,
                "build_configdrive": self._configdrive,
                "switching": self.switching,
                "first_boot_url": self.artifacts.first_boot_url,
                "drop_configdrive": self.artifacts.drop_configdrive,
                "erase_mode": self.settings.boot.erase_mode,
                "lldp_wait": self.settings.boot.lldp_wait,
                "save_progress": lambda values: self._save_progress(node["id"], values),
            },
        )

    def _save_progress(self, node_id: int, values: dict[str, Any]) -> None:
        """The step that starts now and the progress so far (conductor/stepping.py), written
        while we hold the node lock: shown at once, and a crash re-runs only that step."""
        with self.db.write() as conn:
            node_db.update_node(conn, node_id, values, expect={"reservation": self.host})

    def _configdrive(
        self, node: dict[str, Any], drive: Any, first_boot_url: str | None = None
    ) -> dict[str, Any]:
        """The config drive, its network_data.json made from the host's NICs (host_nics) when
        the request brought none."""
        if isinstance(drive, dict) and drive.get("network_data") is None:
            data = host_network_data(self.db, node["id"])
            if data is not None:
                drive = {**drive, "network_data": data}
        return self.artifacts.configdrive(node, drive, first_boot_url)

    def _agent_session(self, node: dict[str, Any]) -> AgentSession | None:
        """The node's agent session, for nodes whose deploy or inspection uses the agent."""
        try:
            ifaces = interfaces_for(node)
        except IronworksError:  # a bad interface name: run_step fails the step, saying which
            return None
        if not any(
            isinstance(ifaces[k], AgentDeploy | AgentInspect) for k in ("deploy", "inspect")
        ):
            return None

        def reset(purpose: str) -> dict[str, Any]:
            with self.db.write() as conn:
                return agent_db.reset(conn, node["id"], purpose)

        with self.db.read() as conn:
            return AgentSession.from_row(agent_db.get(conn, node["id"]), reset)

    def _provision(self, job: dict[str, Any], node: dict[str, Any]) -> None:
        # While we hold the lock only we change the node's state columns, so the row read at
        # claim time plus what our own steps wrote is the current row: no re-read per step.
        args = job["args"] or {}
        while True:
            state = node["provision_state"]
            if state not in states.WORKING_STATES:
                with self.db.write() as conn:
                    if not job_db.finish(conn, job["id"], self.owner):
                        raise LostLease()
                    node_db.release(conn, node["id"], self.host)
                return
            task = self._task(node, f"provision {state}")
            task.agent = self._agent_session(node)
            out = run_step(task, args)
            if state == states.INSPECTING and out.event == states.DONE:
                out = self._inspection_rules(node, out)
            goal = node["target_provision_state"]
            if out.event == states.DONE:
                new = states.done_state(state, goal, retired=bool(node.get("retired")))
            else:
                new = states.next_state(state, out.event) or states.ERROR
            values = dict(out.values)
            values.update(provision_state=new, provision_updated_at=utcnow())
            if out.event == states.FAIL:
                values["last_error"] = out.message
                values["target_provision_state"] = None
            elif new in states.STABLE_STATES:
                values["target_provision_state"] = None
            final = new not in states.WORKING_STATES
            if final:
                values["reservation"] = None
            # A node that becomes available carries no instance: a tenant's host on it is gone
            # (teardown), in the same commit (the scheduler claims only available nodes).
            torn_down = new == states.AVAILABLE or (
                state == states.CLEANING and new == states.MANAGEABLE and goal == states.AVAILABLE
            )  # a retired node's tear-down ends in manageable
            if torn_down and node.get("instance_uuid") is not None:
                values.update(instance_uuid=None, instance_info={})
            # Ironic's rule: the node's tear-down deletes its allocation (with the instance).
            drop_allocation = node.get("allocation_uuid") is not None and (
                torn_down or ("instance_uuid" in values and values["instance_uuid"] is None)
            )
            if drop_allocation:
                values["allocation_uuid"] = None
            with self.db.write(durable=False) as conn:
                if task.agent is not None and out.event == states.FAIL:
                    agent_db.void(conn, node["id"])
                elif task.agent is not None and task.agent.dirty:
                    agent_db.save_commands(
                        conn, node["id"], task.agent.boot_id, task.agent.commands
                    )
                if torn_down:
                    node_db.drop_host(conn, node["id"], self.clock())
                if drop_allocation:
                    alloc_db.delete_of_node(conn, node["id"])
                message = out.message
                if out.nics:
                    found = port_db.add_found_nics(conn, node["id"], out.nics)
                    message = f"{state} -> {new}: " + found.sentence()
                    if out.message:  # e.g. the inspection rules that matched
                        message += f"; {out.message}"
                if out.bios_settings is not None:  # what the BMC reported: the API's cache
                    bios_db.replace(conn, node["id"], out.bios_settings)
                if out.firmware:
                    firmware_db.record(conn, node["id"], out.firmware)
                for note in out.notes:  # e.g. which switch ports moved, before the step's line
                    node_db.record_event(
                        conn,
                        node["id"],
                        note,
                        event_type="network",
                        conductor=self.host,
                        request_id=job.get("request_id"),
                    )
                event = {
                    "event": message or f"{state} -> {new}",
                    "event_type": "provisioning",
                    "severity": "ERROR" if out.event == states.FAIL else "INFO",
                    "conductor": self.host,
                    "from_state": state,
                    "to_state": new,
                    "target_state": values.get("target_provision_state", goal),
                    "duration": node_db.seconds_in_state(node),
                    "request_id": job.get("request_id"),
                }
                # the job's end or its renewed lease, the node and its history: one commit
                if not job_db.commit_step(
                    conn,
                    job["id"],
                    self.owner,
                    node["id"],
                    values,
                    event,
                    final=final,
                    lease=self.cfg.job_lease,
                ):
                    raise LostLease()
            node = {**node, **values}
            if out.event == states.FAIL:
                log.warning("node %s: %s", node["uuid"], out.message)
            if final:
                return

    def _network(self, job: dict[str, Any], node: dict[str, Any]) -> None:
        """A NIC of an active host came or went (services/hostnics.follow_on_switch): move the
        node's switch ports to what its NICs say now. A port no NIC uses any more is isolated.
        Post-configured ports are not waited for: their commands are in the node's network
        record (GET /api/v1/nodes/{id}/network). A failure leaves the host active and says
        which switch, port and command in last_error and the history; what moved is recorded."""
        why = (job["args"] or {}).get("why") or "host NICs changed"
        task = self._task(node, "network")
        task.internal = copy.deepcopy(node.get("driver_internal_info") or {})
        error = None
        started = time.monotonic()
        try:
            if node["provision_state"] == states.ACTIVE:
                self.switching.run(task, Step.ACTIVE, may_wait=False)
        except IronworksError as e:
            error = f"moving the switch ports after {why} failed: {e.message}"
        except Exception as e:  # a driver bug: said on the node, not a retry loop
            log.exception("network job %s of node %s crashed", job["id"], node["uuid"])
            error = f"moving the switch ports after {why} failed with an internal error: {e!r}"
        values: dict[str, Any] = {"reservation": None}
        if task.internal != (node.get("driver_internal_info") or {}):
            values["driver_internal_info"] = task.internal
        if error:
            values["last_error"] = error
        lines = [error or f"switch ports follow the host's NICs ({why})", *task.notes]
        event = {
            "event": "; ".join(lines),
            "event_type": "network",
            "severity": "ERROR" if error else "INFO",
            "conductor": self.host,
            "duration": round(time.monotonic() - started, 3),
            "request_id": job.get("request_id"),
        }
        with self.db.write() as conn:
            if not job_db.commit_step(
                conn,
                job["id"],
                self.owner,
                node["id"],
                values,
                event,
                final=True,
                lease=self.cfg.job_lease,
                error=error,
            ):
                raise LostLease()

    def _inspection_rules(self, node: dict[str, Any], out: Outcome) -> Outcome:
        """Run the inspection rules on what the inspection found. What they change (node
        fields, traits) joins the step's values, so it is written in the commit that ends the
        inspection, or not at all; a failing rule fails the inspection with its message (the
        properties found are then not written)."""
        with self.db.read() as conn:
            rules = rule_db.of_phase(conn, "main")
        if not rules:
            return out
        current = {**node, **out.values}
        try:
            done = inspection_rules.apply(
                rules, current, list(node.get("traits") or []), out.inventory
            )
        except inspection_rules.RuleFailed as e:
            kept = {
                k: v for k, v in out.values.items() if k in ("driver_internal_info", "power_state")
            }
            return Outcome(states.FAIL, kept, f"inspection failed: {e.message}", notes=out.notes)
        for level, line in done.logs:
            log.log(logging.getLevelName(level.upper()), "node %s: %s", node["uuid"], line)
        values = {**out.values, **done.node}
        if done.traits is not None:
            values["traits"] = done.traits
        message = out.message
        if done.matched:
            message = "inspection rules applied: " + ", ".join(done.matched)
        return Outcome(
            out.event, values, message, nics=out.nics, notes=out.notes, inventory=out.inventory
        )

    def _power(self, job: dict[str, Any], node: dict[str, Any]) -> None:
        args = job["args"] or {}
        target = args["target"]
        task = self._task(node, f"power {target}")
        power = interfaces_for(node)["power"]
        assert isinstance(power, base.PowerInterface)
        started = time.monotonic()
        error = None
        new = node["power_state"]
        timeout = args.get("timeout") or self.settings.timeouts.power_state_change
        try:
            power.validate(task)
            if target in (power_words.REBOOT, power_words.SOFT_REBOOT):
                new = power.reboot(task, timeout, soft=target == power_words.SOFT_REBOOT)
            else:
                new = power.set_power_state(task, target, timeout)
        except Exception as e:
            msg = getattr(e, "message", None) or repr(e)
            error = f"{target} failed: {msg}"
        duration = round(time.monotonic() - started, 3)
        values: dict[str, Any] = {
            "power_state": new,
            "target_power_state": None,
            "reservation": None,
        }
        if error:
            values["last_error"] = error
        event = {
            "event": error or f"{target}: {node['power_state']} -> {new}",
            "event_type": "power",
            "severity": "ERROR" if error else "INFO",
            "conductor": self.host,
            "duration": duration,
            "request_id": job.get("request_id"),
        }
        with self.db.write(durable=False) as conn:
            if not job_db.commit_step(
                conn,
                job["id"],
                self.owner,
                node["id"],
                values,
                event,
                final=True,
                lease=self.cfg.job_lease,
                error=error,
            ):
                raise LostLease()
