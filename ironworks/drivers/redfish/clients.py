"""Opening sushy clients, and keeping idle ones for a short while so calls to one BMC reuse them.

Opening a client costs a GET of the service root, and with session auth a session POST (and a
DELETE when the client goes). Power sync reads every node's power state on a schedule, and
verifying a power change reads it once a second, so a client that finished a call is parked in
`CLIENTS` for up to `IDLE` seconds and the next call to the same service takes it back.

Clients are keyed by everything they are opened with: (address, username, password, verify_ca,
auth_type) (`Target.client_key`). A changed password or address is another key, so the next
call opens a new client at once; the old one expires unused.

A client is checked out for one call and put back after it, so threads never share a client
(neither requests' Session nor sushy's session refresh is meant for that). Two calls to one
service at once open a second client; up to `PER_KEY` idle clients are kept per key and `SIZE`
in all, the least recently used going first.

A client goes back only after a call in which the service answered: success, an HTTP error
other than 401/403, or an error the driver raised after reading (a system id that does not
exist, a boot device not offered). After a connection failure it is dropped (the next try opens
a fresh one); after 401/403 every idle client of that key is dropped too, since the credentials
no longer work whichever client presents them.

Dropping a client lets sushy close it (its `__del__` logs out of the Redfish session): an HTTP
call, so clients are dropped outside the cache's lock.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from ironworks.common.errors import BMCAuthFailed, BMCUnreachable, IronworksError
from ironworks.drivers.redfish.info import Target

if TYPE_CHECKING:  # sushy (with requests and stevedore) is imported on the first client
    import sushy

IDLE = 60.0  # seconds an unused client is kept
PER_KEY = 4  # idle clients kept per service and credentials
SIZE = 1024  # idle clients kept in all (each may hold an open connection)


@cache
def _connector_class() -> type[Any]:
    """sushy's connector whose request timeout can change between calls (one per try); built
    on first use so that a process without Redfish nodes never imports sushy (~9 MiB)."""
    from sushy import connector as sushy_connector

    class _Connector(sushy_connector.Connector):  # type: ignore[misc]
        def set_timeout(self, seconds: float) -> None:
            self._default_request_timeout = seconds

    return _Connector


_Connector = Any  # an instance of _connector_class()


def _auth(target: Target) -> Any:
    from sushy import auth as sushy_auth

    kind = {
        "basic": sushy_auth.BasicAuth,
        "session": sushy_auth.SessionAuth,
        "auto": sushy_auth.SessionOrBasicAuth,
    }[target.auth_type]
    # requests would send the text "None" for a missing user name or password
    return kind(username=target.username or "", password=target.password or "")


def _open(target: Target, seconds: float) -> tuple[sushy.Sushy, _Connector]:
    # One attempt per request (server_side_retries=1 turns off sushy's loop over connection
    # errors): tries and backoff belong to drivers/retry.py, which keeps them inside one budget.
    import sushy

    conn = _connector_class()(
        target.url,
        verify=target.verify,
        server_side_retries=1,
        server_side_retries_delay=0.5,
        default_request_timeout=seconds,
    )
    root = sushy.Sushy(target.url, verify=target.verify, auth=_auth(target), connector=conn)
    return root, conn


def connect(target: Target, seconds: float) -> sushy.Sushy:
    """A new sushy client whose every HTTP request waits at most `seconds` (never cached)."""
    return _open(target, seconds)[0]


@dataclass
class _Idle:
    root: sushy.Sushy
    conn: _Connector
    since: float


Key = tuple[Any, ...]


class ClientCache:
    """Idle sushy clients by service and credentials; see the module docstring."""

    def __init__(
        self,
        idle: float = IDLE,
        per_key: int = PER_KEY,
        size: int = SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle, self.per_key, self.size, self._clock = idle, per_key, size, clock
        self._lock = threading.Lock()
        # least recently used key first; each list newest last
        self._entries: OrderedDict[Key, list[_Idle]] = OrderedDict()
        self._count = 0  # idle clients in all
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return self._count

    @contextmanager
    def checkout(self, target: Target, seconds: float) -> Iterator[sushy.Sushy]:
        """A client for `target` (cached or new) whose requests wait at most `seconds`.

        sushy's exceptions pass through unchanged; they decide whether the client goes back.
        """
        from sushy import exceptions as sushy_exc

        key = target.client_key
        entry = self._take(key)
        if entry is None:
            try:
                root, conn = _open(target, seconds)
            except sushy_exc.AccessError:
                self.evict(key)
                raise
        else:
            root, conn = entry.root, entry.conn
            conn.set_timeout(seconds)
            del entry
        keep = False
        try:
            yield root
            keep = True
        except sushy_exc.AccessError:
            self.evict(key)
            raise
        except (sushy_exc.HTTPError, IronworksError) as e:
            keep = not isinstance(e, (BMCUnreachable, BMCAuthFailed))  # the service answered
            raise
        finally:
            if keep:
                self._put(key, root, conn)
            del root, conn  # a dropped client closes now, not when the traceback goes

    def evict(self, key: Key) -> None:
        """Forget every idle client of `key`."""
        with self._lock:
            dropped = self._entries.pop(key, [])
            self._count -= len(dropped)
        del dropped  # outside the lock: closing a client may be an HTTP call

    def clear(self) -> None:
        with self._lock:
            dropped = list(self._entries.values())
            self._entries.clear()
            self._count = 0
        del dropped

    def _take(self, key: Key) -> _Idle | None:
        with self._lock:
            dropped = self._expire()
            found = self._entries.get(key, [])
            cutoff = self._clock() - self.idle
            stale = 0
            while found and found[0].since <= cutoff:  # not swept yet
                dropped.append(found.pop(0))
                stale += 1
            entry = found.pop() if found else None
            self._count -= stale + (entry is not None)
            if not found:
                self._entries.pop(key, None)
        del dropped
        return entry

    def _put(self, key: Key, root: sushy.Sushy, conn: _Connector) -> None:
        with self._lock:
            dropped = self._expire()
            found = self._entries.setdefault(key, [])
            found.append(_Idle(root, conn, self._clock()))
            self._entries.move_to_end(key)
            self._count += 1
            if len(found) > self.per_key:
                dropped.append(found.pop(0))
                self._count -= 1
            while self._count > self.size:
                oldest_key, oldest = next(iter(self._entries.items()))
                dropped.append(oldest.pop(0))
                self._count -= 1
                if not oldest:
                    del self._entries[oldest_key]
        del dropped

    def _expire(self) -> list[_Idle]:
        """Take out the clients idle for longer than `idle`; the caller drops them unlocked.

        A full sweep at most once a second keeps a call's cost flat however many are cached.
        """
        now = self._clock()
        if now < self._next_sweep:
            return []
        self._next_sweep = now + 1.0
        cutoff = now - self.idle
        dropped: list[_Idle] = []
        for key in list(self._entries):
            found = self._entries[key]
            while found and found[0].since <= cutoff:
                dropped.append(found.pop(0))
            if not found:
                del self._entries[key]
        self._count -= len(dropped)
        return dropped


# The conductor's one cache: every Redfish interface of every node takes its clients here.
CLIENTS = ClientCache()
