"""What a node's driver_info says about its Redfish service, declared and parsed once.

`PROPERTIES` feeds validation, `/v1/drivers/redfish/properties`, CLI help and secret masking;
`check_formats` refuses malformed values when a node is created or updated; `target_of` turns a
task's driver_info into a `Target`, the one value the rest of the driver works from.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ironworks.common.errors import InvalidInput
from ironworks.drivers.base import Prop, Task

DEFAULT_TIMEOUT = 30.0  # seconds one call may take, all its tries included
TRIES = 3

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
    password: str | None = field(repr=False)  # a Target may end up in a log line
    verify: bool | str
    auth_type: str
    timeout: float

    @property
    def client_key(self) -> tuple[str, str | None, str | None, bool | str, str]:
        """Everything a sushy client is opened with: equal keys may share a cached client."""
        return (self.url, self.username, self.password, self.verify, self.auth_type)

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
