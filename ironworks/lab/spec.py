"""What one emulated BMC is: address, credentials, machine timing and faults.

Kept apart from `bmc.py` so that planning a fleet (`fleet.py`, the CSV) needs no pyghmi.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BmcSpec:
    """One emulated BMC: where it listens, who may log in, how its machine behaves, its faults."""

    name: str
    address: str
    port: int
    username: str
    password: str  # the BMC's own; with a wrong-password fault it differs from the enrolled one
    mac: str = "52:54:00:00:00:00"
    power_delay: float = 0.0
    shutdown_delay: float | None = 0.5
    flap_interval: float | None = None
    dead: bool = False
    slow: float = 0.0
    # Real BMCs take milliseconds to answer. Answering at once on loopback races pyghmi's
    # client, which can miss a reply that comes back before it starts waiting and then sits
    # out its retransmit timer (0.5-1 s); a few milliseconds of think time avoids that.
    think: float = 0.003
    # The machine's serial port: a Unix stream socket the BMC listens on and the machine
    # connects to when it starts (QEMU's `-chardev socket,server=off`; in tests, a socket of
    # the test). None: no serial port, the BMC answers "SOL disabled" (0x81) to an activation.
    serial: str | None = None
