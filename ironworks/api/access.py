"""Who may call what, and the audit trail of every change: one plain ASGI layer for every route.

`check_access` runs first for every route (an app-wide dependency, after routing); the route's
operation (`operation_of`) is looked up in the permission table (`domain/policy.py`). Public routes (version discovery, the OpenAPI
document, log-in) pass; every other one needs a token (`Authorization: Bearer T` or, as
OpenStack clients send it, `X-Auth-Token: T`): none or a bad one is a 401, a role the table
denies a 403 naming the operation and who may do it. A route without an operation is for
cloud admins only (fail closed). Under `auth.noauth` every call acts as the cloud admin.

Every mutating request (POST, PUT, PATCH, DELETE), refused ones included, leaves an audit
event. A request that changes rows writes it in the same transaction as its change
(`services/audit.AuditHook`); `AuditMiddleware` then corrects its outcome if
the answer was not the expected one, or writes the event itself for a request that changed
nothing (refused, invalid, failed): who, the operation, the target (from the path), the outcome and status, the
request id and the client's address.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from ironworks.common.errors import Forbidden, Unauthenticated
from ironworks.common.logging import request_id_var
from ironworks.domain import policy
from ironworks.domain.policy import Cell
from ironworks.services import audit, auth
from ironworks.services.context import Services

log = logging.getLogger(__name__)

ADMIN_ONLY = "admin-only"  # a route the table does not name: cloud admins only
SELF = "self"  # the caller's own session: any valid token
_PUBLIC = frozenset({("GET", "/"), ("GET", "/v1"), ("GET", "/v1/"), ("GET", "/openapi.json"),
                     ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"),
                     ("POST", "/api/v1/auth/tokens"),
                     # the agent's image downloads: it has no token (api/native/images.py)
                     ("GET", "/boot/images/{key}"), ("HEAD", "/boot/images/{key}")})  # fmt: skip
# What nodes on the provisioning network reach (api/boot.py): the agent proves itself with its
# own one-time token; scripts and ramdisks hold no secret.
_BOOT_PREFIXES = ("/boot/", "/api/v1/agent/")
_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_VERB = {"POST": "create", "PATCH": "update", "PUT": "update", "DELETE": "delete"}
_RESOURCES = {"departments": "department", "projects": "project", "users": "user",
              "audit-events": "audit", "flavors": "flavor", "hosts": "host",
              "license": "license", "images": "image"}  # fmt: skip
_HOST_ACTIONS = {"start": "host:power", "stop": "host:power", "reboot": "host:power",
                 "soft-reboot": "host:power", "rebuild": "host:rebuild"}  # fmt: skip


@functools.lru_cache(maxsize=1024)
def operation_of(method: str, template: str) -> str | None:
    """The policy operation of a route (None: public)."""
    if (method, template) in _PUBLIC or template.startswith(_BOOT_PREFIXES):
        return None
    if template.startswith("/api/v1/auth/"):
        return SELF
    parts = template.split("/")
    if template.startswith("/api/v1/") and len(parts) > 3 and parts[3] in _RESOURCES:
        resource = _RESOURCES[parts[3]]
        if resource == "host" and len(parts) == 6:  # /hosts/{ident}/<action>
            return _HOST_ACTIONS.get(parts[5], ADMIN_ONLY)
        if resource == "host" and template.endswith("/export"):
            return "host:export"
        if resource == "image" and method == "GET":
            return "image:read"  # list, show, download; upload, import, share are image:update
        if resource == "flavor" and (method == "GET" and len(parts) < 6):
            return "flavor:choose"  # the flavors a project may use; management is write access
        if len(parts) > 5:  # /departments/{ident}/admins/{user}, /projects/{ident}/members/..
            return "membership:update" if parts[5] == "members" else f"{resource}:update"
        if resource.startswith("audit"):
            return "audit:export" if template.endswith("/export") else "audit:read"
        return f"{resource}:{'read' if method == 'GET' else _VERB[method]}"
    if template == "/api/v1/nodes/import":
        return "node:import"
    if template == "/api/v1/nodes/export":
        return "node:export"
    if template.startswith("/v1/"):
        if method == "GET":
            return "node:read"
        for kind in ("portgroups", "ports"):
            if template.startswith(f"/v1/{kind}"):
                return f"{kind[:-1]}:{_VERB[method]}"
        if template == "/v1/nodes":
            return "node:create"
        if template == "/v1/nodes/{ident}":
            return "node:update" if method == "PATCH" else "node:delete"
        if template.endswith("/states/power"):
            return "node:power"
        if template.endswith("/maintenance"):
            return "node:maintenance"
        return "node:update"  # provision verbs, boot device, NMI, RAID, console, VIFs, chassis
    return ADMIN_ONLY


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
        "action": operation, "target_type": kind, "target_id": ident,
        "request_id": request_id_var.get(), "source": (scope.get("client") or (None,))[0],
        "method": scope["method"], "path": scope["path"],
    }  # fmt: skip
    caller = state.get("caller")
    if caller is not None and caller.audit:
        event.update(caller.audit)  # what the services resolved: the uuid, the project
    return event


async def check_access(request: Request) -> None:
    """Every route's gate (an app-wide dependency, so the matched route is known): the caller
    from their token, and the operation of the route against the permission table."""
    scope = request.scope
    route = scope.get("route")
    template = getattr(route, "path", None)
    method = scope["method"]
    operation = operation_of(method, template) if template else ADMIN_ONLY
    state = scope.setdefault("state", {})
    state["operation"] = operation
    state["path_params"] = dict(request.path_params)
    if operation is None:
        return
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
    return (f"user {principal.name} ({roles}) may not {rule.text} ({rule.area}, operation "
            f"{operation}); allowed for: {', '.join(who)}")  # fmt: skip


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
        outcome = {
            "outcome": "success" if code < 400 else "denied" if code in (401, 403) else "failure",
            "status_code": code, "detail": _message(detail[0]) if detail else None,
        }  # fmt: skip
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
