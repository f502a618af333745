"""`BaremetalClient`: the Ironic-compatible `/v1` API as typed Python calls.

Resources come back as the JSON objects the API renders (`Node`, `Port`: dicts keyed by
Ironic's field names), so a field the server adds needs no client release. Lists are
iterators that follow the server's `next` links; `limit` caps the total returned.
Node and port identifiers may be a UUID or a name (ports: a MAC too), as the API accepts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import PurePath
from typing import Any, Literal, NotRequired, TypedDict
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

from ironworks.client.errors import APIError, FileRejected
from ironworks.client.http import DEFAULT_URL, Params, Session
from ironworks.domain import power
from ironworks.domain.power import PowerTarget

Node = dict[str, Any]
Port = dict[str, Any]
POWER_TARGETS = power.TARGETS


class PatchOp(TypedDict):
    """One JSON-patch operation (RFC 6902) as Ironic's PATCH endpoints take them."""

    op: Literal["add", "replace", "remove"]
    path: str
    value: NotRequired[Any]


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FileFormat = Literal["csv", "xlsx"]
# Enrolling a thousand nodes takes a second or two; give a big file room.
FILE_TIMEOUT = 300.0


class ImportProblem(TypedDict):
    """One error in an enrolment file: its row (1 = the header) and column."""

    row: int | None
    column: str | None
    message: str


class ImportReport(TypedDict):
    created: list[dict[str, Any]]  # row, name, uuid
    errors: list[ImportProblem]  # rows skipped with skip_invalid, and why
    skipped: int


class InterfaceCheck(TypedDict):
    """One interface's answer in `validate`: True, False (with a reason) or None (unsupported)."""

    result: bool | None
    reason: NotRequired[str]


def _seg(ident: str) -> str:
    """An identifier as one path segment (names and MACs are safe; anything else is quoted)."""
    return quote(ident, safe="")


def _fields(fields: Sequence[str] | None) -> str | None:
    return ",".join(fields) if fields else None


class BaremetalClient:
    """Calls of the `/v1` API; every state-changing call retries 409/503 (see `http`)."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        session: Session | None = None,
        token: str | None = None,
    ) -> None:
        self.session = session or Session(
            url, timeout=timeout, retries=retries, transport=transport, token=token
        )

    @property
    def url(self) -> str:
        return self.session.url

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> BaremetalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing --------------------------------------------------------------------------------

    def _change(
        self, method: str, path: str, body: Any = None, params: Params | None = None
    ) -> Any:
        response = self.session.request(method, path, body=body, params=params, retry=True)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.session.request("POST", path, body=body).json()

    def _pages(
        self, path: str, key: str, params: dict[str, Any], limit: int | None
    ) -> Iterator[dict[str, Any]]:
        query = {k: v for k, v in params.items() if v is not None}
        if limit:
            query["limit"] = limit
        left = limit or 0
        while True:
            page = self.session.get(path, query) or {}
            items = page.get(key) or []
            for item in items:
                yield item
                if limit:
                    left -= 1
                    if left <= 0:
                        return
            nxt = page.get("next")
            if not nxt or not items:
                return
            # Keep our own base URL (the server's may be a public name we cannot reach) and our
            # filters: the server's next link carries only paging and sorting keys, so without
            # them page two would list nodes the filter excluded.
            query = {**query, **dict(parse_qsl(urlsplit(nxt).query))}

    # --- nodes -----------------------------------------------------------------------------------

    # --- the caller's session (/api/v1/auth) -----------------------------------------------------

    def log_in(self, username: str, password: str) -> dict[str, Any]:
        """A token for these credentials: {"token", "expires_at", "user": {...}}."""
        r = self.session.request(
            "POST", "/api/v1/auth/tokens", body={"username": username, "password": password}
        )
        return dict(r.json())

    def log_out(self) -> None:
        self.session.request("DELETE", "/api/v1/auth/tokens")

    def whoami(self) -> dict[str, Any]:
        return dict(self.session.get("/api/v1/auth/me"))

    def list_nodes(
        self,
        *,
        provision_state: str | None = None,
        maintenance: bool | None = None,
        driver: str | None = None,
        resource_class: str | None = None,
        associated: bool | None = None,
        fields: Sequence[str] | None = None,
        detail: bool = False,
        limit: int | None = None,
    ) -> Iterator[Node]:
        params = {
            "provision_state": provision_state,
            "maintenance": maintenance,
            "driver": driver,
            "resource_class": resource_class,
            "associated": associated,
            "fields": _fields(fields),
        }
        return self._pages("/v1/nodes/detail" if detail else "/v1/nodes", "nodes", params, limit)

    def get_node(self, ident: str, fields: Sequence[str] | None = None) -> Node:
        return self.session.get(f"/v1/nodes/{_seg(ident)}", {"fields": _fields(fields)})

    def create_node(self, body: dict[str, Any]) -> Node:
        return self._create("/v1/nodes", body)

    def update_node(self, ident: str, patch: Iterable[PatchOp]) -> Node:
        return self._change("PATCH", f"/v1/nodes/{_seg(ident)}", list(patch))

    def delete_node(self, ident: str) -> None:
        self._change("DELETE", f"/v1/nodes/{_seg(ident)}")

    def node_states(self, ident: str) -> dict[str, Any]:
        return self.session.get(f"/v1/nodes/{_seg(ident)}/states")

    def console_url(self, ident: str) -> str:
        """A one-time URL of the node's serial console, enabling the console first if needed."""
        path = f"/v1/nodes/{_seg(ident)}/states/console"
        info = self.session.get(path)
        if not info.get("console_enabled"):
            self._change("PUT", path, {"enabled": True})
            info = self.session.get(path)
        return str((info.get("console_info") or {}).get("url") or "")

    def set_power_state(
        self, ident: str, target: PowerTarget, *, timeout: int | None = None
    ) -> None:
        body: dict[str, Any] = {"target": target}
        if timeout is not None:
            body["timeout"] = timeout
        self._change("PUT", f"/v1/nodes/{_seg(ident)}/states/power", body)

    def set_provision_state(
        self,
        ident: str,
        verb: str,
        *,
        configdrive: str | dict[str, Any] | None = None,
        clean_steps: list[dict[str, Any]] | None = None,
        deploy_steps: list[dict[str, Any]] | None = None,
        rescue_password: str | None = None,
        disable_ramdisk: bool | None = None,
    ) -> None:
        """Ask for a provision verb (`manage`, `deploy`, ...); 202 means accepted, not done."""
        body: dict[str, Any] = {"target": verb}
        extras = {
            "configdrive": configdrive,
            "clean_steps": clean_steps,
            "deploy_steps": deploy_steps,
            "rescue_password": rescue_password,
            "disable_ramdisk": disable_ramdisk,
        }
        body.update({k: v for k, v in extras.items() if v is not None})
        self._change("PUT", f"/v1/nodes/{_seg(ident)}/states/provision", body)

    def set_maintenance(self, ident: str, reason: str | None = None) -> None:
        body = {"reason": reason} if reason else {}
        self._change("PUT", f"/v1/nodes/{_seg(ident)}/maintenance", body)

    def clear_maintenance(self, ident: str) -> None:
        self._change("DELETE", f"/v1/nodes/{_seg(ident)}/maintenance")

    def get_boot_device(self, ident: str) -> dict[str, Any]:
        return self.session.get(f"/v1/nodes/{_seg(ident)}/management/boot_device")

    def set_boot_device(self, ident: str, device: str, *, persistent: bool = False) -> None:
        body = {"boot_device": device, "persistent": persistent}
        self._change("PUT", f"/v1/nodes/{_seg(ident)}/management/boot_device", body)

    def supported_boot_devices(self, ident: str) -> list[str]:
        path = f"/v1/nodes/{_seg(ident)}/management/boot_device/supported"
        return list(self.session.get(path).get("supported_boot_devices") or [])

    def validate_node(self, ident: str) -> dict[str, InterfaceCheck]:
        return self.session.get(f"/v1/nodes/{_seg(ident)}/validate")

    def node_history(
        self, ident: str, *, detail: bool = True, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        return self._pages(f"/v1/nodes/{_seg(ident)}/history", "history", {"detail": detail}, limit)

    def list_vifs(self, ident: str) -> list[dict[str, Any]]:
        return list(self.session.get(f"/v1/nodes/{_seg(ident)}/vifs").get("vifs") or [])

    def attach_vif(
        self,
        ident: str,
        vif: str,
        *,
        port_uuid: str | None = None,
        portgroup_uuid: str | None = None,
    ) -> None:
        body: dict[str, Any] = {"id": vif}
        if port_uuid:
            body["port_uuid"] = port_uuid
        if portgroup_uuid:
            body["portgroup_uuid"] = portgroup_uuid
        self._change("POST", f"/v1/nodes/{_seg(ident)}/vifs", body)

    def detach_vif(self, ident: str, vif: str) -> None:
        self._change("DELETE", f"/v1/nodes/{_seg(ident)}/vifs/{_seg(vif)}")

    # --- ports -----------------------------------------------------------------------------------

    def list_ports(
        self,
        *,
        node: str | None = None,
        address: str | None = None,
        fields: Sequence[str] | None = None,
        detail: bool = False,
        limit: int | None = None,
    ) -> Iterator[Port]:
        params = {"node": node, "address": address, "fields": _fields(fields)}
        return self._pages("/v1/ports/detail" if detail else "/v1/ports", "ports", params, limit)

    def get_port(self, ident: str, fields: Sequence[str] | None = None) -> Port:
        return self.session.get(f"/v1/ports/{_seg(ident)}", {"fields": _fields(fields)})

    def create_port(self, body: dict[str, Any]) -> Port:
        return self._create("/v1/ports", body)

    def update_port(self, ident: str, patch: Iterable[PatchOp]) -> Port:
        return self._change("PATCH", f"/v1/ports/{_seg(ident)}", list(patch))

    def delete_port(self, ident: str) -> None:
        self._change("DELETE", f"/v1/ports/{_seg(ident)}")

    # --- batch enrolment (Ironworks' own /api/v1) ------------------------------------------------

    def import_nodes(
        self, data: bytes, *, filename: str | None = None, skip_invalid: bool = False
    ) -> ImportReport:
        """Enrol the nodes of a CSV or XLSX file; FileRejected lists every error when the
        server refused the file (nothing was enrolled). `filename` goes into the nodes'
        history."""
        headers = {"Content-Type": XLSX_MIME if data[:4] == b"PK\x03\x04" else "text/csv"}
        if filename:
            quoted = quote(PurePath(filename).name, safe="")
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quoted}"
        try:
            response = self.session.request(
                "POST",
                "/api/v1/nodes/import",
                params={"skip_invalid": skip_invalid},
                content=data,
                headers=headers,
                timeout=FILE_TIMEOUT,
            )
        except APIError as e:
            errors = e.body.get("errors") if isinstance(e.body, dict) else None
            if e.status == 422 and isinstance(errors, list):
                raise FileRejected(e, errors) from None
            raise
        return response.json()

    def export_nodes(self, fmt: FileFormat = "csv") -> tuple[bytes, int]:
        """Every node in the import format, and how many there are."""
        response = self.session.request(
            "GET", "/api/v1/nodes/export", params={"format": fmt}, timeout=FILE_TIMEOUT
        )
        count = response.headers.get("X-Node-Count", "")
        return response.content, int(count) if count.isdigit() else 0
