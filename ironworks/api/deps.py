"""Request-scoped dependencies shared by the routers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

import orjson
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from ironworks.common.errors import InvalidInput
from ironworks.common.logging import request_id_var
from ironworks.domain import versions as v
from ironworks.services.context import Caller, Services

T = TypeVar("T")


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NAIVE_UTC)


@dataclass
class Ctx:
    svc: Services
    caller: Caller
    base: str
    request: Request

    async def run(self, fn: Callable[..., T], *args: Any, hardware: bool = False, **kw: Any) -> T:
        """Call a service function: inline for embedded SQLite, in a worker thread otherwise.

        Calls that talk to hardware (`hardware=True`) always go to a thread: a BMC may take
        seconds to answer and the event loop must keep serving everyone else meanwhile.
        """
        if self.svc.db.inline and not hardware:
            return fn(*args, **kw)
        return await run_in_threadpool(fn, *args, **kw)

    @property
    def version(self) -> v.Version:
        return self.caller.version

    def query(self, allowed: set[str]) -> dict[str, str]:
        """The query string, refusing keys the endpoint does not know (Ironic does too)."""
        params = dict(self.request.query_params)
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise InvalidInput(f"Unexpected arguments: {', '.join(unknown)}", field=unknown[0])
        return params

    def next_link(
        self, path: str, items: list[dict[str, Any]], limit: int, params: dict[str, Any]
    ) -> str | None:
        if len(items) < limit or not items:
            return None
        q = {k: val for k, val in params.items() if val is not None}
        q["limit"] = limit
        q["marker"] = items[-1]["uuid"]
        return f"{self.base}/v1/{path}?{urlencode(q)}"


async def get_ctx(request: Request) -> Ctx:
    """Built on the event loop (a sync dependency would cost a thread hand-off per request)."""
    svc: Services = request.app.state.services
    base = (
        svc.settings.api.public_url
        or f"{request.url.scheme}://{request.headers.get('host', 'localhost')}"
    )
    state = request.scope.get("state", {})
    version = state.get("version", v.MAX_VERSION)
    principal = state.get("principal")
    caller = Caller(
        request_id=request_id_var.get(),
        version=version,
        principal=principal,
        user=principal.name if principal is not None else None,
        source=(request.scope.get("client") or (None,))[0],
    )
    request.scope.setdefault("state", {})["caller"] = caller  # the audit event reads what it did
    return Ctx(svc=svc, caller=caller, base=base.rstrip("/"), request=request)


CtxDep = Annotated[Ctx, Depends(get_ctx)]


def offload(fn: Callable[..., T]) -> Callable[..., Any]:
    """Route handler body written synchronously, run via `Ctx.run` (inline or in a thread).

    FastAPI reads the parameters from the wrapped function's signature and calls the async
    wrapper with keyword arguments.
    """

    @functools.wraps(fn)
    async def handler(**kw: Any) -> T:
        return await kw["ctx"].run(fn, **kw)

    return handler


def offload_hardware(fn: Callable[..., T]) -> Callable[..., Any]:
    """Like `offload`, for handlers that call a driver: always in a worker thread."""

    @functools.wraps(fn)
    async def handler(**kw: Any) -> T:
        return await kw["ctx"].run(fn, hardware=True, **kw)

    return handler


def parse_bool(raw: str | None, field: str) -> bool | None:
    if raw is None:
        return None
    low = raw.strip().lower()
    if low in ("true", "1", "yes", "on"):
        return True
    if low in ("false", "0", "no", "off"):
        return False
    raise InvalidInput(f"{field} must be true or false, not {raw!r}", field=field)


def parse_limit(raw: str | None, max_limit: int) -> int:
    if raw is None:
        return max_limit
    try:
        n = int(raw)
    except ValueError:
        raise InvalidInput(
            f"limit must be a positive integer, not {raw!r}", field="limit"
        ) from None
    if n <= 0:
        raise InvalidInput("limit must be a positive integer", field="limit")
    return min(n, max_limit)
