"""Request size limits, enforced before a body is parsed or its sender authenticated (#15).

Every request with a body may carry at most `api.max_body_bytes` (4 MiB unless set): a larger
declared Content-Length is answered 413 before the app sees the request; a body sent without
one (chunked) is counted as it arrives and cut at the limit. A few routes take more and have
limits of their own:
- `PUT /api/v1/images/{ident}/file` streams an image to disk (services/images.py bounds it);
- `POST /api/v1/nodes/import` reads a CSV/XLSX file (api/native/uploads.py: 20 MiB);
- `PUT /v1/nodes/{ident}/states/provision` may carry a config drive (Ironic allows 64 MiB,
  base64 in JSON): up to `CONFIGDRIVE_BODY`.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from ironworks.api import errors

CONFIGDRIVE_BODY = 96 * 1024 * 1024  # a 64 MiB config drive, base64, inside JSON
_OWN_LIMITS: tuple[tuple[re.Pattern[str], int | None], ...] = (
    (re.compile(r"^/api/v1/images/[^/]+/file$"), None),
    (re.compile(r"^/api/v1/nodes/import$"), None),
    (re.compile(r"^/v1/nodes/[^/]+/states/provision$"), CONFIGDRIVE_BODY),
)
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


def limit_for(path: str, default: int) -> int | None:
    """The most bytes a request to `path` may send (None: the route bounds its own body)."""
    for pattern, limit in _OWN_LIMITS:
        if pattern.match(path):
            return limit
    return default


def _sentence(limit: int) -> str:
    return (
        f"the request body is larger than {limit} bytes, the most this API takes here "
        "(setting api.max_body_bytes); send less"
    )


class BodyLimitMiddleware:
    """The outermost check of every request body (see the module docstring)."""

    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.default = max_body_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in _BODILESS:
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"], self.default)
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            response = errors.render(
                Request(scope), 413, _sentence(limit), None, "payload-too-large"
            )
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # an HTTPException passes FastAPI's body parsing and reaches the handlers
                    raise HTTPException(413, _sentence(limit))
            return message

        await self.app(scope, counted, send)
