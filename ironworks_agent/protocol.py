"""The agent's wire format, written once: the agent uses it and the server imports it.

Everything here is data (names, paths, numbers and the shapes of the JSON bodies as TypedDicts);
it imports only the standard library so the server can import it without pulling in the agent.
The prose contract is docs/provisioning.md; keep the two in step.

The exchange: the agent looks itself up by its MACs once per ramdisk boot and gets a one-time
token; then it heartbeats with that token, carrying its finished results (until the server acks
their ids) and the command it is running; each reply may carry commands to run, one at a time.
"""

from __future__ import annotations

from typing import Any, Final, Literal, TypedDict

VERSION: Final = "1"

API_PREFIX: Final = "/api/v1/agent"
LOOKUP_PATH: Final = "/api/v1/agent/lookup"
HEARTBEAT_PATH: Final = "/api/v1/agent/heartbeat"
# The deployed OS (not the agent) posts here once, from its first boot: cloud-init's
# phone_home, or any client; the URL comes in the config drive's vendor_data.
FIRST_BOOT_PATH: Final = "/api/v1/agent/first-boot"
TOKEN_HEADER: Final = "X-Agent-Token"
TOKEN_PREFIX: Final = "iwa_"

# Files in the ramdisk (tmpfs, so they live exactly as long as one ramdisk boot).
TOKEN_FILE: Final = "/run/ironworks-agent.token"
STATE_FILE: Final = "/run/ironworks-agent.state"  # agent-private: command ids seen, results unsent
LOG_FILE: Final = "/run/ironworks-agent.log"

# Kernel command line keys (set by the per-node iPXE script).
CMDLINE_API: Final = "ironworks.api"
CMDLINE_NODE: Final = "ironworks.node"
CMDLINE_BOOT: Final = "ironworks.boot"  # the agent session this ramdisk was booted for
CMDLINE_DEBUG: Final = "ironworks.debug"
CMDLINE_BOOTIF: Final = "BOOTIF"

DEFAULT_HEARTBEAT_INTERVAL: Final = 5.0
LOOKUP_RETRY_SECONDS: Final = 30.0  # after a 404 or 409 on lookup
BACKOFF_FIRST_SECONDS: Final = 1.0  # 5xx and connection errors: doubling up to the cap, jittered
BACKOFF_MAX_SECONDS: Final = 30.0
RESULT_LOG_LINES: Final = 40
POWER_DELAY_SECONDS: Final = 2.0  # power_off/reboot act this long after their result went out

# Commands.
INVENTORY: Final = "inventory"
WRITE_IMAGE: Final = "write_image"
WRITE_CONFIGDRIVE: Final = "write_configdrive"
ERASE_DISKS: Final = "erase_disks"
POWER_OFF: Final = "power_off"
REBOOT: Final = "reboot"
COMMANDS: Final = frozenset(
    {INVENTORY, WRITE_IMAGE, WRITE_CONFIGDRIVE, ERASE_DISKS, POWER_OFF, REBOOT}
)

ERASE_METADATA: Final = "metadata"
ERASE_FULL: Final = "full"
ERASE_MODES: Final = (ERASE_METADATA, ERASE_FULL)

ROOT_DEVICE_HINTS: Final = ("size", "serial", "name", "wwn", "model", "vendor")  # size in GiB
CONFIGDRIVE_LABEL: Final = "config-2"
CONFIGDRIVE_MIN_BYTES: Final = 64 * 1024 * 1024
MIB: Final = 1024 * 1024
GIB: Final = 1024 * MIB


# Lookup.
class LookupRequest(TypedDict):
    macs: list[str]
    boot_mac: str | None
    node_uuid: str | None
    boot_id: str | None
    version: str


class LookupResponse(TypedDict):
    node_uuid: str
    token: str
    heartbeat_interval: float


# Heartbeat.
class Progress(TypedDict):
    done: int
    total: int | None  # null when the size is not known in advance


class Running(TypedDict):
    id: str
    name: str
    progress: Progress | None  # null for commands that report none (inventory, power)


class Result(TypedDict):
    id: str
    name: str
    ok: bool
    result: dict[str, Any]
    error: str | None  # one sentence when ok is false
    log: str  # the last RESULT_LOG_LINES lines of the agent log


class Command(TypedDict):
    id: str
    name: str
    args: dict[str, Any]


class HeartbeatRequest(TypedDict):
    node_uuid: str
    results: list[Result]
    running: Running | None
    version: str


class HeartbeatResponse(TypedDict):
    commands: list[Command]
    ack: list[str]
    heartbeat_interval: float


# Command arguments.
class RootDeviceHints(TypedDict, total=False):
    size: int  # GiB
    serial: str
    name: str  # "/dev/vda" or "vda"
    wwn: str
    model: str
    vendor: str


class InventoryArgs(TypedDict):
    lldp_wait: float


class WriteImageArgs(TypedDict):
    url: str
    sha256: str
    size: int | None
    root_device: RootDeviceHints | None


class WriteConfigdriveArgs(TypedDict):
    url: str
    sha256: str
    size: int | None
    device: str | None


class EraseDisksArgs(TypedDict):
    mode: Literal["metadata", "full"]


# Command results.
class WriteImageResult(TypedDict):
    device: str
    bytes: int
    sha256: str
    seconds: float


class WriteConfigdriveResult(TypedDict):
    device: str
    partition: int
    offset: int
    size: int


class ErasedDisk(TypedDict):
    device: str
    mode: str
    bytes: int


class EraseDisksResult(TypedDict):
    disks: list[ErasedDisk]


# Inventory.
class CPU(TypedDict):
    count: int
    model: str
    architecture: str


class Memory(TypedDict):
    total_mb: int  # MemTotal rounded up to the next 64 MiB


class Disk(TypedDict):
    name: str
    size: int
    serial: str | None
    model: str | None
    vendor: str | None
    wwn: str | None
    rotational: bool
    removable: bool


class LLDP(TypedDict):
    chassis_id: str | None
    port_id: str | None
    system_name: str | None
    port_description: str | None


class Interface(TypedDict):
    name: str
    mac: str
    speed_mbps: int | None
    link: bool
    ipv4: str | None
    lldp: LLDP | None


class System(TypedDict):
    vendor: str
    product: str
    serial: str


class Boot(TypedDict):
    mode: Literal["bios", "uefi"]
    pxe_mac: str | None


class Inventory(TypedDict):
    cpu: CPU
    memory: Memory
    disks: list[Disk]
    interfaces: list[Interface]
    system: System
    boot: Boot
