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

import json
import logging
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
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


async def console_socket(websocket: WebSocket) -> None:
    svc: Services = websocket.app.state.services
    hub: consoles.Consoles = websocket.app.state.consoles
    token = websocket.path_params["token"]
    source = websocket.client.host if websocket.client else None

    async def call(fn: Any, *args: Any) -> Any:
        if svc.db.inline:
            return fn(*args)
        return await run_in_threadpool(fn, *args)

    async def tell(message: dict[str, Any]) -> None:
        await websocket.send_text(json.dumps(message))

    await websocket.accept()
    try:
        row = await call(consoles.claim, svc, token, source)
    except IronworksError as e:
        await tell({"type": "error", "message": str(e)})
        await websocket.close(code=REFUSED, reason=str(e)[:120])
        return

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

    try:
        reason = await hub.run(row, send, receive, tell, call)
    except IronworksError as e:
        await tell({"type": "error", "message": str(e)})
        await websocket.close(code=FAILED, reason=str(e)[:120])
        return
    try:
        await tell({"type": "closed", "reason": reason})
        await websocket.close(code=1000, reason=reason[:120])
    except (RuntimeError, WebSocketDisconnect, OSError):
        pass  # the viewer is gone already


def install(app: FastAPI) -> None:
    """The console sessions of this process, and the WebSocket route."""
    app.state.consoles = consoles.Consoles(app.state.services)
    app.router.routes.append(WebSocketRoute(consoles.PATH + "{token}", console_socket))
    app.include_router(router)
