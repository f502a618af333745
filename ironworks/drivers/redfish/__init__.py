"""`redfish`: servers whose BMC speaks Redfish (DMTF's REST API over HTTPS), through sushy.

Connection model: every operation takes a sushy client for the node's service, finds the
node's ComputerSystem, does its work and hands the client back. Clients are cached for a minute
of idleness, keyed by address, credentials, verify_ca and auth type, so power sync and power
verification do not reconnect (a GET of the service root, plus a session POST with session
auth) on every call; a changed password or address is a different key and takes effect on the
next call, a 401/403 evicts the key's clients, and threads never share a client (`clients.py`).

The package, by idea:
* `info.py`: driver_info, declared (`PROPERTIES`) and parsed into a `Target`;
* `clients.py`: opening sushy clients and the cache of idle ones;
* `session.py`: one call to the service, its retries, and the errors it may end in;
* `power.py`, `management.py` (with virtual media), `inspect.py`, `bios.py` (BIOS and
  firmware): the interfaces; this module: the hardware type.
"""

from __future__ import annotations

from ironworks.drivers import base
from ironworks.drivers.agent import AgentInspect
from ironworks.drivers.composition import bmc_interfaces
from ironworks.drivers.redfish.bios import RedfishBIOS, RedfishFirmware
from ironworks.drivers.redfish.clients import CLIENTS, ClientCache, connect
from ironworks.drivers.redfish.info import (
    AUTH_TYPES,
    DEFAULT_TIMEOUT,
    PROPERTIES,
    TRIES,
    Target,
    check_formats,
    parse_address,
    parse_auth_type,
    parse_system_id,
    parse_timeout,
    parse_verify_ca,
    target_of,
)
from ironworks.drivers.redfish.inspect import RedfishInspect, inventory_of
from ironworks.drivers.redfish.management import (
    BOOT_MODES,
    BOOT_TARGETS,
    RedfishManagement,
    sensors_of,
)
from ironworks.drivers.redfish.power import (
    DEFAULT_POWER_TIMEOUT,
    POLL_INTERVAL,
    RedfishPower,
    power_state_of,
)
from ironworks.drivers.redfish.session import (
    RedfishUnreachable,
    SystemAccess,
    find_system,
    translated,
)

__all__ = [
    "AUTH_TYPES",
    "BOOT_MODES",
    "BOOT_TARGETS",
    "CLIENTS",
    "DEFAULT_POWER_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "POLL_INTERVAL",
    "PROPERTIES",
    "TRIES",
    "ClientCache",
    "RedfishBIOS",
    "RedfishFirmware",
    "RedfishHardware",
    "RedfishInspect",
    "RedfishManagement",
    "RedfishPower",
    "RedfishUnreachable",
    "SystemAccess",
    "Target",
    "check_formats",
    "connect",
    "find_system",
    "inventory_of",
    "parse_address",
    "parse_auth_type",
    "parse_system_id",
    "parse_timeout",
    "parse_verify_ca",
    "power_state_of",
    "sensors_of",
    "target_of",
    "translated",
]


class RedfishHardware(base.HardwareType):
    name = "redfish"
    # out-of-band inspection first; the agent's for what the BMC does not tell (LLDP, disks)
    interfaces = bmc_interfaces(
        bios=(RedfishBIOS, base.NoBIOS),
        firmware=(RedfishFirmware, base.NoFirmware),
        inspect=(RedfishInspect, AgentInspect, base.NoInspect),
        management=(RedfishManagement,),
        power=(RedfishPower,),
    )
