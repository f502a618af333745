"""Apply a gateway plan on the network node with `ip` and `nft`, any number of times.

`NetnsGateway.apply(routers)` brings the node to the plan and touches nothing else:

* each router's namespace exists (`iwr-<uuid>`, forwarding on), with one veth pair per leg: the
  inside end in the namespace, the peer on the leg's bridge in the bridges' namespace
  (`bridge_netns`; None: the node's own, where a real network node keeps its VLAN bridges);
* each inside link holds exactly the plan's addresses (missing ones added, others removed) and
  the default route points at the external subnet's gateway;
* the namespace's nftables ruleset is replaced as a whole by `nft -f` (one transaction: no
  moment without rules), so applying twice leaves the same ruleset;
* legs and router namespaces (`gateway.namespace_prefix`, `iwr-`) the plan no longer has are deleted.

Only namespaces and links named by `ruleset.py` are changed; a missing bridge is an error naming
it, never created here (bridges are the network node's or the lab switch's).
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Sequence
from typing import Any

from ironworks.common.errors import DriverError
from ironworks.drivers.gateway.ruleset import (
    EXTERNAL,
    PREFIX,
    Router,
    addresses,
    link_names,
    namespace,
    render,
)

log = logging.getLogger(__name__)
TIMEOUT = 30.0


class GatewayError(DriverError):
    """A command of the gateway failed; the sentence names the command and its error."""


def _run(args: Sequence[str], *, stdin: str | None = None, check: bool = True) -> str:
    try:
        done = subprocess.run(
            list(args), input=stdin, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise GatewayError(f"gateway: {' '.join(args)} could not run: {e}") from e
    if check and done.returncode != 0:
        raise GatewayError(
            f"gateway: {' '.join(args)} failed ({done.returncode}): "
            f"{(done.stderr or done.stdout).strip()}"
        )
    return done.stdout


class NetnsGateway:
    def __init__(
        self,
        bridge_netns: str | None = None,
        *,
        prefix: str = PREFIX,
        ip: str = "ip",
        nft: str = "nft",
    ) -> None:
        self.bridge_netns = bridge_netns
        self.prefix = prefix
        self.ip = ip
        self.nft = nft

    # --- reading --------------------------------------------------------------------------------

    def _ip(self, netns: str | None, *args: str, check: bool = True) -> str:
        where = ["-n", netns] if netns else []
        return _run([self.ip, *where, *args], check=check)

    def namespaces(self) -> list[str]:
        """The router namespaces that exist (`<prefix>*`)."""
        out = _run([self.ip, "-j", "netns", "list"]) or "[]"
        return sorted(n["name"] for n in json.loads(out) if n["name"].startswith(self.prefix))

    def _links(self, netns: str | None) -> dict[str, dict[str, Any]]:
        out = self._ip(netns, "-j", "link", "show") or "[]"
        return {link["ifname"]: link for link in json.loads(out)}

    def _addresses(self, netns: str, link: str) -> list[str]:
        out = self._ip(netns, "-j", "-4", "addr", "show", "dev", link) or "[]"
        return sorted(
            f"{a['local']}/{a['prefixlen']}"
            for entry in json.loads(out)
            for a in entry.get("addr_info", [])
            if a.get("family") == "inet"
        )

    def ruleset(self, router_uuid: str) -> str:
        """The namespace's ruleset as nft lists it (for tests and operators)."""
        return _run(
            [
                self.ip,
                "netns",
                "exec",
                namespace(router_uuid, self.prefix),
                self.nft,
                "list",
                "ruleset",
            ]
        )

    # --- applying -------------------------------------------------------------------------------

    def apply(self, routers: Sequence[Router]) -> None:
        wanted = {namespace(r.uuid, self.prefix) for r in routers}
        for router in routers:
            self._apply(router)
        for stale in sorted(set(self.namespaces()) - wanted):
            log.info("gateway: deleting namespace %s (its router is gone)", stale)
            self._ip(None, "netns", "del", stale)

    def remove(self, router_uuid: str) -> None:
        if namespace(router_uuid, self.prefix) in self.namespaces():
            self._ip(None, "netns", "del", namespace(router_uuid, self.prefix))

    def _apply(self, router: Router) -> None:
        ns = namespace(router.uuid, self.prefix)
        if ns not in self.namespaces():
            self._ip(None, "netns", "add", ns)
        self._ip(ns, "link", "set", "lo", "up")
        _run([self.ip, "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
        bridges = self._links(self.bridge_netns)
        inside_links = self._links(ns)
        legs = [(None, router.external)] + [(leg.network, leg) for leg in router.internal]
        wanted_links = set()
        for network, leg in legs:
            inside, outside = link_names(router.uuid, network)
            wanted_links.add(inside)
            if leg.bridge not in bridges:
                where = f"namespace {self.bridge_netns}" if self.bridge_netns else "this node"
                raise GatewayError(
                    f"gateway: bridge {leg.bridge} (network {leg.network}) does not exist in "
                    f"{where}: create it, or set gateway.bridge_template"
                )
            if inside not in inside_links:
                if outside in bridges:  # half a pair left by an interrupted run
                    self._ip(self.bridge_netns, "link", "del", outside)
                self._ip(
                    self.bridge_netns,
                    "link", "add", outside, "type", "veth", "peer", "name", inside, "netns", ns,
                )  # fmt: skip
            self._ip(self.bridge_netns, "link", "set", outside, "master", leg.bridge, "up")
            self._ip(ns, "link", "set", inside, "up")
        for name in sorted(inside_links):
            if name.startswith("int-") and name not in wanted_links:
                self._ip(ns, "link", "del", name)  # a network the project no longer has
        for link, wanted in addresses(router).items():
            have = self._addresses(ns, link)
            for extra in sorted(set(have) - set(wanted)):
                self._ip(ns, "addr", "del", extra, "dev", link)
            for missing in wanted:
                if missing not in have:
                    self._ip(ns, "addr", "add", missing, "dev", link)
        if router.external_gateway:
            self._ip(
                ns, "route", "replace", "default", "via", router.external_gateway, "dev", EXTERNAL
            )
        else:
            self._ip(ns, "route", "del", "default", check=False)
        _run([self.ip, "netns", "exec", ns, self.nft, "-f", "-"], stdin=render(router))
