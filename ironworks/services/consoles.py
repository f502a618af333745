"""The serial console: one-time console URLs, and the sessions that bridge a node's IPMI
serial-over-LAN to WebSocket viewers.

A URL is issued by `POST /api/v1/hosts/{id}/console` (`for_host`: the caller's joined projects,
as the permission table says; another project's host is a 404) or by Ironic's
`GET /v1/nodes/{id}/states/console` once the console is enabled (`for_node`). It carries a
one-time token (only its SHA-256 is stored, `db/consoles.py`) and expires after
`console.ticket_ttl` seconds unopened.

The WebSocket that presents the token (`claim`) joins the node's `NodeConsole` in this process:
the first viewer of a node opens the SOL session (`drivers/sol.SolStream`) and may type; a viewer
who joins while someone types watches read-only, and is told so in a sentence. Every viewer
gets what the node prints from the moment it joined. A session ends when its viewer leaves, after
`console.idle_timeout` seconds without a byte either way, after `console.max_session` seconds,
or when the SOL session ends (the BMC closed it); the last viewer to leave closes the SOL
session. Opening and closing are audit events (`host:console` / `node:console`), and the
session's row keeps the last `console.output_limit` bytes of what it showed unless
`console.keep_output` is off.

Where the session runs: on the conductor that owns the node. With `ironworks serve` that is the
one process, which bridges SOL itself (`Consoles` in the API's app). With the API and conductors
split, the API process that gets the WebSocket claims the ticket, finds the node's owner on the
hash ring (`relay_url`, the same answer as for its jobs) and relays the frames to that
conductor's internal WebSocket (`INTERNAL_PATH`, authenticated by `internal_key`), where `take`
hands the session to the conductor's `Consoles`: ipmitool runs there, the audit events and the
session's row are written there, and one writer per node holds across API processes because all
viewers of a node end on its owner. When the owner goes away, the API ends its viewers' sessions
with that reason (`abandoned`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ironworks.common.errors import Conflict, IronworksError, NotFound
from ironworks.db import consoles as console_db
from ironworks.db import nodes as node_db
from ironworks.db.engine import utcnow
from ironworks.drivers.registry import interfaces_for
from ironworks.drivers.sol import IPMISolConsole, SolStream
from ironworks.services import audit, operations
from ironworks.services.conductors import ConductorMap, get_conductor
from ironworks.services.context import Caller, Services
from ironworks.services.operations import make_task

log = logging.getLogger(__name__)

PATH = "/api/v1/consoles/"  # + token: the WebSocket
# A conductor's WebSocket for the API (+ the session's uuid), and the headers the API sends it:
# the shared key, and the viewer's address for the audit record.
INTERNAL_PATH = "/internal/consoles/"
KEY_HEADER, SOURCE_HEADER = "X-Ironworks-Console-Key", "X-Ironworks-Console-Source"
READ_WRITE, READ_ONLY = "read-write", "read-only"
_QUEUE = 1024  # chunks a viewer may fall behind before it is dropped


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def websocket_base(base: str) -> str:
    """ws:// or wss:// for the API's http:// or https:// base URL."""
    if base.startswith("https://"):
        return "wss://" + base[len("https://") :]
    if base.startswith("http://"):
        return "ws://" + base[len("http://") :]
    return base


# --- URLs ----------------------------------------------------------------------------------------


def _check_sol(svc: Services, node: dict[str, Any]) -> None:
    """The node's console interface must be able to give a console (raises the reason)."""
    iface = interfaces_for(node)["console"]
    iface.get_console(make_task(svc, node, "console"))


def _issue(
    svc: Services,
    caller: Caller,
    node: dict[str, Any],
    base: str,
    host_uuid: str | None = None,
    project: tuple[int, str] | None = None,
) -> dict[str, Any]:
    token = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(seconds=svc.settings.console.ticket_ttl)
    principal = caller.principal
    with svc.db.write() as conn:
        uuid = console_db.issue(
            conn,
            token_hash=_hash(token),
            node_id=node["id"],
            expires_at=expires,
            host_uuid=host_uuid,
            user_id=principal.user_id if principal else None,
            user_name=principal.name if principal else caller.user,
            project_id=project[0] if project else None,
            project_name=project[1] if project else None,
        )
    return {
        "url": websocket_base(base) + PATH + token,
        "expires_at": expires,
        "session": uuid,
    }


def for_host(svc: Services, caller: Caller, ident: str, base: str) -> dict[str, Any]:
    """A console URL for the caller's host (404 outside the caller's projects)."""
    from ironworks.services.hosts import _one

    with svc.db.read() as conn:
        row = _one(conn, caller, ident)
        if row["node_uuid"] is None:
            raise Conflict(f"host {row['name']} has no node, so no console")
        node = node_db.get_node(conn, row["node_uuid"])
    _check_sol(svc, node)
    return _issue(svc, caller, node, base, row["uuid"], (row["project_id"], row["project"]))


def for_node(svc: Services, caller: Caller, node: dict[str, Any], base: str) -> dict[str, Any]:
    """A console URL for a node (cloud admins: the node routes)."""
    _check_sol(svc, node)
    return _issue(svc, caller, node, base)


def node_console(svc: Services, caller: Caller, ident: str, base: str) -> dict[str, Any]:
    """Ironic's `GET /v1/nodes/{id}/states/console`: a fresh one-time URL while enabled."""
    with svc.db.read() as conn:
        node = node_db.get_node(conn, ident)
    if not supports_sol(node) or not node["console_enabled"]:
        return operations.console(svc, ident)
    ticket = for_node(svc, caller, node, base)
    info = {"type": "websocket", "url": ticket["url"], "expires_at": ticket["expires_at"]}
    return {"console_enabled": True, "console_info": info}


def supports_sol(node: dict[str, Any]) -> bool:
    """Is the node's console interface the SOL bridge (its URLs are ours to issue)?"""
    return isinstance(interfaces_for(node)["console"], IPMISolConsole)


# --- sessions ------------------------------------------------------------------------------------


def claim(svc: Services, token: str, source: str | None, relay: bool = False) -> dict[str, Any]:
    """Open the ticket of `token` once: its row, with the node (a task ready for the driver).
    `relay`: this process hands the session to the node's conductor (no task made here)."""
    with svc.db.write() as conn:
        row = console_db.claim(conn, _hash(token), None if relay else svc.hostname)
        if row is None:
            known = console_db.find(conn, _hash(token))
            if known is None:
                raise NotFound("this console URL is not known; ask for a new one")
            if known["opened_at"] is not None:
                raise NotFound("this console URL was used already; each one opens once")
            raise NotFound("this console URL expired before it was opened; ask for a new one")
        node = node_db.get_node(conn, row["node_uuid"])
    if not relay:
        row["task"] = make_task(svc, node, "console")
    row["source"] = source
    return row


# --- the API and conductors split ----------------------------------------------------------------


def internal_key(svc: Services) -> str:
    """The key of the conductors' internal console WebSocket: `console.internal_key`, else
    derived from the key of stored secrets, which every api and conductor process shares."""
    key = svc.settings.console.internal_key
    return key.get_secret_value() if key is not None else svc.secrets.derive("console relay")


def key_matches(svc: Services, presented: str | None) -> bool:
    """Is `presented` the internal key? (compared in constant time)"""
    if not presented:
        return False
    return hmac.compare_digest(presented.encode(), internal_key(svc).encode())


def relay_url(svc: Services, conductors: ConductorMap, row: dict[str, Any]) -> str:
    """The internal WebSocket, on the conductor that owns the session's node, to relay it to."""
    with svc.db.read() as conn:
        node = node_db.get_node(conn, row["node_uuid"])
    owner = conductors.owner(node)
    group = node.get("conductor_group") or ""
    if owner is None:
        raise Conflict(
            f"no conductor of group {group!r} is running, so none can open this node's console"
        )
    base = get_conductor(svc, owner).get("console_url")
    if not base:
        raise Conflict(
            f"conductor {owner}, which owns this node, serves no consoles (it runs with the API "
            "in one process); ask the API of that process for the console"
        )
    return str(base).rstrip("/") + INTERNAL_PATH + row["uuid"]


def take(svc: Services, session: str, source: str | None) -> dict[str, Any]:
    """On the conductor: the session an API process claimed and relays here, served once, by
    the node's owner only (the ring may have moved since the API looked)."""
    with svc.db.write() as conn:
        row = console_db.take(conn, session, svc.hostname)
        if row is None:
            raise NotFound(f"console session {session} is not waiting for a conductor")
        node = node_db.get_node(conn, row["node_uuid"])
    row["source"] = source
    owner = ConductorMap(svc, ttl=0).owner(node)
    if owner != svc.hostname:
        why = (
            f"conductor {svc.hostname} does not own node {row['node_name'] or node['uuid']} "
            f"(conductor {owner} does); open a new console URL"
        )
        closed(svc, row, why, b"", 0)
        raise Conflict(why)
    row["task"] = make_task(svc, node, "console")
    return row


def abandoned(svc: Services, row: dict[str, Any], reason: str) -> None:
    """The API's side of a relayed session that its conductor did not record as closed (it
    could not be reached, or it died): closed now with `reason`, the audit event included."""
    with svc.db.read() as conn:
        if console_db.is_closed(conn, row["id"]):
            return
    closed(svc, row, reason, b"", 0)


def _event(row: dict[str, Any], detail: str) -> dict[str, Any]:
    host = row.get("host_uuid")
    return {
        "user_id": row["user_id"],
        "user_name": row["user_name"],
        "project_id": row["project_id"],
        "project_name": row["project_name"],
        "action": "host:console" if host else "node:console",
        "target_type": "host" if host else "node",
        "target_id": host or row["node_uuid"],
        "target_name": None if host else row["node_name"],
        "outcome": "success",
        "detail": detail,
        "source": row.get("source"),
        "method": "GET",
        "path": PATH.rstrip("/"),
    }


def opened(svc: Services, row: dict[str, Any], mode: str) -> None:
    with svc.db.write() as conn:
        console_db.set_mode(conn, row["id"], mode)
    audit.record_now(svc, **_event(row, f"console opened {mode} (session {row['uuid']})"))


def closed(svc: Services, row: dict[str, Any], reason: str, output: bytes, total: int) -> None:
    keep = svc.settings.console.keep_output
    with svc.db.write() as conn:
        console_db.close(
            conn,
            row["id"],
            reason=reason,
            output=output.decode("utf-8", "replace") if keep else None,
            output_bytes=total,
        )
    detail = f"console closed (session {row['uuid']}, {total} bytes shown): {reason}"
    audit.record_now(svc, **_event(row, detail))


@dataclass
class Viewer:
    row: dict[str, Any]
    mode: str
    limit: int
    queue: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(_QUEUE))
    output: bytearray = field(default_factory=bytearray)
    total: int = 0
    last: float = field(default_factory=time.monotonic)
    ended: str = ""

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        if self.limit:
            self.output += data
            if len(self.output) > self.limit:
                del self.output[: len(self.output) - self.limit]
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            self.end("this viewer fell too far behind the console's output")

    def end(self, why: str) -> None:
        if not self.ended:
            self.ended = why
            # make room for the end marker: the viewer is leaving anyway
            while self.queue.full():
                self.queue.get_nowait()
            self.queue.put_nowait(None)


class NodeConsole:
    """One node's SOL session in this process and the viewers attached to it."""

    def __init__(self, node_uuid: str) -> None:
        self.node_uuid = node_uuid
        self.stream: SolStream | None = None
        self.writer: Viewer | None = None
        self.viewers: list[Viewer] = []
        self.lock = asyncio.Lock()

    def _data(self, data: bytes) -> None:
        for v in list(self.viewers):
            v.feed(data)

    def _closed(self, why: str) -> None:
        for v in list(self.viewers):
            v.end(why)
        self.stream = None

    async def join(self, row: dict[str, Any], limit: int) -> Viewer:
        async with self.lock:
            if self.stream is None:
                stream = SolStream(row["task"], self._data, self._closed)
                await stream.open()
                self.stream = stream
            mode = READ_WRITE if self.writer is None else READ_ONLY
            viewer = Viewer(row, mode, limit)
            if mode == READ_WRITE:
                self.writer = viewer
            self.viewers.append(viewer)
            return viewer

    def _detach(self, viewer: Viewer) -> SolStream | None:
        """Forget `viewer`; when it was the last, the node's SOL stream to end (if any)."""
        if viewer in self.viewers:
            self.viewers.remove(viewer)
        if self.writer is viewer:
            self.writer = None
        if self.viewers:
            return None
        stream, self.stream = self.stream, None
        return stream

    async def leave(self, viewer: Viewer) -> None:
        async with self.lock:
            stream = self._detach(viewer)
            if stream is not None:
                await stream.close("its last viewer left")

    def abandon(self, viewer: Viewer) -> None:
        """`leave` without waiting (the server stops): ipmitool is killed if none remain."""
        stream = self._detach(viewer)
        if stream is not None:
            stream.kill()

    def type(self, viewer: Viewer, data: bytes) -> None:
        if viewer is self.writer and self.stream is not None:
            self.stream.write(data)


Send = Callable[[bytes], Awaitable[None]]
Receive = Callable[[], Awaitable[bytes | None]]  # None: the viewer left


class Consoles:
    """The console sessions of this process (one per app: `app.state.consoles`).

    A node's `NodeConsole` stays once made (one small object per node ever watched): viewers
    join and leave it under its lock, so a viewer arriving while the last one leaves waits for
    the old SOL session to end and then opens a new one on the same object."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self.nodes: dict[str, NodeConsole] = {}

    def end_all(self, why: str) -> None:
        """End every session of this process with `why` (each records itself as it ends)."""
        for node in self.nodes.values():
            for viewer in list(node.viewers):
                viewer.end(why)

    async def run(
        self,
        row: dict[str, Any],
        send: Send,
        receive: Receive,
        tell: Callable[[dict[str, Any]], Awaitable[None]],
        call: Callable[..., Awaitable[Any]],
    ) -> str:
        """Bridge one claimed session until it ends; returns why it ended.

        `send` carries console bytes to the viewer, `receive` what it typed (None when it
        left), `tell` a control message (JSON), `call` runs a blocking service function."""
        settings = self.svc.settings.console
        node = self.nodes.get(row["node_uuid"])
        if node is None:
            node = self.nodes[row["node_uuid"]] = NodeConsole(row["node_uuid"])
        limit = settings.output_limit if settings.keep_output else 0
        try:
            viewer = await node.join(row, limit)
        except IronworksError as e:
            await call(closed, self.svc, row, str(e), b"", 0)
            raise
        await call(opened, self.svc, row, viewer.mode)
        name = row["node_name"] or row["node_uuid"]
        if viewer.mode == READ_WRITE:
            message = f"connected to the serial console of {name}; you can type"
        else:
            who = node.writer.row["user_name"] if node.writer else "someone"
            message = (
                f"connected read-only to the serial console of {name}: {who} is typing on it "
                "and one person types at a time; you see everything it shows"
            )
        await tell({"type": "info", "mode": viewer.mode, "message": message})
        started = time.monotonic()

        async def inbound() -> str:
            while True:
                data = await receive()
                if data is None:
                    return "the viewer left"
                viewer.last = time.monotonic()
                node.type(viewer, data)

        async def outbound() -> str:
            while True:
                data = await viewer.queue.get()
                if data is None:
                    return viewer.ended
                await send(data)
                viewer.last = time.monotonic()

        async def watch() -> str:
            while True:
                now = time.monotonic()
                if now >= started + settings.max_session:
                    return (
                        f"the session reached the longest a console session may last "
                        f"({settings.max_session:g} s)"
                    )
                if now >= viewer.last + settings.idle_timeout:
                    return f"nothing was typed or shown for {settings.idle_timeout:g} s"
                wake = min(started + settings.max_session, viewer.last + settings.idle_timeout)
                await asyncio.sleep(max(0.05, wake - now))

        tasks = [asyncio.ensure_future(f()) for f in (inbound, outbound, watch)]
        reason = "the server is stopping"  # unless the session ends first (else: cancelled)
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            reason = next(iter(done)).result()
        except Exception as e:  # a broken WebSocket
            reason = f"the connection to the viewer broke ({type(e).__name__})"
        finally:
            for t in tasks:
                t.cancel()
            try:
                await asyncio.gather(*tasks, return_exceptions=True)
                await node.leave(viewer)
                await call(closed, self.svc, row, reason, bytes(viewer.output), viewer.total)
            except asyncio.CancelledError:
                # The server stops and cancels again what it waited for: nothing may be awaited
                # any more. ipmitool is stopped at once (the next session deactivates the SOL
                # payload it leaves active) and the session is recorded, blocking, once.
                node.abandon(viewer)
                closed(self.svc, row, reason, bytes(viewer.output), viewer.total)
                raise
        return reason
