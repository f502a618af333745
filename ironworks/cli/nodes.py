"""`ironworks node list | show | create | set | unset | delete | states`."""

from typing import Annotated

import typer

from ironworks.cli import resources, verbs
from ironworks.cli.arguments import keys_option, pairs_option, parse_pair, parse_pairs
from ironworks.cli.groups import node_app
from ironworks.cli.i18n import _
from ironworks.cli.output import emit_json, plain, show_list, show_record
from ironworks.cli.patches import flagged, set_patch, unset_patch
from ironworks.cli.resources import FieldsOpt, Resource, split_fields
from ironworks.cli.runtime import DEFAULT_URL, JsonOpt, UrlOpt, UsageProblem, connect, fail, guard
from ironworks.client import BaremetalClient
from ironworks.client.watch import POLL_FIELDS

NODE = Resource(
    "node",
    get=BaremetalClient.get_node,
    create=BaremetalClient.create_node,
    update=BaremetalClient.update_node,
    delete=BaremetalClient.delete_node,
    updated=_("Updated node {node}."),
    deleted=_("Deleted node {node}."),
)

LIST_COLUMNS = ("uuid", "name", "instance_uuid", "power_state", "provision_state", "maintenance")
# `node states` shows what a waiting client watches, less the conductor holding the node.
STATES_FIELDS = tuple(f for f in POLL_FIELDS if f != "reservation")

NodeArg = Annotated[str, typer.Argument(metavar="NODE", help=_("Name or UUID of the node."))]
NodesArg = Annotated[
    list[str], typer.Argument(metavar="NODE...", help=_("Names or UUIDs of the nodes."))
]
PairsOpt = list[str] | None
DriverInfoOpt = Annotated[PairsOpt, pairs_option("--driver-info", _("BMC access settings."))]
PropertyOpt = Annotated[PairsOpt, pairs_option("--property", _("Hardware properties."))]
ExtraOpt = Annotated[PairsOpt, pairs_option("--extra", _("Free-form operator data."))]
InstanceInfoOpt = Annotated[
    PairsOpt, pairs_option("--instance-info", _("What to deploy (image_source, ...)."))
]
InterfaceOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--interface",
        metavar="KIND=NAME",
        help=_("Choose an interface implementation, e.g. deploy=fake; repeatable."),
    ),
]
NameOpt = Annotated[str | None, typer.Option("--name", help=_("Unique node name."))]
DescriptionOpt = Annotated[str | None, typer.Option("--description", help=_("Free text."))]
ResourceClassOpt = Annotated[
    str | None, typer.Option("--resource-class", help=_("Flavor matching class, e.g. baremetal."))
]
ConductorGroupOpt = Annotated[
    str | None,
    typer.Option("--conductor-group", help=_("Conductor group (rack, zone).")),
]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help=_("Owning project."))]
AutomatedCleanOpt = Annotated[
    bool | None,
    typer.Option(
        "--automated-clean/--no-automated-clean",
        help=_("Clean on provide and undeploy (default: the server's setting)."),
    ),
]


def _interfaces(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        kind, name = parse_pair(item, "--interface")
        out[f"{kind}_interface"] = str(name)
    return out


@node_app.command("list", help=_("List nodes (all pages), optionally filtered."))
@guard
def list_nodes(
    provision_state: Annotated[
        str | None, typer.Option("--provision-state", help=_("Only nodes in this state."))
    ] = None,
    maintenance: Annotated[
        bool | None,
        typer.Option("--maintenance/--no-maintenance", help=_("Only nodes in (or out of) it.")),
    ] = None,
    driver: Annotated[str | None, typer.Option("--driver", help=_("Only this driver."))] = None,
    resource_class: Annotated[
        str | None, typer.Option("--resource-class", help=_("Only this resource class."))
    ] = None,
    fields: FieldsOpt = None,
    long: Annotated[bool, typer.Option("--long", help=_("Every field."))] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help=_("At most this many nodes."))
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    chosen = split_fields(fields)
    if chosen and long:
        raise UsageProblem(_("give --fields or --long, not both"))
    with connect(url) as client:
        rows = list(
            client.list_nodes(
                provision_state=provision_state,
                maintenance=maintenance,
                driver=driver,
                resource_class=resource_class,
                fields=chosen,
                detail=long,
                limit=limit,
            )
        )
    columns: tuple[str, ...] | list[str] = chosen or LIST_COLUMNS
    if long:
        columns = sorted({k for r in rows for k in plain(r)})
    show_list(rows, columns, as_json)


@node_app.command("show", help=_("Show one node's fields."))
@guard
def show_node(
    node: NodeArg, fields: FieldsOpt = None, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False
) -> None:
    resources.show(NODE, node, fields, url, as_json)


@node_app.command(
    "create", help=_("Enrol a node (it starts in `enroll`; `node manage` checks its BMC).")
)
@guard
def create_node(
    driver: Annotated[
        str, typer.Option("--driver", help=_("Hardware type, e.g. fake-hardware, ipmi, redfish."))
    ],
    name: NameOpt = None,
    uuid: Annotated[str | None, typer.Option("--uuid", help=_("UUID to use."))] = None,
    driver_info: DriverInfoOpt = None,
    prop: PropertyOpt = None,
    extra: ExtraOpt = None,
    instance_info: InstanceInfoOpt = None,
    resource_class: ResourceClassOpt = None,
    description: DescriptionOpt = None,
    conductor_group: ConductorGroupOpt = None,
    owner: OwnerOpt = None,
    interface: InterfaceOpt = None,
    automated_clean: AutomatedCleanOpt = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    scalars = {
        "name": name,
        "uuid": uuid,
        "resource_class": resource_class,
        "description": description,
        "conductor_group": conductor_group,
        "owner": owner,
        "automated_clean": automated_clean,
    }
    dicts = {
        "driver_info": parse_pairs(driver_info, "--driver-info"),
        "properties": parse_pairs(prop, "--property"),
        "extra": parse_pairs(extra, "--extra"),
        "instance_info": parse_pairs(instance_info, "--instance-info"),
    }
    body = {
        "driver": driver,
        **resources.given(scalars),
        **resources.given(dicts),
        **_interfaces(interface),
    }
    resources.create(NODE, body, url, as_json)


@node_app.command(
    "set", help=_("Change fields of a node (a JSON patch; keys inside dict fields are merged).")
)
@guard
def set_node(
    node: NodeArg,
    name: NameOpt = None,
    driver: Annotated[str | None, typer.Option("--driver", help=_("New hardware type."))] = None,
    driver_info: DriverInfoOpt = None,
    prop: PropertyOpt = None,
    instance_info: InstanceInfoOpt = None,
    extra: ExtraOpt = None,
    description: DescriptionOpt = None,
    resource_class: ResourceClassOpt = None,
    conductor_group: ConductorGroupOpt = None,
    owner: OwnerOpt = None,
    interface: InterfaceOpt = None,
    automated_clean: AutomatedCleanOpt = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    scalars = {
        "name": name,
        "driver": driver,
        "description": description,
        "resource_class": resource_class,
        "conductor_group": conductor_group,
        "owner": owner,
        "automated_clean": automated_clean,
        **_interfaces(interface),
    }
    dicts = {
        "driver_info": parse_pairs(driver_info, "--driver-info"),
        "properties": parse_pairs(prop, "--property"),
        "instance_info": parse_pairs(instance_info, "--instance-info"),
        "extra": parse_pairs(extra, "--extra"),
    }
    resources.update(NODE, node, set_patch(scalars, dicts), url, as_json)


KeysOpt = list[str] | None


@node_app.command("unset", help=_("Remove fields of a node, or keys inside its dict fields."))
@guard
def unset_node(
    node: NodeArg,
    name: Annotated[bool, typer.Option("--name", help=_("Remove the name."))] = False,
    description: Annotated[bool, typer.Option("--description", help=_("Remove it."))] = False,
    resource_class: Annotated[bool, typer.Option("--resource-class", help=_("Remove it."))] = False,
    owner: Annotated[bool, typer.Option("--owner", help=_("Remove it."))] = False,
    driver_info: Annotated[KeysOpt, keys_option("--driver-info")] = None,
    prop: Annotated[KeysOpt, keys_option("--property")] = None,
    instance_info: Annotated[KeysOpt, keys_option("--instance-info")] = None,
    extra: Annotated[KeysOpt, keys_option("--extra")] = None,
    interface: Annotated[
        KeysOpt,
        typer.Option("--interface", metavar="KIND", help=_("Back to the driver's default.")),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    fields = flagged(
        {"name": name, "description": description, "resource_class": resource_class, "owner": owner}
    )
    fields += [f"{kind}_interface" for kind in interface or []]
    keys = {
        "driver_info": driver_info,
        "properties": prop,
        "instance_info": instance_info,
        "extra": extra,
    }
    resources.update(NODE, node, unset_patch(fields, keys), url, as_json)


@node_app.command(
    "delete",
    help=_("Delete nodes (in enroll, manageable, available or a failed state, or in maintenance)."),
)
@guard
def delete_nodes(nodes: NodesArg, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    resources.delete(NODE, nodes, url, as_json)


@node_app.command(
    "console", help=_("Attach this terminal to a node's serial console (~. to leave).")
)
@guard
def node_console(node: NodeArg, url: UrlOpt = DEFAULT_URL) -> None:
    from ironworks.cli.terminal import attach

    with connect(url) as client:
        target = client.console_url(node)
    if not target:
        fail(_("node {node} gave no console URL").format(node=node))
    raise typer.Exit(attach(target))


@node_app.command(
    "states", help=_("Show a node's states and the provision verbs its state allows.")
)
@guard
def node_states(node: NodeArg, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    with connect(url) as client:
        info = client.get_node(node, STATES_FIELDS)
    info = {k: info.get(k) for k in STATES_FIELDS}
    info["allowed_verbs"] = verbs.allowed(info["provision_state"] or "")
    if as_json:
        emit_json(info)
        return
    show_record({**info, "allowed_verbs": ", ".join(info["allowed_verbs"]) or _("none")})
