"""`/api/v1/departments`, `/projects`, `/users`: who belongs where (services/tenancy.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import JSON, CtxDep
from ironworks.api.native.listing import page, paging_only
from ironworks.common.errors import InvalidInput
from ironworks.services import tenancy

router = APIRouter(prefix="/api/v1", tags=["identity"])
BodyDep = Annotated[dict[str, Any], Body()]


def _listed(ctx: Any, key: str, items: list[dict[str, Any]], sort_keys: tuple[str, ...]) -> JSON:
    return JSON(page(items, paging_only(dict(ctx.request.query_params)), sort_keys, key))


# --- departments ------------------------------------------------------------------------------------


@router.get(
    "/departments",
    summary="Departments (all, or those the caller administers)",
    dependencies=[Allow("department:read")],
)
async def list_departments(ctx: CtxDep) -> JSON:
    items = await ctx.run(tenancy.list_departments, ctx.svc, ctx.caller)
    return _listed(ctx, "departments", items, ("name", "created_at", "quota_hosts"))


@router.post(
    "/departments",
    status_code=201,
    summary="Create a department",
    dependencies=[Allow("department:create")],
)
async def create_department(ctx: CtxDep, body: BodyDep) -> JSON:
    out = await ctx.run(tenancy.create_department, ctx.svc, ctx.caller, body)
    return JSON(out, status_code=201)


@router.get(
    "/departments/{ident}", summary="Show a department", dependencies=[Allow("department:read")]
)
async def get_department(ctx: CtxDep, ident: str) -> JSON:
    return JSON(await ctx.run(tenancy.get_department, ctx.svc, ctx.caller, ident))


@router.patch(
    "/departments/{ident}",
    summary="Rename a department, set its quotas",
    dependencies=[Allow("department:update")],
)
async def update_department(ctx: CtxDep, ident: str, body: BodyDep) -> JSON:
    return JSON(await ctx.run(tenancy.update_department, ctx.svc, ctx.caller, ident, body))


@router.delete(
    "/departments/{ident}",
    status_code=204,
    summary="Delete an empty department",
    dependencies=[Allow("department:delete")],
)
async def delete_department(ctx: CtxDep, ident: str) -> Response:
    await ctx.run(tenancy.delete_department, ctx.svc, ctx.caller, ident)
    return Response(status_code=204)


@router.put(
    "/departments/{ident}/admins/{user}",
    summary="Make a user admin of the department",
    dependencies=[Allow("department:update")],
)
async def add_department_admin(ctx: CtxDep, ident: str, user: str) -> JSON:
    return JSON(await ctx.run(tenancy.set_department_admin, ctx.svc, ctx.caller, ident, user, True))


@router.delete(
    "/departments/{ident}/admins/{user}",
    summary="Take the department admin role",
    dependencies=[Allow("department:update")],
)
async def remove_department_admin(ctx: CtxDep, ident: str, user: str) -> JSON:
    return JSON(
        await ctx.run(tenancy.set_department_admin, ctx.svc, ctx.caller, ident, user, False)
    )


# --- projects ---------------------------------------------------------------------------------------


@router.get(
    "/projects",
    summary="Projects (all, or those the caller belongs to)",
    dependencies=[Allow("project:read")],
)
async def list_projects(ctx: CtxDep) -> JSON:
    items = await ctx.run(tenancy.list_projects, ctx.svc, ctx.caller)
    return _listed(ctx, "projects", items, ("name", "department", "created_at", "quota_hosts"))


@router.post(
    "/projects",
    status_code=201,
    summary="Create a project in a department",
    dependencies=[Allow("project:create")],
)
async def create_project(ctx: CtxDep, body: BodyDep) -> JSON:
    return JSON(await ctx.run(tenancy.create_project, ctx.svc, ctx.caller, body), status_code=201)


@router.get(
    "/projects/{ident}",
    summary="Show a project and its members",
    dependencies=[Allow("project:read")],
)
async def get_project(ctx: CtxDep, ident: str) -> JSON:
    return JSON(await ctx.run(tenancy.get_project, ctx.svc, ctx.caller, ident))


@router.patch(
    "/projects/{ident}",
    summary="Rename a project, set its quotas",
    dependencies=[Allow("project:update")],
)
async def update_project(ctx: CtxDep, ident: str, body: BodyDep) -> JSON:
    return JSON(await ctx.run(tenancy.update_project, ctx.svc, ctx.caller, ident, body))


@router.delete(
    "/projects/{ident}",
    status_code=204,
    summary="Delete a project",
    dependencies=[Allow("project:delete")],
)
async def delete_project(ctx: CtxDep, ident: str) -> Response:
    await ctx.run(tenancy.delete_project, ctx.svc, ctx.caller, ident)
    return Response(status_code=204)


@router.put(
    "/projects/{ident}/members/{user}",
    summary="Add a member, or change their role",
    dependencies=[Allow("membership:update")],
)
async def set_member(ctx: CtxDep, ident: str, user: str, body: BodyDep) -> JSON:
    role = body.get("role", "member")
    if not isinstance(role, str):
        raise InvalidInput("role must be project_admin or member", field="role")
    return JSON(await ctx.run(tenancy.set_member, ctx.svc, ctx.caller, ident, user, role))


@router.delete(
    "/projects/{ident}/members/{user}",
    summary="Remove a member",
    dependencies=[Allow("membership:update")],
)
async def remove_member(ctx: CtxDep, ident: str, user: str) -> JSON:
    return JSON(await ctx.run(tenancy.set_member, ctx.svc, ctx.caller, ident, user, None))


# --- users ------------------------------------------------------------------------------------------


@router.get(
    "/users",
    summary="Users (all, or those of the caller's departments)",
    dependencies=[Allow("user:read")],
)
async def list_users(ctx: CtxDep) -> JSON:
    items = await ctx.run(tenancy.list_users, ctx.svc, ctx.caller)
    return _listed(ctx, "users", items, ("name", "created_at", "is_admin", "enabled"))


@router.post(
    "/users", status_code=201, summary="Create a user", dependencies=[Allow("user:create")]
)
async def create_user(ctx: CtxDep, body: BodyDep) -> JSON:
    return JSON(await ctx.run(tenancy.create_user, ctx.svc, ctx.caller, body), status_code=201)


@router.get("/users/{ident}", summary="Show a user", dependencies=[Allow("user:read")])
async def get_user(ctx: CtxDep, ident: str) -> JSON:
    return JSON(await ctx.run(tenancy.get_user, ctx.svc, ctx.caller, ident))


@router.patch(
    "/users/{ident}",
    summary="Edit a user: name fields, enabled, password, unlock",
    dependencies=[Allow("user:update")],
)
async def update_user(ctx: CtxDep, ident: str, body: BodyDep) -> JSON:
    return JSON(await ctx.run(tenancy.update_user, ctx.svc, ctx.caller, ident, body))


@router.delete(
    "/users/{ident}", status_code=204, summary="Delete a user", dependencies=[Allow("user:delete")]
)
async def delete_user(ctx: CtxDep, ident: str) -> Response:
    await ctx.run(tenancy.delete_user, ctx.svc, ctx.caller, ident)
    return Response(status_code=204)
