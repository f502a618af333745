"""The floating IP gateway: one network namespace per project router on the network node, with
an nftables ruleset rendered from the database (docs/networking.md, "Floating IPs").

`ruleset.py` is pure: the plan's data types, the names derived from ids and the nftables text.
`netns.py` applies a plan with `ip` and `nft`, idempotently.
"""

from ironworks.drivers.gateway.netns import GatewayError, NetnsGateway
from ironworks.drivers.gateway.ruleset import Leg, Router, link_names, namespace, render

__all__ = ["GatewayError", "Leg", "NetnsGateway", "Router", "link_names", "namespace", "render"]
