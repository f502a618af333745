"""The driver_info of an IPMI BMC, declared once and parsed once.

Both IPMI implementations (`ipmi`: pyghmi in-process; `ipmitool`: the ipmitool program) read the
same keys, so `IPMI_PROPERTIES` is the one declaration behind validation, the driver properties
API and CLI help, and `IPMIInfo.from_task` the one parser. Formats are checked when a node is
created or patched (`check_formats`); required keys when it is managed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ironworks.common.errors import InvalidInput
from ironworks.domain.capabilities import capability
from ironworks.drivers.base import Prop, Task
from ironworks.drivers.retry import RetryPolicy

PRIV_LEVELS = {"ADMINISTRATOR": 4, "OPERATOR": 3, "USER": 2, "CALLBACK": 1}
BRIDGING = ("no", "single", "dual")
BOOT_MODES = ("uefi", "bios")
DEFAULT_PORT = 623
DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 2
DEFAULT_POWER_TIMEOUT = 60.0

IPMI_PROPERTIES: tuple[Prop, ...] = (
    Prop("ipmi_address", "IP address or host name of the BMC.", required=True),
    Prop("ipmi_port", f"UDP port of the BMC's RMCP+ service. Default {DEFAULT_PORT}."),
    Prop("ipmi_username", "User name on the BMC. Empty: the anonymous (null) user."),
    Prop("ipmi_password", "Password of that user on the BMC.", secret=True),
    Prop(
        "ipmi_priv_level",
        "Privilege level of the session: ADMINISTRATOR (default), OPERATOR, USER or CALLBACK.",
    ),
    Prop(
        "ipmi_cipher_suite",
        "RMCP+ cipher suite, 0-17 (3: SHA1/AES, 17: SHA256/AES). Used by the ipmitool "
        "interfaces (-C) and by the power sync (3 or 17; otherwise it tries 17, then 3); "
        "pyghmi's calls negotiate 17, then 3.",
    ),
    Prop(
        "ipmi_bridging",
        "Bridging to a controller behind the BMC: no (default), single or dual (dual needs "
        "the ipmitool interfaces).",
    ),
    Prop("ipmi_target_channel", "Bridged request: channel of the target controller."),
    Prop("ipmi_target_address", "Bridged request: IPMB address of the target controller."),
    Prop("ipmi_transit_channel", "Dual bridging: channel of the transit controller."),
    Prop("ipmi_transit_address", "Dual bridging: IPMB address of the transit controller."),
    Prop("ipmi_local_address", "Bridged request: our IPMB address (default 0x20)."),
    Prop(
        "ipmi_timeout",
        f"Seconds one BMC call may take, every try included. Default {DEFAULT_TIMEOUT:g}.",
    ),
    Prop(
        "ipmi_retries",
        f"Tries after the first when the BMC does not answer. Default {DEFAULT_RETRIES}.",
    ),
    Prop(
        "ipmi_power_timeout",
        "Seconds a power change may take to show in the BMC's state when the request gives "
        f"no timeout. Default {DEFAULT_POWER_TIMEOUT:g}.",
    ),
    Prop(
        "ipmi_boot_mode",
        "uefi or bios (legacy) for boot device requests. Default: the node's capability "
        "boot_mode, else uefi.",
    ),
)


def _field(key: str) -> str:
    return f"driver_info/{key}"


def _int(info: dict[str, Any], key: str, lo: int, hi: int, default: int | None) -> int | None:
    raw = info.get(key)
    if raw is None or raw == "":
        return default
    try:
        if isinstance(raw, bool):
            raise ValueError
        if isinstance(raw, str):
            text = raw.strip().lower()
            value = int(text, 16) if text.startswith("0x") else int(text, 10)
        else:
            value = int(raw)
        if value != raw and not isinstance(raw, str):
            raise ValueError
    except (TypeError, ValueError):
        raise InvalidInput(
            f"driver_info {key} must be a whole number from {lo} to {hi}, not {raw!r}",
            field=_field(key),
        ) from None
    if not lo <= value <= hi:
        raise InvalidInput(
            f"driver_info {key} must be from {lo} to {hi}, not {value}", field=_field(key)
        )
    return value


def _seconds(info: dict[str, Any], key: str, default: float) -> float:
    raw = info.get(key)
    if raw is None or raw == "":
        return default
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = float(raw)
        if not value > 0 or value > 3600:
            raise ValueError
    except (TypeError, ValueError):
        raise InvalidInput(
            f"driver_info {key} must be a number of seconds above 0 (at most 3600), not {raw!r}",
            field=_field(key),
        ) from None
    return value


def _choice(info: dict[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    raw = info.get(key)
    if raw is None or raw == "":
        return default
    value = str(raw).lower()
    if value == "legacy" and "bios" in choices:
        value = "bios"
    if value not in choices:
        raise InvalidInput(
            f"driver_info {key} must be one of {', '.join(choices)}, not {raw!r}",
            field=_field(key),
        )
    return value


@dataclass(frozen=True)
class IPMIInfo:
    address: str
    port: int
    username: str
    password: str
    priv_level: str | None
    cipher_suite: int | None
    bridging: str
    target_channel: int | None
    target_address: int | None
    transit_channel: int | None
    transit_address: int | None
    local_address: int | None
    timeout: float
    retries: int
    power_timeout: float
    boot_mode: str

    @property
    def bmc(self) -> str:
        """How an operator names this BMC in a sentence."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"

    def power_wait(self, timeout: float | None) -> float:
        """Seconds to wait for a power change: the request's timeout, else ipmi_power_timeout."""
        return float(timeout) if timeout else self.power_timeout

    @property
    def policy(self) -> RetryPolicy:
        return RetryPolicy(timeout=self.timeout, tries=self.retries + 1)

    @property
    def priv_number(self) -> int | None:
        return PRIV_LEVELS[self.priv_level] if self.priv_level else None

    @classmethod
    def from_task(cls, task: Task, *, require_address: bool = True) -> IPMIInfo:
        info = task.driver_info
        address = str(info.get("ipmi_address") or "").strip()
        if require_address and not address:
            raise InvalidInput(
                f"node {task.uuid}: driver_info is missing ipmi_address needed by the ipmi "
                "interfaces",
                field=_field("ipmi_address"),
            )
        priv = info.get("ipmi_priv_level")
        if priv not in (None, ""):
            if str(priv).upper() not in PRIV_LEVELS:
                raise InvalidInput(
                    f"driver_info ipmi_priv_level must be one of {', '.join(PRIV_LEVELS)}, "
                    f"not {priv!r}",
                    field=_field("ipmi_priv_level"),
                )
            priv = str(priv).upper()
        else:
            priv = None
        bridging = _choice(info, "ipmi_bridging", BRIDGING, "no")
        parsed = cls(
            address=address,
            port=_int(info, "ipmi_port", 1, 65535, DEFAULT_PORT) or DEFAULT_PORT,
            username=str(info.get("ipmi_username") or ""),
            password=str(info.get("ipmi_password") or ""),
            priv_level=priv,
            cipher_suite=_int(info, "ipmi_cipher_suite", 0, 17, None),
            bridging=bridging,
            target_channel=_int(info, "ipmi_target_channel", 0, 15, None),
            target_address=_int(info, "ipmi_target_address", 0, 255, None),
            transit_channel=_int(info, "ipmi_transit_channel", 0, 15, None),
            transit_address=_int(info, "ipmi_transit_address", 0, 255, None),
            local_address=_int(info, "ipmi_local_address", 0, 255, None),
            timeout=_seconds(info, "ipmi_timeout", DEFAULT_TIMEOUT),
            retries=_int(info, "ipmi_retries", 0, 10, DEFAULT_RETRIES) or 0,
            power_timeout=_seconds(info, "ipmi_power_timeout", DEFAULT_POWER_TIMEOUT),
            boot_mode=_choice(
                info,
                "ipmi_boot_mode",
                BOOT_MODES,
                _choice(
                    {"boot_mode": capability(task.node, "boot_mode")},
                    "boot_mode",
                    BOOT_MODES,
                    "uefi",
                ),
            ),
        )
        if bridging != "no":
            needed = ["ipmi_target_channel", "ipmi_target_address"]
            if bridging == "dual":
                needed += ["ipmi_transit_channel", "ipmi_transit_address"]
            for key in needed:
                if info.get(key) in (None, ""):
                    raise InvalidInput(
                        f"driver_info {key} is needed with ipmi_bridging={bridging}",
                        field=_field(key),
                    )
        return parsed


def check_formats(task: Task) -> None:
    """Raise InvalidInput naming driver_info/<key> for a present but malformed value."""
    IPMIInfo.from_task(task, require_address=False)
