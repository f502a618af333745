"""`/v1/deploy_templates` (Ironic's API 1.55) and `/v1/runbooks` (1.92): named lists of steps,
processed by services/step_lists.py. Both have the same routes; `_routes` declares them once
per resource, each with its permission operation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import JSON, Ctx, CtxDep, offload, parse_limit
from ironworks.api.v1 import render
from ironworks.common.errors import InvalidInput, MethodNotAllowed, NotFound
from ironworks.domain import versions as v
from ironworks.services import step_lists as svc

router = APIRouter(tags=["deploy templates", "runbooks"])
JsonBody = Annotated[Any, Body()]

FIELDS: dict[str, tuple[str, ...]] = {
    "deploy_templates": ("uuid", "name", "steps", "extra", "created_at", "updated_at"),
    "runbooks": (
        "uuid",
        "name",
        "description",
        "steps",
        "disable_ramdisk",
        "owner",
        "public",
        "extra",
        "created_at",
        "updated_at",
    ),
}
SHORT = ("uuid", "name")
LIST_PARAMS = frozenset({"marker", "limit", "sort_key", "sort_dir", "fields", "detail"})
OPERATION = {"deploy_templates": "deploy_template", "runbooks": "runbook"}


def _available(ctx: Ctx, kind: str, *, read: bool) -> None:
    """Before their version the lists do not exist: 404 for reads, 405 for changes (as Ironic)."""
    if ctx.version < v.ENDPOINT_VERSIONS[kind]:
        msg = f"The API version does not allow {kind.replace('_', ' ')}"
        raise NotFound(msg) if read else MethodNotAllowed(msg)


def _render(
    ctx: Ctx, kind: str, row: dict[str, Any], fields: tuple[str, ...] | None = None
) -> dict[str, Any]:
    out = {f: render.ts(row[f]) if f.endswith("_at") else row[f] for f in fields or FIELDS[kind]}
    out["links"] = [
        {"href": f"{ctx.base}/v1/{kind}/{row['uuid']}", "rel": "self"},
        {"href": f"{ctx.base}/{kind}/{row['uuid']}", "rel": "bookmark"},
    ]
    return out


def _fields(ctx: Ctx, kind: str, raw: str | None) -> tuple[str, ...] | None:
    return render.parse_fields(raw, (*FIELDS[kind], "links"), {}, ctx.version)


def _routes(kind: svc.Kind, noun: str) -> None:
    op = OPERATION[kind]
    too_old = {
        405: {
            "description": f"{noun}s need API version {v.fmt(v.ENDPOINT_VERSIONS[kind])} or later."
        }
    }

    @router.get(f"/v1/{kind}", summary=f"List {noun.lower()}s", dependencies=[Allow(f"{op}:read")])
    @offload
    def list_rows(ctx: CtxDep) -> JSON:
        _available(ctx, kind, read=True)
        q = ctx.query(set(LIST_PARAMS))
        detail = q.get("detail", "false").lower() in ("1", "true", "yes", "on")
        fields = _fields(ctx, kind, q.get("fields"))
        if detail and fields:
            raise InvalidInput(
                "Can not specify ?detail=True and fields in the same request.", field="detail"
            )
        limit = parse_limit(q.get("limit"), ctx.svc.settings.api.max_limit)
        rows = svc.list_rows(
            ctx.svc,
            kind,
            sort_key=q.get("sort_key", "id"),
            sort_dir=q.get("sort_dir", "asc"),
            marker=q.get("marker"),
            limit=limit,
        )
        chosen = fields or (None if detail else SHORT)
        body: dict[str, Any] = {kind: [_render(ctx, kind, r, chosen) for r in rows]}
        params = {k: q[k] for k in LIST_PARAMS - {"marker", "limit"} if k in q}
        nxt = ctx.next_link(kind, rows, limit, params)
        if nxt:
            body["next"] = nxt
        return JSON(body)

    @router.post(
        f"/v1/{kind}",
        status_code=201,
        summary=f"Create a {noun.lower()}",
        responses=too_old,
        dependencies=[Allow(f"{op}:update")],
    )
    @offload
    def create(ctx: CtxDep, body: JsonBody) -> JSON:
        _available(ctx, kind, read=False)
        row = svc.create(ctx.svc, kind, body, ctx.caller)
        return JSON(
            _render(ctx, kind, row),
            status_code=201,
            headers={"Location": f"{ctx.base}/v1/{kind}/{row['uuid']}"},
        )

    @router.get(
        f"/v1/{kind}/{{ident}}",
        summary=f"Show a {noun.lower()}",
        dependencies=[Allow(f"{op}:read")],
    )
    @offload
    def show(ctx: CtxDep, ident: str) -> JSON:
        _available(ctx, kind, read=True)
        fields = _fields(ctx, kind, ctx.query({"fields"}).get("fields"))
        return JSON(_render(ctx, kind, svc.get(ctx.svc, kind, ident), fields))

    @router.patch(
        f"/v1/{kind}/{{ident}}",
        summary=f"Change a {noun.lower()} (JSON patch)",
        responses=too_old,
        dependencies=[Allow(f"{op}:update")],
    )
    @offload
    def patch(ctx: CtxDep, ident: str, body: JsonBody) -> JSON:
        _available(ctx, kind, read=False)
        return JSON(_render(ctx, kind, svc.patch(ctx.svc, kind, ident, body, ctx.caller)))

    @router.delete(
        f"/v1/{kind}/{{ident}}",
        status_code=204,
        summary=f"Delete a {noun.lower()}",
        responses=too_old,
        dependencies=[Allow(f"{op}:update")],
    )
    @offload
    def delete(ctx: CtxDep, ident: str) -> Response:
        _available(ctx, kind, read=False)
        svc.delete(ctx.svc, kind, ident, ctx.caller)
        return Response(status_code=204)


_routes("deploy_templates", "Deploy template")
_routes("runbooks", "Runbook")
