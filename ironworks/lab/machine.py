"""The machine behind an emulated BMC.

`Machine` is the small surface a BMC front needs: power state, power on/off/ACPI shutdown/reset,
NMI, the boot device (persistent or once, UEFI or legacy), sensors and an event log. Two
implementations exist: `MemoryMachine` here (a model in memory, thousands per process) and, for
the end-to-end lab, `QemuMachine` (`qemu.py`), where power on starts QEMU with the boot order
from the boot device, power off stops it and a guest poweroff reads as off. The BMC code (`bmc.py`) only speaks to this protocol.

The memory model is lazy: a power change records when it will land, and the state is worked out
when someone looks, so an idle fleet costs no CPU and no threads. Every method takes the
machine's lock: the IPMI loop and the control thread of a shard both call in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

ON, OFF = "on", "off"
BOOT_DEVICES = ("pxe", "disk", "cdrom", "bios", "safe")


@dataclass
class BootDevice:
    device: str | None = None  # None: no override, the firmware's own order
    persistent: bool = False
    uefi: bool = False


@dataclass(frozen=True)
class Sensor:
    """One threshold sensor: number, name, IPMI sensor type and unit codes, value when on/off,
    the BMC's thresholds (None: not set) and the value a lab fault condition gives it."""

    number: int
    name: str
    sensor_type: int  # 0x01 temperature, 0x02 voltage, 0x04 fan, 0x08 power supply
    unit: int  # 1 degrees C, 4 volts, 6 watts, 18 RPM
    exponent: int  # reading = raw * 10**exponent
    on_value: float
    off_value: float
    upper_noncritical: float | None = None
    upper_critical: float | None = None
    lower_critical: float | None = None
    condition: str | None = None  # the fault condition (CONDITIONS) that changes this reading
    fault_value: float = 0.0  # ... to this, while the machine is on

    def status(self, value: float) -> int:
        """Threshold comparison status bits of Get Sensor Reading (IPMI 2.0 table 35-15): bit 1
        below lower critical, bit 3 above upper non-critical, bit 4 above upper critical."""
        bits = 0
        if self.lower_critical is not None and value < self.lower_critical:
            bits |= 0x02
        if self.upper_noncritical is not None and value >= self.upper_noncritical:
            bits |= 0x08
        if self.upper_critical is not None and value >= self.upper_critical:
            bits |= 0x10
        return bits


SENSORS = (
    Sensor(1, "CPU1 Temp", 0x01, 1, 0, 45, 22, 80, 90, None, "overheat", 95),
    Sensor(2, "Inlet Temp", 0x01, 1, 0, 24, 22, 35, 40),
    Sensor(3, "FAN1", 0x04, 18, 2, 5400, 0, None, None, 1000, "fan", 0),
    Sensor(4, "12V", 0x02, 4, -1, 12.1, 0),
    Sensor(5, "PSU1 Power", 0x08, 6, 0, 180, 8, None, None, None, "psu", 0),
)


@dataclass(frozen=True)
class Event:
    """One system event log entry: when, which sensor, and what happened."""

    timestamp: int
    sensor_type: int
    sensor_number: int
    offset: int  # sensor-specific offset (IPMI table 42-3), or threshold offset (table 42-2)
    deassertion: bool = False
    event_type: int = 0x6F  # 0x6F sensor-specific, 0x01 threshold (IPMI table 42-1)
    record_id: int = 0  # given by the log (EventLog.add); stays while the entry is kept


# What `ironworks lab sel inject --event NAME` sends, and the fault condition the event sets on
# the machine (cleared by the same event deasserted): (sensor type, sensor number, event type,
# offset, condition). Offsets: power supply 1 "failure detected" (table 42-3); threshold 2 "lower
# critical going low", 9 "upper critical going high" (table 42-2).
LAB_EVENTS: dict[str, tuple[int, int, int, int, str]] = {
    "psu-failure": (0x08, 5, 0x6F, 1, "psu"),
    "fan-failure": (0x04, 3, 0x01, 2, "fan"),
    "overheat": (0x01, 1, 0x01, 9, "overheat"),
}
CONDITIONS = {(t, n, off): cond for t, n, _, off, cond in LAB_EVENTS.values()}


class EventLog:
    """A system event log of at most `size` entries whose record ids stay (a reader
    de-duplicates by them), and the fault conditions that injected events hold on the machine."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.entries: list[Event] = []
        self.conditions: set[str] = set()
        self._next_id = 1

    def add(self, event: Event) -> Event:
        event = replace(event, record_id=self._next_id)
        self._next_id = self._next_id % 0xFFFE + 1  # 0 and 0xFFFF are the first and last
        self.entries.append(event)
        del self.entries[: -self.size]
        cond = CONDITIONS.get((event.sensor_type, event.sensor_number, event.offset))
        if cond is not None:
            (self.conditions.discard if event.deassertion else self.conditions.add)(cond)
        return event

    def clear(self) -> None:
        self.entries.clear()


def sensor_readings(
    on: bool, conditions: set[str] | frozenset[str] = frozenset()
) -> list[tuple[Sensor, float]]:
    """Every sensor's reading for a machine that is on (or off), under the fault conditions."""
    return [
        (s, (s.fault_value if s.condition in conditions else s.on_value) if on else s.off_value)
        for s in SENSORS
    ]


class Machine(Protocol):
    """What a BMC front needs from the server it manages."""

    def power_state(self) -> str: ...

    def power_on(self) -> None: ...

    def power_off(self) -> None: ...

    def shutdown(self) -> None: ...

    def reset(self) -> None: ...

    def pulse_nmi(self) -> None: ...

    def boot_device(self) -> BootDevice: ...

    def set_boot_device(self, boot: BootDevice) -> None: ...

    def sensors(self) -> list[tuple[Sensor, float]]: ...

    def events(self) -> list[Event]: ...

    def add_event(self, event: Event) -> Event: ...

    def clear_events(self) -> None: ...

    def snapshot(self) -> dict[str, Any]: ...


@dataclass
class MemoryMachine:
    """A server in memory with timing that looks real.

    power_delay: seconds from power on/off to the new state; shutdown_delay: seconds an OS takes
    to shut down after an ACPI request (None: the OS ignores it, as a hung one does);
    flap_interval: if set, the power toggles by itself every that many seconds (a bad PSU).
    """

    power_delay: float = 0.0
    shutdown_delay: float | None = 0.5
    flap_interval: float | None = None
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    state: str = OFF
    boot: BootDevice = field(default_factory=BootDevice)
    # What the machine booted from at each power on or reset, for tests and the lab.
    boots: list[str | None] = field(default_factory=list)
    nmis: int = 0
    _pending: tuple[float, str] | None = None
    _next_flap: float | None = None
    _sel: EventLog = field(default_factory=EventLog)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        if self.flap_interval:
            self._next_flap = self.clock() + self.flap_interval

    # --- power -----------------------------------------------------------------------------------

    def _settle(self) -> None:
        now = self.clock()
        if self._pending is not None and now >= self._pending[0]:
            self._land(self._pending[1])
            self._pending = None
        while self._next_flap is not None and self.flap_interval and now >= self._next_flap:
            self._land(OFF if self.state == ON else ON)
            self._next_flap += self.flap_interval

    def _land(self, state: str) -> None:
        if state == self.state:
            return
        self.state = state
        if state == ON:
            self._boot()
        # Power Unit (0x09) offset 0 "power off / down": asserted at off, deasserted at on.
        self._log(Event(int(self.wall()), 0x09, 0x10, 0, deassertion=state == ON))

    def _boot(self) -> None:
        self.boots.append(self.boot.device)
        if self.boot.device is not None and not self.boot.persistent:
            self.boot = BootDevice()  # a one-time override is spent by the boot that used it

    def _log(self, event: Event) -> None:
        self._sel.add(event)

    def _change(self, state: str, delay: float | None) -> None:
        if delay is None:
            return
        if delay <= 0:
            self._pending = None
            self._land(state)
        else:
            self._pending = (self.clock() + delay, state)

    def power_state(self) -> str:
        with self._lock:
            self._settle()
            return self.state

    def power_on(self) -> None:
        with self._lock:
            self._settle()
            if self.state == OFF:
                self._change(ON, self.power_delay)

    def power_off(self) -> None:
        with self._lock:
            self._settle()
            if self.state == ON:
                self._change(OFF, self.power_delay)

    def shutdown(self) -> None:
        with self._lock:
            self._settle()
            if self.state == ON:
                self._change(OFF, self.shutdown_delay)

    def reset(self) -> None:
        with self._lock:
            self._settle()
            if self.state == ON:
                self._boot()

    def force_power(self, state: str) -> None:
        """Set the power at once, as a person at the rack would (lab control, not IPMI)."""
        with self._lock:
            self._pending = None
            self._land(state)

    def pulse_nmi(self) -> None:
        with self._lock:
            self.nmis += 1
            # Critical Interrupt (0x13) offset 0 "front panel NMI / diagnostic interrupt".
            self._log(Event(int(self.wall()), 0x13, 0x20, 0))

    # --- boot device, sensors, log ---------------------------------------------------------------

    def boot_device(self) -> BootDevice:
        with self._lock:
            self._settle()
            return BootDevice(self.boot.device, self.boot.persistent, self.boot.uefi)

    def set_boot_device(self, boot: BootDevice) -> None:
        with self._lock:
            self.boot = BootDevice(boot.device, boot.persistent, boot.uefi)

    def sensors(self) -> list[tuple[Sensor, float]]:
        with self._lock:
            return sensor_readings(self.power_state() == ON, set(self._sel.conditions))

    def events(self) -> list[Event]:
        with self._lock:
            self._settle()
            return list(self._sel.entries)

    def add_event(self, event: Event) -> Event:
        with self._lock:
            return self._sel.add(event)

    def clear_events(self) -> None:
        with self._lock:
            self._sel.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            self._settle()
            return {
                "power": self.state,
                "boot_device": self.boot.device,
                "persistent": self.boot.persistent,
                "uefi": self.boot.uefi,
                "boots": list(self.boots),
                "nmis": self.nmis,
                "events": len(self._sel.entries),
                "conditions": sorted(self._sel.conditions),
            }
