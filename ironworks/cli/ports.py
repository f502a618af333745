"""`ironworks port list | show | create | set | unset | delete`."""

from typing import Annotated

import typer

from ironworks.cli.arguments import PAIR_HELP, parse_pairs, pointer, remove_ops, set_ops
from ironworks.cli.groups import port_app
from ironworks.cli.i18n import _
from ironworks.cli.nodes import FieldsOpt, split_fields
from ironworks.cli.output import emit_json, plain, say, show, show_list
from ironworks.cli.runtime import (
    DEFAULT_URL,
    Batch,
    JsonOpt,
    UrlOpt,
    UsageProblem,
    connect,
    guard,
)
from ironworks.client import PatchOp

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
    typer.Option(
        "--local-link-connection",
        metavar="KEY=VALUE",
        help=_("Switch port it is cabled to (switch_id, port_id, switch_info).") + " " + PAIR_HELP,
    ),
]
ExtraOpt = Annotated[
    list[str] | None,
    typer.Option("--extra", metavar="KEY=VALUE", help=_("Free-form data.") + " " + PAIR_HELP),
]


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
    with connect(url) as client:
        show(client.get_port(port, split_fields(fields)), as_json)


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
    body = {"node_uuid": node, "address": address}
    optional = {
        "pxe_enabled": pxe_enabled,
        "physical_network": physical_network,
        "name": name,
        "local_link_connection": parse_pairs(local_link_connection, "--local-link-connection")
        or None,
        "extra": parse_pairs(extra, "--extra") or None,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    with connect(url) as client:
        show(client.create_port(body), as_json)


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
    ops: list[PatchOp] = [
        {"op": "add", "path": pointer(k), "value": v} for k, v in scalars.items() if v is not None
    ]
    ops += set_ops(
        "local_link_connection", parse_pairs(local_link_connection, "--local-link-connection")
    )
    ops += set_ops("extra", parse_pairs(extra, "--extra"))
    _patch(url, port, ops, as_json)


@port_app.command("unset", help=_("Remove fields of a port, or keys of its extra."))
@guard
def unset_port(
    port: PortArg,
    physical_network: Annotated[
        bool, typer.Option("--physical-network", help=_("Remove it."))
    ] = False,
    name: Annotated[bool, typer.Option("--name", help=_("Remove it."))] = False,
    extra: Annotated[
        list[str] | None, typer.Option("--extra", metavar="KEY", help=_("Remove this key."))
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    flags = {"physical_network": physical_network, "name": name}
    ops: list[PatchOp] = [{"op": "remove", "path": pointer(k)} for k, on in flags.items() if on]
    ops += remove_ops("extra", extra)
    _patch(url, port, ops, as_json)


def _patch(url: str, port: str, ops: list[PatchOp], as_json: bool) -> None:
    if not ops:
        raise UsageProblem(_("nothing to change: give at least one option (see --help)"))
    with connect(url) as client:
        updated = client.update_port(port, ops)
    if as_json:
        emit_json(plain(updated))
    else:
        say(_("Updated port {port}.").format(port=port))


@port_app.command("delete", help=_("Delete ports (detach their VIFs first)."))
@guard
def delete_ports(ports: PortsArg, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    batch = Batch(ports)
    deleted: list[str] = []
    with connect(url) as client:
        for ident in ports:

            def delete(ident: str = ident) -> None:
                client.delete_port(ident)
                deleted.append(ident)
                if not as_json:
                    say(_("Deleted port {port}.").format(port=ident))

            batch.run(ident, delete)
    if as_json:
        emit_json({"deleted": deleted, "failed": batch.failed})
    batch.finish()
