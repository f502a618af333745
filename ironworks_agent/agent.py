"""The agent's loop: look up once, then heartbeat; run what the server asks, one command at a time.

The model:
- Token. Lookup hands out a one-time token per ramdisk boot. It is kept in the token file (on
  /run, a tmpfs, so it lives as long as this boot) and reused by a restarted agent, which could
  not look up again (409). A 401 means it is stale: drop it and look up again.
- Commands. A heartbeat reply may carry commands; the agent starts one when idle and ignores ids
  it has already started (the server resends a command until it is reported running or done).
  It runs in a thread; the main loop keeps heartbeating every `heartbeat_interval`, reporting it
  as `running` with its progress, and heartbeats at once when it finishes.
- Results. A finished command's result goes out with every heartbeat until its id comes back in
  `ack`. A failure's `error` is one sentence; every result carries the last 40 log lines.
- State. Ids started, results not yet acked, the node and the command in flight are saved in the
  state file after every change, so a restarted agent neither runs a command twice nor loses a
  result; a command that was in flight when the agent died is reported failed.
- Power. power_off and reboot set an action that runs 2 s after the heartbeat carrying their
  result got through.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from ironworks_agent import commands, inventory, protocol
from ironworks_agent.client import AgentClient, ApiError, Stopped, TokenRejected

log = logging.getLogger("ironworks_agent.agent")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class LogRing(logging.Handler):
    """Keeps the last lines of the agent's log, for the `log` of each result."""

    def __init__(self, lines: int = protocol.RESULT_LOG_LINES) -> None:
        super().__init__()
        self.lines: collections.deque[str] = collections.deque(maxlen=lines)
        self.setFormatter(logging.Formatter(LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.extend(self.format(record).splitlines())

    def tail(self) -> str:
        return "\n".join(self.lines)


def one_sentence(text: str) -> str:
    return " ".join(text.split()) or "no detail"


class Agent:
    """One agent process. `root` prefixes every machine path (/proc, /sys, /dev) for tests."""

    def __init__(
        self,
        api: str,
        root: Path = Path("/"),
        node_uuid: str | None = None,
        boot_mac: str | None = None,
        boot_id: str | None = None,
        token_file: Path | None = None,
        state_file: Path | None = None,
        ctx: commands.Context | None = None,
        lookup_retry: float = protocol.LOOKUP_RETRY_SECONDS,
        power_delay: float = protocol.POWER_DELAY_SECONDS,
    ) -> None:
        self.root = root
        self.node_uuid = node_uuid
        self.boot_mac = boot_mac
        self.boot_id = boot_id
        self.token_file = token_file or root / protocol.TOKEN_FILE.lstrip("/")
        self.state_file = state_file or root / protocol.STATE_FILE.lstrip("/")
        # Under a test root the agent is not on the machine it describes: it must never power
        # off or reboot the host it runs on.
        self.ctx = ctx or commands.Context(
            root=root,
            pxe_mac=boot_mac,
            power=commands.power_action if root == Path("/") else commands.pretend_power,
        )
        self.ctx.progress = self._on_progress
        self.power_delay = power_delay
        self.stopped = threading.Event()
        self.wake = threading.Event()
        self.client = AgentClient(api, wait=self.stopped.wait, lookup_retry=lookup_retry)
        self.lookup_retry = lookup_retry
        self.interval = protocol.DEFAULT_HEARTBEAT_INTERVAL
        self.ring = LogRing()
        self.lock = threading.Lock()
        self.seen: list[str] = []
        self.pending: list[protocol.Result] = []
        self.running: dict[str, Any] | None = None  # {"id", "name"} of the command in flight
        self.progress: protocol.Progress | None = None
        self.then: tuple[str, Any] | None = None  # (result id, action) of a power command
        self.worker: threading.Thread | None = None

    # Files.
    def _load(self) -> None:
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return
        self.seen = list(state.get("seen", []))
        self.pending = list(state.get("pending", []))
        self.node_uuid = self.node_uuid or state.get("node_uuid")
        lost = state.get("running")
        if lost:
            log.warning(
                "the agent restarted while %s %s ran; reporting it failed", lost["name"], lost["id"]
            )
            self.pending.append(
                self._result(lost, False, {}, f"the agent restarted while {lost['name']} ran")
            )
        self._save()

    def _save(self) -> None:
        with self.lock:  # also keeps two threads from writing the file at once
            state = {
                "node_uuid": self.node_uuid,
                "seen": self.seen,
                "pending": self.pending,
                "running": self.running,
            }
            _write_private(self.state_file, json.dumps(state))

    def _token(self) -> str:
        try:
            token = self.token_file.read_text().strip()
        except OSError:
            token = ""
        if token and self.node_uuid:
            log.info("reusing the token from %s", self.token_file)
            return token
        request: protocol.LookupRequest = {
            "macs": inventory.macs(self.root),
            "boot_mac": self.boot_mac,
            "node_uuid": self.node_uuid,
            "boot_id": self.boot_id,
            "version": protocol.VERSION,
        }
        log.info(
            "looking up node %s by MACs %s",
            self.node_uuid or "(unknown)",
            ", ".join(request["macs"]),
        )
        reply = self.client.lookup(request)
        self.node_uuid = reply["node_uuid"]
        self.interval = float(reply.get("heartbeat_interval") or self.interval)
        _write_private(self.token_file, reply["token"])
        self._save()
        log.info("this is node %s", self.node_uuid)
        return reply["token"]

    def _drop_token(self) -> None:
        self.token_file.unlink(missing_ok=True)

    # Commands.
    def _result(
        self, cmd: dict[str, Any], ok: bool, result: dict[str, Any], error: str | None
    ) -> protocol.Result:
        return {
            "id": cmd["id"],
            "name": cmd["name"],
            "ok": ok,
            "result": result,
            "error": error,
            "log": self.ring.tail(),
        }

    def _on_progress(self, done: int, total: int | None) -> None:
        self.progress = {"done": done, "total": total}

    def _start(self, cmd: protocol.Command) -> None:
        with self.lock:
            self.seen.append(cmd["id"])
            self.running = {"id": cmd["id"], "name": cmd["name"]}
            self.progress = None
        self._save()
        log.info("running %s %s", cmd["name"], cmd["id"])
        self.worker = threading.Thread(
            target=self._run, args=(cmd,), name=f"command-{cmd['id']}", daemon=True
        )
        self.worker.start()

    def _run(self, cmd: protocol.Command) -> None:
        self.ctx.after = None
        try:
            result = commands.execute(self.ctx, cmd["name"], cmd.get("args") or {})
            ok, error = True, None
            log.info("%s %s done", cmd["name"], cmd["id"])
        except commands.EXPECTED_ERRORS as e:
            result, ok, error = {}, False, one_sentence(str(e))
            log.error("%s %s failed: %s", cmd["name"], cmd["id"], error)
        except Exception as e:
            result, ok = {}, False
            error = one_sentence(f"{cmd['name']} failed unexpectedly: {type(e).__name__}: {e}")
            log.exception("%s %s failed unexpectedly", cmd["name"], cmd["id"])
        with self.lock:
            self.pending.append(self._result(dict(cmd), ok, result, error))
            self.running = None
            if ok and self.ctx.after is not None:
                self.then = (cmd["id"], self.ctx.after)
        self._save()
        self.wake.set()

    # The loop.
    def _request(self) -> protocol.HeartbeatRequest:
        with self.lock:
            running: protocol.Running | None = None
            if self.running:
                running = {**self.running, "progress": self.progress}  # type: ignore[typeddict-item]
            return {
                "node_uuid": self.node_uuid or "",
                "results": list(self.pending),
                "running": running,
                "version": protocol.VERSION,
            }

    def _on_reply(self, sent: protocol.HeartbeatRequest, reply: protocol.HeartbeatResponse) -> None:
        acked = set(reply.get("ack") or [])
        self.interval = float(reply.get("heartbeat_interval") or self.interval)
        with self.lock:
            before = len(self.pending)
            self.pending = [r for r in self.pending if r["id"] not in acked]
            changed = len(self.pending) != before
            then = self.then
        if changed:
            self._save()
        if then and any(r["id"] == then[0] for r in sent["results"]):
            self.then = None
            log.info("acting in %.0f s", self.power_delay)
            timer = threading.Timer(self.power_delay, then[1])
            timer.daemon = True
            timer.start()
        for cmd in reply.get("commands") or []:
            if not isinstance(cmd, dict) or not cmd.get("id") or cmd["id"] in self.seen:
                continue
            if self.running is not None:
                break  # one at a time: the server resends it
            self._start(cmd)

    def _heartbeat_loop(self, token: str) -> None:
        while not self.stopped.is_set():
            sent = self._request()
            reply = self.client.heartbeat(token, sent)
            self._on_reply(sent, reply)
            self.wake.wait(self.interval)
            self.wake.clear()

    def run(self) -> None:
        """Loop until `stop()`: look up (or reuse the token), heartbeat, run commands."""
        agent_log = logging.getLogger("ironworks_agent")
        agent_log.addHandler(self.ring)
        if agent_log.getEffectiveLevel() > logging.INFO:
            agent_log.setLevel(logging.INFO)
        try:
            self._load()
            while not self.stopped.is_set():
                try:
                    self._heartbeat_loop(self._token())
                except TokenRejected as e:
                    log.warning("the server refused the token (%s); looking up again", e.detail)
                    self._drop_token()
                except ApiError as e:
                    log.error("%s; trying again in %.0f s", e, self.lookup_retry)
                    self.stopped.wait(self.lookup_retry)
                except Stopped:
                    break
                except Exception:  # a bug or a malformed reply: keep the node reachable
                    log.exception("unexpected error in the agent loop; starting over in 5 s")
                    self.stopped.wait(5.0)
        finally:
            agent_log.removeHandler(self.ring)

    def wait_for_address(self, timeout: float = 120.0, every: float = 0.05) -> bool:
        """Until some NIC of this machine has an IPv4 address (DHCP done), or `timeout`."""
        deadline = time.monotonic() + timeout
        names = inventory.interface_names(self.root)
        while not self.stopped.is_set():
            found = inventory.ipv4_now(names)
            if found:
                log.info("network up: %s", ", ".join(f"{n} {a}" for n, a in found.items()))
                return True
            if time.monotonic() > deadline:
                log.warning("no IPv4 address after %.0f s; trying the server anyway", timeout)
                return False
            self.stopped.wait(every)
            names = names or inventory.interface_names(self.root)
        return False

    def stop(self) -> None:
        self.stopped.set()
        self.wake.set()


def _write_private(path: Path, text: str) -> None:
    """Write a file only root can read, atomically (a crash leaves the old or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
