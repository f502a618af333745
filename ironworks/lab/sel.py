"""`ironworks lab sel inject`: put a hardware event in an emulated BMC's system event log.

Sent as an IPMI Platform Event Message (netfn sensor/event, command 0x02), which is what
`ipmitool event` sends and what a BMC logs in its SEL: so the event arrives the way a real
one would be read, through the BMC. The lab's BMC (`bmc.py`) also applies a lab event's fault
condition to its machine (`machine.LAB_EVENTS`: a failed PSU reads 0 W, a failed fan 0 RPM, an
overheating CPU 95 °C) until the same event is sent deasserted (`--clear`).
"""

from __future__ import annotations

from ironworks.lab.errors import LabError
from ironworks.lab.machine import LAB_EVENTS


def event_data(event: str, clear: bool = False) -> list[int]:
    """The Platform Event Message's data: EvMRev, sensor type, sensor number, event direction
    and type, event data 1-3."""
    if event not in LAB_EVENTS:
        raise LabError(f"--event {event!r} is not one of {', '.join(sorted(LAB_EVENTS))}")
    sensor_type, number, event_type, offset, _ = LAB_EVENTS[event]
    return [0x04, sensor_type, number, (0x80 if clear else 0) | event_type, offset, 0xFF, 0xFF]


def inject(
    address: str, port: int, username: str, password: str, event: str, clear: bool = False
) -> None:
    """Send the event to the BMC at address:port (pyghmi's client; raises LabError)."""
    data = event_data(event, clear)
    from pyghmi import exceptions
    from pyghmi.ipmi import command

    try:
        cmd = command.Command(
            bmc=address, userid=username.encode(), password=password.encode(), port=port
        )
        try:
            cmd.xraw_command(netfn=0x04, command=0x02, data=data)
        finally:
            cmd.ipmi_session.logout()
    except exceptions.PyghmiException as e:
        raise LabError(f"BMC {address}:{port} did not take the event: {e}") from None
