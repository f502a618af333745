"""`ironworks switch ...`: the switches Ironworks drives or writes commands for (cloud admin).

Credentials never travel on the command line (shell history, `ps`): `--password-stdin` reads
the password from the first line of standard input and `--secret-stdin` the enable secret from
the next one; without them `create` asks for the password. The server shows them as `******`.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from ironworks.cli.groups import node_network_app, switch_app
from ironworks.cli.i18n import _
from ironworks.cli.networks import Description, PhysNet, given
from ironworks.cli.output import say, show, show_list
from ironworks.cli.runtime import DEFAULT_URL, JsonOpt, UrlOpt, cloud, guard

COLUMNS = ("name", "vendor", "address", "port", "username", "physical_network", "uuid")
Vendor = Annotated[
    str | None,
    typer.Option(
        "--vendor",
        help=_(
            "cisco_ios, huawei, hp_comware, juniper_junos, arista_eos, dell_os10, linux-bridge."
        ),
    ),
]
Address = Annotated[str | None, typer.Option("--address", help=_("The management address."))]
Port = Annotated[int | None, typer.Option("--port", help=_("The management TCP port (22)."))]
Username = Annotated[str | None, typer.Option("--username", help=_("The login user."))]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help=_("Read the password from the first line of stdin.")),
]
SecretStdin = Annotated[
    bool,
    typer.Option("--secret-stdin", help=_("Read the enable secret from the next line of stdin.")),
]


def _line() -> str:
    return sys.stdin.readline().rstrip("\n")


@switch_app.command("list")
@guard
def switch_list(
    physical_network: PhysNet = None, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False
) -> None:
    """Switches, by physical network."""
    with cloud(url) as c:
        show_list(c.list_of("switches", physical_network=physical_network), COLUMNS, as_json)


@switch_app.command("show")
@guard
def switch_show(name: str, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    """Show a switch (its credentials masked)."""
    with cloud(url) as c:
        show(c.get("switches", name), as_json)


@switch_app.command("create")
@guard
def switch_create(
    name: str,
    vendor: Vendor = None,
    address: Address = None,
    username: Username = None,
    physical_network: PhysNet = None,
    port: Port = None,
    password_stdin: PasswordStdin = False,
    secret_stdin: SecretStdin = False,
    description: Description = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Add a switch: vendor, management address, login, physical network (asks for the password)."""
    if password_stdin:
        password = _line()
    else:
        password = typer.prompt(_("Password"), hide_input=True, default="", show_default=False)
    body = given(
        name=name,
        vendor=vendor,
        address=address,
        username=username,
        physical_network=physical_network,
        port=port,
        password=password,
        secret=_line() if secret_stdin else None,
        description=description,
    )
    with cloud(url) as c:
        show(c.create("switches", body), as_json)


@switch_app.command("set")
@guard
def switch_set(
    name: str,
    new_name: Annotated[str | None, typer.Option("--name", help=_("The new name."))] = None,
    vendor: Vendor = None,
    address: Address = None,
    username: Username = None,
    physical_network: PhysNet = None,
    port: Port = None,
    password_stdin: PasswordStdin = False,
    secret_stdin: SecretStdin = False,
    description: Description = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Edit a switch; the credentials change only when read from stdin (an empty line clears)."""
    body = given(
        name=new_name,
        vendor=vendor,
        address=address,
        username=username,
        physical_network=physical_network,
        port=port,
        password=_line() if password_stdin else None,
        secret=_line() if secret_stdin else None,
        description=description,
    )
    with cloud(url) as c:
        show(c.update("switches", name, body), as_json)


@switch_app.command("delete")
@guard
def switch_delete(name: str, url: UrlOpt = DEFAULT_URL) -> None:
    """Delete a switch."""
    with cloud(url) as c:
        c.delete("switches", name)
    say(_("deleted switch {name}").format(name=name))


# `ironworks node network show|confirm` ---------------------------------------------------------

PORT_COLUMNS = ("address", "physical_network", "switch", "switch_port", "vlan", "lag", "network")


def _show_network(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        show(view, True)
        return
    say(_("node {node}: {state}").format(node=view["node"], state=view["provision_state"]))
    show_list(view["ports"], PORT_COLUMNS, False)
    pending = view.get("pending")
    if not pending:
        return
    if view["waiting"]:
        say(
            _(
                "Waiting since {since} for the switch configuration of step '{step}': apply "
                "these commands, then run `ironworks node network confirm {node} --step {step}`."
            ).format(since=pending["since"], step=pending["step"], node=view["node"])
        )
    for entry in pending["switches"]:
        say(f"# {entry['switch']} ({entry['address']}, {entry['vendor']})")
        for line in entry["commands"]:
            say(line)


@node_network_app.command("show")
@guard
def node_network_show(node: str, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    """Where the node's switch ports are, and the commands it waits for."""
    with cloud(url) as c:
        _show_network(c.node_network(node), as_json)


@node_network_app.command("confirm")
@guard
def node_network_confirm(
    node: str,
    step: Annotated[
        str | None,
        typer.Option("--step", help=_("The step whose commands you applied (as shown).")),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Confirm that the shown switch commands were applied: the node goes on."""
    with cloud(url) as c:
        _show_network(c.confirm_node_network(node, step), as_json)
