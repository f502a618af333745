"""`/api/v1/auth`: log in (a token), who am I, application credentials, log out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field
from starlette.responses import Response

from ironworks.api.access import AnyUser, Public
from ironworks.api.deps import JSON, CtxDep
from ironworks.api.native.networks import StrictBody, Timestamp
from ironworks.common.errors import InvalidInput, IronworksError
from ironworks.domain import policy
from ironworks.domain.policy import Cell
from ironworks.services import audit, auth

router = APIRouter(prefix="/api/v1/auth", tags=["identity"])


class LogIn(StrictBody):
    username: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=1024)


class AppCredential(StrictBody):
    name: str = Field(min_length=1, max_length=255, description="What it is for.")
    ttl: float | None = Field(
        None,
        gt=0,
        le=10 * 366 * 86400,
        description="Seconds it is valid (at most ten years); none: the server's default "
        "(auth.application_credential_ttl, 90 days unless set).",
    )


class PasswordChange(StrictBody):
    current_password: str = Field(min_length=1, max_length=1024)
    password: str = Field(min_length=1, max_length=1024, description="The new password.")


class AppCredentialOut(BaseModel):
    id: str
    name: str | None
    created_at: datetime
    expires_at: datetime | None


class AppCredentialList(BaseModel):
    application_credentials: list[AppCredentialOut]


class IssuedToken(BaseModel):
    """A token, shown this once: send it as `X-Auth-Token` (or `Authorization: Bearer`)."""

    token: str
    id: str
    kind: Literal["session", "application"]
    name: str | None
    expires_at: Timestamp | None


class TokenUser(BaseModel):
    id: str = Field(description="The user's uuid.")
    name: str


class Session(IssuedToken):
    user: TokenUser


def _principal(ctx: Any) -> auth.Principal:
    p = ctx.caller.principal
    if p is None:
        raise InvalidInput("identity is off (auth.noauth): there is no user to speak of")
    return p


@router.post(
    "/tokens",
    status_code=201,
    summary="Log in: a token for a user name and password",
    dependencies=[Public()],
)
async def log_in(ctx: CtxDep, body: Annotated[LogIn, Body()]) -> Session:
    svc = ctx.svc
    event = {
        "action": "auth:login",
        "target_type": "user",
        "target_id": body.username,
        "user_name": body.username,
        "request_id": ctx.caller.request_id,
        "source": ctx.caller.source,
        "method": "POST",
        "path": "/api/v1/auth/tokens",
    }
    try:
        out = await ctx.run(auth.login, svc, body.username, body.password, ctx.caller.source)
    except IronworksError as e:
        await ctx.run(
            audit.record_now, svc, outcome="denied", status_code=e.status, detail=e.message, **event
        )
        raise
    await ctx.run(audit.record_now, svc, outcome="success", status_code=201, **event)
    return Session.model_validate(out)


class Me(BaseModel):
    id: int
    name: str
    is_admin: bool
    roles: list[str] = Field(description="admin, dept_admin, project_admin, member")
    projects: dict[str, str] = Field(description="Project id → the caller's role in it.")
    departments: list[int] = Field(description="Ids of the departments the caller administers.")
    operations: dict[str, Cell] = Field(
        description="Every operation of the permission table (docs/permissions.md) and what "
        "the caller may do: allow (everywhere), joined (in their projects), dept (in their "
        "departments) or deny. The web console draws its menus and buttons from it."
    )


@router.get(
    "/me",
    response_model=Me,
    summary="The caller: user, cloud admin flag, projects, roles and allowed operations",
    dependencies=[AnyUser()],
)
async def me(ctx: CtxDep) -> JSON:
    p = _principal(ctx)
    out = Me(
        id=p.user_id,
        name=p.name,
        is_admin=p.is_admin,
        roles=sorted(r.value for r in p.roles),
        projects={str(k): v for k, v in p.projects.items()},
        departments=sorted(p.departments),
        operations={r.operation: policy.decide(r.operation, p.roles) for r in policy.RULES},
    )
    return JSON(out.model_dump(mode="json"))


@router.delete(
    "/tokens",
    status_code=204,
    summary="Log out: revoke the token of this request",
    dependencies=[AnyUser()],
)
async def log_out(ctx: CtxDep) -> Response:
    await ctx.run(auth.revoke, ctx.svc, _principal(ctx))
    return Response(status_code=204)


@router.post(
    "/password",
    status_code=204,
    summary="Change your own password",
    dependencies=[AnyUser()],
)
async def change_password(ctx: CtxDep, body: Annotated[PasswordChange, Body()]) -> Response:
    """Your other sessions end; this one and your application credentials stay."""
    await ctx.run(
        auth.change_password,
        ctx.svc,
        _principal(ctx),
        body.current_password,
        body.password,
        ctx.caller.source,
    )
    return Response(status_code=204)


@router.post(
    "/application-credentials",
    status_code=201,
    summary="A named token for automation",
    dependencies=[AnyUser()],
)
async def app_credential(ctx: CtxDep, body: Annotated[AppCredential, Body()]) -> IssuedToken:
    out = await ctx.run(
        auth.create_application_credential, ctx.svc, _principal(ctx), body.name, body.ttl
    )
    return IssuedToken.model_validate(out)


@router.get(
    "/application-credentials",
    response_model=AppCredentialList,
    summary="Your application credentials (not their tokens)",
    dependencies=[AnyUser()],
)
async def list_app_credentials(ctx: CtxDep) -> JSON:
    items = await ctx.run(auth.list_application_credentials, ctx.svc, _principal(ctx))
    return JSON({"application_credentials": items})


@router.delete(
    "/application-credentials/{ident}",
    status_code=204,
    summary="Revoke an application credential",
    dependencies=[AnyUser()],
)
async def revoke_app_credential(ctx: CtxDep, ident: str) -> Response:
    await ctx.run(auth.revoke_application_credential, ctx.svc, _principal(ctx), ident)
    return Response(status_code=204)
