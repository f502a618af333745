"""`ironworks flavor ...`: the host types users choose from (services/flavors.py behind the API)."""

from __future__ import annotations

from typing import Annotated

import typer

from ironworks.cli.groups import flavor_app
from ironworks.cli.i18n import _
from ironworks.cli.output import say, show, show_list
from ironworks.cli.runtime import DEFAULT_URL, JsonOpt, UrlOpt, cloud, guard

FLAVOR_FIELDS = ("name", "cpus", "memory_mb", "local_gb", "cpu_arch", "resource_class", "is_public")


@flavor_app.command("list")
@guard
def flavor_list(url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    """The flavors you may use (all of them for a cloud admin)."""
    with cloud(url) as c:
        show_list(c.list_flavors(), FLAVOR_FIELDS, as_json)


@flavor_app.command("create")
@guard
def flavor_create(
    name: str,
    cpus: Annotated[int, typer.Option(help=_("CPU threads at least."))],
    memory_mb: Annotated[int, typer.Option("--memory-mb", help=_("Memory in MiB at least."))],
    local_gb: Annotated[int, typer.Option("--local-gb", help=_("Local disk in GiB at least."))],
    cpu_arch: Annotated[str | None, typer.Option("--cpu-arch", help="x86_64 | aarch64")] = None,
    resource_class: Annotated[str | None, typer.Option("--resource-class")] = None,
    private: Annotated[bool, typer.Option("--private", help=_("Only for --project ones."))] = False,
    project: Annotated[list[str] | None, typer.Option("--project")] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Create a flavor (cloud admin)."""
    body = {
        "name": name,
        "cpus": cpus,
        "memory_mb": memory_mb,
        "local_gb": local_gb,
        "cpu_arch": cpu_arch,
        "resource_class": resource_class,
        "is_public": not private,
        "projects": project or [],
    }
    with cloud(url) as c:
        show(c.create_flavor(body), as_json)


@flavor_app.command("delete")
@guard
def flavor_delete(name: str, url: UrlOpt = DEFAULT_URL) -> None:
    """Delete a flavor no host uses."""
    with cloud(url) as c:
        c.delete_flavor(name)
    say(_("deleted flavor {name}").format(name=name))
