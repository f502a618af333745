"""`ironworks physical-network|network|subnet ...`: tenant networking (docs/networking.md).

Physical networks are the cloud admin's; a project's users create and edit their projects'
networks and subnets. Every command names its object by name or id; `set` sends only the
options given.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ironworks.cli.groups import network_app, physical_network_app, subnet_app
from ironworks.cli.i18n import _
from ironworks.cli.output import say, show, show_list
from ironworks.cli.runtime import DEFAULT_URL, EXIT_USAGE, JsonOpt, UrlOpt, cloud, fail, guard

Scheme = Annotated[
    str | None,
    typer.Option("--scheme", help=_("dynamic | preconfigured | postconfigured")),
]
Ranges = Annotated[
    str | None, typer.Option("--ranges", help=_("VLAN ids for new networks, e.g. 100-199,300."))
]
Description = Annotated[str | None, typer.Option("--description")]
Project = Annotated[str | None, typer.Option("--project", help=_("Name or id of the project."))]
PhysNet = Annotated[
    str | None, typer.Option("--physical-network", help=_("Name or id of the physical network."))
]
Role = Annotated[
    str | None,
    typer.Option("--role", help=_("tenant | provisioning | cleaning | external (cloud admin).")),
]
Shared = Annotated[
    bool | None, typer.Option("--shared/--no-shared", help=_("Every project may use it."))
]
External = Annotated[
    bool | None, typer.Option("--external/--no-external", help=_("Floating IPs come from it."))
]
Gateway = Annotated[str | None, typer.Option("--gateway", help=_("The gateway address."))]
NoGateway = Annotated[bool, typer.Option("--no-gateway", help=_("The subnet has no gateway."))]
Pools = Annotated[
    list[str] | None,
    typer.Option("--pool", help=_("An allocation pool START-END (repeat for more).")),
]
Dns = Annotated[list[str] | None, typer.Option("--dns", help=_("A DNS server (repeat for more)."))]

PHYSNET_COLUMNS = ("name", "scheme", "segmentation_ranges", "uuid")
NETWORK_COLUMNS = (
    "name",
    "network_type",
    "segmentation_id",
    "physical_network",
    "project",
    "shared",
    "external",
    "role",
    "uuid",
)
SUBNET_COLUMNS = ("name", "cidr", "gateway_ip", "allocation_pools", "network", "uuid")


def given(**values: Any) -> dict[str, Any]:
    """The options the user gave (None: left out)."""
    return {k: v for k, v in values.items() if v is not None}


# --- physical networks ---------------------------------------------------------------------------


@physical_network_app.command("list")
@guard
def physical_network_list(url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    """Physical networks, their schemes and VLAN ranges."""
    with cloud(url) as c:
        show_list(c.list_of("physical-networks"), PHYSNET_COLUMNS, as_json)


@physical_network_app.command("show")
@guard
def physical_network_show(name: str, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    """Show a physical network."""
    with cloud(url) as c:
        show(c.get("physical-networks", name), as_json)


@physical_network_app.command("create")
@guard
def physical_network_create(
    name: str,
    scheme: Scheme = None,
    ranges: Ranges = None,
    description: Description = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Add a physical network (cloud admin); its name is what node ports name."""
    body = given(name=name, scheme=scheme, segmentation_ranges=ranges, description=description)
    with cloud(url) as c:
        show(c.create("physical-networks", body), as_json)


@physical_network_app.command("set")
@guard
def physical_network_set(
    name: str,
    scheme: Scheme = None,
    ranges: Ranges = None,
    description: Description = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Change a physical network's scheme, VLAN ranges or description (cloud admin)."""
    body = given(scheme=scheme, segmentation_ranges=ranges, description=description)
    with cloud(url) as c:
        show(c.update("physical-networks", name, body), as_json)


@physical_network_app.command("delete")
@guard
def physical_network_delete(name: str, url: UrlOpt = DEFAULT_URL) -> None:
    """Delete a physical network no network or switch uses (cloud admin)."""
    with cloud(url) as c:
        c.delete("physical-networks", name)
    say(_("deleted physical network {name}").format(name=name))


# --- networks ------------------------------------------------------------------------------------


@network_app.command("list")
@guard
def network_list(
    project: Project = None,
    physical_network: PhysNet = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Networks: your projects' and the shared and external ones."""
    with cloud(url) as c:
        rows = c.list_of("networks", project=project, physical_network=physical_network)
    show_list(rows, NETWORK_COLUMNS, as_json)


@network_app.command("show")
@guard
def network_show(name: str, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    """Show a network and its subnets."""
    with cloud(url) as c:
        show(c.get("networks", name), as_json)


@network_app.command("create")
@guard
def network_create(
    name: str,
    project: Project = None,
    physical_network: PhysNet = None,
    network_type: Annotated[
        str | None, typer.Option("--type", help=_("vlan (the default) | flat (cloud admin)."))
    ] = None,
    segmentation_id: Annotated[
        int | None,
        typer.Option("--segmentation-id", help=_("The VLAN id (cloud admin); else the next free.")),
    ] = None,
    shared: Shared = None,
    external: External = None,
    role: Role = None,
    description: Description = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Create a network; its VLAN id comes from its physical network's ranges."""
    body = given(
        name=name,
        project=project,
        physical_network=physical_network,
        network_type=network_type,
        segmentation_id=segmentation_id,
        shared=shared,
        external=external,
        role=role,
        description=description,
    )
    with cloud(url) as c:
        show(c.create("networks", body), as_json)


@network_app.command("set")
@guard
def network_set(
    name: str,
    new_name: Annotated[str | None, typer.Option("--name", help=_("The new name."))] = None,
    description: Description = None,
    shared: Shared = None,
    external: External = None,
    role: Role = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Rename a network or change its description (cloud admin: shared, external, role)."""
    body = given(
        name=new_name, description=description, shared=shared, external=external, role=role
    )
    with cloud(url) as c:
        show(c.update("networks", name, body), as_json)


@network_app.command("delete")
@guard
def network_delete(name: str, url: UrlOpt = DEFAULT_URL) -> None:
    """Delete a network and its subnets (no address of it handed out)."""
    with cloud(url) as c:
        c.delete("networks", name)
    say(_("deleted network {name}").format(name=name))


# --- subnets -------------------------------------------------------------------------------------


def _pools(pools: list[str] | None) -> list[dict[str, str]] | None:
    if not pools:
        return None
    out = []
    for pool in pools:
        start, sep, end = pool.partition("-")
        if not sep or not start or not end:
            fail(
                _("--pool takes START-END, e.g. 10.0.0.10-10.0.0.99; got {pool}").format(pool=pool),
                EXIT_USAGE,
            )
        out.append({"start": start.strip(), "end": end.strip()})
    return out


def _gateway(body: dict[str, Any], gateway: str | None, no_gateway: bool) -> None:
    if gateway is not None and no_gateway:
        fail(_("give --gateway or --no-gateway, not both"), EXIT_USAGE)
    if gateway is not None:
        body["gateway_ip"] = gateway
    elif no_gateway:
        body["gateway_ip"] = None


@subnet_app.command("list")
@guard
def subnet_list(
    network: Annotated[
        str | None, typer.Option("--network", help=_("Only this network's subnets."))
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Subnets of the networks you see."""
    with cloud(url) as c:
        show_list(c.list_of("subnets", network=network), SUBNET_COLUMNS, as_json)


@subnet_app.command("show")
@guard
def subnet_show(name: str, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    """Show a subnet."""
    with cloud(url) as c:
        show(c.get("subnets", name), as_json)


@subnet_app.command("create")
@guard
def subnet_create(
    name: str,
    network: Annotated[str, typer.Option("--network", help=_("Name or id of the network."))],
    cidr: Annotated[str, typer.Option("--cidr", help=_("e.g. 10.20.0.0/24 or 2001:db8::/64"))],
    gateway: Gateway = None,
    no_gateway: NoGateway = False,
    pool: Pools = None,
    dns: Dns = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Add a subnet to a network (the gateway is its first address unless given)."""
    body = given(
        name=name,
        network=network,
        cidr=cidr,
        allocation_pools=_pools(pool),
        dns_nameservers=dns or None,
    )
    _gateway(body, gateway, no_gateway)
    with cloud(url) as c:
        show(c.create("subnets", body), as_json)


@subnet_app.command("set")
@guard
def subnet_set(
    name: str,
    new_name: Annotated[str | None, typer.Option("--name", help=_("The new name."))] = None,
    gateway: Gateway = None,
    no_gateway: NoGateway = False,
    pool: Pools = None,
    dns: Dns = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Change a subnet's name, gateway, allocation pools or DNS servers."""
    body = given(name=new_name, allocation_pools=_pools(pool), dns_nameservers=dns or None)
    _gateway(body, gateway, no_gateway)
    with cloud(url) as c:
        show(c.update("subnets", name, body), as_json)


@subnet_app.command("delete")
@guard
def subnet_delete(name: str, url: UrlOpt = DEFAULT_URL) -> None:
    """Delete a subnet (no address of it handed out)."""
    with cloud(url) as c:
        c.delete("subnets", name)
    say(_("deleted subnet {name}").format(name=name))
