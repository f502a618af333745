"""`redfish`: servers whose BMC speaks Redfish (DMTF's REST API over HTTPS), through sushy.

Connection model: every operation opens its own sushy client for the node's service (one GET
of the service root, plus a session POST when session auth is used), finds the node's
ComputerSystem, does its work and drops the client. Nothing is cached between calls, so a
changed password or address takes effect on the next call and threads never share a client.

Errors name their cause and say whether retrying can help:
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

Power changes are verified: after the Reset action the system's PowerState is polled until it
reads the target or the timeout passes (BMCs, and sushy-tools' emulator, apply a reset seconds
after accepting it).

Inspection is out of band: it reads ProcessorSummary/Processors (cpus, cpu_arch),
MemorySummary (memory_mb), SimpleStorage and Storage drives/volumes (local_gb: the largest
disk, whole GiB) and EthernetInterfaces. Their MAC addresses are returned inside the
properties under `MACS_KEY` ("_macs", sorted, lower case) until the inspect step learns to
turn them into ports.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import sushy
from sushy import auth as sushy_auth
from sushy import connector as sushy_connector
from sushy import exceptions as sushy_exc

from ironworks.common.errors import (
    BMCAuthFailed,
    BMCSettingInvalid,
    BMCUnreachable,
    DriverError,
    InvalidInput,
    NotSupported,
)
from ironworks.drivers import base, retry
from ironworks.drivers.base import Prop, Task
from ironworks.drivers.fake import FakeBoot, FakeDeploy

log = logging.getLogger(__name__)

T = TypeVar("T")

# Where inspection puts the MAC addresses it found (see the module docstring).
MACS_KEY = "_macs"

DEFAULT_TIMEOUT = 30.0  # seconds one call may take, all its tries included
TRIES = 3
DEFAULT_POWER_TIMEOUT = 60.0  # seconds a power change may take when the caller gives none
POLL_INTERVAL = 1.0  # seconds between power-state reads while verifying

AUTH_TYPES = ("auto", "basic", "session")
_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})

PROPERTIES = (
    Prop(
        "redfish_address",
        "Redfish service of the BMC: a URL (https://10.0.0.5, http://bmc.example:8000) or "
        "host[:port], which means HTTPS.",
        required=True,
    ),
    Prop(
        "redfish_system_id",
        "The node's ComputerSystem: its Id (e.g. 1) or path (/redfish/v1/Systems/1). Required "
        "when the service manages more than one system.",
    ),
    Prop("redfish_username", "User name on the Redfish service."),
    Prop("redfish_password", "Password of redfish_username.", secret=True),
    Prop(
        "redfish_verify_ca",
        "true (default): verify the service's TLS certificate against the system's CAs; "
        "false: do not verify; or the path of a CA bundle file or directory on the conductor.",
    ),
    Prop(
        "redfish_auth_type",
        "basic, session, or auto (default: open a Redfish session, fall back to basic).",
    ),
    Prop(
        "redfish_timeout",
        "Seconds one call to the Redfish service may take, its retries included (default "
        f"{DEFAULT_TIMEOUT:g}, over up to {TRIES} tries).",
    ),
)


# --- driver_info ---------------------------------------------------------------------------------


def _bad(key: str, message: str) -> InvalidInput:
    return InvalidInput(f"driver_info/{key} {message}", field=f"driver_info/{key}")


def parse_address(raw: Any) -> str:
    """The service's base URL (scheme://host[:port]) from a URL or host[:port]."""
    if not isinstance(raw, str) or not raw.strip():
        raise _bad("redfish_address", f"must be a URL or host[:port], not {raw!r}")
    text = raw.strip()
    parts = urlsplit(text if "://" in text else f"https://{text}")
    try:
        port = parts.port
    except ValueError:
        raise _bad("redfish_address", f"has an invalid port: {raw!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad("redfish_address", f"must be an http(s) URL or host[:port], not {raw!r}")
    if parts.username or parts.password:
        raise _bad(
            "redfish_address",
            "must not carry credentials; set redfish_username and redfish_password",
        )
    if parts.path.rstrip("/") not in ("", "/redfish/v1") or parts.query or parts.fragment:
        raise _bad(
            "redfish_address", f"must name the service only (scheme://host[:port]), not {raw!r}"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def parse_verify_ca(raw: Any) -> bool | str:
    if raw is None or raw == "":
        return True
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        low = raw.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        if os.path.isabs(raw):
            return raw
    raise _bad(
        "redfish_verify_ca",
        f"must be true, false or the absolute path of a CA bundle, not {raw!r}",
    )


def parse_timeout(raw: Any) -> float:
    if raw is None or raw == "":
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1.0
    if isinstance(raw, bool) or not math.isfinite(value) or value <= 0:
        raise _bad("redfish_timeout", f"must be a positive number of seconds, not {raw!r}")
    return value


def parse_auth_type(raw: Any) -> str:
    if raw is None or raw == "":
        return "auto"
    if raw not in AUTH_TYPES:
        raise _bad("redfish_auth_type", f"must be one of {', '.join(AUTH_TYPES)}, not {raw!r}")
    return raw


def _optional_str(info: dict[str, Any], key: str) -> str | None:
    value = info.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad(key, f"must be a string, not {value!r}")
    return value


def parse_system_id(info: dict[str, Any]) -> str | None:
    system_id = _optional_str(info, "redfish_system_id")
    if system_id is not None and any(c.isspace() for c in system_id):
        raise _bad("redfish_system_id", f"must be an Id or a path, not {system_id!r}")
    return system_id


@dataclass(frozen=True)
class Target:
    """A node's Redfish service and system, as driver_info describes them."""

    url: str
    system_id: str | None
    username: str | None
    password: str | None
    verify: bool | str
    auth_type: str
    timeout: float

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> Target:
        return cls(
            url=parse_address(info.get("redfish_address")),
            system_id=parse_system_id(info),
            username=_optional_str(info, "redfish_username"),
            password=_optional_str(info, "redfish_password"),
            verify=parse_verify_ca(info.get("redfish_verify_ca")),
            auth_type=parse_auth_type(info.get("redfish_auth_type")),
            timeout=parse_timeout(info.get("redfish_timeout")),
        )


def check_formats(info: dict[str, Any]) -> None:
    """Check the redfish_* values present; absent ones are `validate`'s business."""
    if info.get("redfish_address") not in (None, ""):
        parse_address(info["redfish_address"])
    parse_system_id(info)
    for key in ("redfish_username", "redfish_password"):
        _optional_str(info, key)
    parse_verify_ca(info.get("redfish_verify_ca"))
    parse_auth_type(info.get("redfish_auth_type"))
    parse_timeout(info.get("redfish_timeout"))


def target_of(task: Task) -> Target:
    target = Target.from_info(task.driver_info)
    if isinstance(target.verify, str) and not os.path.exists(target.verify):
        raise _bad("redfish_verify_ca", f"names {target.verify}, which does not exist here")
    return target


# --- talking to the service ----------------------------------------------------------------------


def _cause(exc: BaseException) -> BaseException | None:
    """The requests exception behind a sushy ConnectionError (sushy raises it in `except`)."""
    seen = exc.__cause__ or exc.__context__
    while seen is not None and not isinstance(seen, requests.RequestException):
        seen = seen.__cause__ or seen.__context__
    return seen


def _reason(cause: BaseException | None) -> str:
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
        log.warning("Redfish service %s: unexpected answer while %s", target.url, what,
                    exc_info=True)  # fmt: skip
        raise DriverError(
            f"Redfish service {target.url} gave an answer Ironworks cannot read while {what}: {e!r}"
        ) from None


def _auth(target: Target) -> sushy_auth.AuthBase:
    kind = {
        "basic": sushy_auth.BasicAuth,
        "session": sushy_auth.SessionAuth,
        "auto": sushy_auth.SessionOrBasicAuth,
    }[target.auth_type]
    # requests would send the text "None" for a missing user name or password
    return kind(username=target.username or "", password=target.password or "")


def connect(target: Target, seconds: float) -> sushy.Sushy:
    """A sushy client whose every HTTP request waits at most `seconds`."""
    # One attempt per request (server_side_retries=1 turns off sushy's loop over connection
    # errors): tries and backoff belong to drivers/retry.py, which keeps them inside one budget.
    conn = sushy_connector.Connector(
        target.url, verify=target.verify, server_side_retries=1,
        server_side_retries_delay=0.5, default_request_timeout=seconds,
    )  # fmt: skip
    return sushy.Sushy(target.url, verify=target.verify, auth=_auth(target), connector=conn)


def _ids(paths: list[str]) -> list[str]:
    return [p.rstrip("/").rsplit("/", 1)[-1] for p in paths]


def _listing(ids: list[str], limit: int = 10) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def find_system(root: sushy.Sushy, target: Target) -> Any:
    """The node's ComputerSystem, or BMCSettingInvalid naming the systems that exist."""
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


class _Redfish:
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
        """Connect, find the system and return fn(system): errors translated, tries retried.

        All tries share one budget (redfish_timeout unless `budget` says less). `landed(system)`
        is asked before a change is sent again after a lost answer: a result means it happened.
        """
        target = target_of(task)
        limit = budget if budget is not None else target.timeout
        last: list[str] = []

        def on(seconds: float, body: Callable[[Any], T]) -> T:
            try:
                with translated(target, what, seconds):
                    return body(find_system(connect(target, seconds), target))
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


# --- power ---------------------------------------------------------------------------------------

_POWER_STATES = {
    sushy.PowerState.ON: base.POWER_ON,
    sushy.PowerState.POWERING_OFF: base.POWER_ON,  # still on until it is off
    sushy.PowerState.OFF: base.POWER_OFF,
    sushy.PowerState.POWERING_ON: base.POWER_OFF,  # still off until it is on
}


def power_state_of(system: Any) -> str:
    return _POWER_STATES.get(system.power_state, base.POWER_ERROR)


class RedfishPower(_Redfish, base.PowerInterface):
    name = "redfish"

    def get_power_state(self, task: Task) -> str:
        return self._run(task, "reading the power state", power_state_of)

    def supported_power_states(self, task: Task) -> list[str]:
        return [base.POWER_ON, base.POWER_OFF, base.REBOOT, base.SOFT_POWER_OFF, base.SOFT_REBOOT]

    def set_power_state(self, task: Task, state: str, timeout: float | None = None) -> str:
        reset = {
            base.POWER_ON: sushy.ResetType.ON,
            base.POWER_OFF: sushy.ResetType.FORCE_OFF,
            base.SOFT_POWER_OFF: sushy.ResetType.GRACEFUL_SHUTDOWN,
        }.get(state)
        if reset is None:
            raise InvalidInput(f"the redfish power interface cannot set {state!r}", field="target")
        want = base.POWER_OFF if state == base.SOFT_POWER_OFF else state
        limit = timeout or DEFAULT_POWER_TIMEOUT
        deadline = time.monotonic() + limit

        def act(system: Any) -> bool:
            if power_state_of(system) == want:
                return False  # nothing to do; some BMCs refuse "On" when on
            system.reset_system(reset)
            return True

        def landed(system: Any) -> bool | None:
            return True if power_state_of(system) == want else None

        self._run(task, f"requesting {state}", act, landed=landed)
        return self._wait_for(task, want, deadline, limit)

    def reboot(self, task: Task, timeout: float | None = None, soft: bool = False) -> str:
        limit = timeout or DEFAULT_POWER_TIMEOUT
        deadline = time.monotonic() + limit

        def act(system: Any) -> str:
            if power_state_of(system) == base.POWER_OFF:
                system.reset_system(sushy.ResetType.ON)
                return "on"
            if not soft:
                system.reset_system(sushy.ResetType.FORCE_RESTART)
                return "restart"
            if sushy.ResetType.GRACEFUL_RESTART in system.get_allowed_reset_system_values():
                system.reset_system(sushy.ResetType.GRACEFUL_RESTART)
                return "restart"
            system.reset_system(sushy.ResetType.GRACEFUL_SHUTDOWN)
            return "shutdown"

        # No `landed` check: a restart leaves no trace to read, so a lost answer means one more
        # restart at worst, which is what the operator asked for anyway.
        done = self._run(task, "requesting a soft reboot" if soft else "requesting a reboot", act)
        if done == "shutdown":  # no GracefulRestart on this BMC: shut down, then power on
            self._wait_for(task, base.POWER_OFF, deadline, limit)
            self._run(
                task, "requesting power on", lambda s: s.reset_system(sushy.ResetType.ON),
                landed=lambda s: True if power_state_of(s) == base.POWER_ON else None,
            )  # fmt: skip
        return self._wait_for(task, base.POWER_ON, deadline, limit)

    def _wait_for(self, task: Task, want: str, deadline: float, limit: float) -> str:
        """Poll the system's PowerState until it reads `want`; DriverError after `limit`."""
        target = target_of(task)
        last = "unknown"
        while True:
            left = deadline - time.monotonic()
            try:
                last = self._run(
                    task, "reading the power state", power_state_of,
                    budget=max(1.0, min(target.timeout, left)),
                )  # fmt: skip
                if last == want:
                    return last
            except BMCUnreachable as e:  # BMCs often drop requests while they reset
                log.info("node %s: %s; still waiting for %s", task.uuid, e.message, want)
            left = deadline - time.monotonic()
            if left <= 0:
                raise DriverError(
                    f"Redfish service {target.url} accepted the request for {want} but the "
                    f"system still reads {last} after {limit:g} s; raise the timeout or look "
                    "at the server"
                )
            time.sleep(min(POLL_INTERVAL, left))


# --- management ----------------------------------------------------------------------------------

BOOT_TARGETS = {
    "pxe": sushy.BootSource.PXE,
    "disk": sushy.BootSource.HDD,
    "cdrom": sushy.BootSource.CD,
    "bios": sushy.BootSource.BIOS_SETUP,
    "uefi http": sushy.BootSource.UEFI_HTTP,
}
_DEVICE_OF = {v: k for k, v in BOOT_TARGETS.items()}
BOOT_MODES = {
    "uefi": sushy.BootSourceOverrideMode.UEFI,
    "bios": sushy.BootSourceOverrideMode.LEGACY,
}
_MODE_OF = {v: k for k, v in BOOT_MODES.items()}


class RedfishManagement(_Redfish, base.ManagementInterface):
    name = "redfish"

    def get_supported_boot_devices(self, task: Task) -> list[str]:
        return list(BOOT_TARGETS)

    def get_boot_device(self, task: Task) -> dict[str, Any]:
        def read(system: Any) -> dict[str, Any]:
            boot = system.boot
            if boot.enabled in (None, sushy.BootSourceOverrideEnabled.DISABLED):
                return {"boot_device": None, "persistent": None}
            return {
                "boot_device": _DEVICE_OF.get(boot.target),
                "persistent": boot.enabled == sushy.BootSourceOverrideEnabled.CONTINUOUS,
            }

        return self._run(task, "reading the boot device", read)

    def set_boot_device(
        self, task: Task, device: str, persistent: bool = False
    ) -> dict[str, Any] | None:
        source = BOOT_TARGETS.get(device)
        if source is None:
            raise InvalidInput(
                f"boot_device {device!r} is not supported; use one of {', '.join(BOOT_TARGETS)}",
                field="boot_device",
            )
        enabled = (
            sushy.BootSourceOverrideEnabled.CONTINUOUS
            if persistent
            else sushy.BootSourceOverrideEnabled.ONCE
        )

        def landed(system: Any) -> bool | None:
            boot = system.boot
            return True if (boot.target, boot.enabled) == (source, enabled) else None

        def act(system: Any) -> bool:
            allowed = system.get_allowed_system_boot_source_values()
            if source not in allowed:
                names = sorted(_DEVICE_OF.get(s, s.value) for s in allowed)
                raise InvalidInput(
                    f"the Redfish system does not offer boot device {device!r}; it offers "
                    f"{', '.join(names)}",
                    field="boot_device",
                )
            system.set_system_boot_options(source, enabled=enabled)
            return True

        self._run(task, f"setting the boot device to {device}", act, landed=landed)
        return None

    def get_boot_mode(self, task: Task) -> str | None:
        """The boot mode the BMC reports ("uefi" or "bios"), None when it does not say."""
        return self._run(
            task, "reading the boot mode", lambda s: _MODE_OF.get(s.boot.mode) if s.boot else None
        )

    def set_boot_mode(self, task: Task, mode: str) -> None:
        value = BOOT_MODES.get(mode)
        if value is None:
            raise InvalidInput(
                f"boot mode {mode!r} is not supported; use one of {', '.join(BOOT_MODES)}",
                field="boot_mode",
            )
        self._run(task, f"setting the boot mode to {mode}",
                  lambda s: s.set_system_boot_options(mode=value))  # fmt: skip

    def inject_nmi(self, task: Task) -> None:
        def act(system: Any) -> None:
            if sushy.ResetType.NMI not in system.get_allowed_reset_system_values():
                raise NotSupported("the Redfish system does not offer NMI in its Reset action")
            system.reset_system(sushy.ResetType.NMI)

        self._run(task, "injecting an NMI", act)

    def get_sensors_data(self, task: Task) -> dict[str, Any]:
        return self._run(task, "reading sensors", sensors_of)


def _reading(value: Any, unit: str) -> str:
    return f"{value} {unit}" if value is not None else "N/A"


def _health(item: dict[str, Any]) -> dict[str, Any]:
    status = item.get("Status") or {}
    return {"State": status.get("State"), "Health": status.get("Health")}


def sensors_of(system: Any) -> dict[str, dict[str, Any]]:
    """Temperatures, fans, power supplies and voltages of the system's chassis, by name.

    Keys are "<sensor name>@<chassis id>" so two chassis never overwrite each other.
    """
    out: dict[str, dict[str, Any]] = {"Temperature": {}, "Fan": {}, "Power": {}, "Voltage": {}}
    for chassis in system.chassis:
        where = chassis.identity
        if chassis.thermal_data:
            thermal = chassis.thermal.json
            for t in thermal.get("Temperatures") or []:
                out["Temperature"][f"{t.get('Name')}@{where}"] = {
                    "Sensor Reading": _reading(t.get("ReadingCelsius"), "degrees C"),
                    **_health(t),
                }
            for f in thermal.get("Fans") or []:
                name = f.get("Name") or f.get("FanName")
                out["Fan"][f"{name}@{where}"] = {
                    "Sensor Reading": _reading(f.get("Reading"), f.get("ReadingUnits") or "RPM"),
                    **_health(f),
                }
        if chassis.power_data:
            power = chassis.power.json
            for p in power.get("PowerSupplies") or []:
                out["Power"][f"{p.get('Name')}@{where}"] = {
                    "Sensor Reading": _reading(p.get("LastPowerOutputWatts"), "W"),
                    **_health(p),
                }
            for v in power.get("Voltages") or []:
                out["Voltage"][f"{v.get('Name')}@{where}"] = {
                    "Sensor Reading": _reading(v.get("ReadingVolts"), "Volts"),
                    **_health(v),
                }
    return {kind: found for kind, found in out.items() if found}


# --- inspection ----------------------------------------------------------------------------------

_ARCH = {
    "x86-64": "x86_64",
    "x86": "i686",
    "ARM-A64": "aarch64",
    "ARM-A32": "armv7l",
    "IA-64": "ia64",
    "PowerISA": "ppc64le",
    "MIPS64": "mips64",
}

_ABSENT = (sushy_exc.MissingAttributeError, sushy_exc.ResourceNotFoundError)


def _optional(read: Callable[[], T], what: str) -> T | None:
    """A resource the service may not have: None when absent (404 or no link)."""
    try:
        return read()
    except _ABSENT:
        return None
    except sushy_exc.HTTPError as e:
        if e.status_code in (404, 405, 500, 501):  # emulators answer 500 for unset storage
            log.info("inspection: %s unavailable (HTTP %s); skipped", what, e.status_code)
            return None
        raise


def inventory_of(system: Any) -> dict[str, Any]:
    """What the BMC tells about the hardware; keys it cannot answer are left out."""
    found: dict[str, Any] = {}
    body = system.json
    processors = _optional(lambda: system.processors.get_members(), "processors") or []
    cpus = [p for p in processors if (p.json.get("ProcessorType") or "CPU") == "CPU"]
    if cpus:
        found["cpus"] = sum(p.json.get("TotalThreads") or p.json.get("TotalCores") or 1
                            for p in cpus)  # fmt: skip
        arch = {_ARCH.get(p.json.get("InstructionSet") or "") for p in cpus} - {None}
        if len(arch) == 1:
            found["cpu_arch"] = arch.pop()
    elif (body.get("ProcessorSummary") or {}).get("LogicalProcessorCount"):
        found["cpus"] = body["ProcessorSummary"]["LogicalProcessorCount"]
    elif (body.get("ProcessorSummary") or {}).get("Count"):
        found["cpus"] = body["ProcessorSummary"]["Count"]
    memory_gib = (body.get("MemorySummary") or {}).get("TotalSystemMemoryGiB")
    if memory_gib:
        found["memory_mb"] = int(memory_gib * 1024)
    disks: list[int] = []
    simple = _optional(lambda: system.simple_storage, "simple storage")
    if simple is not None:
        disks += _optional(lambda: list(simple.disks_sizes_bytes), "simple storage disks") or []
    storage = _optional(lambda: system.storage, "storage")
    if storage is not None:
        disks += _optional(lambda: list(storage.drives_sizes_bytes), "storage drives") or []
        disks += _optional(lambda: list(storage.volumes_sizes_bytes), "storage volumes") or []
    disks = [d for d in disks if d]
    if disks:
        found["local_gb"] = max(disks) // 2**30
    nics = _optional(lambda: system.ethernet_interfaces.get_members(), "ethernet interfaces")
    macs = {(n.mac_address or n.permanent_mac_address or "").lower() for n in nics or []}
    found[MACS_KEY] = sorted(m for m in macs if m)
    return found


class RedfishInspect(_Redfish, base.InspectInterface):
    name = "redfish"

    def inspect_hardware(self, task: Task) -> tuple[base.StepResult, dict[str, Any]]:
        found = self._run(task, "inspecting the hardware", inventory_of)
        # inspection fills what is unknown and never overwrites what the operator set; the
        # MACs are not the operator's: they are always the ones just found
        return "done", {**found, **(task.node.get("properties") or {}), MACS_KEY: found[MACS_KEY]}


class RedfishHardware(base.HardwareType):
    name = "redfish"
    interfaces = {
        "bios": (base.NoBIOS,),
        # #4: PXE boot and the agent deploy come with the provisioning issue; until then a lab
        # may pick the fake ones to walk the whole lifecycle with real power.
        "boot": (base.NoBoot, FakeBoot),
        "console": (base.NoConsole,),
        "deploy": (base.NoDeploy, FakeDeploy),
        "firmware": (base.NoFirmware,),
        "inspect": (RedfishInspect, base.NoInspect),
        "management": (RedfishManagement,),
        "network": (base.FlatNetwork, base.NoopNetwork),
        "power": (RedfishPower,),
        "raid": (base.NoRAID,),
        "rescue": (base.NoRescue,),
        "storage": (base.NoopStorage,),
        "vendor": (base.NoVendor,),
    }
