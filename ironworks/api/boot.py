"""The boot listener's routes: iPXE scripts and GRUB configurations, the agent ramdisk, and the
agent API.

These are what a node on the provisioning network reaches: no user token (the agent proves
itself with its one-time token; scripts and ramdisks hold no secret). `boot_app` serves exactly
these on the provisioning network; the main API serves them too, for a DHCP setup that points
nodes at it directly.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, PlainTextResponse, Response
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException

from ironworks.api import errors
from ironworks.api.access import Public
from ironworks.api.middleware import RequestMiddleware
from ironworks.boot import ipxe
from ironworks.boot.dnsmasq import boot_url
from ironworks.common.errors import IronworksError, NotFound
from ironworks.services import agent
from ironworks.services.context import Services
from ironworks_agent import protocol

router = APIRouter(tags=["boot"])
RAMDISK_PARTS = ("kernel", "initramfs")
_IPXE = "text/plain; charset=utf-8"


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


SvcDep = Annotated[Services, Depends(_services)]


@router.get(
    "/boot/boot.ipxe",
    response_class=PlainTextResponse,
    summary="iPXE entry script",
    dependencies=[Public()],
)
def entry_script(svc: SvcDep) -> PlainTextResponse:
    return PlainTextResponse(ipxe.entry_script(boot_url(svc.settings.boot)), media_type=_IPXE)


@router.get(
    "/boot/{mac}.ipxe",
    response_class=PlainTextResponse,
    summary="A node's iPXE script",
    dependencies=[Public()],
)
def node_script(svc: SvcDep, mac: str) -> PlainTextResponse:
    """What the machine booting from this MAC (`aa-bb-cc-dd-ee-ff` or with colons) runs next."""
    return PlainTextResponse(agent.boot_script(svc, mac), media_type=_IPXE)


@router.get(
    "/boot/grub/{mac}.cfg",
    response_class=PlainTextResponse,
    summary="A node's GRUB configuration (arm64 UEFI)",
    dependencies=[Public()],
)
def node_grub_config(svc: SvcDep, mac: str) -> PlainTextResponse:
    """What GRUB on the machine booting from this MAC (`aa:bb:cc:dd:ee:ff`) runs next."""
    return PlainTextResponse(agent.boot_script(svc, mac, loader="grub"), media_type=_IPXE)


@router.get(
    "/boot/ramdisk/{arch}/{part}",
    summary="The agent ramdisk's kernel or initramfs",
    response_class=FileResponse,
    dependencies=[Public()],
)
def ramdisk_file(svc: SvcDep, arch: str, part: str) -> FileResponse:
    name = ipxe.ARCH_ALIASES.get(arch)
    if name is None:
        raise NotFound(f"no ramdisk for architecture {arch!r}; x86_64 and aarch64 exist")
    if part not in RAMDISK_PARTS:
        raise NotFound(f"a ramdisk has no part {part!r}; ask for kernel or initramfs")
    path = svc.settings.ramdisk_path / name / part
    if not path.is_file():
        raise NotFound(
            f"the {name} agent ramdisk is not built: run `ironworks ramdisk build "
            f"--arch {name}` (looked for {path})"
        )
    return FileResponse(path, media_type="application/octet-stream")


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post(
    protocol.LOOKUP_PATH, summary="The ramdisk agent finds its node", dependencies=[Public()]
)
def agent_lookup(
    svc: SvcDep, request: Request, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    return agent.lookup(svc, body, _client(request))


@router.post(
    protocol.HEARTBEAT_PATH,
    summary="The ramdisk agent reports and gets commands",
    dependencies=[Public()],
)
def agent_heartbeat(
    svc: SvcDep,
    request: Request,
    body: Annotated[dict[str, Any], Body()],
    x_agent_token: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    return agent.heartbeat(svc, x_agent_token, body, _client(request))


@router.post(
    protocol.FIRST_BOOT_PATH + "/{node_uuid}/{token}",
    status_code=204,
    summary="The deployed OS reports its first boot (the URL is in its config drive)",
    dependencies=[Public()],
)
def first_boot(svc: SvcDep, request: Request, node_uuid: str, token: str) -> Response:
    agent.first_boot(svc, node_uuid, token, _client(request))
    return Response(status_code=204)


class TitleCaseHeaders:
    """Send response header names as `Content-Length`, not `content-length`, and close GRUB's
    connections after each response (plain ASGI).

    Header names are case-insensitive, but GRUB 2.06's HTTP client (arm64 machines' network
    boot) matches `Content-Length: ` and `Transfer-Encoding: chunked` byte for byte; without the
    length it cannot load a kernel. Starlette writes every name in lower case.
    GRUB starts every boot at the same TCP source port (21550) and never closes the connection
    of a configuration it is running: a kept-alive connection of the last boot, still open on
    our side, turns the next boot's SYN away. `Connection: close` ends it while GRUB is there to
    acknowledge, and the listener drops it at that acknowledgement (TCP_LINGER2, netns.py)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        agent = dict(scope.get("headers") or []).get(b"user-agent", b"")
        close = [(b"Connection", b"close")] if agent.startswith(b"GRUB") else []

        async def title_case(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (_title(k), v)
                    for k, v in message.get("headers", [])
                    if not (close and k.lower() == b"connection")
                ] + close
            await send(message)

        await self.app(scope, receive, title_case)


def _title(name: bytes) -> bytes:
    return b"-".join(part[:1].upper() + part[1:] for part in bytes(name).split(b"-"))


def boot_app(svc: Services, extra_routers: tuple[APIRouter, ...] = ()) -> FastAPI:
    """The application of the boot listener on the provisioning network: these routes only."""
    app = FastAPI(title="Ironworks boot", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.services = svc
    handlers: list[tuple[Any, Any]] = [
        (IronworksError, errors.on_ironworks_error),
        (RequestValidationError, errors.on_validation_error),
        (HTTPException, errors.on_http_error),
        # the database restarting or failing over: 503 with Retry-After (agents retry), not 500
        (OperationalError, errors.on_database_error),
        (InterfaceError, errors.on_database_error),
        (Exception, errors.on_unexpected),
    ]
    for exc, handler in handlers:
        app.add_exception_handler(exc, handler)
    app.include_router(router)
    for extra in extra_routers:
        app.include_router(extra)
    app.add_middleware(RequestMiddleware)
    app.add_middleware(TitleCaseHeaders)  # outermost: sees every header
    return app
