"""Talking to a node's Redfish service: one call = find the node's system, run a function on it.

`SystemAccess._run` is what every interface goes through: it takes a client from the cache
(`clients.py`), finds the node's ComputerSystem, calls the function, and turns what went wrong
into the error tree. Errors name their cause and say whether retrying can help:
* HTTP 401/403 -> `BMCAuthFailed`: "Redfish service https://10.0.0.5 rejected the credentials
  for user admin; ..." (fatal, never retried);
* connection refused, timeout, reset -> retried with backoff inside one budget
  (`redfish_timeout`, see `drivers/retry.py`), then `BMCUnreachable`: "no answer from Redfish
  service https://10.0.0.5 within 30 s (3 tries; last: connection refused) while reading the
  power state; check driver_info redfish_address and that the BMC is powered and on the
  network";
* a `redfish_system_id` the service does not have, or several systems and none chosen ->
  `BMCSettingInvalid` naming the system ids that exist; a TLS certificate that does not verify
  -> `BMCSettingInvalid` naming `redfish_verify_ca`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from ironworks.common.errors import (
    BMCAuthFailed,
    BMCSettingInvalid,
    BMCUnreachable,
    DriverError,
    NotSupported,
)
from ironworks.drivers import retry
from ironworks.drivers.base import Task
from ironworks.drivers.redfish.clients import CLIENTS
from ironworks.drivers.redfish.info import PROPERTIES, TRIES, Target, check_formats, target_of

if TYPE_CHECKING:  # sushy and requests are imported on first use (clients.py)
    import sushy

log = logging.getLogger(__name__)

T = TypeVar("T")


def _cause(exc: BaseException) -> BaseException | None:
    """The requests exception behind a sushy ConnectionError (sushy raises it in `except`)."""
    import requests

    seen = exc.__cause__ or exc.__context__
    while seen is not None and not isinstance(seen, requests.RequestException):
        seen = seen.__cause__ or seen.__context__
    return seen


def _reason(cause: BaseException | None) -> str:
    import requests

    if isinstance(cause, requests.Timeout):
        return "timed out"
    text = str(cause or "").lower()
    for needle, short in (
        ("refused", "connection refused"),
        ("reset", "connection reset"),
        ("name or service not known", "host name not found"),
        ("no route", "no route to host"),
        ("unreachable", "network unreachable"),
    ):
        if needle in text:
            return short
    return "connection failed"


class RedfishUnreachable(BMCUnreachable):
    """One try got no answer; `reason` says how (for the message after the last try)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _unreachable(target: Target, seconds: float, reason: str) -> RedfishUnreachable:
    return RedfishUnreachable(
        f"no answer from Redfish service {target.url} within {seconds:.3g} s ({reason})", reason
    )


@contextmanager
def translated(target: Target, what: str, seconds: float) -> Iterator[None]:
    """Turn sushy's and requests' exceptions into the error tree, naming service and user."""
    import requests
    from sushy import exceptions as sushy_exc

    try:
        yield
    except sushy_exc.AccessError as e:
        if target.username is None:
            raise BMCAuthFailed(
                f"Redfish service {target.url} refused a request without credentials "
                f"(HTTP {e.status_code}) while {what}; set driver_info redfish_username and "
                "redfish_password"
            ) from None
        raise BMCAuthFailed(
            f"Redfish service {target.url} rejected the credentials for user {target.username} "
            f"(HTTP {e.status_code}) while {what}; check driver_info redfish_username and "
            "redfish_password"
        ) from None
    except sushy_exc.ConnectionError as e:
        cause = _cause(e)
        if isinstance(cause, requests.exceptions.SSLError):
            found = re.search(r"certificate verify failed: ([^()]+)", str(cause))
            why = found.group(1).strip() if found else "TLS handshake failed"
            raise BMCSettingInvalid(
                f"the TLS certificate of Redfish service {target.url} could not be verified "
                f"({why}); set driver_info redfish_verify_ca to the path of its CA bundle, "
                "or to false",
                field="driver_info/redfish_verify_ca",
            ) from None
        raise _unreachable(target, seconds, _reason(cause)) from None
    except requests.exceptions.InvalidJSONError as e:  # an answer, but not Redfish
        raise DriverError(
            f"Redfish service {target.url} answered {what} with something that is not JSON: {e}"
        ) from None
    except requests.RequestException as e:  # raised outside sushy's connector
        raise _unreachable(target, seconds, _reason(e)) from None
    except sushy_exc.ResourceNotFoundError as e:
        raise DriverError(f"Redfish service {target.url} failed {what}: {e.message}") from None
    except sushy_exc.HTTPError as e:
        detail = getattr(e, "detail", None) or e.message
        if e.status_code in (405, 501):
            raise NotSupported(
                f"Redfish service {target.url} does not support {what} (HTTP {e.status_code})"
            ) from None
        if e.status_code == 503:  # busy: worth another try
            raise RedfishUnreachable(
                f"Redfish service {target.url} is unavailable (HTTP 503) while {what}: {detail}",
                "HTTP 503",
            ) from None
        raise DriverError(
            f"Redfish service {target.url} failed {what} (HTTP {e.status_code}): {detail}"
        ) from None
    except (sushy_exc.MissingAttributeError, sushy_exc.MissingActionError) as e:
        raise NotSupported(
            f"Redfish service {target.url} does not offer {what}: {e.message}"
        ) from None
    except sushy_exc.SushyError as e:
        raise DriverError(f"Redfish service {target.url}: {what} failed: {e.message}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        # firmware that bends the schema: say where, keep the traceback in the log
        log.warning(
            "Redfish service %s: unexpected answer while %s", target.url, what, exc_info=True
        )
        raise DriverError(
            f"Redfish service {target.url} gave an answer Ironworks cannot read while {what}: {e!r}"
        ) from None


def _ids(paths: list[str]) -> list[str]:
    return [p.rstrip("/").rsplit("/", 1)[-1] for p in paths]


def _listing(ids: list[str], limit: int = 10) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def find_system(root: sushy.Sushy, target: Target) -> Any:
    """The node's ComputerSystem, or BMCSettingInvalid naming the systems that exist."""
    from sushy import exceptions as sushy_exc

    field = "driver_info/redfish_system_id"
    collection = root.get_system_collection()
    members = list(collection.members_identities)
    if target.system_id is None:
        if len(members) == 1:
            return root.get_system(members[0])
        listed = f" ({_listing(_ids(members))})" if members else ""
        raise BMCSettingInvalid(
            f"Redfish service {target.url} manages {len(members)} systems{listed}; set "
            "driver_info redfish_system_id to the node's",
            field=field,
        )
    sid = target.system_id
    path = sid if sid.startswith("/") else f"{collection.path.rstrip('/')}/{sid}"
    try:
        return root.get_system(path)
    except sushy_exc.ResourceNotFoundError:
        raise BMCSettingInvalid(
            f"Redfish service {target.url} has no system {sid!r}; the systems it has are: "
            f"{_listing(_ids(members)) or 'none'} (driver_info redfish_system_id)",
            field=field,
        ) from None


class SystemAccess:
    """Shared by the three interfaces: declared properties and access to the system."""

    properties = PROPERTIES

    def check_formats(self, task: Task) -> None:
        check_formats(task.driver_info)

    def _run(
        self,
        task: Task,
        what: str,
        fn: Callable[[Any], T],
        *,
        landed: Callable[[Any], T | None] | None = None,
        budget: float | None = None,
    ) -> T:
        """Find the system and return fn(system): errors translated, tries retried.

        All tries share one budget (redfish_timeout unless `budget` says less). `landed(system)`
        is asked before a change is sent again after a lost answer: a result means it happened.
        """
        target = target_of(task)
        limit = budget if budget is not None else target.timeout
        last: list[str] = []

        def on(seconds: float, body: Callable[[Any], T]) -> T:
            try:
                with translated(target, what, seconds), CLIENTS.checkout(target, seconds) as root:
                    return body(find_system(root, target))
            except RedfishUnreachable as e:
                last.append(e.reason)
                raise

        def exhausted(tries: int) -> BMCUnreachable:
            plural = "try" if tries == 1 else "tries"
            why = f"; last: {last[-1]}" if last else ""
            return BMCUnreachable(
                f"no answer from Redfish service {target.url} within {limit:.3g} s "
                f"({tries} {plural}{why}) while {what}; check driver_info redfish_address and "
                "that the BMC is powered and on the network"
            )

        policy = retry.RetryPolicy(timeout=limit, tries=TRIES)
        check = landed
        return retry.call(
            lambda seconds: on(seconds, fn),
            policy,
            exhausted=exhausted,
            landed=None if check is None else (lambda seconds: on(seconds, check)),
        )
