"""The agent's side of the agent API: JSON over HTTP with urllib, and its retry rules.

Connection errors and 5xx replies are retried forever with exponential backoff (1 s doubling to
30 s, each wait jittered by ±20 %): the server may be restarting, and the agent has nothing
better to do. 4xx replies are never retried here; `lookup` alone waits and asks again after a
404 (not enrolled yet) or a 409 (not waiting for an agent, or the token is already out), every
30 s. A 401 on heartbeat raises `TokenRejected` so the caller drops its token and looks up again.

Waiting goes through `wait(seconds) -> bool` (True means "stop now"), so the agent's stop event
ends a retry loop at once and tests can record the delays.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, cast

from ironworks_agent import protocol

log = logging.getLogger("ironworks_agent.client")

REQUEST_TIMEOUT = 30.0


class Stopped(Exception):
    """The agent was asked to stop while waiting."""


class ApiError(Exception):
    """The server answered with a 4xx we do not retry."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"the server answered {status}: {detail}")
        self.status = status
        self.detail = detail


class TokenRejected(ApiError):
    """401: the token is bad or stale (the node booted another ramdisk since)."""


class Backoff:
    """Delays for one run of failures: 1, 2, 4, ... capped at 30 s, each jittered by ±20 %."""

    def __init__(
        self,
        first: float = protocol.BACKOFF_FIRST_SECONDS,
        cap: float = protocol.BACKOFF_MAX_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        self.first, self.cap = first, cap
        self.rng = rng or random.Random()
        self.current = first

    def next(self) -> float:
        delay = self.current * self.rng.uniform(0.8, 1.2)
        self.current = min(self.current * 2, self.cap)
        return min(delay, self.cap)


def _detail(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode(errors="replace").strip()[:200] or "no detail"
    if isinstance(data, dict):
        return str(data.get("detail") or data.get("title") or data)[:200]
    return str(data)[:200]


class AgentClient:
    """Speaks to one Ironworks server (`api` is its base URL, e.g. `http://10.99.0.1:8080`)."""

    def __init__(
        self,
        api: str,
        wait: Callable[[float], bool] | None = None,
        lookup_retry: float = protocol.LOOKUP_RETRY_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        self.api = api.rstrip("/")
        self.wait = wait or threading.Event().wait
        self.lookup_retry = lookup_retry
        self.rng = rng

    def _sleep(self, seconds: float) -> None:
        if self.wait(seconds):
            raise Stopped

    def _once(self, path: str, body: object, token: str | None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers[protocol.TOKEN_HEADER] = token
        req = urllib.request.Request(
            self.api + path, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            with e:
                return e.code, e.read()

    def post(self, path: str, body: object, token: str | None = None) -> dict[str, Any]:
        """POST JSON and return the JSON reply; retries 5xx and connection errors, raises 4xx."""
        backoff = Backoff(rng=self.rng)
        while True:
            try:
                status, data = self._once(path, body, token)
            except (OSError, http.client.HTTPException) as e:
                reason = getattr(e, "reason", e)
                delay = backoff.next()
                log.warning(
                    "%s: cannot reach %s (%s); retrying in %.1f s", path, self.api, reason, delay
                )
                self._sleep(delay)
                continue
            if status >= 500:
                delay = backoff.next()
                log.warning(
                    "%s: server error %d (%s); retrying in %.1f s",
                    path,
                    status,
                    _detail(data),
                    delay,
                )
                self._sleep(delay)
                continue
            if status == 401:
                raise TokenRejected(status, _detail(data))
            if status >= 400:
                raise ApiError(status, _detail(data))
            try:
                reply = json.loads(data) if data else {}
            except ValueError:
                reply = None
            if not isinstance(reply, dict):
                delay = backoff.next()
                log.warning("%s: the reply is not a JSON object; retrying in %.1f s", path, delay)
                self._sleep(delay)
                continue
            return reply

    def lookup(self, request: protocol.LookupRequest) -> protocol.LookupResponse:
        """Find our node by MAC; waits out 404 and 409 (every 30 s) until the server says yes."""
        while True:
            try:
                reply = self.post(protocol.LOOKUP_PATH, request)
            except ApiError as e:
                if e.status not in (404, 409):
                    raise
                log.info("lookup: %s; asking again in %.0f s", e.detail, self.lookup_retry)
                self._sleep(self.lookup_retry)
                continue
            if not reply.get("token") or not reply.get("node_uuid"):
                log.warning("lookup: the reply has no token or node_uuid; asking again")
                self._sleep(self.lookup_retry)
                continue
            return cast(protocol.LookupResponse, reply)

    def heartbeat(
        self, token: str, request: protocol.HeartbeatRequest
    ) -> protocol.HeartbeatResponse:
        """One heartbeat; raises TokenRejected on 401."""
        reply = self.post(protocol.HEARTBEAT_PATH, request, token=token)
        reply.setdefault("commands", [])
        reply.setdefault("ack", [])
        return cast(protocol.HeartbeatResponse, reply)
