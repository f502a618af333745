"""`linux-bridge`: a Linux host driven over SSH like a switch (the lab's switch).

The lab kernels have neither 802.1Q sub-interfaces nor bridge `vlan_filtering`, so an access
VLAN is emulated with one Linux bridge per VLAN, `br-vlan<ID>`: a port (a VM's tap) is on VLAN
100 when it is enslaved to `br-vlan100`, and on no VLAN at all (isolated) when it has no master.

* create a VLAN: create its bridge (idempotent) and bring it up; delete: remove the bridge;
* set the access VLAN: `ip link set <port> master br-vlan<ID> up` (the kernel takes the port
  out of its previous bridge in the same call, and the port comes up);
* restore the default VLAN: `ip link set <port> nomaster`: the port is isolated;
* a link aggregation is a Linux bond `bond<N>` in 802.3ad mode; its member ports are enslaved to
  it, and the bond itself is the port that joins a VLAN bridge (`lag_name`).

netmiko's `linux` device type gives the shell session; each command runs as
`<command>; echo <marker>$?` and a non-zero status is a rejected command with the shell's
answer. Nothing to save: the state is the kernel's. The SSH user must be allowed to run `ip`
(root inside the lab's switch namespace).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ironworks.common.errors import InvalidInput
from ironworks.drivers.switches.base import Change, Connection, SwitchDriver, ssh_errors

_STATUS = "__ironworks_rc="
_STATUS_LINE = re.compile(re.escape(_STATUS) + r"(\d+)")
_IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")  # a Linux interface name (IFNAMSIZ 16)


def bridge(vlan: int) -> str:
    return f"br-vlan{vlan}"


class LinuxBridge(SwitchDriver):
    vendor = "linux-bridge"
    device_type = "linux"
    label = "Linux bridge"
    error_pattern = r"^(RTNETLINK answers|Error:|Cannot find device|Device does not exist)"
    config_enter = "set -e"  # what an operator pastes into a root shell: stop at the first error
    config_exit = "set +e"
    save_command = "true"  # nothing to save: the state is the kernel's

    def script(self, changes) -> list[str]:
        return [self.config_enter, *self.render(changes), self.config_exit]

    def lag_name(self, lag: int) -> str:
        return f"bond{lag}"

    def render_change(self, change: Change) -> list[str]:
        for port in getattr(change, "ports", None) or ([change.port] if change.port else []):
            if not _IFNAME.match(port):
                raise InvalidInput(
                    f"{port!r} is not a Linux interface name: a linux-bridge port is a tap or "
                    "NIC name of at most 15 letters, digits, '_', '.' or '-'.",
                    field="port",
                )
        return super().render_change(change)

    def set_access_vlan(self, port: str, vlan: int) -> list[str]:
        # one command, one round trip: a batch costs a shell round trip per port (bench/switch.py)
        return [f"ip link set {port} master {bridge(vlan)} up"]

    def restore_default_vlan(self, port: str) -> list[str]:
        return [f"ip link set {port} nomaster"]

    def create_vlan(self, vlan: int, name: str | None) -> list[str]:
        br = bridge(vlan)
        return [
            f"ip link show {br} >/dev/null 2>&1 || ip link add {br} type bridge",
            f"ip link set {br} up",
        ]

    def delete_vlan(self, vlan: int, name: str | None) -> list[str]:
        br = bridge(vlan)
        return [f"! ip link show {br} >/dev/null 2>&1 || ip link del {br}"]

    def add_lag_ports(self, lag: int, ports: Sequence[str]) -> list[str]:
        bond = self.lag_name(lag)
        out = [f"ip link show {bond} >/dev/null 2>&1 || ip link add {bond} type bond mode 802.3ad"]
        for port in ports:
            # the bonding driver enslaves only a port that is down
            out += [f"ip link set {port} down", f"ip link set {port} master {bond}"]
        return [*out, f"ip link set {bond} up"]

    def remove_lag_ports(self, lag: int, ports: Sequence[str]) -> list[str]:
        return [f"ip link set {port} nomaster" for port in ports]

    # A shell has no configuration mode: each command runs and reports its exit status.
    def _enter(self, conn: Connection, batch: Sequence[Change]) -> None:
        return None

    def _send(
        self, conn: Connection, change: Change, commands: list[str], done: list[Change]
    ) -> None:
        for command in commands:
            try:
                # the prompt found at login: netmiko otherwise looks for it again before
                # every command, which costs more than the command (bench/switch.py)
                output = str(
                    conn.send_command(f"{command}; echo {_STATUS}$?", auto_find_prompt=False)
                )
            except ssh_errors().lost as exc:
                raise self._lost(exc, change, command, done) from exc
            m = _STATUS_LINE.search(output)
            if m is None or m.group(1) != "0":
                answer = _STATUS_LINE.sub("", output).strip() or (
                    f"exit status {m.group(1)}" if m else "no exit status came back"
                )
                raise self._rejected(change, command, " ".join(answer.split()), done)

    def _finish(self, conn: Connection, batch: Sequence[Change]) -> None:
        return None

    def _abandon(self, conn: Connection) -> None:
        return None
