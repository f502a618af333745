"""The HTTP session under the client: base URL, version header, error bodies, retries.

Errors. Ironic answers `{"error_message": "<a JSON string>"}` whose inner object carries
`faultstring` (or `description` for microversion errors); Ironworks' own `/api` answers
problem+json with `detail`. Whatever the shape, the caller gets one `APIError(status, message)`
whose message is the server's own sentence, and `ServerUnreachable` when nothing answered.

Retries. A state-changing request (PUT, PATCH, DELETE, POST of an action) that meets 409 or
503 is tried again a few times with exponential backoff: a node held by a conductor for a
short driver call (409 "locked") or a service restarting behind a proxy (503) usually clears
within a second or two. Reads and creations are not retried: a read has nothing to wait for,
and a 409 on a creation means the resource exists.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from ironworks.client import messages
from ironworks.client.errors import APIError, ClientError, ServerUnreachable

DEFAULT_URL = "http://127.0.0.1:6385"
VERSION_HEADER = "X-OpenStack-Ironic-API-Version"
REQUEST_ID_HEADER = "X-OpenStack-Request-Id"
RETRY_STATUSES = frozenset({409, 503})

Params = Mapping[str, str | int | bool | list[str] | None]


def error_message(response: httpx.Response) -> str:
    """The server's sentence for an error response, whatever body shape it chose."""
    fallback = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        # a proxy's HTML error page says nothing useful; a short plain text might
        if text and len(text) < 300 and not text.startswith("<"):
            return text
        return fallback
    if not isinstance(body, dict):
        return fallback
    raw = body.get("error_message")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return raw.strip() or fallback
    if isinstance(raw, dict):
        for key in ("faultstring", "description", "title"):
            if isinstance(raw.get(key), str) and raw[key].strip():
                return raw[key].strip()
    for key in ("detail", "title", "message"):  # problem+json and friends
        if isinstance(body.get(key), str) and body[key].strip():
            return body[key].strip()
    return fallback


class _Transport(httpx.BaseTransport):
    """httpx's own transport, made at the first request and for TLS only when one needs it.

    httpx.Client makes its transport with a TLS context up front, loading the CA bundle: about
    a tenth of a second of a one-shot `ironworks node list` against an http:// server that
    never uses it. Here an http:// request goes through a transport whose TLS context is never
    used (the connection is plain); an https:// one through httpx's default, verifying as ever.
    """

    def __init__(self) -> None:
        self._plain: httpx.HTTPTransport | None = None
        self._tls: httpx.HTTPTransport | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "http":
            if self._plain is None:
                self._plain = httpx.HTTPTransport(verify=False)  # plain HTTP: no TLS to verify
            return self._plain.handle_request(request)
        if self._tls is None:
            self._tls = httpx.HTTPTransport()
        return self._tls.handle_request(request)

    def close(self) -> None:
        for transport in (self._plain, self._tls):
            if transport is not None:
                transport.close()


class Session:
    """One base URL, the `latest` microversion, clean errors and bounded retries."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.25,
        max_backoff: float = 4.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        token: str | None = None,
    ) -> None:
        url = url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ClientError(messages.NOT_HTTP_URL.format(url=url))
        self.url = url
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        try:
            self._http = httpx.Client(
                base_url=url,
                timeout=timeout,
                transport=transport or _Transport(),
                headers={
                    VERSION_HEADER: "latest",
                    "Accept": "application/json",
                    "User-Agent": "ironworks-client",
                    **({"Authorization": f"Bearer {token}"} if token else {}),
                },
            )
        except httpx.InvalidURL as e:
            raise ClientError(messages.UNUSABLE_URL.format(url=url, error=e)) from None

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        retry: bool = False,
    ) -> httpx.Response:
        """Send one request; raise APIError for an error status, ServerUnreachable for none.

        `body` goes as JSON; `content` as raw bytes (a file upload: give its Content-Type in
        `headers`)."""
        query = {
            k: [_param(x) for x in v] if isinstance(v, list | tuple) else _param(v)
            for k, v in (params or {}).items()
            if v is not None
        }
        kwargs: dict[str, Any] = {"params": query}
        if body is not None:
            kwargs["json"] = body
        if content is not None:
            kwargs["content"] = content
        if headers:
            kwargs["headers"] = dict(headers)
        if timeout is not None:
            kwargs["timeout"] = timeout
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TimeoutException:
                raise ServerUnreachable(
                    messages.NO_ANSWER_IN_TIME.format(url=self.url, method=method, path=path)
                ) from None
            except httpx.InvalidURL as e:
                raise ClientError(messages.BAD_REQUEST_PATH.format(path=path, error=e)) from None
            except httpx.HTTPError as e:
                raise ServerUnreachable(
                    messages.UNREACHABLE.format(url=self.url, reason=_reason(e))
                ) from None
            if response.is_success:
                return response
            if retry and response.status_code in RETRY_STATUSES and attempt < self.retries:
                self._sleep(self._delay(attempt, response))
                attempt += 1
                continue
            raise APIError(
                response.status_code,
                error_message(response),
                method=method,
                url=str(response.request.url),
                request_id=response.headers.get(REQUEST_ID_HEADER),
                body=_error_body(response),
            )

    def get(self, path: str, params: Params | None = None) -> Any:
        return _json(self.request("GET", path, params=params))

    def _delay(self, attempt: int, response: httpx.Response) -> float:
        after = response.headers.get("Retry-After", "")
        if after.isdigit():
            return min(float(after), self.max_backoff)
        base = min(self.backoff * 2**attempt, self.max_backoff)
        return base + random.uniform(0, base / 4)  # spread clients that collided


def _param(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _reason(e: httpx.HTTPError) -> str:
    text = str(e).strip()
    return text or type(e).__name__


def _error_body(response: httpx.Response) -> Any:
    """The parsed JSON of an error response (problem+json may carry details), or None."""
    try:
        return response.json()
    except ValueError:
        return None


def _json(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise ClientError(
            messages.NOT_JSON.format(
                method=response.request.method,
                url=response.request.url,
                status=response.status_code,
            )
        ) from None
