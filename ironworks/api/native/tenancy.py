"""`/api/v1/departments`, `/projects`, `/users`: who belongs where (services/tenancy.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field, StrictBool, StrictInt
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import CtxDep
from ironworks.api.native.listing import page, paging_only
from ironworks.api.native.networks import StrictBody, Timestamp, body_of
from ironworks.common.inputs import LINE, TEXT
from ironworks.services import tenancy

router = APIRouter(prefix="/api/v1", tags=["identity"])

# the services keep their rules (names stripped, passwords checked, who may set what); the
# models carry the types and bounds, and refuse a field they do not name
Name = Annotated[str, Field(min_length=1, max_length=255)]
Description = Annotated[str, Field(max_length=TEXT)]
Line = Annotated[str, Field(max_length=LINE)]
Quota = Annotated[
    StrictInt | None,
    Field(ge=0, le=tenancy.MAX_QUOTA, description="A limit; null: no limit."),
]
ProjectRole = Literal["project_admin", "member"]


def _listed(ctx: Any, key: str, items: list[dict[str, Any]], sort_keys: tuple[str, ...]) -> Any:
    return page(items, paging_only(dict(ctx.request.query_params)), sort_keys, key)


class Quotas(BaseModel):
    quota_hosts: Quota = None
    quota_nodes: Quota = None
    quota_cores: Quota = None
    quota_ram_mb: Quota = None
    quota_floating_ips: Quota = None


class DepartmentCreate(StrictBody, Quotas):
    name: Name
    description: Description | None = None


class DepartmentUpdate(StrictBody, Quotas):
    name: Name | None = None
    description: Description | None = None


class Department(Quotas):
    uuid: str
    name: str
    description: str | None
    created_at: Timestamp
    updated_at: Timestamp | None
    projects: int = Field(description="How many projects it has.")
    admins: list[str] = Field(description="The names of its department admins.")


class DepartmentList(BaseModel):
    departments: list[Department]
    next_marker: str | None = None


class ProjectCreate(StrictBody, Quotas):
    name: Name
    department: Name = Field(description="Its department's name or id.")
    description: Description | None = None


class ProjectUpdate(DepartmentUpdate):
    pass


class Member(BaseModel):
    user: str
    role: ProjectRole


class Project(Quotas):
    uuid: str
    name: str
    description: str | None
    created_at: Timestamp
    updated_at: Timestamp | None
    department: str | None = Field(description="Its department's name.")
    members: list[Member]


class ProjectList(BaseModel):
    projects: list[Project]
    next_marker: str | None = None


class Membership(StrictBody):
    role: ProjectRole = "member"


class UserCreate(StrictBody):
    name: Name
    password: str = Field(description="Checked against the password policy.")
    display_name: Line | None = None
    email: Line | None = None
    is_admin: StrictBool = Field(False, description="A cloud admin (the cloud admin only).")
    enabled: StrictBool = True


class UserUpdate(StrictBody):
    display_name: Line | None = None
    email: Line | None = None
    enabled: StrictBool | None = None
    password: str | None = None
    unlock: StrictBool | None = Field(None, description="true: forget the failed log-ins.")
    is_admin: StrictBool | None = Field(None, description="The cloud admin only.")


class UserProject(BaseModel):
    project: str
    role: ProjectRole


class User(BaseModel):
    uuid: str
    name: str
    display_name: str | None
    email: str | None
    is_admin: bool
    enabled: bool
    failed_logins: int
    locked_until: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp | None
    projects: list[UserProject]


class UserList(BaseModel):
    users: list[User]
    next_marker: str | None = None


# --- departments ------------------------------------------------------------------------------------


@router.get(
    "/departments",
    response_model_exclude_unset=True,  # next_marker only while more remain
    summary="Departments (all, or those the caller administers)",
    dependencies=[Allow("department:read")],
)
async def list_departments(ctx: CtxDep) -> DepartmentList:
    items = await ctx.run(tenancy.list_departments, ctx.svc, ctx.caller)
    keys = ("name", "created_at", "quota_hosts")
    return DepartmentList.model_validate(_listed(ctx, "departments", items, keys))


@router.post(
    "/departments",
    status_code=201,
    summary="Create a department",
    dependencies=[Allow("department:create")],
)
async def create_department(ctx: CtxDep, body: Annotated[DepartmentCreate, Body()]) -> Department:
    out = await ctx.run(tenancy.create_department, ctx.svc, ctx.caller, body_of(body))
    return Department.model_validate(out)


@router.get(
    "/departments/{ident}", summary="Show a department", dependencies=[Allow("department:read")]
)
async def get_department(ctx: CtxDep, ident: str) -> Department:
    out = await ctx.run(tenancy.get_department, ctx.svc, ctx.caller, ident)
    return Department.model_validate(out)


@router.patch(
    "/departments/{ident}",
    summary="Rename a department, set its quotas",
    dependencies=[Allow("department:update")],
)
async def update_department(
    ctx: CtxDep, ident: str, body: Annotated[DepartmentUpdate, Body()]
) -> Department:
    out = await ctx.run(tenancy.update_department, ctx.svc, ctx.caller, ident, body_of(body))
    return Department.model_validate(out)


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
async def add_department_admin(ctx: CtxDep, ident: str, user: str) -> Department:
    out = await ctx.run(tenancy.set_department_admin, ctx.svc, ctx.caller, ident, user, True)
    return Department.model_validate(out)


@router.delete(
    "/departments/{ident}/admins/{user}",
    summary="Take the department admin role",
    dependencies=[Allow("department:update")],
)
async def remove_department_admin(ctx: CtxDep, ident: str, user: str) -> Department:
    out = await ctx.run(tenancy.set_department_admin, ctx.svc, ctx.caller, ident, user, False)
    return Department.model_validate(out)


# --- projects ---------------------------------------------------------------------------------------


@router.get(
    "/projects",
    response_model_exclude_unset=True,  # next_marker only while more remain
    summary="Projects (all, or those the caller belongs to)",
    dependencies=[Allow("project:read")],
)
async def list_projects(ctx: CtxDep) -> ProjectList:
    items = await ctx.run(tenancy.list_projects, ctx.svc, ctx.caller)
    keys = ("name", "department", "created_at", "quota_hosts")
    return ProjectList.model_validate(_listed(ctx, "projects", items, keys))


@router.post(
    "/projects",
    status_code=201,
    summary="Create a project in a department",
    dependencies=[Allow("project:create")],
)
async def create_project(ctx: CtxDep, body: Annotated[ProjectCreate, Body()]) -> Project:
    out = await ctx.run(tenancy.create_project, ctx.svc, ctx.caller, body_of(body))
    return Project.model_validate(out)


@router.get(
    "/projects/{ident}",
    summary="Show a project and its members",
    dependencies=[Allow("project:read")],
)
async def get_project(ctx: CtxDep, ident: str) -> Project:
    return Project.model_validate(await ctx.run(tenancy.get_project, ctx.svc, ctx.caller, ident))


@router.patch(
    "/projects/{ident}",
    summary="Rename a project, set its quotas",
    dependencies=[Allow("project:update")],
)
async def update_project(
    ctx: CtxDep, ident: str, body: Annotated[ProjectUpdate, Body()]
) -> Project:
    out = await ctx.run(tenancy.update_project, ctx.svc, ctx.caller, ident, body_of(body))
    return Project.model_validate(out)


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
async def set_member(
    ctx: CtxDep, ident: str, user: str, body: Annotated[Membership, Body()]
) -> Project:
    out = await ctx.run(tenancy.set_member, ctx.svc, ctx.caller, ident, user, body.role)
    return Project.model_validate(out)


@router.delete(
    "/projects/{ident}/members/{user}",
    summary="Remove a member",
    dependencies=[Allow("membership:update")],
)
async def remove_member(ctx: CtxDep, ident: str, user: str) -> Project:
    out = await ctx.run(tenancy.set_member, ctx.svc, ctx.caller, ident, user, None)
    return Project.model_validate(out)


# --- users ------------------------------------------------------------------------------------------


@router.get(
    "/users",
    response_model_exclude_unset=True,  # next_marker only while more remain
    summary="Users (all, or those of the caller's departments)",
    dependencies=[Allow("user:read")],
)
async def list_users(ctx: CtxDep) -> UserList:
    items = await ctx.run(tenancy.list_users, ctx.svc, ctx.caller)
    keys = ("name", "created_at", "is_admin", "enabled")
    return UserList.model_validate(_listed(ctx, "users", items, keys))


@router.post(
    "/users", status_code=201, summary="Create a user", dependencies=[Allow("user:create")]
)
async def create_user(ctx: CtxDep, body: Annotated[UserCreate, Body()]) -> User:
    return User.model_validate(
        await ctx.run(tenancy.create_user, ctx.svc, ctx.caller, body_of(body))
    )


@router.get("/users/{ident}", summary="Show a user", dependencies=[Allow("user:read")])
async def get_user(ctx: CtxDep, ident: str) -> User:
    return User.model_validate(await ctx.run(tenancy.get_user, ctx.svc, ctx.caller, ident))


@router.patch(
    "/users/{ident}",
    summary="Edit a user: name fields, enabled, password, unlock",
    dependencies=[Allow("user:update")],
)
async def update_user(ctx: CtxDep, ident: str, body: Annotated[UserUpdate, Body()]) -> User:
    out = await ctx.run(tenancy.update_user, ctx.svc, ctx.caller, ident, body_of(body))
    return User.model_validate(out)


@router.delete(
    "/users/{ident}", status_code=204, summary="Delete a user", dependencies=[Allow("user:delete")]
)
async def delete_user(ctx: CtxDep, ident: str) -> Response:
    await ctx.run(tenancy.delete_user, ctx.svc, ctx.caller, ident)
    return Response(status_code=204)
