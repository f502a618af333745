"""Request size and shape limits, enforced before a body is parsed by a route or its sender
authenticated (#15).

Shape: no request may carry a NUL character (PostgreSQL stores none: it was a 500, even in the
anonymous log-in) in its path, query or JSON body, nor JSON nested deeper than `MAX_DEPTH`, nor
an integer outside a 64-bit column's range. The answer is a 400 naming the field. Narrower
bounds (a quota fits a 32-bit column) belong to each route's typed input.

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

import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.exceptions import HTTPException
from starlette.requests import Request

from ironworks.api import errors

MAX_DEPTH = 32  # JSON nesting; Ironic's deepest documents (raid configs, steps) use under 8
MAX_INT = 2**63 - 1  # the widest integer column (BIGINT)

CONFIGDRIVE_BODY = 96 * 1024 * 1024  # a 64 MiB config drive, base64, inside JSON
_OWN_LIMITS: tuple[tuple[re.Pattern[str], int | None], ...] = (
    (re.compile(r"^/api/v1/images/[^/]+/file$"), None),
    (re.compile(r"^/api/v1/nodes/import$"), None),
    (re.compile(r"^/v1/nodes/[^/]+/states/provision$"), CONFIGDRIVE_BODY),
)
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
# What a refusal needs in the text itself: a NUL inside a JSON string is written `\u0000` (a raw
# NUL byte is not JSON: the route refuses the body), an integer beyond 64 bits has 19 digits or
# more, and nesting deeper than MAX_DEPTH takes more than MAX_DEPTH opening brackets. A body with
# none of these (nearly all of them) cannot be refused, so it is not parsed here but only once, by
# its route. (Byte operations: a regular expression for the digits costs 5x more.)
_NUL_ESCAPE = b"\\u0000"
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19


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
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope["path"]:
            await self._refuse(scope, receive, send, _nul_in_url(scope))
            return
        if scope["method"] in _BODILESS:
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"], self.default)
        if limit is None:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            response = errors.render(
                Request(scope), 413, _sentence(limit), None, "payload-too-large"
            )
            await response(scope, receive, send)
            return
        content_type = headers.get(b"content-type", b"")
        if b"json" not in content_type:
            await self.app(scope, self._counted(receive, limit), send)
            return
        body, more = bytearray(), True
        counted = self._counted(receive, limit)
        try:
            while more:
                message = await counted()
                if message["type"] != "http.request":
                    break
                body += message.get("body", b"")
                more = message.get("more_body", False)
        except HTTPException as e:
            await self._refuse(scope, receive, send, str(e.detail), status=413)
            return
        problem = json_problem(bytes(body))
        if problem is not None:
            await self._refuse(scope, receive, send, problem[1], field=problem[0])
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _counted(self, receive: Any, limit: int) -> Any:
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

        return counted

    async def _refuse(
        self,
        scope: dict[str, Any],
        receive: Any,
        send: Any,
        sentence: str,
        *,
        field: str | None = None,
        status: int = 400,
    ) -> None:
        code = "payload-too-large" if status == 413 else "invalid-input"
        response = errors.render(Request(scope), status, sentence, field, code)
        await response(scope, receive, send)


def _nul_in_url(scope: dict[str, Any]) -> str:
    for part in scope.get("query_string", b"").split(b"&"):
        name, _, value = part.partition(b"=")
        if b"\x00" in unquote_to_bytes(value) or b"\x00" in unquote_to_bytes(name):
            return f"the query parameter {name.decode('latin-1')!r} holds a NUL character"
    return "the request's path holds a NUL character"


def json_problem(body: bytes) -> tuple[str, str] | None:
    """(field, sentence) of the first thing in a JSON body we refuse, or None. A body that is
    not JSON at all is left to the route, which says so in its own words."""
    if not body.strip() or _plainly_fine(body):
        return None
    try:  # the standard library, as the routes parse it: integers stay exact
        doc = json.loads(body)
    except RecursionError:
        return "body", f"the JSON body is nested more than {MAX_DEPTH} levels deep"
    except ValueError:
        return None
    return _walk(doc, "", 0)


def _plainly_fine(body: bytes) -> bool:
    """True when the raw text rules out every refusal of `_walk` (see `_NUL_ESCAPE`)."""
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH or _NUL_ESCAPE in body:
        return False
    return _LONG_NUMBER not in body.translate(_DIGITS_AS_ZERO)


def _walk(value: Any, where: str, depth: int) -> tuple[str, str] | None:
    """Depth first, at most MAX_DEPTH deep: NUL in strings and keys, integers out of range."""
    field = where or "body"
    if depth > MAX_DEPTH:
        return field, f"the JSON body is nested more than {MAX_DEPTH} levels deep (at {field})"
    if isinstance(value, str):
        return (field, f"{field} holds a NUL character") if "\x00" in value else None
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return None
    if isinstance(value, int):
        if -MAX_INT - 1 <= value <= MAX_INT:
            return None
        return field, f"{field} is {value}, beyond the largest number stored ({MAX_INT})"
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else str(key)
            if "\x00" in key:
                return field, f"a key in {field} holds a NUL character"
            if found := _walk(item, inner, depth + 1):
                return found
        return None
    if isinstance(value, list):
        for i, item in enumerate(value):
            if found := _walk(item, f"{field}[{i}]", depth + 1):
                return found
    return None
