"""The command groups; each command module adds its commands to one of these.

They live here, apart from their commands, so that `ironworks --help` can show each group's
line (`cli/__init__.COMMANDS`) without importing the commands' modules."""

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
flavor_app = typer.Typer(help=_("Flavors: the host types users choose from."), no_args_is_help=True)
host_app = typer.Typer(help=_("Hosts: bare-metal servers of a project."), no_args_is_help=True)
host_nic_app = typer.Typer(
    help=_("A host's NICs: one per network, each on a physical port of its node."),
    no_args_is_help=True,
)
audit_app = typer.Typer(
    help=_("The audit log: who did what, when, from where."), no_args_is_help=True
)
alarm_app = typer.Typer(
    help=_("Alarms: failing hardware and stuck nodes; list and acknowledge them."),
    no_args_is_help=True,
)
department_app = typer.Typer(help=_("Departments (部门)."), no_args_is_help=True)
project_app = typer.Typer(help=_("Projects (项目) and their members."), no_args_is_help=True)
user_app = typer.Typer(help=_("Users."), no_args_is_help=True)
image_app = typer.Typer(
    help=_("Images: OS disks and deploy ramdisks, per architecture."), no_args_is_help=True
)
license_app = typer.Typer(
    help=_("The license: install and show it; issue one (vendor)."), no_args_is_help=True
)
physical_network_app = typer.Typer(
    help=_("Physical networks: the fabrics, their network scheme and VLAN ranges."),
    no_args_is_help=True,
)
network_app = typer.Typer(
    help=_("Networks: a project's VLANs and the cloud's own networks."), no_args_is_help=True
)
subnet_app = typer.Typer(help=_("Subnets: the address ranges of a network."), no_args_is_help=True)
switch_app = typer.Typer(
    help=_("Switches: the devices that move node ports between VLANs."), no_args_is_help=True
)
floating_ip_app = typer.Typer(
    help=_("Floating IPs: external addresses mapped 1:1 to a host's NIC."), no_args_is_help=True
)

billing_app = typer.Typer(
    help=_("Billing: the prices of flavors per hour (set by the cloud admin)."),
    no_args_is_help=True,
)
price_app = typer.Typer(help=_("Flavor prices per hour, with their history."), no_args_is_help=True)
usage_app = typer.Typer(
    help=_("Usage: the hours hosts ran in a period, and their cost."), no_args_is_help=True
)

billing_app.add_typer(price_app, name="price")
node_app.add_typer(power_app, name="power")
node_app.add_typer(maintenance_app, name="maintenance")
node_app.add_typer(boot_device_app, name="boot-device")
node_app.add_typer(vif_app, name="vif")
node_network_app = typer.Typer(
    help=_("A node's switch ports, and the switch commands it waits for (post-configured)."),
    no_args_is_help=True,
)
node_app.add_typer(node_network_app, name="network")
host_app.add_typer(host_nic_app, name="nic")
