"""`ironworks port list | show | create | set | unset | delete`."""

from typing import Annotated

import typer

from ironworks.cli import resources
from ironworks.cli.arguments import keys_option, pairs_option, parse_pairs
from ironworks.cli.groups import port_app
from ironworks.cli.i18n import _
from ironworks.cli.output import show_list
from ironworks.cli.patches import flagged, set_patch, unset_patch
from ironworks.cli.resources import FieldsOpt, Resource, split_fields
from ironworks.cli.runtime import DEFAULT_URL, JsonOpt, UrlOpt, connect, guard
from ironworks.client import BaremetalClient

PORT = Resource(
    "port",
    get=BaremetalClient.get_port,
    create=BaremetalClient.create_port,
    update=BaremetalClient.update_port,
    delete=BaremetalClient.delete_port,
    updated=_("Updated port {port}."),
    deleted=_("Deleted port {port}."),
)

LIST_COLUMNS = ("uuid", "address", "node_uuid", "pxe_enabled", "physical_network", "name")

PortArg = Annotated[
    str, typer.Argument(metavar="PORT", help=_("UUID, MAC address or name of the port."))
]
PortsArg = Annotated[
    list[str], typer.Argument(metavar="PORT...", help=_("UUIDs, MAC addresses or names."))
]
NodeOpt = Annotated[str | None, typer.Option("--node", help=_("Name or UUID of the node."))]
PxeOpt = Annotated[
    bool | None,
    typer.Option("--pxe-enabled/--no-pxe-enabled", help=_("Whether the node PXE-boots from it.")),
]
PhysnetOpt = Annotated[
    str | None, typer.Option("--physical-network", help=_("Physical network it is cabled to."))
]
PortNameOpt = Annotated[str | None, typer.Option("--name", help=_("Unique port name."))]
LLCOpt = Annotated[
    list[str] | None,
    pairs_option(
        "--local-link-connection",
        _("Switch port it is cabled to (switch_id, port_id, switch_info)."),
    ),
]
ExtraOpt = Annotated[list[str] | None, pairs_option("--extra", _("Free-form data."))]


@port_app.command("list", help=_("List ports (all pages), optionally of one node."))
@guard
def list_ports(
    node: NodeOpt = None,
    address: Annotated[str | None, typer.Option("--address", help=_("Only this MAC."))] = None,
    fields: FieldsOpt = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help=_("At most this many ports."))
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    chosen = split_fields(fields)
    with connect(url) as client:
        rows = list(
            client.list_ports(
                node=node, address=address, fields=chosen or None, detail=not chosen, limit=limit
            )
        )
    show_list(rows, chosen or LIST_COLUMNS, as_json)


@port_app.command("show", help=_("Show one port's fields."))
@guard
def show_port(
    port: PortArg, fields: FieldsOpt = None, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False
) -> None:
    resources.show(PORT, port, fields, url, as_json)


@port_app.command("create", help=_("Register a network interface of a node."))
@guard
def create_port(
    node: Annotated[str, typer.Option("--node", help=_("Name or UUID of the node."))],
    address: Annotated[str, typer.Option("--address", help=_("MAC address."))],
    pxe_enabled: PxeOpt = None,
    physical_network: PhysnetOpt = None,
    name: PortNameOpt = None,
    local_link_connection: LLCOpt = None,
    extra: ExtraOpt = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    optional = {
        "pxe_enabled": pxe_enabled,
        "physical_network": physical_network,
        "name": name,
        "local_link_connection": parse_pairs(local_link_connection, "--local-link-connection"),
        "extra": parse_pairs(extra, "--extra"),
    }
    resources.create(
        PORT, {"node_uuid": node, "address": address, **resources.given(optional)}, url, as_json
    )


@port_app.command("set", help=_("Change fields of a port."))
@guard
def set_port(
    port: PortArg,
    node: NodeOpt = None,
    address: Annotated[str | None, typer.Option("--address", help=_("New MAC."))] = None,
    pxe_enabled: PxeOpt = None,
    physical_network: PhysnetOpt = None,
    name: PortNameOpt = None,
    local_link_connection: LLCOpt = None,
    extra: ExtraOpt = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    scalars = {
        "node_uuid": node,
        "address": address,
        "pxe_enabled": pxe_enabled,
        "physical_network": physical_network,
        "name": name,
    }
    dicts = {
        "local_link_connection": parse_pairs(local_link_connection, "--local-link-connection"),
        "extra": parse_pairs(extra, "--extra"),
    }
    resources.update(PORT, port, set_patch(scalars, dicts), url, as_json)


@port_app.command("unset", help=_("Remove fields of a port, or keys of its extra."))
@guard
def unset_port(
    port: PortArg,
    physical_network: Annotated[
        bool, typer.Option("--physical-network", help=_("Remove it."))
    ] = False,
    name: Annotated[bool, typer.Option("--name", help=_("Remove it."))] = False,
    extra: Annotated[list[str] | None, keys_option("--extra")] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    fields = flagged({"physical_network": physical_network, "name": name})
    resources.update(PORT, port, unset_patch(fields, {"extra": extra}), url, as_json)


@port_app.command("delete", help=_("Delete ports (detach their VIFs first)."))
@guard
def delete_ports(ports: PortsArg, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    resources.delete(PORT, ports, url, as_json)
