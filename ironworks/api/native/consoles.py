"""The serial console: `POST /api/v1/hosts/{id}/console` gives a one-time URL, and the
WebSocket at that URL (`/api/v1/consoles/{token}`) carries the node's serial console.

The WebSocket is a plain Starlette route, outside the permission table's dependency: it has no
bearer token (browsers cannot send headers on a WebSocket); the one-time token in its path is
the authorization, checked by `services/consoles.claim`. The protocol: binary frames carry the
console's bytes both ways; text frames from the server are JSON control messages,
`{"type": "info", "mode": "read-write"|"read-only", "message": ...}` first, then
`{"type": "closed", "reason": ...}` (or `{"type": "error", "message": ...}` when the URL is
refused or the console could not be opened) before the server closes the socket. Text frames
from the viewer are typed as UTF-8.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ironworks.api.access import Allow
from ironworks.api.deps import CtxDep
from ironworks.common.errors import IronworksError
from ironworks.services import consoles
from ironworks.services.context import Services

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["hosts"])

# WebSocket close codes (4000-4999 are the application's): the URL was refused; the console
# could not be opened. A session that ran ends with 1000 and its reason.
REFUSED, FAILED = 4404, 4502


class ConsoleURL(BaseModel):
    url: str = Field(description="The WebSocket (ws:// or wss://) to open, once.")
    expires_at: datetime = Field(description="Opened after this, the URL is refused.")
    session: str = Field(description="The console session's id, as the audit log names it.")


@router.post(
    "/hosts/{ident}/console",
    status_code=201,
    summary="A one-time URL of the host's serial console (a WebSocket)",
    dependencies=[Allow("host:console")],
)
async def host_console(ctx: CtxDep, ident: str) -> ConsoleURL:
    got = await ctx.run(consoles.for_host, ctx.svc, ctx.caller, ident, ctx.base, hardware=True)
    return ConsoleURL(**got)


def _caller(svc: Services) -> Any:
    """`call(fn, *args)`: a blocking service function, off the event loop (unless inline)."""

    async def call(fn: Any, *args: Any) -> Any:
        if svc.db.inline:
            return fn(*args)
        return await run_in_threadpool(fn, *args)

    return call


async def _tell(websocket: WebSocket, message: dict[str, Any]) -> None:
    await websocket.send_text(json.dumps(message))


async def _refuse(websocket: WebSocket, code: int, message: str) -> None:
    await _tell(websocket, {"type": "error", "message": message})
    await websocket.close(code=code, reason=message[:120])


async def console_socket(websocket: WebSocket) -> None:
    """The viewer's WebSocket: the one-time token claims the session, which runs here or, with
    the API and conductors split, on the node's conductor (`_relay`)."""
    svc: Services = websocket.app.state.services
    token = websocket.path_params["token"]
    source = websocket.client.host if websocket.client else None
    call = _caller(svc)
    relay = bool(getattr(websocket.app.state, "console_relay", False))

    await websocket.accept()
    try:
        row = await call(consoles.claim, svc, token, source, relay)
    except IronworksError as e:
        await _refuse(websocket, REFUSED, str(e))
        return
    if relay:
        try:
            await _relay(websocket, svc, row, source, call)
        except Exception:  # a bug: the session still ends, recorded, and the viewer is told
            log.exception("console session %s: the relay failed", row["uuid"])
            why = "the console relay failed (the API's log says why)"
            await call(consoles.abandoned, svc, row, why)
            with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
                await _refuse(websocket, FAILED, why)
    else:
        await _bridge(websocket, websocket.app.state.consoles, row, call)


async def _bridge(
    websocket: WebSocket, hub: consoles.Consoles, row: dict[str, Any], call: Any
) -> None:
    """Run the claimed session in this process, on `websocket`, until it ends."""

    async def send(data: bytes) -> None:
        await websocket.send_bytes(data)

    async def receive() -> bytes | None:
        try:
            message = await websocket.receive()
        except WebSocketDisconnect:
            return None
        if message["type"] == "websocket.disconnect":
            return None
        if message.get("bytes") is not None:
            return bytes(message["bytes"])
        return str(message.get("text") or "").encode()

    async def tell(message: dict[str, Any]) -> None:
        await _tell(websocket, message)

    try:
        reason = await hub.run(row, send, receive, tell, call)
    except IronworksError as e:
        await _refuse(websocket, FAILED, str(e))
        return
    try:
        await tell({"type": "closed", "reason": reason})
        await websocket.close(code=1000, reason=reason[:120])
    except (RuntimeError, WebSocketDisconnect, OSError):
        pass  # the viewer is gone already


async def _relay(
    websocket: WebSocket, svc: Services, row: dict[str, Any], source: str | None, call: Any
) -> None:
    """Hand the claimed session to the conductor that owns the node and relay the frames both
    ways, unread, until either side ends. The conductor writes the session's row and audit
    events; when it cannot be reached or goes away, the session is ended here with the reason."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake

    try:
        url = await call(consoles.relay_url, svc, websocket.app.state.conductor_map, row)
    except IronworksError as e:
        await call(consoles.abandoned, svc, row, str(e))
        await _refuse(websocket, FAILED, str(e))
        return
    headers = {
        consoles.KEY_HEADER: consoles.internal_key(svc),
        consoles.SOURCE_HEADER: source or "",
    }
    try:
        upstream = await connect(url, additional_headers=headers, open_timeout=10, max_size=None)
    except (OSError, TimeoutError, InvalidHandshake) as e:
        log.warning("console session %s: cannot reach %s: %s", row["uuid"], url, e)
        why = (
            "the conductor that owns this node could not be reached "
            f"({type(e).__name__}); open a new console URL in a moment"
        )
        await call(consoles.abandoned, svc, row, why)
        await _refuse(websocket, FAILED, why)
        return
    ended: dict[str, Any] = {}  # the conductor's last word: a "closed" or "error" message

    async def down() -> None:  # conductor → viewer
        try:
            async for frame in upstream:
                if isinstance(frame, bytes):
                    await websocket.send_bytes(frame)
                    continue
                await websocket.send_text(frame)
                try:
                    message = json.loads(frame)
                except ValueError:
                    continue
                if message.get("type") in ("closed", "error"):
                    ended.update(message)
        except ConnectionClosed:
            pass

    async def up() -> bool:  # viewer → conductor; True: the viewer left
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return True
            try:
                if message.get("bytes") is not None:
                    await upstream.send(bytes(message["bytes"]))
                else:
                    await upstream.send(str(message.get("text") or ""))
            except ConnectionClosed:
                return False  # the conductor ended: `down` has its last word

    relaying, viewing = asyncio.ensure_future(down()), asyncio.ensure_future(up())
    viewer_left = False
    try:
        done, _ = await asyncio.wait([relaying, viewing], return_when=asyncio.FIRST_COMPLETED)
        if relaying in done and relaying.exception() is not None:
            viewer_left = True  # sending to the viewer failed: it is gone
        elif viewing in done:
            viewer_left = bool(viewing.result())
            if not viewer_left:
                await asyncio.wait([relaying], timeout=5)
    except Exception as e:  # a broken WebSocket on the viewer's side
        log.info("console session %s: relay ended: %s", row["uuid"], e)
        viewer_left = True
    finally:
        for t in (relaying, viewing):
            t.cancel()
        await asyncio.gather(relaying, viewing, return_exceptions=True)
        await upstream.close()  # the conductor sees the viewer leave (or is gone already)
    if viewer_left:
        return
    code, why = upstream.close_code, upstream.close_reason
    if ended:  # the conductor recorded the end (`abandoned` then does nothing)
        await call(consoles.abandoned, svc, row, str(ended.get("reason") or ended.get("message")))
    else:  # the conductor went away without closing the session: recorded, then told
        why = "the conductor serving this console stopped; open a new console URL"
        code = FAILED
        await call(consoles.abandoned, svc, row, why)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
            await _tell(websocket, {"type": "closed", "reason": why})
    with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
        await websocket.close(code=code or 1000, reason=(why or "")[:120])


async def internal_socket(websocket: WebSocket) -> None:
    """A conductor's WebSocket for the API: the session the API claimed, relayed here by the
    API process that holds the viewer's WebSocket (the shared key is the authorization)."""
    svc: Services = websocket.app.state.services
    peer = websocket.client.host if websocket.client else "?"
    if not consoles.key_matches(svc, websocket.headers.get(consoles.KEY_HEADER)):
        log.warning("internal console WebSocket from %s refused: wrong or no key", peer)
        await websocket.close(code=1008)  # before accepting: an HTTP 403
        return
    call = _caller(svc)
    source = websocket.headers.get(consoles.SOURCE_HEADER) or None
    await websocket.accept()
    task = asyncio.current_task()
    sessions: set[Any] = websocket.app.state.sessions
    sessions.add(task)
    try:
        try:
            row = await call(consoles.take, svc, websocket.path_params["session"], source)
        except IronworksError as e:
            await _refuse(websocket, REFUSED, str(e))
            return
        await _bridge(websocket, websocket.app.state.consoles, row, call)
    finally:
        sessions.discard(task)


def internal_app(svc: Services) -> Starlette:
    """The conductor's internal console server (`ironworks conductor`; cmd/ serves it)."""
    app = Starlette(routes=[WebSocketRoute(consoles.INTERNAL_PATH + "{session}", internal_socket)])
    app.state.services = svc
    app.state.consoles = consoles.Consoles(svc)
    app.state.sessions = set()
    return app


async def end_sessions(app: Starlette, why: str, timeout: float = 20.0) -> None:
    """End the internal server's sessions with `why` and wait for them to be recorded."""
    app.state.consoles.end_all(why)
    pending = [t for t in app.state.sessions if not t.done()]
    log.info("ending %d console session(s): %s", len(pending), why)
    if pending:
        await asyncio.wait(pending, timeout=timeout)


def install(app: FastAPI, relay: bool = False) -> None:
    """The console sessions of this process, and the WebSocket route. `relay`: the sessions
    run on the nodes' conductors (the API and conductors split), this process relays them."""
    app.state.consoles = consoles.Consoles(app.state.services)
    app.state.console_relay = relay
    app.router.routes.append(WebSocketRoute(consoles.PATH + "{token}", console_socket))
    app.include_router(router)
