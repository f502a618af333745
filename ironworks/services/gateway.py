"""The floating IP gateway, rendered from the database (docs/networking.md, "Floating IPs").

`plan` reads every project router, its project's subnets and its associated floating IPs in one
transaction and turns them into the driver's `Router`s; `apply` hands them to the network node's
driver (`drivers/gateway`), which brings the node to exactly that, idempotently. The process
with `gateway.enabled` applies at start (`cmd/server.py`) and after each floating IP change
(`services/floating_ips.py`, after its commit): the database is the truth, the namespaces are
rebuilt from it, so a failed or missed apply is repaired by the next one.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from typing import Any

from ironworks.common.errors import IronworksError
from ironworks.common.settings import GatewaySettings
from ironworks.db import floating_ips as fip_db
from ironworks.drivers.gateway import Leg, NetnsGateway, Router
from ironworks.services.context import Services

log = logging.getLogger(__name__)
_applying = threading.Lock()  # one apply at a time in this process: `ip` steps must not interleave


def bridge(settings: GatewaySettings, network: str, network_type: str, segment: Any) -> str:
    """The bridge of a network on the network node (`gateway.bridge_template`)."""
    if network_type == "flat" or segment is None:
        return settings.flat_bridge_template.format(network=network)
    return settings.bridge_template.format(segmentation_id=segment, network=network)


def _with_prefix(address: str, cidr: str) -> str:
    return f"{address}/{ipaddress.ip_network(cidr).prefixlen}"


def router_of(settings: GatewaySettings, row: dict[str, Any]) -> Router:
    external = Leg(
        network=row["external_network"],
        bridge=bridge(
            settings,
            row["external_network"],
            row["external_network_type"],
            row["external_segmentation_id"],
        ),
        address=_with_prefix(row["address"], row["external_cidr"]),
        cidr=row["external_cidr"],
    )
    legs: dict[str, Leg] = {}
    for s in row["subnets"]:  # one leg per network: its first IPv4 subnet with a gateway
        legs.setdefault(
            s["network"],
            Leg(
                network=s["network"],
                bridge=bridge(settings, s["network"], s["network_type"], s["segmentation_id"]),
                address=_with_prefix(s["gateway_ip"], s["cidr"]),
                cidr=s["cidr"],
            ),
        )
    return Router(
        uuid=row["uuid"],
        external=external,
        external_gateway=row["external_gateway"],
        internal=tuple(legs.values()),
        floating=tuple(row["floating"]),
    )


def plan(svc: Services) -> list[Router]:
    with svc.db.read() as conn:
        rows = fip_db.gateway_plan(conn)
    return [router_of(svc.settings.gateway, r) for r in rows]


def driver(svc: Services) -> NetnsGateway:
    conf = svc.settings.gateway
    return NetnsGateway(bridge_netns=conf.bridge_netns, prefix=conf.namespace_prefix)


def apply(svc: Services) -> list[Router]:
    """Bring the network node to the database's routers; what was applied."""
    routers = plan(svc)
    with _applying:
        driver(svc).apply(routers)
    log.info("gateway: applied %d router(s)", len(routers))
    return routers


def apply_after_change(svc: Services) -> None:
    """After a committed floating IP change, on the network node's process: apply, and log a
    failure (the change stands; the next apply, at the latest at restart, converges)."""
    if not svc.settings.gateway.enabled:
        return
    try:
        apply(svc)
    except IronworksError as e:
        log.error("gateway: could not apply the routers: %s", e.message)
    except Exception:  # the change is committed: answer it, the next apply converges
        log.exception("gateway: could not apply the routers")
