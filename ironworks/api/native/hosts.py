"""`/api/v1/flavors` and `/api/v1/hosts` (services/flavors.py, services/hosts.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from ironworks.api.deps import JSON, CtxDep
from ironworks.services import flavors, hosts

router = APIRouter(prefix="/api/v1")
BodyDep = Annotated[dict[str, Any], Body()]


# --- flavors ------------------------------------------------------------------------------------


@router.get("/flavors", tags=["flavors"], summary="Flavors (all; for a project's users, those "
            "their projects may use)")  # fmt: skip
async def list_flavors(ctx: CtxDep) -> JSON:
    return JSON({"flavors": await ctx.run(flavors.list_flavors, ctx.svc, ctx.caller)})


@router.post("/flavors", status_code=201, tags=["flavors"], summary="Create a flavor")
async def create_flavor(ctx: CtxDep, body: BodyDep) -> JSON:
    return JSON(await ctx.run(flavors.create, ctx.svc, ctx.caller, body), status_code=201)


@router.get("/flavors/{ident}", tags=["flavors"], summary="Show a flavor")
async def show_flavor(ctx: CtxDep, ident: str) -> JSON:
    return JSON(await ctx.run(flavors.show, ctx.svc, ctx.caller, ident))


@router.patch("/flavors/{ident}", tags=["flavors"], summary="Edit a flavor")
async def update_flavor(ctx: CtxDep, ident: str, body: BodyDep) -> JSON:
    return JSON(await ctx.run(flavors.update, ctx.svc, ctx.caller, ident, body))


@router.delete("/flavors/{ident}", status_code=204, tags=["flavors"], summary="Delete a flavor")
async def delete_flavor(ctx: CtxDep, ident: str) -> Response:
    await ctx.run(flavors.delete, ctx.svc, ctx.caller, ident)
    return Response(status_code=204)


@router.put("/flavors/{ident}/access/{project}", tags=["flavors"],
            summary="Let a project use a non-public flavor")  # fmt: skip
async def grant_flavor(ctx: CtxDep, ident: str, project: str) -> JSON:
    return JSON(await ctx.run(flavors.set_access, ctx.svc, ctx.caller, ident, project, True))


@router.delete("/flavors/{ident}/access/{project}", tags=["flavors"],
               summary="Take a non-public flavor from a project")  # fmt: skip
async def revoke_flavor(ctx: CtxDep, ident: str, project: str) -> JSON:
    return JSON(await ctx.run(flavors.set_access, ctx.svc, ctx.caller, ident, project, False))


# --- hosts ---------------------------------------------------------------------------------------


@router.get("/hosts", tags=["hosts"], summary="Hosts (filters: project, status, flavor, "
            "availability_zone, name)")  # fmt: skip
async def list_hosts(ctx: CtxDep) -> JSON:
    filters = dict(ctx.request.query_params)
    return JSON({"hosts": await ctx.run(hosts.list_hosts, ctx.svc, ctx.caller, filters)})


@router.post("/hosts", status_code=202, tags=["hosts"],
             summary="Create hosts: `count` at once, all or none")  # fmt: skip
async def create_hosts(ctx: CtxDep, body: BodyDep) -> JSON:
    return JSON({"hosts": await ctx.run(hosts.create, ctx.svc, ctx.caller, body)}, status_code=202)


@router.get("/hosts/{ident}", tags=["hosts"], summary="A host: status, flavor, node, NICs, disks, "
            "audit history")  # fmt: skip
async def show_host(ctx: CtxDep, ident: str) -> JSON:
    return JSON(await ctx.run(hosts.show, ctx.svc, ctx.caller, ident))


@router.patch("/hosts/{ident}", tags=["hosts"], summary="Rename a host")
async def rename_host(ctx: CtxDep, ident: str, body: BodyDep) -> JSON:
    return JSON(await ctx.run(hosts.rename, ctx.svc, ctx.caller, ident, body))


@router.delete("/hosts/{ident}", status_code=202, tags=["hosts"],
               summary="Delete a host: its node is torn down and cleaned")  # fmt: skip
async def delete_host(ctx: CtxDep, ident: str) -> Response:
    await ctx.run(hosts.delete, ctx.svc, ctx.caller, ident)
    return Response(status_code=202)


def _power_route(action: str) -> None:
    @router.post(f"/hosts/{{ident}}/{action}", status_code=202, tags=["hosts"],
                 summary=f"{action.capitalize()} a host", name=f"host_{action}")  # fmt: skip
    async def act(ctx: CtxDep, ident: str) -> Response:
        await ctx.run(hosts.power, ctx.svc, ctx.caller, ident, action)
        return Response(status_code=202)


for _action in ("start", "stop", "reboot", "soft-reboot"):
    _power_route(_action)


@router.post("/hosts/{ident}/rebuild", status_code=202, tags=["hosts"],
             summary="Rebuild a host on its node, with a new image or the same")  # fmt: skip
async def rebuild_host(
    ctx: CtxDep, ident: str, body: Annotated[dict[str, Any] | None, Body()] = None
) -> Response:
    await ctx.run(hosts.rebuild, ctx.svc, ctx.caller, ident, body or {})
    return Response(status_code=202)
