"""The ASGI application: routers, error handlers, request plumbing."""

from __future__ import annotations

import time
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from fastapi.utils import generate_unique_id
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException

from ironworks import __version__
from ironworks.api import boot, console, errors
from ironworks.api.access import AuditMiddleware, Public, check_access
from ironworks.api.limits import BodyLimitMiddleware
from ironworks.api.metrics import Metrics, MetricsMiddleware
from ironworks.api.metrics import router as metrics_router
from ironworks.api.middleware import RequestMiddleware
from ironworks.api.native import audit as native_audit
from ironworks.api.native import auth as native_auth
from ironworks.api.native import billing as native_billing
from ironworks.api.native import consoles as native_consoles
from ironworks.api.native import floating_ips as native_floating_ips
from ironworks.api.native import hostnics as native_hostnics
from ironworks.api.native import hosts as native_hosts
from ironworks.api.native import images as native_images
from ironworks.api.native import license as native_license
from ironworks.api.native import monitoring as native_monitoring
from ironworks.api.native import networks as native_networks
from ironworks.api.native import nodes as native_nodes
from ironworks.api.native import statistics as native_statistics
from ironworks.api.native import switches as native_switches
from ironworks.api.native import tenancy as native_tenancy
from ironworks.api.native import zones as native_zones
from ironworks.api.v1 import (
    allocations,
    chassis,
    conductors,
    drivers,
    inspection_rules,
    node_hardware,
    nodes,
    ports,
    root,
    step_lists,
    volumes,
)
from ironworks.common.errors import IronworksError
from ironworks.services import chassis as chassis_svc
from ironworks.services import conductors as conductor_svc
from ironworks.services.context import Services


class _ChassisCache:
    """chassis id -> uuid for node rendering; chassis change rarely, nodes are listed often."""

    def __init__(self, svc: Services, ttl: float = 10.0) -> None:
        self.svc, self.ttl = svc, ttl
        self._map: dict[int, str] = {}
        self._at = 0.0

    def __call__(self) -> dict[int, str]:
        if time.monotonic() - self._at > self.ttl:
            self._map = chassis_svc.chassis_uuids(self.svc)
            self._at = time.monotonic()
        return self._map

    def cache_clear(self) -> None:
        self._at = 0.0


def operation_id(route: APIRoute) -> str:
    """Stable OpenAPI operation ids on /api/v1: the handler's name (`list_hosts`,
    `create_flavor`), unless the route names one itself; FastAPI's own (name, path and method)
    elsewhere, as generated clients of /v1 know them. tests/api/test_openapi.py checks they are
    unique."""
    if route.path_format.startswith("/api/v1/"):
        return route.name
    return generate_unique_id(route)


def create_app(svc: Services, console_relay: bool = False) -> FastAPI:
    """The API. `console_relay`: no conductor runs in this process (`ironworks api`), so a
    console WebSocket is relayed to the node's conductor instead of bridged here."""
    app = FastAPI(
        title="Ironworks",
        version=__version__,
        description="Bare-metal cloud. `/v1` is compatible with OpenStack Ironic's v1 API.",
        openapi_url=None,  # served below, declared public like every other route
        docs_url=None,
        redoc_url=None,
        # no OpenTelemetry exporter is configured here; skip its per-request checks
        telemetry={"tracing": False, "metrics": False, "logs": False},
        dependencies=[Depends(check_access)],
        generate_unique_id_function=operation_id,
    )
    app.state.services = svc
    app.state.conductor_map = conductor_svc.ConductorMap(svc)
    app.state.chassis_cache = _ChassisCache(svc)
    handlers: list[tuple[Any, Any]] = [
        (IronworksError, errors.on_ironworks_error),
        (RequestValidationError, errors.on_validation_error),
        (HTTPException, errors.on_http_error),
        # the database restarting or failing over: 503 with Retry-After, never a 500
        (OperationalError, errors.on_database_error),
        (InterfaceError, errors.on_database_error),
        (DataError, errors.on_data_error),
        (Exception, errors.on_unexpected),
    ]
    for exc, handler in handlers:
        app.add_exception_handler(exc, handler)
    for v1_router in (
        root,
        chassis,
        drivers,
        conductors,
        volumes,
        node_hardware,
        nodes,
        ports,
        allocations,
        inspection_rules,
        step_lists,
    ):
        app.include_router(v1_router.router)
    app.include_router(native_nodes.router)
    app.include_router(native_nodes.hardware_router)
    app.include_router(native_auth.router)
    app.include_router(native_tenancy.router)
    app.include_router(native_audit.router)
    app.include_router(native_hosts.router)
    app.include_router(native_hostnics.router)
    native_consoles.install(app, relay=console_relay)
    app.include_router(native_license.router)
    app.include_router(native_images.router)
    app.include_router(native_zones.router)
    app.include_router(native_statistics.router)
    app.include_router(native_monitoring.router)
    app.state.metrics = Metrics(svc)
    app.include_router(metrics_router(public=svc.settings.api.metrics_public))
    app.include_router(native_networks.router)
    app.include_router(native_switches.router)
    app.include_router(native_floating_ips.router)
    app.include_router(native_switches.node_router)
    app.include_router(native_billing.router)
    if svc.settings.boot.serve_on_api:  # else only the boot listener serves them (cmd/bootsvc.py)
        app.include_router(boot.router)
        app.include_router(native_images.boot_router)
    console.install(app)  # the web UI at /console/; browsers asking for / are sent there
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    _document_routes(app)
    app.add_middleware(AuditMiddleware, svc=svc)  # inside RequestMiddleware: the request id is set
    app.add_middleware(RequestMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)  # outermost but the limit
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=svc.settings.api.max_body_bytes)
    return app


def _document_routes(app: FastAPI) -> None:
    """The OpenAPI document and its Swagger UI: public, as FastAPI would serve them."""

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Public()])
    async def openapi_document() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=[Public()])
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False, dependencies=[Public()])
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


_PROBLEM = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "field": {"type": "string"},
        "request_id": {"type": "string"},
    },
    "required": ["title", "status", "detail"],
}
_IRONIC = {
    "type": "object",
    "properties": {"error_message": {"type": "string"}},
    "required": ["error_message"],
}
_ERRORS = {
    "400": "Bad input; the body says what is wrong and names the field (/api/v1: `field`).",
    "401": "No valid token: log in with POST /api/v1/auth/tokens.",
    "403": "The caller's roles do not allow this (the body names the operation), or the "
    "resource forbids it (e.g. protected), or a quota is exceeded.",
    "404": "No such resource, or none the caller may see.",
    "406": "The requested Ironic API microversion is not served (/v1).",
    "409": "The resource's state does not allow it now (the body says what would), or it "
    "changed meanwhile; or a name is taken.",
    "503": "The database is unreachable or busy; retry.",
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with the error answers every operation can give (Ironic's body on
    /v1, problem+json on /api/v1) instead of the 422 it assumes (validation errors are 400s)."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for path, item in doc.get("paths", {}).items():
        body = (
            {"application/json": {"schema": _IRONIC}}
            if path == "/" or path.startswith("/v1")
            else {"application/problem+json": {"schema": _PROBLEM}}
        )
        for op in item.values():
            responses = op.setdefault("responses", {})
            if "HTTPValidationError" in str(responses.get("422")):  # FastAPI's, not ours
                del responses["422"]
            for code, text in _ERRORS.items():
                responses.setdefault(code, {"description": text, "content": body})
            for code, declared in responses.items():  # a route's own error answers (e.g. 405)
                if code.startswith("4") and "content" not in declared:
                    declared["content"] = body
    doc.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
    doc.get("components", {}).get("schemas", {}).pop("ValidationError", None)
    app.openapi_schema = doc
    return doc
