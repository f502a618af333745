"""Who may call what, and the audit trail of every change.

Every route declares its operation next to it, as a row of the permission table
(`domain/policy.py`): `@router.put(..., dependencies=[Allow("node:power", verb="target")])`,
or `Public()` (version discovery, the OpenAPI document, log-in, what the boot network reaches)
or `AnyUser()` (the caller's own session). `check_access` runs first for every route (an
app-wide dependency, after routing, so the matched route is known) and reads that declaration.
Every non-public route needs a token (`Authorization: Bearer T` or, as OpenStack clients send
it, `X-Auth-Token: T`): none or a bad one is a 401, a role the table denies a 403 naming the
operation and who may do it. A route that declares nothing is for cloud admins only (fail
closed; a test checks that every route declares one). Under `auth.noauth` every call acts as
the cloud admin.

Every mutating request (POST, PUT, PATCH, DELETE), refused ones included, leaves an audit
event: who, the operation, the target (the kind from the operation; the resource from the
path, made its uuid by the services as they resolve it), the verb when the route declares one
(`detail`: e.g. "deploy", "power off"), the outcome and status, the request id and the
client's address. A request that changes rows writes it in the same transaction as its change
(`services/audit.AuditHook`); `AuditMiddleware` then corrects its outcome if the answer was not
the expected one, or writes the event itself for a request that changed nothing (refused,
invalid, failed).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from ironworks.common.errors import Forbidden, Unauthenticated
from ironworks.common.logging import request_id_var
from ironworks.domain import policy
from ironworks.domain.policy import Cell
from ironworks.services import audit, auth
from ironworks.services.context import Services

log = logging.getLogger(__name__)

PUBLIC = "public"  # no token: version discovery, the OpenAPI document, log-in, the boot routes
SELF = "self"  # the caller's own session: any valid token
ADMIN_ONLY = "admin-only"  # a route that declares no operation: cloud admins only
_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Operation:
    """What a route does, as the permission table names it, declared on the route itself
    (`dependencies=[Allow("host:power")]`); `check_access` reads it from the matched route.

    `verb` names the body field that says what exactly is asked (the `target` of a provision or
    power request): the audit event carries its value."""

    name: str
    verb: str | None = None

    async def __call__(self) -> None:
        """Nothing per request: the declaration is data, read by `check_access`."""


def Allow(operation: str, *, verb: str | None = None) -> Any:  # spelled like fastapi.Depends
    """The route's permission: `operation` is a row of `domain/policy.py` (an unknown one fails
    at import, not at the first request)."""
    policy.rule(operation)
    return Depends(Operation(operation, verb))


def Public() -> Any:
    """A route anyone may call, without a token."""
    return Depends(Operation(PUBLIC))


def AnyUser() -> Any:
    """A route about the caller's own session: any valid token."""
    return Depends(Operation(SELF))


def declared(route: Any) -> str | None:
    """The operation `route` declares (None: it declares none)."""
    found = _declaration(route)
    return None if found is None else found.name


def served_routes(app: Any) -> Iterator[tuple[str, str, Any]]:
    """(method, path template, route) of every route `app` serves, included routers' too."""

    def walk(routes: Any) -> Iterator[Any]:
        for route in routes:
            inner = getattr(route, "original_router", None)  # FastAPI's included router
            yield from walk(inner.routes) if inner is not None else (route,)

    for route in walk(app.routes):
        for method in sorted(getattr(route, "methods", None) or ()):
            yield method, route.path, route


def _declaration(route: Any) -> Operation | None:
    for dep in getattr(route, "dependencies", ()):
        if isinstance(dep.dependency, Operation):
            return dep.dependency
    return None


def _target(operation: str, params: dict[str, Any]) -> tuple[str | None, str | None]:
    kind = operation.split(":", 1)[0] if ":" in operation else None
    ident = params.get("ident") or params.get("node") or params.get("name")
    return kind, (str(ident) if ident is not None else None)


def _token(scope: dict[str, Any]) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
        elif name == b"x-auth-token" and value.strip():
            return value.decode("latin-1").strip()
    return None


def _event(scope: dict[str, Any], state: dict[str, Any], noauth: bool) -> dict[str, Any]:
    """The audit event of this request as far as it is known (who, what, on what, from where)."""
    operation = state["operation"]
    principal = state.get("principal")
    kind, ident = _target(operation, state.get("path_params") or {})
    event = {
        "user_id": principal.user_id if principal else None,
        "user_name": principal.name if principal else ("(noauth)" if noauth else None),
        "action": operation,
        "target_type": kind,
        "target_id": ident,
        "request_id": request_id_var.get(),
        "source": (scope.get("client") or (None,))[0],
        "method": scope["method"],
        "path": scope["path"],
        "detail": state.get("verb"),
    }
    caller = state.get("caller")
    if caller is not None and caller.audit:
        event.update(caller.audit)  # what the services resolved: the uuid, the project
    return event


async def check_access(request: Request) -> None:
    """Every route's gate (an app-wide dependency, so the matched route is known): the caller
    from their token, and the operation the route declares against the permission table."""
    scope = request.scope
    route = scope.get("route")
    method = scope["method"]
    found = _declaration(route)
    operation = ADMIN_ONLY if found is None else found.name
    state = scope.setdefault("state", {})
    state["operation"] = None if operation == PUBLIC else operation
    state["path_params"] = dict(request.path_params)
    if operation == PUBLIC:
        return
    if found is not None and found.verb is not None and method in _MUTATING:
        state["verb"] = await _verb(request, found.verb)
    svc: Services = request.app.state.services
    if method in _MUTATING and operation != SELF:
        noauth = svc.settings.auth.noauth
        state["audit_hook"] = audit.ride_along(
            lambda: _event(scope, state, noauth), getattr(route, "status_code", None) or 200
        )
    if svc.settings.auth.noauth:
        state["principal"] = None
        return
    token = _token(scope)
    if token is None:
        raise Unauthenticated(
            "this call needs a token: log in with POST /api/v1/auth/tokens and send it as "
            "'Authorization: Bearer <token>' or 'X-Auth-Token: <token>'"
        )
    if svc.db.inline:
        principal = auth.authenticate(svc, token)
    else:
        principal = await run_in_threadpool(auth.authenticate, svc, token)
    state["principal"] = principal
    cell = _decide(operation, principal)
    if cell is Cell.DENY:
        raise Forbidden(_denied(operation, principal))
    state["cell"] = cell


async def _verb(request: Request, field: str) -> str | None:
    """The verb in the request's JSON body (FastAPI has read and parsed it already)."""
    try:
        body = await request.json()
    except ValueError:
        return None
    value = body.get(field) if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def _decide(operation: str, principal: auth.Principal) -> Cell:
    if operation == SELF:
        return Cell.ALLOW
    if operation == ADMIN_ONLY:
        return Cell.ALLOW if principal.is_admin else Cell.DENY
    return policy.decide(operation, principal.roles)


def _denied(operation: str, principal: auth.Principal) -> str:
    roles = ", ".join(sorted(r.value for r in principal.roles)) or "no role"
    if operation == ADMIN_ONLY:
        return f"user {principal.name} ({roles}) may not do this: cloud admins only"
    rule = policy.rule(operation)
    who = [c for c in policy.COLUMNS if getattr(rule, c) is not Cell.DENY]
    return (
        f"user {principal.name} ({roles}) may not {rule.text} ({rule.area}, operation "
        f"{operation}); allowed for: {', '.join(who)}"
    )


class AuditMiddleware:
    """After each mutating request (POST, PUT, PATCH, DELETE), one audit event."""

    def __init__(self, app: Any, svc: Services) -> None:
        self.app = app
        self.svc = svc

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in _MUTATING:
            await self.app(scope, receive, send)
            return
        status = [500]
        detail: list[str] = []

        async def watch(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body" and status[0] >= 400 and not detail:
                detail.append(message.get("body", b"")[:2000].decode("utf-8", "replace"))
            await send(message)

        await self.app(scope, receive, watch)
        state = scope.get("state") or {}
        operation = state.get("operation")
        if operation is None or operation == SELF:  # public (log-in audits itself) or unknown
            return
        code = status[0]
        message = _message(detail[0]) if detail else None
        verb = state.get("verb")
        outcome = {
            "outcome": "success" if code < 400 else "denied" if code in (401, 403) else "failure",
            "status_code": code,
            "detail": f"{verb}: {message}" if verb and message else verb or message,
        }
        hook: audit.AuditHook | None = state.get("audit_hook")
        try:
            if hook is not None and hook.done:  # written with the change: correct it if needed
                if code != hook.expected:
                    await self._db(audit.settle_now, self.svc, hook.uuid, outcome)
                return
            event = {**_event(scope, state, self.svc.settings.auth.noauth), **outcome}
            await self._db(audit.record_now, self.svc, **event)
        except Exception:  # the change happened; losing its audit line must be loud, not fatal
            log.exception(
                "could not write the audit event of %s %s", scope["method"], scope["path"]
            )

    async def _db(self, fn: Any, *args: Any, **kw: Any) -> None:
        if self.svc.db.inline:
            fn(*args, **kw)
        else:
            await run_in_threadpool(fn, *args, **kw)


def _message(body: str) -> str:
    """The sentence of an error body (Ironic's or problem+json), else the body itself."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if isinstance(data, dict):
        if "error_message" in data:
            inner = data["error_message"]
            try:
                inner = json.loads(inner) if isinstance(inner, str) else inner
            except ValueError:
                return str(inner)
            return str(inner.get("faultstring", inner)) if isinstance(inner, dict) else str(inner)
        if "detail" in data:
            return str(data["detail"])
    return body
