"""Per-request plumbing, as plain ASGI (cheaper than BaseHTTPMiddleware on every call).

* a request id (`X-OpenStack-Request-Id`), also put in the logging context;
* on Ironic paths: the microversion negotiated from `X-OpenStack-Ironic-API-Version` (or
  `OpenStack-API-Version: baremetal X.Y`), stored in `scope["state"]["version"]`, and the
  Minimum/Maximum/Version headers on every response.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ironworks.api.errors import ironic_error, is_ironic_path
from ironworks.common.errors import InvalidInput, NotAcceptable
from ironworks.common.ids import new_request_id
from ironworks.common.logging import request_id_var
from ironworks.domain import versions as v

access_log = logging.getLogger("ironworks.access")
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_MIN = (b"x-openstack-ironic-api-minimum-version", v.fmt(v.MIN_VERSION).encode())
_MAX = (b"x-openstack-ironic-api-maximum-version", v.fmt(v.MAX_VERSION).encode())


class RequestMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = new_request_id()
        token = request_id_var.set(rid)
        extra = [(b"x-openstack-request-id", rid.encode()), (b"openstack-request-id", rid.encode())]
        try:
            if is_ironic_path(scope["path"]):
                header = None
                for name, value in scope["headers"]:
                    if name == b"x-openstack-ironic-api-version" or (
                        name == b"openstack-api-version" and header is None
                    ):
                        header = value.decode("latin-1")
                try:
                    version = v.negotiate(header)
                except NotAcceptable as e:
                    await _send(
                        ironic_error(406, e.message, version_error=True),
                        send,
                        [*extra, _MIN, _MAX],
                        scope,
                        receive,
                    )
                    return
                except InvalidInput as e:
                    await _send(
                        ironic_error(406, e.message, version_error=True),
                        send,
                        extra,
                        scope,
                        receive,
                    )
                    return
                scope.setdefault("state", {})["version"] = version
                extra += [_MIN, _MAX, (b"x-openstack-ironic-api-version", v.fmt(version).encode())]

            status = [500]

            async def send_with_headers(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    status[0] = message["status"]
                    message["headers"] = [*message.get("headers", []), *extra]
                await send(message)

            started = time.perf_counter()
            await self.app(scope, receive, send_with_headers)
            # changes and failures at INFO, reads (clients poll a lot) at DEBUG
            level = logging.DEBUG if scope["method"] in _READS and status[0] < 400 else logging.INFO
            if access_log.isEnabledFor(level):
                client = (scope.get("client") or ("-",))[0]
                access_log.log(
                    level,
                    "%s %s %s %d %.1f ms",
                    client,
                    scope["method"],
                    scope["path"],
                    status[0],
                    (time.perf_counter() - started) * 1000,
                )
        finally:
            request_id_var.reset(token)


async def _send(
    response: Any, send: Any, headers: list[tuple[bytes, bytes]], scope: Any, receive: Any
) -> None:
    for name, value in headers:
        response.headers.append(name.decode(), value.decode())
    await response(scope, receive, send)
