"""`ironworks floating-ip ...`: addresses of the external network mapped 1:1 to a host's NIC
(docs/networking.md, "Floating IPs"). A floating IP is named by its id or its address."""

from __future__ import annotations

from typing import Annotated

import typer

from ironworks.cli.groups import floating_ip_app
from ironworks.cli.i18n import _
from ironworks.cli.networks import Description, Project, given
from ironworks.cli.output import say, show, show_list
from ironworks.cli.runtime import DEFAULT_URL, JsonOpt, UrlOpt, cloud, guard

COLUMNS = ("address", "project", "status", "host_name", "fixed_ip", "uuid")
COLLECTION = "floating-ips"


@floating_ip_app.command("list")
@guard
def floating_ip_list(
    project: Project = None, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False
) -> None:
    """Floating IPs of your projects."""
    with cloud(url) as c:
        rows = c.list_of(COLLECTION, project=project)
    show_list(rows, COLUMNS, as_json)


@floating_ip_app.command("show")
@guard
def floating_ip_show(ident: str, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    """Show a floating IP."""
    with cloud(url) as c:
        show(c.get(COLLECTION, ident), as_json)


@floating_ip_app.command("create")
@guard
def floating_ip_create(
    project: Project = None,
    address: Annotated[
        str | None,
        typer.Option("--address", help=_("This address (cloud admin); else the next free one.")),
    ] = None,
    description: Description = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Allocate a floating IP from the external network for a project."""
    body = given(project=project, address=address, description=description)
    with cloud(url) as c:
        show(c.create(COLLECTION, body), as_json)


@floating_ip_app.command("associate")
@guard
def floating_ip_associate(
    ident: str,
    nic: Annotated[str, typer.Argument(help=_("The id of the host NIC."))],
    fixed_ip: Annotated[
        str | None,
        typer.Option("--fixed-ip", help=_("Which address of the NIC; else its first IPv4 one.")),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Map a floating IP to a NIC of one of the project's hosts (1:1 NAT)."""
    body = given(host_nic=nic, fixed_ip=fixed_ip)
    with cloud(url) as c:
        show(c.update(COLLECTION, ident, body), as_json)


@floating_ip_app.command("disassociate")
@guard
def floating_ip_disassociate(
    ident: str, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False
) -> None:
    """Unmap a floating IP from its NIC; the project keeps it."""
    with cloud(url) as c:
        show(c.update(COLLECTION, ident, {"host_nic": None}), as_json)


@floating_ip_app.command("set")
@guard
def floating_ip_set(
    ident: str, description: Description = None, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False
) -> None:
    """Change a floating IP's description."""
    with cloud(url) as c:
        show(c.update(COLLECTION, ident, given(description=description)), as_json)


@floating_ip_app.command("delete")
@guard
def floating_ip_delete(ident: str, url: UrlOpt = DEFAULT_URL) -> None:
    """Release a floating IP (disassociate it first)."""
    with cloud(url) as c:
        c.delete(COLLECTION, ident)
    say(_("released floating IP {ident}").format(ident=ident))
