"""Calls of Ironworks' own tenancy API (`/api/v1`): flavors, hosts, images, the audit log,
prices and usage."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

from ironworks.client.http import DEFAULT_URL, Session


class CloudClient:
    def __init__(
        self, url: str = DEFAULT_URL, *, token: str | None = None, timeout: float = 30.0
    ) -> None:
        self.session = Session(url, timeout=timeout, token=token)

    @property
    def url(self) -> str:
        return self.session.url

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> CloudClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _json(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        r = self.session.request(method, path, body=body, params=params or None)
        return r.json() if r.content else None

    # --- flavors --------------------------------------------------------------------------------

    def list_flavors(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/api/v1/flavors")["flavors"])

    def create_flavor(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._json("POST", "/api/v1/flavors", body))

    def get_flavor(self, ident: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/api/v1/flavors/{ident}"))

    def delete_flavor(self, ident: str) -> None:
        self._json("DELETE", f"/api/v1/flavors/{ident}")

    # --- hosts ----------------------------------------------------------------------------------

    def list_hosts(self, **filters: str | None) -> list[dict[str, Any]]:
        params = {k: v for k, v in filters.items() if v is not None}
        return list(self._json("GET", "/api/v1/hosts", **params)["hosts"])

    def create_hosts(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self._json("POST", "/api/v1/hosts", body)["hosts"])

    def get_host(self, ident: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/api/v1/hosts/{ident}"))

    def host_console(self, ident: str) -> dict[str, Any]:
        """A one-time URL of the host's serial console: {url, expires_at, session}."""
        return dict(self._json("POST", f"/api/v1/hosts/{ident}/console"))

    def host_action(self, ident: str, action: str, body: dict[str, Any] | None = None) -> None:
        self._json("POST", f"/api/v1/hosts/{ident}/{action}", body)

    def rename_host(self, ident: str, name: str) -> dict[str, Any]:
        return dict(self._json("PATCH", f"/api/v1/hosts/{ident}", {"name": name}))

    def delete_host(self, ident: str) -> None:
        self._json("DELETE", f"/api/v1/hosts/{ident}")

    def list_host_nics(self, ident: str) -> list[dict[str, Any]]:
        return list(self._json("GET", f"/api/v1/hosts/{ident}/nics")["nics"])

    def attach_host_nic(self, ident: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._json("POST", f"/api/v1/hosts/{ident}/nics", body))

    def detach_host_nic(self, ident: str, nic: str) -> None:
        self._json("DELETE", f"/api/v1/hosts/{ident}/nics/{nic}")

    # --- images ---------------------------------------------------------------------------------

    def list_images(self, **filters: str | None) -> list[dict[str, Any]]:
        params = {k: v for k, v in filters.items() if v is not None}
        return list(self._json("GET", "/api/v1/images", **params)["images"])

    def create_image(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._json("POST", "/api/v1/images", body))

    def get_image(self, ident: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/api/v1/images/{ident}"))

    def update_image(self, ident: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._json("PATCH", f"/api/v1/images/{ident}", body))

    def delete_image(self, ident: str) -> None:
        self._json("DELETE", f"/api/v1/images/{ident}")

    def upload_image(
        self,
        ident: str,
        path: Path,
        *,
        part: str | None = None,
        sha256: str | None = None,
        progress: Callable[[int], None] | None = None,
        chunk: int = 1 << 20,
    ) -> tuple[dict[str, Any], str]:
        """Stream a file as the image's data (never whole in memory); `progress` gets each
        chunk's size. Returns the image and the sha256 of what was sent, to compare with the
        server's `uploaded_sha256`."""
        digest = hashlib.sha256()

        def body() -> Iterator[bytes]:
            with open(path, "rb") as f:
                while data := f.read(chunk):
                    digest.update(data)
                    if progress is not None:
                        progress(len(data))
                    yield data

        params = {k: v for k, v in (("part", part), ("sha256", sha256)) if v is not None}
        r = self.session.request(
            "PUT",
            f"/api/v1/images/{ident}/file",
            params=params or None,
            content=cast(bytes, body()),  # httpx streams an iterator of bytes
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Length": str(path.stat().st_size),
            },
            timeout=3600.0,  # the server converts and hashes before it answers
        )
        return dict(r.json()), digest.hexdigest()

    def import_image(
        self, ident: str, url: str, checksum: str | None = None, part: str | None = None
    ) -> dict[str, Any]:
        body = {k: v for k, v in (("url", url), ("checksum", checksum), ("part", part)) if v}
        return dict(self._json("POST", f"/api/v1/images/{ident}/import", body))

    # --- audit ----------------------------------------------------------------------------------

    def audit_events(self, limit: int = 100, **filters: str | None) -> list[dict[str, Any]]:
        params = {k: v for k, v in filters.items() if v is not None}
        return list(
            self._json("GET", "/api/v1/audit-events", limit=limit, **params)["audit_events"]
        )

    def export_audit(self, fmt: str, **filters: str | None) -> bytes:
        params = {k: v for k, v in filters.items() if v is not None}
        r = self.session.request(
            "GET", "/api/v1/audit-events/export", params={"format": fmt, **params}
        )
        return r.content

    # --- prices and usage ------------------------------------------------------------------------

    def list_prices(self, flavor: str | None = None) -> list[dict[str, Any]]:
        params = {"flavor": flavor} if flavor else {}
        return list(self._json("GET", "/api/v1/billing/prices", **params)["prices"])

    def set_price(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._json("POST", "/api/v1/billing/prices", body))

    def usage_report(self, **params: str | None) -> dict[str, Any]:
        given = {k: v for k, v in params.items() if v is not None}
        return dict(self._json("GET", "/api/v1/usage", **given))

    def export_usage(self, fmt: str, **params: str | None) -> bytes:
        given = {k: v for k, v in params.items() if v is not None}
        r = self.session.request("GET", "/api/v1/usage/export", params={"format": fmt, **given})
        return r.content

    # --- alarms and sensors ----------------------------------------------------------------------

    def alarms(self, limit: int = 100, **filters: Any) -> list[dict[str, Any]]:
        params = {k: v for k, v in filters.items() if v is not None}
        return list(self._json("GET", "/api/v1/alarms", limit=limit, **params)["alarms"])

    def acknowledge_alarm(self, uuid: str) -> dict[str, Any]:
        return dict(self._json("POST", f"/api/v1/alarms/{uuid}/acknowledge"))

    def sensors(self, kind: str, ident: str) -> dict[str, Any]:
        """kind: nodes or hosts."""
        return dict(self._json("GET", f"/api/v1/{kind}/{ident}/sensors"))

    # --- identity -------------------------------------------------------------------------------

    def list_of(self, collection: str, **filters: str | None) -> list[dict[str, Any]]:
        """departments, projects, users, networks, subnets, switches, ... (the key of the
        answer is the collection's name with `_` for `-`)."""
        params = {k: v for k, v in filters.items() if v is not None}
        return list(
            self._json("GET", f"/api/v1/{collection}", **params)[collection.replace("-", "_")]
        )

    def get(self, collection: str, ident: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/api/v1/{collection}/{ident}"))

    def create(self, collection: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._json("POST", f"/api/v1/{collection}", body))

    def update(self, collection: str, ident: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._json("PATCH", f"/api/v1/{collection}/{ident}", body))

    def delete(self, collection: str, ident: str) -> None:
        self._json("DELETE", f"/api/v1/{collection}/{ident}")

    def node_network(self, node: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/api/v1/nodes/{node}/network"))

    def confirm_node_network(self, node: str, step: str | None = None) -> dict[str, Any]:
        body = {"step": step} if step else {}
        return dict(self._json("POST", f"/api/v1/nodes/{node}/network/confirm", body))

    def set_member(self, project: str, user: str, role: str | None) -> dict[str, Any]:
        if role is None:
            return dict(self._json("DELETE", f"/api/v1/projects/{project}/members/{user}"))
        return dict(self._json("PUT", f"/api/v1/projects/{project}/members/{user}", {"role": role}))

    def set_department_admin(self, department: str, user: str, admin: bool) -> dict[str, Any]:
        method = "PUT" if admin else "DELETE"
        return dict(self._json(method, f"/api/v1/departments/{department}/admins/{user}"))
