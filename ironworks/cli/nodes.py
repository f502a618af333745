"""`ironworks node list | show | create | set | unset | delete | states`."""

from typing import Annotated, Any

import typer

from ironworks.cli import verbs
from ironworks.cli.arguments import PAIR_HELP, parse_pair, parse_pairs, pointer, remove_ops, set_ops
from ironworks.cli.groups import node_app
from ironworks.cli.i18n import _
from ironworks.cli.output import emit_json, plain, say, show, show_list, show_record
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

LIST_COLUMNS = ("uuid", "name", "instance_uuid", "power_state", "provision_state", "maintenance")
STATES_FIELDS = (
    "uuid",
    "name",
    "provision_state",
    "target_provision_state",
    "power_state",
    "target_power_state",
    "maintenance",
    "last_error",
)

NodeArg = Annotated[str, typer.Argument(metavar="NODE", help=_("Name or UUID of the node."))]
NodesArg = Annotated[
    list[str], typer.Argument(metavar="NODE...", help=_("Names or UUIDs of the nodes."))
]
FieldsOpt = Annotated[
    str | None,
    typer.Option("--fields", metavar="A,B", help=_("Show only these fields (comma-separated).")),
]
PairsOpt = list[str] | None


def _pairs_opt(flag: str, what: str) -> Any:
    return typer.Option(flag, metavar="KEY=VALUE", help=f"{what} {PAIR_HELP}")


DriverInfoOpt = Annotated[PairsOpt, _pairs_opt("--driver-info", _("BMC access settings."))]
PropertyOpt = Annotated[PairsOpt, _pairs_opt("--property", _("Hardware properties."))]
ExtraOpt = Annotated[PairsOpt, _pairs_opt("--extra", _("Free-form operator data."))]
InstanceInfoOpt = Annotated[
    PairsOpt, _pairs_opt("--instance-info", _("What to deploy (image_source, ...)."))
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


def split_fields(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    if not fields:
        raise UsageProblem(_("--fields needs at least one field name"))
    return fields


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
    with connect(url) as client:
        show(client.get_node(node, split_fields(fields)), as_json)


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
    body: dict[str, Any] = {"driver": driver}
    scalars = {
        "name": name,
        "uuid": uuid,
        "resource_class": resource_class,
        "description": description,
        "conductor_group": conductor_group,
        "owner": owner,
        "automated_clean": automated_clean,
    }
    body.update({k: v for k, v in scalars.items() if v is not None})
    dicts = {
        "driver_info": parse_pairs(driver_info, "--driver-info"),
        "properties": parse_pairs(prop, "--property"),
        "extra": parse_pairs(extra, "--extra"),
        "instance_info": parse_pairs(instance_info, "--instance-info"),
    }
    body.update({k: v for k, v in dicts.items() if v})
    body.update(_interfaces(interface))
    with connect(url) as client:
        show(client.create_node(body), as_json)


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
    ops: list[PatchOp] = []
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
    ops += [
        {"op": "add", "path": pointer(k), "value": v} for k, v in scalars.items() if v is not None
    ]
    ops += set_ops("driver_info", parse_pairs(driver_info, "--driver-info"))
    ops += set_ops("properties", parse_pairs(prop, "--property"))
    ops += set_ops("instance_info", parse_pairs(instance_info, "--instance-info"))
    ops += set_ops("extra", parse_pairs(extra, "--extra"))
    _patch(url, node, ops, as_json)


KeysOpt = list[str] | None


@node_app.command("unset", help=_("Remove fields of a node, or keys inside its dict fields."))
@guard
def unset_node(
    node: NodeArg,
    name: Annotated[bool, typer.Option("--name", help=_("Remove the name."))] = False,
    description: Annotated[bool, typer.Option("--description", help=_("Remove it."))] = False,
    resource_class: Annotated[bool, typer.Option("--resource-class", help=_("Remove it."))] = False,
    owner: Annotated[bool, typer.Option("--owner", help=_("Remove it."))] = False,
    driver_info: Annotated[
        KeysOpt, typer.Option("--driver-info", metavar="KEY", help=_("Remove this key."))
    ] = None,
    prop: Annotated[
        KeysOpt, typer.Option("--property", metavar="KEY", help=_("Remove this key."))
    ] = None,
    instance_info: Annotated[
        KeysOpt, typer.Option("--instance-info", metavar="KEY", help=_("Remove this key."))
    ] = None,
    extra: Annotated[
        KeysOpt, typer.Option("--extra", metavar="KEY", help=_("Remove this key."))
    ] = None,
    interface: Annotated[
        KeysOpt,
        typer.Option("--interface", metavar="KIND", help=_("Back to the driver's default.")),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    flags = {
        "name": name,
        "description": description,
        "resource_class": resource_class,
        "owner": owner,
    }
    ops: list[PatchOp] = [{"op": "remove", "path": pointer(k)} for k, on in flags.items() if on]
    ops += [{"op": "remove", "path": pointer(f"{kind}_interface")} for kind in interface or []]
    ops += remove_ops("driver_info", driver_info)
    ops += remove_ops("properties", prop)
    ops += remove_ops("instance_info", instance_info)
    ops += remove_ops("extra", extra)
    _patch(url, node, ops, as_json)


def _patch(url: str, node: str, ops: list[PatchOp], as_json: bool) -> None:
    if not ops:
        raise UsageProblem(_("nothing to change: give at least one option (see --help)"))
    with connect(url) as client:
        updated = client.update_node(node, ops)
    if as_json:
        emit_json(plain(updated))
    else:
        say(_("Updated node {node}.").format(node=node))


@node_app.command(
    "delete",
    help=_("Delete nodes (in enroll, manageable, available or a failed state, or in maintenance)."),
)
@guard
def delete_nodes(nodes: NodesArg, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    batch = Batch(nodes)
    deleted: list[str] = []
    with connect(url) as client:
        for ident in nodes:

            def delete(ident: str = ident) -> None:
                client.delete_node(ident)
                deleted.append(ident)
                if not as_json:
                    say(_("Deleted node {node}.").format(node=ident))

            batch.run(ident, delete)
    if as_json:
        emit_json({"deleted": deleted, "failed": batch.failed})
    batch.finish()


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
