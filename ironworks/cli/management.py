"""`ironworks node maintenance | boot-device | validate | history | vif`."""

from typing import Annotated

import typer

from ironworks.cli.groups import boot_device_app, maintenance_app, node_app, vif_app
from ironworks.cli.i18n import _
from ironworks.cli.nodes import NodeArg, NodesArg
from ironworks.cli.output import emit_json, say, show, show_list
from ironworks.cli.runtime import DEFAULT_URL, JsonOpt, UrlOpt, connect, each, guard

# --- maintenance ---------------------------------------------------------------------------------


@maintenance_app.command(
    "set", help=_("Put nodes in maintenance: no deploys, no power sync, deletable in any state.")
)
@guard
def maintenance_set(
    nodes: NodesArg,
    reason: Annotated[str | None, typer.Option("--reason", help=_("Why, for the record."))] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    each(
        nodes,
        url,
        lambda c, n: c.set_maintenance(n, reason),
        lambda n: _("Node {node} is in maintenance.").format(node=n),
        as_json=as_json,
    )


@maintenance_app.command("unset", help=_("Take nodes out of maintenance."))
@guard
def maintenance_unset(nodes: NodesArg, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    each(
        nodes,
        url,
        lambda c, n: c.clear_maintenance(n),
        lambda n: _("Node {node} is out of maintenance.").format(node=n),
        as_json=as_json,
    )


# --- boot device ---------------------------------------------------------------------------------


@boot_device_app.command("set", help=_("Set the device a node boots from."))
@guard
def boot_device_set(
    node: NodeArg,
    device: Annotated[str, typer.Argument(help=_("pxe, disk, cdrom, bios or safe."))],
    persistent: Annotated[
        bool, typer.Option("--persistent", help=_("For every boot, not only the next."))
    ] = False,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    with connect(url) as client:
        client.set_boot_device(node, device, persistent=persistent)
    if as_json:
        emit_json({"node": node, "boot_device": device, "persistent": persistent})
    elif persistent:
        say(_("Node {node} boots from {device} from now on.").format(node=node, device=device))
    else:
        say(_("Node {node} boots from {device} next time.").format(node=node, device=device))


@boot_device_app.command("show", help=_("Show the device a node boots from."))
@guard
def boot_device_show(node: NodeArg, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    with connect(url) as client:
        show(client.get_boot_device(node), as_json)


@boot_device_app.command("supported", help=_("List the boot devices the node's driver supports."))
@guard
def boot_device_supported(
    node: NodeArg, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False
) -> None:
    with connect(url) as client:
        devices = client.supported_boot_devices(node)
    if as_json:
        emit_json(devices)
    else:
        say(", ".join(devices))


# --- validate, history ---------------------------------------------------------------------------


@node_app.command("validate", help=_("Check every interface of a node against its settings."))
@guard
def validate(node: NodeArg, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    with connect(url) as client:
        checks = client.validate_node(node)
    if as_json:
        emit_json(checks)
        return
    rows = [
        {"interface": kind, "result": check.get("result"), "reason": check.get("reason")}
        for kind, check in sorted(checks.items())
    ]
    show_list(rows, ("interface", "result", "reason"), as_json=False)


@node_app.command("history", help=_("Show a node's history: state changes, power changes, errors."))
@guard
def history(
    node: NodeArg,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help=_("At most this many events."))
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    with connect(url) as client:
        events = list(client.node_history(node, limit=limit))
    show_list(events, ("created_at", "severity", "event_type", "event"), as_json)


# --- VIFs ----------------------------------------------------------------------------------------


@vif_app.command("list", help=_("List the VIFs attached to a node."))
@guard
def vif_list(node: NodeArg, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    with connect(url) as client:
        vifs = client.list_vifs(node)
    show_list(vifs, ("id",), as_json)


@vif_app.command("attach", help=_("Attach a VIF to a free port (or portgroup) of a node."))
@guard
def vif_attach(
    node: NodeArg,
    vif: Annotated[str, typer.Argument(metavar="VIF", help=_("ID of the VIF."))],
    port_uuid: Annotated[
        str | None, typer.Option("--port-uuid", help=_("Attach to this port."))
    ] = None,
    portgroup_uuid: Annotated[
        str | None, typer.Option("--portgroup-uuid", help=_("Attach to this portgroup."))
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    with connect(url) as client:
        client.attach_vif(node, vif, port_uuid=port_uuid, portgroup_uuid=portgroup_uuid)
    if as_json:
        emit_json({"node": node, "attached": vif})
    else:
        say(_("Attached VIF {vif} to node {node}.").format(vif=vif, node=node))


@vif_app.command("detach", help=_("Detach a VIF from a node."))
@guard
def vif_detach(
    node: NodeArg,
    vif: Annotated[str, typer.Argument(metavar="VIF", help=_("ID of the VIF."))],
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    with connect(url) as client:
        client.detach_vif(node, vif)
    if as_json:
        emit_json({"node": node, "detached": vif})
    else:
        say(_("Detached VIF {vif} from node {node}.").format(vif=vif, node=node))
