"""Error bodies: Ironic's `error_message` on /v1 and at /, problem+json elsewhere."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ironworks.common.errors import IronworksError, NotAcceptable, TooManyRequests
from ironworks.common.logging import request_id_var

log = logging.getLogger(__name__)


def is_ironic_path(path: str) -> bool:
    return path == "/" or path == "/v1" or path.startswith("/v1/")


def ironic_error(status: int, message: str, *, version_error: bool = False) -> Response:
    if version_error:
        inner = {"code": status, "title": "Not Acceptable", "description": message}
    else:
        inner = {
            "faultcode": "Server" if status >= 500 else "Client",
            "faultstring": message,
            "debuginfo": None,
        }
    body = orjson.dumps({"error_message": orjson.dumps(inner).decode()})
    return Response(body, status_code=status, media_type="application/json")


def problem(
    status: int,
    title: str,
    detail: str,
    field: str | None,
    code: str,
    extra: dict[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"https://ironworks.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "request_id": request_id_var.get(),
    }
    if field:
        body["field"] = field
    if extra:
        body.update(extra)
    return Response(orjson.dumps(body), status_code=status, media_type="application/problem+json")


def render(
    request: Request,
    status: int,
    message: str,
    field: str | None,
    code: str,
    extra: dict[str, Any] | None = None,
) -> Response:
    if is_ironic_path(request.url.path):
        return ironic_error(
            status, message, version_error=code == NotAcceptable.code and "Version" in message
        )
    return problem(status, code.replace("-", " ").capitalize(), message, field, code, extra)


async def on_ironworks_error(request: Request, exc: IronworksError) -> Response:
    if exc.status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
    response = render(request, exc.status, exc.message, exc.field, exc.code, exc.details())
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
    err = exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "invalid"}
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
    where = ".".join(loc) or "body"
    if err.get("type") == "json_invalid":
        msg = "the request body is not valid JSON"
    elif err.get("type") == "missing" and not loc:
        msg = "the request needs a JSON body"
    else:
        msg = f"Invalid input for field/attribute {where}: {err.get('msg')}"
    return render(request, 400, msg, where, "invalid-input")


async def on_http_error(request: Request, exc: HTTPException) -> Response:
    msg = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404:
        msg = f"The resource could not be found: {request.url.path}"
    elif exc.status_code == 405:
        msg = f"Method {request.method} is not allowed on {request.url.path}"
    return render(request, exc.status_code, msg, None, "http-error")


async def on_database_error(request: Request, exc: Exception) -> Response:
    log.error("database error in %s %s: %s", request.method, request.url.path, exc)
    msg = (
        "the database is unavailable or refused the request; retry in a moment "
        f"(request id {request_id_var.get()})"
    )
    response = render(request, 503, msg, None, "database-unavailable")
    response.headers["Retry-After"] = "1"
    return response


async def on_data_error(request: Request, exc: Exception) -> Response:
    """A value the database refused to store (out of its column's range or form). Typed inputs
    should catch these first; this keeps the answer a 400 that says what to check."""
    name = type(exc).__name__
    log.warning("database refused a value in %s %s: %s", request.method, request.url.path, name)
    msg = (
        "a value in the request is out of the range or form the database stores (for example "
        "a number above 2147483647); check the numbers and texts you sent"
    )
    return render(request, 400, msg, None, "invalid-input")


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error in %s %s", request.method, request.url.path)
    msg = f"Internal error; the server log has the details under request id {request_id_var.get()}"
    return render(request, 500, msg, None, "internal-error")
