"""One small class per switch vendor: the commands of each change, its error markers, its save.

The syntax follows each vendor's configuration guide for layer-2 access ports, VLANs and LACP
link aggregation; the netmiko device type selects the prompt handling. Access ports only: the
port carries one untagged VLAN (a node NIC on one tenant network); trunks are a later step.

vendor (= netmiko device type), configuration mode, save:

* `cisco_ios`: configure terminal; write memory
* `arista_eos`: configure terminal; copy running-config startup-config
* `dell_os10`: configure terminal; copy running-configuration startup-configuration
* `huawei` (VRP): system-view; save (netmiko answers the Y/N question)
* `hp_comware` (H3C/HPE): system-view; save force
* `juniper_junos` (ELS): configure; commit (a failure rolls the candidate back)

"Restore the default VLAN" removes the access VLAN Ironworks set, so the port falls back to the
switch's own default (VLAN 1 on every vendor here, unless the network team changed it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from ironworks.drivers.switches.base import Change, Connection, SwitchDriver, ssh_errors
from ironworks.drivers.switches.errors import SwitchCommandRejected, SwitchUnreachable


def _per_port(ports: Sequence[str], *lines: str, leave: str = "exit") -> list[str]:
    out: list[str] = []
    for port in ports:
        out += [f"interface {port}", *lines, leave]
    return out


# The "% ..." answers of the Cisco-like CLIs (IOS, EOS, OS10).
_CISCO_ERRORS = (
    r"^\s*% ?(Invalid input|Incomplete command|Ambiguous command|Unknown command|"
    r"Unrecognized command|Bad |Error|Unavailable command|Access denied)"
)


class CiscoIOS(SwitchDriver):
    vendor = "cisco_ios"
    device_type = "cisco_ios"
    label = "Cisco IOS"
    error_pattern = _CISCO_ERRORS
    save_command = "write memory"
    needs_enable = True
    lag_prefix: ClassVar[str] = "Port-channel"

    def lag_name(self, lag: int) -> str:
        return f"{self.lag_prefix}{lag}"

    def set_access_vlan(self, port: str, vlan: int) -> list[str]:
        return _per_port([port], "switchport mode access", f"switchport access vlan {vlan}")

    def restore_default_vlan(self, port: str) -> list[str]:
        return _per_port([port], "no switchport access vlan")

    def create_vlan(self, vlan: int, name: str | None) -> list[str]:
        return [f"vlan {vlan}", *([f"name {name}"] if name else []), "exit"]

    def delete_vlan(self, vlan: int, name: str | None) -> list[str]:
        return [f"no vlan {vlan}"]

    def add_lag_ports(self, lag: int, ports: Sequence[str]) -> list[str]:
        # `channel-group N mode active` is LACP; the port-channel interface appears with it
        return _per_port(ports, f"channel-group {lag} mode active")

    def remove_lag_ports(self, lag: int, ports: Sequence[str]) -> list[str]:
        return _per_port(ports, "no channel-group")


class AristaEOS(CiscoIOS):
    vendor = "arista_eos"
    device_type = "arista_eos"
    label = "Arista EOS"
    save_command = "copy running-config startup-config"
    lag_prefix = "Port-Channel"


class DellOS10(CiscoIOS):
    vendor = "dell_os10"
    device_type = "dell_os10"
    label = "Dell OS10"
    save_command = "copy running-configuration startup-configuration"
    lag_prefix = "port-channel"

    def create_vlan(self, vlan: int, name: str | None) -> list[str]:
        return [f"interface vlan {vlan}", *([f"description {name}"] if name else []), "exit"]

    def delete_vlan(self, vlan: int, name: str | None) -> list[str]:
        return [f"no interface vlan {vlan}"]

    def add_lag_ports(self, lag: int, ports: Sequence[str]) -> list[str]:
        # OS10 members are plain (no switchport); the port-channel carries the access VLAN
        return [
            f"interface port-channel {lag}",
            "exit",
            *_per_port(ports, "no switchport", f"channel-group {lag} mode active"),
        ]

    def remove_lag_ports(self, lag: int, ports: Sequence[str]) -> list[str]:
        return _per_port(ports, "no channel-group", "switchport mode access")


class HuaweiVRP(SwitchDriver):
    vendor = "huawei"
    device_type = "huawei"
    label = "Huawei VRP"
    # "Error: Unrecognized command found at '^' position.", "Error: Wrong parameter ..."
    error_pattern = r"^\s*Error:"
    config_enter = "system-view"
    config_exit = "return"
    save_command = "save"

    def lag_name(self, lag: int) -> str:
        return f"Eth-Trunk{lag}"

    def set_access_vlan(self, port: str, vlan: int) -> list[str]:
        lines = ["port link-type access", f"port default vlan {vlan}"]
        return _per_port([port], *lines, leave="quit")

    def restore_default_vlan(self, port: str) -> list[str]:
        return _per_port([port], "undo port default vlan", leave="quit")

    def create_vlan(self, vlan: int, name: str | None) -> list[str]:
        return [f"vlan {vlan}", *([f"name {name}"] if name else []), "quit"]

    def delete_vlan(self, vlan: int, name: str | None) -> list[str]:
        return [f"undo vlan {vlan}"]

    def add_lag_ports(self, lag: int, ports: Sequence[str]) -> list[str]:
        return [
            f"interface Eth-Trunk {lag}",
            "mode lacp",
            "quit",
            *_per_port(ports, f"eth-trunk {lag}", leave="quit"),
        ]

    def remove_lag_ports(self, lag: int, ports: Sequence[str]) -> list[str]:
        return _per_port(ports, "undo eth-trunk", leave="quit")

    def _save(self, conn: Connection) -> None:
        # netmiko's HuaweiSSH.save_config answers VRP's "Are you sure to continue?[Y/N]"
        output = conn.save_config(cmd=self.save_command, confirm=True, confirm_response="y")
        self._check_saved(output)


class HPComware(HuaweiVRP):
    vendor = "hp_comware"
    device_type = "hp_comware"
    label = "H3C/HPE Comware"
    # "% Unrecognized command found at '^' position.", "% Wrong parameter found at ..."
    error_pattern = (
        r"^\s*% ?(Unrecognized command|Incomplete command|Wrong parameter|Too many parameters|"
        r"Ambiguous command)|^\s*Error:"
    )
    save_command = "save force"

    def lag_name(self, lag: int) -> str:
        return f"Bridge-Aggregation{lag}"

    def set_access_vlan(self, port: str, vlan: int) -> list[str]:
        lines = ["port link-type access", f"port access vlan {vlan}"]
        return _per_port([port], *lines, leave="quit")

    def restore_default_vlan(self, port: str) -> list[str]:
        return _per_port([port], "undo port access vlan", leave="quit")

    def add_lag_ports(self, lag: int, ports: Sequence[str]) -> list[str]:
        return [
            f"interface Bridge-Aggregation {lag}",
            "link-aggregation mode dynamic",
            "quit",
            *_per_port(ports, f"port link-aggregation group {lag}", leave="quit"),
        ]

    def remove_lag_ports(self, lag: int, ports: Sequence[str]) -> list[str]:
        return _per_port(ports, "undo port link-aggregation group", leave="quit")

    def _save(self, conn: Connection) -> None:
        # "save force" writes the startup file without asking
        self._check_saved(conn.save_config(cmd=self.save_command))


class JuniperJunos(SwitchDriver):
    """Junos with ELS (EX/QFX): `set`/`delete` statements in the candidate, then one commit."""

    vendor = "juniper_junos"
    device_type = "juniper_junos"
    label = "Juniper Junos"
    error_pattern = (
        r"^\s*(syntax error|unknown command|error:|missing argument|invalid (value|interface))"
    )
    config_enter = "configure"
    config_exit = "exit configuration-mode"
    save_command = "commit"
    transactional = True

    def script(self, changes) -> list[str]:
        return [self.config_enter, *self.render(changes), "commit and-quit"]

    def lag_name(self, lag: int) -> str:
        return f"ae{lag}"

    @staticmethod
    def _vlan_name(vlan: int, name: str | None) -> str:
        return name or f"vlan{vlan}"

    def set_access_vlan(self, port: str, vlan: int) -> list[str]:
        unit = f"interfaces {port} unit 0 family ethernet-switching"
        return [
            f"delete {unit} vlan members",
            f"set {unit} interface-mode access",
            f"set {unit} vlan members {vlan}",
        ]

    def restore_default_vlan(self, port: str) -> list[str]:
        # without members an access port falls back to the `default` VLAN
        return [f"delete interfaces {port} unit 0 family ethernet-switching vlan members"]

    def create_vlan(self, vlan: int, name: str | None) -> list[str]:
        return [f"set vlans {self._vlan_name(vlan, name)} vlan-id {vlan}"]

    def delete_vlan(self, vlan: int, name: str | None) -> list[str]:
        return [f"delete vlans {self._vlan_name(vlan, name)}"]

    def add_lag_ports(self, lag: int, ports: Sequence[str]) -> list[str]:
        out = [f"set interfaces ae{lag} aggregated-ether-options lacp active"]
        for port in ports:
            # a member carries no logical unit of its own: ae<N> does
            out += [
                f"delete interfaces {port} unit 0",
                f"set interfaces {port} ether-options 802.3ad ae{lag}",
            ]
        return out

    def remove_lag_ports(self, lag: int, ports: Sequence[str]) -> list[str]:
        return [f"delete interfaces {port} ether-options 802.3ad" for port in ports]

    def _finish(self, conn: Connection, batch: Sequence[Change]) -> None:
        try:
            conn.commit()  # type: ignore[attr-defined]
        except ValueError as exc:  # netmiko: "Commit failed with the following errors: ..."
            raise SwitchCommandRejected(
                f"{self._where()} refused to commit ({exc}): the candidate is rolled back and "
                f"nothing was applied (ports: {self._ports(batch)}). Fix the reported "
                "statement on the switch or in the driver.",
                switch=self.switch.name,
                port=self._ports(batch),
                command="commit",
            ) from exc
        except ssh_errors().lost as exc:
            raise SwitchUnreachable(
                f"{self._where()} stopped answering during commit ({exc}): check on the "
                "switch whether the commit landed (show system commit).",
                switch=self.switch.name,
                port=self._ports(batch),
                command="commit",
            ) from exc
        conn.exit_config_mode()

    def _abandon(self, conn: Connection) -> None:
        # the candidate is shared: drop what this batch put there before leaving
        try:
            conn.send_config_set(["rollback 0"], enter_config_mode=False, exit_config_mode=False)
            conn.exit_config_mode()
        except Exception:  # the original error is the one to report
            pass
