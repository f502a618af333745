"""`ipmitool` power and management: the same BMC work done by the ipmitool program.

For BMCs that pyghmi does not get along with, and for dual bridging. Every call runs
`ipmitool -I lanplus -H ADDRESS -p PORT -U USER -E ...` with the password in the child's
environment (`IPMI_PASSWORD`, read by `-E`), never on the command line where `ps` shows it to
every user of the conductor host. driver_info keys, tries and verification are those of the
`ipmi` interfaces (`ipmi_info`, `retry`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from typing import Any

from ironworks.common.errors import (
    BMCAuthFailed,
    BMCUnreachable,
    DriverError,
    InvalidInput,
    IronworksError,
)
from ironworks.domain.power import POWER_OFF, POWER_ON, SOFT_POWER_OFF, TARGETS
from ironworks.domain.sensors import Health
from ironworks.drivers import base, ipmi_poll, retry
from ironworks.drivers.base import Task
from ironworks.drivers.ipmi_info import IPMI_PROPERTIES, IPMIInfo, check_formats

SUPPORTED_BOOT_DEVICES = ["pxe", "disk", "cdrom", "bios", "safe"]
# `chassis bootparam get 5` → our device names.
_SELECTOR = {
    "force pxe": "pxe",
    "force boot from default hard-drive, request safe-mode": "safe",
    "force boot from default hard-drive": "disk",
    "force boot from cd/dvd": "cdrom",
    "force boot into bios setup": "bios",
}
_UNIT_TYPES = {
    "degrees c": "Temperature",
    "rpm": "Fan",
    "volts": "Voltage",
    "watts": "Power",
    "amps": "Current",
}
_AUTH_WORDS = ("hmac is invalid", "unauthorized name", "invalid user", "password")


class IPMITool:
    """One node's BMC through the ipmitool program."""

    def __init__(self, task: Task) -> None:
        self.info = IPMIInfo.from_task(task)
        self.program = shutil.which("ipmitool")
        if self.program is None:
            raise DriverError(
                "the ipmitool interfaces need the ipmitool program on the conductor host; "
                "install it (apt-get install ipmitool) or use power_interface=ipmi"
            )

    def argv(self, seconds: float) -> list[str]:
        i = self.info
        assert self.program is not None
        args = [
            self.program,
            "-I",
            "lanplus",
            "-H",
            i.address,
            "-p",
            str(i.port),
            "-U",
            i.username,
            "-E",
            "-N",
            str(max(1, int(seconds / 2))),
            "-R",
            "1",
        ]
        if i.cipher_suite is not None:
            args += ["-C", str(i.cipher_suite)]
        if i.priv_level:
            args += ["-L", i.priv_level]
        if i.bridging != "no":
            if i.local_address is not None:
                args += ["-m", str(i.local_address)]
            args += ["-b", str(i.target_channel), "-t", str(i.target_address)]
            if i.bridging == "dual":
                args += ["-B", str(i.transit_channel), "-T", str(i.transit_address)]
        return args

    def _try(self, what: str, cmd: list[str], seconds: float) -> str:
        env = {**os.environ, "IPMI_PASSWORD": self.info.password}
        try:
            done = subprocess.run(
                self.argv(seconds) + cmd,
                env=env,
                capture_output=True,
                text=True,
                timeout=seconds,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise BMCUnreachable(
                f"no answer from BMC {self.info.bmc} to {what} within {seconds:.1f} s"
            ) from None
        if done.returncode == 0:
            return done.stdout
        said = (done.stderr or done.stdout).strip()
        low = said.lower()
        if "unable to establish" in low and not any(w in low for w in _AUTH_WORDS):
            # Without -v ipmitool does not say why a session failed; -v changes the output
            # of the commands we parse, so ask again verbosely only now, for the cause.
            try:
                again = subprocess.run(
                    [*self.argv(seconds), "-v", "power", "status"],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=seconds,
                    stdin=subprocess.DEVNULL,
                )
            except subprocess.TimeoutExpired:
                raise BMCUnreachable(f"no answer from BMC {self.info.bmc} to {what}") from None
            said = f"{said}\n{again.stderr.strip()}"
            low = said.lower()
        user = self.info.username or "(null user)"
        if any(w in low for w in _AUTH_WORDS):
            raise BMCAuthFailed(
                f"BMC {self.info.bmc} rejected the credentials for user {user}; "
                "fix driver_info ipmi_username and ipmi_password"
            )
        if "unable to establish" in low or "no response" in low or "timeout" in low:
            raise BMCUnreachable(f"no answer from BMC {self.info.bmc} to {what}")
        last = said.splitlines()[-1] if said else f"exit status {done.returncode}"
        raise DriverError(f"BMC {self.info.bmc} failed {what}: ipmitool said {last!r}")

    def run(self, what: str, *cmd: str, landed: Any = None) -> str:
        info = self.info
        return retry.call(
            lambda seconds: self._try(what, list(cmd), seconds),
            info.policy,
            exhausted=lambda tries: BMCUnreachable(
                f"no answer from BMC {info.bmc} within {info.timeout:g} s "
                f"({tries} {'try' if tries == 1 else 'tries'}) to {what}; check the address, "
                "the port and that the BMC is powered and on the network"
            ),
            landed=landed,
        )

    def power_state(self) -> str:
        out = self.run("a power status request", "power", "status")
        return POWER_ON if out.strip().lower().endswith("on") else POWER_OFF

    def power(self, directive: str, target: str, timeout: float) -> str:
        if self.power_state() == target:
            return target

        def landed(seconds: float) -> str | None:
            return target if self.power_state() == target else None

        self.run(f"power {directive}", "power", directive, landed=landed)
        return base.wait_for_power_state(
            self.power_state, target, timeout, self.info.bmc, f"power {directive}"
        )


class IPMIToolPower(base.PowerInterface):
    name = "ipmitool"
    properties = IPMI_PROPERTIES

    def check_formats(self, task: Task) -> None:
        check_formats(task)

    def get_power_state(self, task: Task) -> str:
        return IPMITool(task).power_state()

    def set_power_state(self, task: Task, state: str, timeout: float | None = None) -> str:
        tool = IPMITool(task)
        seconds = tool.info.power_wait(timeout)
        directive = {POWER_ON: "on", POWER_OFF: "off", SOFT_POWER_OFF: "soft"}
        if state not in directive:
            raise InvalidInput(f"the ipmitool power interface cannot set {state!r}", field="target")
        target = POWER_ON if state == POWER_ON else POWER_OFF
        return tool.power(directive[state], target, seconds)

    def reboot(self, task: Task, timeout: float | None = None, soft: bool = False) -> str:
        tool = IPMITool(task)
        seconds = tool.info.power_wait(timeout)
        tool.power("soft" if soft else "off", POWER_OFF, seconds)
        return tool.power("on", POWER_ON, seconds)

    def supported_power_states(self, task: Task) -> list[str]:
        return list(TARGETS)


class IPMIToolManagement(base.ManagementInterface):
    name = "ipmitool"
    properties = IPMI_PROPERTIES

    def get_healths(self, tasks: Sequence[Task], concurrency: int) -> list[Health | IronworksError]:
        """The sensor cycle speaks RMCP+ itself (`ipmi_poll`), as for the ipmi interface."""
        return ipmi_poll.healths(tasks, concurrency)

    def check_formats(self, task: Task) -> None:
        check_formats(task)

    def get_supported_boot_devices(self, task: Task) -> list[str]:
        return list(SUPPORTED_BOOT_DEVICES)

    def get_boot_device(self, task: Task) -> dict[str, Any]:
        out = IPMITool(task).run("a boot device request", "chassis", "bootparam", "get", "5")
        return parse_boot_flags(out)

    def set_boot_device(
        self, task: Task, device: str, persistent: bool = False
    ) -> dict[str, Any] | None:
        if device not in SUPPORTED_BOOT_DEVICES:
            raise InvalidInput(
                f"boot_device {device!r} is not supported; use one of "
                f"{', '.join(SUPPORTED_BOOT_DEVICES)}",
                field="boot_device",
            )
        tool = IPMITool(task)
        options = [
            o
            for o, on in (("persistent", persistent), ("efiboot", tool.info.boot_mode == "uefi"))
            if on
        ]
        cmd = ["chassis", "bootdev", device] + ([f"options={','.join(options)}"] if options else [])
        tool.run(f"setting boot device {device}", *cmd)
        return None

    def inject_nmi(self, task: Task) -> None:
        IPMITool(task).run("an NMI", "power", "diag")

    def get_sensors_data(self, task: Task) -> dict[str, Any]:
        out = IPMITool(task).run("a sensor reading", "sensor")
        data: dict[str, dict[str, Any]] = {}
        for line in out.splitlines():
            cols = [c.strip() for c in line.split("|")]
            if len(cols) < 4 or not cols[0]:
                continue
            name, value, unit, status = cols[:4]
            kind = _UNIT_TYPES.get(unit.lower(), "Other")
            reading = f"{value} {unit}".strip() if value not in ("na", "") else "no reading"
            data.setdefault(kind, {})[name] = {
                "Sensor ID": name,
                "Sensor Reading": reading,
                "Status": status,
            }
        return data


def parse_boot_flags(out: str) -> dict[str, Any]:
    """`ipmitool chassis bootparam get 5` → {"boot_device": ..., "persistent": ...}."""
    low = out.lower()
    if "boot flag invalid" in low:
        return {"boot_device": None, "persistent": None}
    m = re.search(r"boot device selector\s*:\s*(.+)", low)
    selector = m.group(1).strip() if m else ""
    device = None
    for words, name in _SELECTOR.items():
        if selector.startswith(words):
            device = name
            break
    persistent = "options apply to all future boots" in low
    return {"boot_device": device, "persistent": persistent if device else None}
