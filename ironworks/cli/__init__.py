"""The operator's commands over HTTP (see README.md); `COMMANDS` lists them for `ironworks`.

Each entry names the module that holds a command and the line `ironworks --help` shows for it,
so `cmd/main.py` imports a command's module only when it runs (cli/lazy.py). A new command
group: its `typer.Typer` in groups.py, its commands in a module, and a line here.
"""

from __future__ import annotations

import typer

from ironworks.cli import groups
from ironworks.cli.i18n import _
from ironworks.cli.lazy import Lazy


def _help(app: typer.Typer) -> str:
    return str(app.info.help)


def register_node(app: typer.Typer) -> None:
    """`ironworks node ...`: its commands come from five modules, each adding to `node_app`."""
    from ironworks.cli import actions, enrolment, management, nodes, switches  # noqa: F401

    app.add_typer(groups.node_app, name="node")


COMMANDS = (
    Lazy(
        "login",
        _("Log in; the token is kept for this URL (mode 0600) and sent by every other command."),
        "ironworks.cli.session:register",
    ),
    Lazy(
        "logout",
        _("Revoke the kept token for this URL and forget it."),
        "ironworks.cli.session:register",
    ),
    Lazy(
        "whoami",
        _("The user of the kept token, their roles and projects."),
        "ironworks.cli.session:register",
    ),
    Lazy("flavor", _help(groups.flavor_app), "ironworks.cli.flavors:flavor_app"),
    Lazy("host", _help(groups.host_app), "ironworks.cli.hosts:host_app"),
    Lazy("audit", _help(groups.audit_app), "ironworks.cli.audit:audit_app"),
    Lazy("alarm", _help(groups.alarm_app), "ironworks.cli.alarms:alarm_app"),
    Lazy("department", _help(groups.department_app), "ironworks.cli.tenancy:department_app"),
    Lazy("project", _help(groups.project_app), "ironworks.cli.tenancy:project_app"),
    Lazy("user", _help(groups.user_app), "ironworks.cli.tenancy:user_app"),
    Lazy("image", _help(groups.image_app), "ironworks.cli.images:image_app"),
    Lazy("license", _help(groups.license_app), "ironworks.cli.license:license_app"),
    Lazy("node", _help(groups.node_app), "ironworks.cli:register_node"),
    Lazy("port", _help(groups.port_app), "ironworks.cli.ports:port_app"),
    Lazy(
        "physical-network",
        _help(groups.physical_network_app),
        "ironworks.cli.networks:physical_network_app",
    ),
    Lazy("network", _help(groups.network_app), "ironworks.cli.networks:network_app"),
    Lazy("subnet", _help(groups.subnet_app), "ironworks.cli.networks:subnet_app"),
    Lazy("switch", _help(groups.switch_app), "ironworks.cli.switches:switch_app"),
    Lazy(
        "floating-ip", _help(groups.floating_ip_app), "ironworks.cli.floating_ips:floating_ip_app"
    ),
    Lazy("billing", _help(groups.billing_app), "ironworks.cli.billing:billing_app"),
    Lazy("usage", _help(groups.usage_app), "ironworks.cli.billing:usage_app"),
)

__all__ = ["COMMANDS"]
