"""The phases of a node's timeline (`driver_internal_info/timeline`), declared once.

A deploy, a cleaning or an inspection through the agent is shown as a list of phases, each
`{"phase": name, "started": ISO time, "finished": ISO time or None}`, written as the work goes
(drivers/agent.py, the conductor's deploy step, and the agent API when the deployed OS reports
its first boot). A phase is open until it is finished; starting a phase that is already open
does nothing, so a resumed step never writes it twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

FETCH_IMAGE: Final = "fetch image"
BOOT_RAMDISK: Final = "boot ramdisk"
WRITE_IMAGE: Final = "write image"
CONFIG_DRIVE: Final = "config drive"
REBOOT_TO_DISK: Final = "reboot to disk"
FIRST_BOOT: Final = "first boot"  # ends when the deployed OS reports (config drive's URL)
# A deploy's phases in the order they happen (config drive and first boot only with a config
# drive; first boot only when the config drive carries the report URL).
DEPLOY: Final = (FETCH_IMAGE, BOOT_RAMDISK, WRITE_IMAGE, CONFIG_DRIVE, REBOOT_TO_DISK, FIRST_BOOT)
_ERASE = "erase disks"

Timeline = list[dict[str, Any]]


def erase_disks(mode: str) -> str:
    """The cleaning phase for an erase mode: "erase disks (metadata)"."""
    return f"{_ERASE} ({mode})"


def is_erase_disks(phase: str) -> bool:
    return phase.startswith(_ERASE)


def stamp(at: datetime) -> str:
    """A timeline's time: UTC, ISO 8601, milliseconds."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def start(timeline: Timeline, phase: str, at: str) -> None:
    """Open `phase` unless it is open already."""
    if not any(p["phase"] == phase and p.get("finished") is None for p in timeline):
        timeline.append({"phase": phase, "started": at, "finished": None})


def end(timeline: Timeline, phase: str, at: str) -> bool:
    """Finish the open `phase`; whether one was open."""
    for p in timeline:
        if p["phase"] == phase and p.get("finished") is None:
            p["finished"] = at
            return True
    return False


def open_phases(timeline: Timeline) -> list[str]:
    """The phases not finished yet, oldest first (the last one is where a stalled step is)."""
    return [p["phase"] for p in timeline if isinstance(p, dict) and not p.get("finished")]
