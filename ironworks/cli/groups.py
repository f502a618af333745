"""The command groups; each command module adds its commands to one of these."""

from __future__ import annotations

import typer

from ironworks.cli.i18n import _

node_app = typer.Typer(
    help=_("Nodes: the physical servers Ironworks manages."), no_args_is_help=True
)
power_app = typer.Typer(help=_("Power a node on, off or through a reboot."), no_args_is_help=True)
maintenance_app = typer.Typer(
    help=_("Take nodes out of service for repair, and back."), no_args_is_help=True
)
boot_device_app = typer.Typer(
    help=_("The device a node boots from next (through its BMC)."), no_args_is_help=True
)
vif_app = typer.Typer(
    help=_("Virtual interfaces (tenant network ports) attached to a node."), no_args_is_help=True
)
port_app = typer.Typer(help=_("Ports: a node's physical network interfaces."), no_args_is_help=True)

node_app.add_typer(power_app, name="power")
node_app.add_typer(maintenance_app, name="maintenance")
node_app.add_typer(boot_device_app, name="boot-device")
node_app.add_typer(vif_app, name="vif")
