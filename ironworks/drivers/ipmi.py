"""The `ipmi` hardware type: power and management over IPMI 2.0 (RMCP+, UDP) with pyghmi.

How a call goes: every operation is a pyghmi call on a `Command` (pyghmi caches one session per
BMC, user and password, and logs in again when it broke). pyghmi calls are synchronous and have
their own retransmit schedule that we do not control, so each try runs in a daemon thread and
we stop waiting for it after its share of `ipmi_timeout`; a try abandoned that way ends by
itself when pyghmi gives up. Tries and backoff come from `retry.call`.

What goes wrong, and what the operator reads:
* the BMC rejects the user or password → `BMCAuthFailed`, never retried: "BMC 10.0.0.5:623
  rejected the credentials for user admin";
* no answer → `BMCUnreachable`, retried with backoff, then "no answer from BMC 10.0.0.5:623
  within 10 s (3 tries)";
* the BMC answers with an error (a completion code) → `DriverError` naming the operation.

Power changes are verified: after the command, the state is read back until it matches or the
power timeout passes. A change whose answer was lost is not sent twice: the BMC is asked first.
Reboot is power off then power on (a hard reset does not re-read boot flags on every BMC);
soft reboot is ACPI soft off, then power on.

`ipmitool` is the alternative implementation (`power_interface=ipmitool`, module `ipmitool`).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ironworks.common.errors import (
    BMCAuthFailed,
    BMCSettingInvalid,
    BMCUnreachable,
    DriverError,
    InvalidInput,
    IronworksError,
)
from ironworks.domain.power import POWER_OFF, POWER_ON, SOFT_POWER_OFF, TARGETS
from ironworks.domain.sensors import Health
from ironworks.drivers import base, ipmi_poll, retry
from ironworks.drivers.base import Task
from ironworks.drivers.composition import bmc_interfaces
from ironworks.drivers.ipmi_info import IPMI_PROPERTIES, IPMIInfo, check_formats
from ironworks.drivers.ipmitool import IPMIToolManagement, IPMIToolPower

T = TypeVar("T")

# Our boot device names and pyghmi's.
TO_PYGHMI_DEVICE = {
    "pxe": "network",
    "disk": "hd",
    "cdrom": "optical",
    "bios": "setup",
    "safe": "safe",
}
FROM_PYGHMI_DEVICE = {v: k for k, v in TO_PYGHMI_DEVICE.items()}
SUPPORTED_BOOT_DEVICES = ["pxe", "disk", "cdrom", "bios", "safe"]

# pyghmi's words for "the BMC did not take these credentials" (RAKP exchange).
_AUTH_WORDS = ("incorrect password", "unauthorized name", "invalid username", "hmac")
_PRIV_WORDS = ("unauthorized role", "invalid role", "insufficient privilege")
# pyghmi's words for "no (usable) answer": worth another try.
_NO_ANSWER_WORDS = (
    "timeout",
    "no longer connected",
    "failed to initialize",
    "insufficient resources",
    "node busy",
)

# Chassis control (IPMI 2.0, 28.3) directives.
_CHASSIS_CONTROL = {"off": 0, "on": 1, "cycle": 2, "reset": 3, "diag": 4, "soft": 5}


# One pyghmi Command per BMC and credentials, so that its one-time probes (device id, OEM
# handler, SDR) are not repeated on every call; dropped when its session broke or a call failed.
_COMMANDS: dict[tuple[Any, ...], Any] = {}
_COMMANDS_LOCK = threading.Lock()


def _pyghmi() -> Any:
    """pyghmi's client, imported on first use so that the API process does not pay for it."""
    try:
        from pyghmi.ipmi import command
        from pyghmi.ipmi.private import session
    except ImportError:  # pragma: no cover - a deployment without the IPMI extra
        raise DriverError(
            "the ipmi hardware type needs the pyghmi package on the conductor; install it"
        ) from None
    # pyghmi 1.6.19 takes its two session-table locks in both orders: send_payload holds
    # KEEPALIVE_SESSIONS and then wants WAITING_SESSIONS, while wait_for_rsp holds
    # WAITING_SESSIONS when it retransmits for a session that timed out (send_payload: wants
    # KEEPALIVE_SESSIONS). With several threads and one BMC that does not answer, every pyghmi
    # call in the process hangs for good (seen: 200 BMCs, 16 threads, one dead BMC). One
    # re-entrant lock for both tables cannot deadlock; the module looks the names up per call.
    keepalive = getattr(session, "KEEPALIVE_SESSIONS", None)
    if keepalive is not None and getattr(session, "WAITING_SESSIONS", None) is not keepalive:
        session.WAITING_SESSIONS = keepalive
    return command


class IPMIClient:
    """One node's BMC as seen through pyghmi: tries, deadlines and the meaning of its errors."""

    def __init__(self, task: Task) -> None:
        self.info = IPMIInfo.from_task(task)
        if self.info.bridging == "dual":
            raise BMCSettingInvalid(
                "dual bridging is not supported by the ipmi interfaces; set power_interface "
                "and management_interface to ipmitool"
            )

    @property
    def bridge(self) -> dict[str, int] | None:
        i = self.info
        if i.bridging != "single":
            return None
        return {"addr": i.target_address or 0, "channel": i.target_channel or 0}

    @property
    def key(self) -> tuple[Any, ...]:
        i = self.info
        return (i.address, i.port, i.username, i.password, i.priv_number)

    def command(self) -> Any:
        with _COMMANDS_LOCK:
            cmd = _COMMANDS.get(self.key)
        if cmd is not None and not getattr(cmd.ipmi_session, "broken", True):
            return cmd
        info = self.info
        # pyghmi keeps user and password as bytes and finds its cached session by comparing
        # them with what it is given: str credentials never match, and the second Command for
        # a BMC then waits forever for a log-in that is not happening. Always pass bytes.
        cmd = _pyghmi().Command(
            bmc=info.address,
            userid=info.username.encode(),
            password=info.password.encode(),
            port=info.port,
            privlevel=info.priv_number,
        )
        with _COMMANDS_LOCK:
            _COMMANDS[self.key] = cmd
        return cmd

    # --- one try, then tries ---------------------------------------------------------------------

    def _try(self, what: str, fn: Callable[[Any], T], seconds: float) -> T:
        info = self.info
        out: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                out["value"] = fn(self.command())
            except BaseException as e:
                out["error"] = e
                with _COMMANDS_LOCK:
                    _COMMANDS.pop(self.key, None)
            finally:
                done.set()

        threading.Thread(target=run, name=f"ipmi {info.bmc}", daemon=True).start()
        if not done.wait(seconds):
            raise BMCUnreachable(f"no answer from BMC {info.bmc} to {what} within {seconds:.1f} s")
        if "error" in out:
            raise self.classify(out["error"], what)
        return out["value"]

    def call(
        self, what: str, fn: Callable[[Any], T], landed: Callable[[Any], T | None] | None = None
    ) -> T:
        """Run fn(Command) with the node's retry policy; `landed` checks a lost change."""
        info = self.info

        def check(seconds: float) -> T | None:
            assert landed is not None
            return self._try(f"check of {what}", landed, seconds)

        return retry.call(
            lambda seconds: self._try(what, fn, seconds),
            info.policy,
            exhausted=lambda tries: BMCUnreachable(
                f"no answer from BMC {info.bmc} within {info.timeout:g} s "
                f"({tries} {'try' if tries == 1 else 'tries'}) to {what}; check the address, "
                "the port and that the BMC is powered and on the network"
            ),
            landed=check if landed is not None else None,
        )

    def classify(self, error: BaseException, what: str) -> IronworksError:
        info = self.info
        if isinstance(error, IronworksError):
            return error
        if isinstance(error, socket.gaierror):
            return BMCSettingInvalid(
                f"cannot resolve the BMC address {info.address!r}: {error.strerror}; "
                "fix driver_info ipmi_address"
            )
        text = str(error) if str(error) not in ("", "None") else type(error).__name__
        low = text.lower()
        user = info.username or "(null user)"
        if any(w in low for w in _AUTH_WORDS):
            return BMCAuthFailed(
                f"BMC {info.bmc} rejected the credentials for user {user}; "
                "fix driver_info ipmi_username and ipmi_password"
            )
        if any(w in low for w in _PRIV_WORDS):
            return BMCAuthFailed(
                f"BMC {info.bmc} refused privilege level {info.priv_level or 'ADMINISTRATOR'} "
                f"for user {user}; lower driver_info ipmi_priv_level or grant the user more"
            )
        code = getattr(error, "ipmicode", 0)
        if code == 0xFFFF or text in ("IpmiException",) or any(w in low for w in _NO_ANSWER_WORDS):
            return BMCUnreachable(f"no answer from BMC {info.bmc} to {what} ({text})")
        if isinstance(error, OSError):
            return BMCUnreachable(f"cannot reach BMC {info.bmc} for {what}: {error}")
        suffix = f" (completion code 0x{code:02x})" if code else ""
        return DriverError(f"BMC {info.bmc} failed {what}: {text}{suffix}")

    # --- operations ------------------------------------------------------------------------------

    def power_state(self) -> str:
        bridge = self.bridge

        def read(cmd: Any) -> str:
            return cmd.get_power(bridge_request=bridge)["powerstate"]

        state = self.call("a power status request", read)
        return POWER_ON if state == "on" else POWER_OFF

    def chassis_control(self, directive: str, expect: str | None) -> None:
        """Send a chassis control; `expect` is the power state it leads to, if any."""
        data = [_CHASSIS_CONTROL[directive]]
        bridge = self.bridge or ()

        def send(cmd: Any) -> bool:
            rsp = cmd.raw_command(netfn=0, command=2, data=data, bridge_request=bridge)
            if "error" in rsp:
                raise _pyghmi().exc.IpmiException(rsp["error"], rsp.get("code", 0))
            return True

        def landed(cmd: Any) -> bool | None:
            state = cmd.get_power(bridge_request=self.bridge)["powerstate"]
            return True if expect is not None and state == expect else None

        self.call(f"power {directive}", send, landed if expect else None)

    def wait_for_power(self, target: str, timeout: float, after: str) -> str:
        return base.wait_for_power_state(self.power_state, target, timeout, self.info.bmc, after)


class IPMIPower(base.PowerInterface):
    """Power over IPMI with pyghmi; every change is verified by reading the state back."""

    name = "ipmi"
    properties = IPMI_PROPERTIES

    def check_formats(self, task: Task) -> None:
        check_formats(task)

    def get_power_state(self, task: Task) -> str:
        return IPMIClient(task).power_state()

    def get_power_states(
        self, tasks: Sequence[Task], concurrency: int
    ) -> list[str | IronworksError]:
        """All from one event loop (`ipmi_poll`), each BMC within its own ipmi_timeout; bridged
        BMCs, which the poller does not speak to, one at a time through pyghmi."""
        out: list[str | IronworksError | None] = [None] * len(tasks)
        polled, direct = ipmi_poll.targets_of(tasks, out)
        if polled:
            answers = ipmi_poll.poller().power_states([t for _, t in polled], concurrency)
            for (i, _), answer in zip(polled, answers, strict=True):
                out[i] = answer
        if direct:
            answers = super().get_power_states([tasks[i] for i in direct], concurrency)
            for i, answer in zip(direct, answers, strict=True):
                out[i] = answer
        return [a if a is not None else DriverError("no answer computed") for a in out]

    def set_power_state(self, task: Task, state: str, timeout: float | None = None) -> str:
        client = IPMIClient(task)
        seconds = client.info.power_wait(timeout)
        if state == POWER_ON:
            return _power(client, "on", POWER_ON, seconds)
        if state == POWER_OFF:
            return _power(client, "off", POWER_OFF, seconds)
        if state == SOFT_POWER_OFF:
            return _power(client, "soft", POWER_OFF, seconds)
        raise InvalidInput(f"the ipmi power interface cannot set {state!r}", field="target")

    def reboot(self, task: Task, timeout: float | None = None, soft: bool = False) -> str:
        client = IPMIClient(task)
        seconds = client.info.power_wait(timeout)
        _power(client, "soft" if soft else "off", POWER_OFF, seconds)
        return _power(client, "on", POWER_ON, seconds)

    def supported_power_states(self, task: Task) -> list[str]:
        return list(TARGETS)


def _power(client: IPMIClient, directive: str, target: str, timeout: float) -> str:
    if client.power_state() == target:
        return target
    client.chassis_control(directive, "on" if target == POWER_ON else "off")
    return client.wait_for_power(target, timeout, f"power {directive}")


def _health(value: int) -> str:
    if value >= 4:
        return "failed"
    if value >= 2:
        return "critical"
    return "warning" if value else "ok"


class IPMIManagement(base.ManagementInterface):
    """Boot device (persistent or once, UEFI or legacy), NMI, sensors and the event log."""

    name = "ipmi"
    properties = IPMI_PROPERTIES

    def check_formats(self, task: Task) -> None:
        check_formats(task)

    def get_supported_boot_devices(self, task: Task) -> list[str]:
        return list(SUPPORTED_BOOT_DEVICES)

    def get_boot_device(self, task: Task) -> dict[str, Any]:
        got = IPMIClient(task).call("a boot device request", lambda cmd: cmd.get_bootdev())
        device = FROM_PYGHMI_DEVICE.get(got.get("bootdev"))
        return {
            "boot_device": device,
            "persistent": bool(got.get("persistent")) if device else None,
        }

    def set_boot_device(
        self, task: Task, device: str, persistent: bool = False
    ) -> dict[str, Any] | None:
        if device not in TO_PYGHMI_DEVICE:
            raise InvalidInput(
                f"boot_device {device!r} is not supported; use one of "
                f"{', '.join(SUPPORTED_BOOT_DEVICES)}",
                field="boot_device",
            )
        client = IPMIClient(task)
        uefi = client.info.boot_mode == "uefi"

        def send(cmd: Any) -> None:
            rsp = cmd.set_bootdev(TO_PYGHMI_DEVICE[device], persist=persistent, uefiboot=uefi)
            if isinstance(rsp, dict) and "error" in rsp:
                raise _pyghmi().exc.IpmiException(rsp["error"])

        client.call(f"setting boot device {device}", send)
        return None

    def inject_nmi(self, task: Task) -> None:
        IPMIClient(task).chassis_control("diag", None)

    def get_sensors_data(self, task: Task) -> dict[str, Any]:
        """Ironic's shape: {sensor type: {sensor name: {"Sensor Reading": ..., ...}}}."""

        def read(cmd: Any) -> list[Any]:
            return list(cmd.get_sensor_data())

        out: dict[str, dict[str, Any]] = {}
        for r in IPMIClient(task).call("a sensor reading", read):
            if r.unavailable:
                reading = "unavailable"
            elif r.value is None:
                reading = ", ".join(r.states) or "no reading"
            else:
                reading = f"{r.value:g} {r.units}".strip()
            out.setdefault(r.type, {})[r.name] = {
                "Sensor ID": r.name,
                "Sensor Reading": reading,
                "Status": _health(r.health),
                "States": list(r.states),
            }
        return out

    def get_healths(self, tasks: Sequence[Task], concurrency: int) -> list[Health | IronworksError]:
        return ipmi_poll.healths(tasks, concurrency)

    def get_sel(self, task: Task) -> list[dict[str, Any]]:
        """The BMC's system event log, oldest first (vendor-passthru-like; not on the API yet)."""

        def read(cmd: Any) -> list[dict[str, Any]]:
            return list(cmd.get_event_log())

        events = IPMIClient(task).call("reading the event log", read)
        keep = (
            "record_id",
            "timestamp",
            "timecode",
            "component",
            "component_type",
            "event",
            "event_data",
            "deassertion",
            "severity",
        )
        return [{k: e[k] for k in keep if k in e} for e in events]


class IPMIHardware(base.HardwareType):
    name = "ipmi"
    interfaces = bmc_interfaces(
        management=(IPMIManagement, IPMIToolManagement), power=(IPMIPower, IPMIToolPower)
    )
