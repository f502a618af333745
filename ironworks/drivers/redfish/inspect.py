"""The Redfish inspect interface: what the BMC tells about the hardware, out of band.

Inspection reads ProcessorSummary/Processors (cpus, cpu_arch), MemorySummary (memory_mb),
SimpleStorage and Storage drives/volumes (local_gb: the largest disk, whole GiB) and
EthernetInterfaces. Their MAC addresses (sorted, lower case) are returned under
`base.NICS_KEY`; the inspect step turns them into ports of the node.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from ironworks.drivers import base
from ironworks.drivers.base import Task
from ironworks.drivers.redfish.session import SystemAccess

log = logging.getLogger(__name__)

T = TypeVar("T")

# Where inspection puts the MAC addresses it found (see the module docstring).

_ARCH = {
    "x86-64": "x86_64",
    "x86": "i686",
    "ARM-A64": "aarch64",
    "ARM-A32": "armv7l",
    "IA-64": "ia64",
    "PowerISA": "ppc64le",
    "MIPS64": "mips64",
}


def _optional(read: Callable[[], T], what: str) -> T | None:
    """A resource the service may not have: None when absent (404 or no link)."""
    from sushy import exceptions as sushy_exc

    try:
        return read()
    except (sushy_exc.MissingAttributeError, sushy_exc.ResourceNotFoundError):
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
        found["cpus"] = sum(
            p.json.get("TotalThreads") or p.json.get("TotalCores") or 1 for p in cpus
        )
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
    found[base.NICS_KEY] = [{"address": m} for m in sorted(macs) if m]
    return found


class RedfishInspect(SystemAccess, base.InspectInterface):
    name = "redfish"

    def inspect_hardware(self, task: Task) -> tuple[base.StepResult, dict[str, Any]]:
        found = self._run(task, "inspecting the hardware", inventory_of)
        # inspection fills what is unknown and never overwrites what the operator set; the
        # NICs are not the operator's: they are always the ones just found
        return "done", {
            **found,
            **(task.node.get("properties") or {}),
            base.NICS_KEY: found[base.NICS_KEY],
        }
