"""Switch drivers: changes in, vendor commands out, one SSH session per batch.

A *change* is one of six small records (`SetAccessVlan`, `RestoreDefaultVlan`, `CreateVlan`,
`DeleteVlan`, `AddLagPorts`, `RemoveLagPorts`; see `domain.network.SwitchOp`). A driver turns a
list of changes into the vendor's configuration commands with `render` (pure: no switch needed,
so every vendor's syntax is unit-tested, and the post-configured scheme shows the same text to the
operator through `script`), and `apply` sends them:

* one netmiko session for the whole batch (a login costs seconds on a real switch: moving the
  ports of twenty nodes must not log in twenty times), one configuration mode, one save or commit
  at the end, then the session closes;
* the batch is put in a safe order first: VLANs are created before ports join them, LAG
  members leave before ports move, VLANs are deleted last; a change given twice is sent once;
* the commands of each change go in their own `send_config_set` inside that session, with the
  vendor's error markers as netmiko's `error_pattern`, so the failing change is known exactly.

Failures end as `SwitchUnreachable` (no answer: retryable), `SwitchAuthFailed` or
`SwitchCommandRejected`, each naming the switch, the port and the command, and carrying
`applied`: the changes that took effect before the failure (in the running configuration, not
saved: nothing is saved after an error). Junos is transactional: a failure rolls the candidate
back and nothing is applied.

The connection comes from a factory (`connect`, default `netmiko.ConnectHandler`): tests pass a
fake connection that answers like a switch and raises netmiko's own exceptions. An SDN controller
driver (the dynamic scheme's other driver) will implement the same `apply(changes)` without SSH.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar, Protocol

from ironworks.common.errors import InvalidInput
from ironworks.domain.ipam import check_segment
from ironworks.domain.network import SwitchOp
from ironworks.drivers.switches.errors import (
    SwitchAuthFailed,
    SwitchCommandRejected,
    SwitchUnreachable,
)

# Port names as switches print them: "GigabitEthernet1/0/1", "Ethernet1", "xe-0/0/1",
# "ethernet1/1/1", "10GE1/0/1", "GigabitEthernet 1/0/1" (Comware accepts the space), "tap-vm1".
# Nothing that could end a command or start another (newline, ";", "|", "&", "$", quotes).
_PORT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./:-]*( [0-9][0-9/:.]*)?$")
_VLAN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


def check_port(port: str) -> str:
    if not isinstance(port, str) or not _PORT.match(port) or len(port) > 64:
        raise InvalidInput(
            f"{port!r} is not a switch port name: use the name the switch shows, e.g. "
            "GigabitEthernet1/0/1, xe-0/0/1 or ethernet1/1/1 (letters, digits, '/', '.', ':', "
            "'-', '_').",
            field="port",
        )
    return port


def _check_lag(lag: int) -> int:
    if not isinstance(lag, int) or not 1 <= lag <= 4096:
        raise InvalidInput(
            f"{lag!r} is not a link aggregation number: give a number from 1 to 4096 that the "
            "switch accepts for its port-channels.",
            field="lag",
        )
    return lag


# Changes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetAccessVlan:
    """Make `port` an untagged (access) member of `vlan`, leaving any other VLAN."""

    port: str
    vlan: int
    op: ClassVar[SwitchOp] = SwitchOp.SET_ACCESS_VLAN

    def __post_init__(self) -> None:
        check_port(self.port)
        check_segment(self.vlan, field="vlan")


@dataclass(frozen=True)
class RestoreDefaultVlan:
    """Give `port` back to the switch's default VLAN (undo what Ironworks set on it)."""

    port: str
    op: ClassVar[SwitchOp] = SwitchOp.RESTORE_DEFAULT_VLAN

    def __post_init__(self) -> None:
        check_port(self.port)


@dataclass(frozen=True)
class CreateVlan:
    vlan: int
    name: str | None = None  # Junos needs a name; the others show it in `show vlan`
    op: ClassVar[SwitchOp] = SwitchOp.CREATE_VLAN
    port: ClassVar[None] = None

    def __post_init__(self) -> None:
        check_segment(self.vlan, field="vlan")
        if self.name is not None and not _VLAN_NAME.match(self.name):
            raise InvalidInput(
                f"{self.name!r} is not a VLAN name switches accept: use up to 32 letters, "
                "digits, '-' or '_'.",
                field="name",
            )


@dataclass(frozen=True)
class DeleteVlan:
    vlan: int
    name: str | None = None
    op: ClassVar[SwitchOp] = SwitchOp.DELETE_VLAN
    port: ClassVar[None] = None

    def __post_init__(self) -> None:
        check_segment(self.vlan, field="vlan")


@dataclass(frozen=True)
class AddLagPorts:
    """Bundle `ports` into LACP link aggregation number `lag` (created when missing)."""

    lag: int
    ports: tuple[str, ...]
    op: ClassVar[SwitchOp] = SwitchOp.ADD_LAG_PORTS

    def __post_init__(self) -> None:
        _check_lag(self.lag)
        object.__setattr__(self, "ports", tuple(check_port(p) for p in self.ports))

    @property
    def port(self) -> str:
        return ",".join(self.ports)


@dataclass(frozen=True)
class RemoveLagPorts:
    lag: int
    ports: tuple[str, ...]
    op: ClassVar[SwitchOp] = SwitchOp.REMOVE_LAG_PORTS

    def __post_init__(self) -> None:
        _check_lag(self.lag)
        object.__setattr__(self, "ports", tuple(check_port(p) for p in self.ports))

    @property
    def port(self) -> str:
        return ",".join(self.ports)


Change = SetAccessVlan | RestoreDefaultVlan | CreateVlan | DeleteVlan | AddLagPorts | RemoveLagPorts

# The order inside one batch: a VLAN exists before a port joins it, a port leaves its LAG before
# it moves alone, a VLAN is deleted once no port of the batch uses it.
_ORDER = {
    SwitchOp.CREATE_VLAN: 0,
    SwitchOp.REMOVE_LAG_PORTS: 1,
    SwitchOp.ADD_LAG_PORTS: 2,
    SwitchOp.SET_ACCESS_VLAN: 3,
    SwitchOp.RESTORE_DEFAULT_VLAN: 3,
    SwitchOp.DELETE_VLAN: 4,
}


def order(changes: Iterable[Change]) -> list[Change]:
    """The batch in a safe order, each change once (stable otherwise)."""
    unique = list(dict.fromkeys(changes))
    return sorted(unique, key=lambda c: _ORDER[c.op])


# Sessions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SwitchAccess:
    """How to reach one switch (the database row, decrypted, becomes this)."""

    name: str
    host: str
    username: str
    password: str = field(repr=False)
    port: int = 22
    secret: str = field(default="", repr=False)  # the enable password of IOS/EOS, if any
    timeout: float = 15.0  # connecting and each read, seconds


class Connection(Protocol):
    """The part of a netmiko connection the drivers use (fakes implement it in tests)."""

    def enable(self, *args: Any, **kwargs: Any) -> str: ...
    def config_mode(self, *args: Any, **kwargs: Any) -> str: ...
    def exit_config_mode(self, *args: Any, **kwargs: Any) -> str: ...
    def send_config_set(self, config_commands: Sequence[str], **kwargs: Any) -> str: ...
    def send_command(self, command_string: str, **kwargs: Any) -> Any: ...
    def save_config(self, *args: Any, **kwargs: Any) -> str: ...
    def disconnect(self) -> None: ...


Connect = Callable[..., Connection]


@dataclass(frozen=True)
class SshErrors:
    """netmiko's and paramiko's exceptions, by what they mean to a driver. Imported on first
    use: netmiko (and paramiko under it) cost ~20 MiB of RSS, which an API or conductor that
    never talks to a switch should not pay (`except ssh_errors().lost` imports them only when
    an exception is being matched)."""

    auth: type[Exception]  # the login was refused
    config_invalid: type[Exception]  # the switch refused a configuration command
    unreachable: tuple[type[BaseException], ...]  # no session could be opened
    lost: tuple[type[BaseException], ...]  # the session broke or timed out midway


@cache
def ssh_errors() -> SshErrors:
    from netmiko.exceptions import (
        ConfigInvalidException,
        ConnectionException,
        NetmikoAuthenticationException,
        NetmikoTimeoutException,
        ReadTimeout,
    )
    from paramiko.ssh_exception import SSHException

    return SshErrors(
        auth=NetmikoAuthenticationException,
        config_invalid=ConfigInvalidException,
        unreachable=(NetmikoTimeoutException, ConnectionException, SSHException, OSError),
        lost=(NetmikoTimeoutException, ReadTimeout, SSHException, OSError, EOFError),
    )


def netmiko_connect(**params: Any) -> Connection:
    from netmiko import ConnectHandler

    return ConnectHandler(**params)


# netmiko's ConfigInvalidException says "Invalid input detected at command: <cmd>, matched ..."
_FAILED_AT = re.compile(r"at command: (?P<cmd>.*?), matched error: (?P<error>.*)$", re.S)


class SwitchDriver:
    """One vendor: how to render each change, which markers mean an error, how to save."""

    vendor: ClassVar[str]  # our name, stored with the switch
    device_type: ClassVar[str]  # netmiko's
    label: ClassVar[str]  # for people
    error_pattern: ClassVar[str]  # a regex over the switch's answer (re.M)
    config_enter: ClassVar[str] = "configure terminal"  # what netmiko's config_mode() sends
    config_exit: ClassVar[str] = "end"
    save_command: ClassVar[str] = "write memory"
    # True when nothing takes effect before the final commit (Junos): a failure applies nothing
    transactional: ClassVar[bool] = False
    # True when configuration needs privileged EXEC first (IOS-like CLIs: `enable` + secret)
    needs_enable: ClassVar[bool] = False

    def __init__(self, switch: SwitchAccess, *, connect: Connect | None = None) -> None:
        self.switch = switch
        self._connect = connect or netmiko_connect

    # Rendering (pure) ------------------------------------------------------------------------
    def lag_name(self, lag: int) -> str:
        """The interface name of LAG `lag` on this switch, e.g. to set its access VLAN."""
        raise NotImplementedError

    def set_access_vlan(self, port: str, vlan: int) -> list[str]:
        raise NotImplementedError

    def restore_default_vlan(self, port: str) -> list[str]:
        raise NotImplementedError

    def create_vlan(self, vlan: int, name: str | None) -> list[str]:
        raise NotImplementedError

    def delete_vlan(self, vlan: int, name: str | None) -> list[str]:
        raise NotImplementedError

    def add_lag_ports(self, lag: int, ports: Sequence[str]) -> list[str]:
        raise NotImplementedError

    def remove_lag_ports(self, lag: int, ports: Sequence[str]) -> list[str]:
        raise NotImplementedError

    def render_change(self, change: Change) -> list[str]:
        match change:
            case SetAccessVlan(port=port, vlan=vlan):
                return self.set_access_vlan(port, vlan)
            case RestoreDefaultVlan(port=port):
                return self.restore_default_vlan(port)
            case CreateVlan(vlan=vlan, name=name):
                return self.create_vlan(vlan, name)
            case DeleteVlan(vlan=vlan, name=name):
                return self.delete_vlan(vlan, name)
            case AddLagPorts(lag=lag, ports=ports):
                return self.add_lag_ports(lag, ports)
            case RemoveLagPorts(lag=lag, ports=ports):
                return self.remove_lag_ports(lag, ports)
        raise TypeError(f"not a switch change: {change!r}")

    def render(self, changes: Iterable[Change]) -> list[str]:
        """The configuration-mode commands of a batch, in the order `apply` sends them."""
        return [cmd for change in order(changes) for cmd in self.render_change(change)]

    def script(self, changes: Iterable[Change]) -> list[str]:
        """What an operator types at the switch's prompt: enter configuration, the commands,
        leave, save (the post-configured scheme shows this)."""
        return [self.config_enter, *self.render(changes), self.config_exit, self.save_command]

    # Applying --------------------------------------------------------------------------------
    def apply(self, changes: Iterable[Change]) -> list[Change]:
        """Apply a batch in one session and save once; return the changes applied."""
        batch = order(changes)
        if not batch:
            return []
        rendered = [(change, self.render_change(change)) for change in batch]  # bad input: no login
        conn = self._open(batch)
        done: list[Change] = []
        try:
            self._enter(conn, batch)
            for change, commands in rendered:
                self._send(conn, change, commands, done)
                done.append(change)
            self._finish(conn, batch)
        except Exception:
            self._abandon(conn)
            raise
        finally:
            try:
                conn.disconnect()
            except Exception:  # the session is gone already; nothing left to close
                pass
        return done

    def _params(self) -> dict[str, Any]:
        s = self.switch
        return {
            "device_type": self.device_type,
            "host": s.host,
            "port": s.port,
            "username": s.username,
            "password": s.password,
            "secret": s.secret,
            "conn_timeout": s.timeout,
            "auth_timeout": s.timeout,
            "banner_timeout": s.timeout,
            "read_timeout_override": s.timeout,
        }

    def _where(self) -> str:
        return f"Switch {self.switch.name!r} ({self.switch.host}, {self.label})"

    @staticmethod
    def _ports(batch: Sequence[Change]) -> str:
        return ", ".join(dict.fromkeys(c.port for c in batch if c.port)) or "none"

    def _open(self, batch: Sequence[Change]) -> Connection:
        where, ports = self._where(), self._ports(batch)
        try:
            return self._connect(**self._params())
        except ssh_errors().auth as exc:
            raise SwitchAuthFailed(
                f"{where} refused the login of user {self.switch.username!r} ({exc}): check "
                f"the switch's username and password. Nothing was changed (ports: {ports}).",
                switch=self.switch.name,
                port=ports,
            ) from exc
        except ssh_errors().unreachable as exc:
            raise SwitchUnreachable(
                f"{where} did not answer on SSH port {self.switch.port} ({exc}): check that it "
                f"is up and reachable from the conductor. Nothing was changed (ports: {ports}).",
                switch=self.switch.name,
                port=ports,
            ) from exc

    def _enter(self, conn: Connection, batch: Sequence[Change]) -> None:
        if self.needs_enable:
            try:
                conn.enable()  # netmiko: a no-op when the login lands in privileged EXEC
            except ValueError as exc:  # netmiko: "Failed to enter enable mode..."
                raise SwitchAuthFailed(
                    f"{self._where()} did not grant privileged mode to user "
                    f"{self.switch.username!r} ({exc}): set the switch's enable secret, or give "
                    f"the user privilege 15. Nothing was changed (ports: {self._ports(batch)}).",
                    switch=self.switch.name,
                    port=self._ports(batch),
                    command="enable",
                ) from exc
        try:
            conn.config_mode()
        except ssh_errors().lost as exc:
            raise self._lost(exc, None, self.config_enter, []) from exc

    def _send(
        self, conn: Connection, change: Change, commands: list[str], done: list[Change]
    ) -> None:
        try:
            output = conn.send_config_set(
                commands,
                enter_config_mode=False,
                exit_config_mode=False,
                error_pattern=self.error_pattern,
            )
        except ssh_errors().config_invalid as exc:
            m = _FAILED_AT.search(str(exc))
            command = m.group("cmd") if m else " / ".join(commands)
            answer = m.group("error").strip() if m else str(exc)
            raise self._rejected(change, command, answer, done) from exc
        except ssh_errors().lost as exc:
            raise self._lost(exc, change, " / ".join(commands), done) from exc
        self._check(output, change, commands, done)

    def _check(self, output: str, change: Change, commands: Sequence[str], done: list[Change]):
        """Markers netmiko did not catch (e.g. a fake connection's answer): the first error
        line belongs to the last command echoed before it."""
        current = commands[0]
        for line in str(output).splitlines():
            if re.search(self.error_pattern, line):
                raise self._rejected(change, current, line.strip(), done)
            echoed = [c for c in commands if c in line]
            if echoed:
                current = max(echoed, key=len)

    def _rejected(self, change: Change, command: str, answer: str, done: list[Change]):
        port = change.port or "none"
        return SwitchCommandRejected(
            f"{self._where()} rejected {command!r} for port {port}: {answer}. Check that the "
            "port and VLAN exist on the switch and that the driver's syntax fits its "
            f"firmware. {self._left(done)}",
            switch=self.switch.name,
            port=change.port,
            command=command,
            applied=self._applied(done),
        )

    def _lost(self, exc: BaseException, change: Change | None, command: str, done: list[Change]):
        port = (change.port if change else None) or "none"
        return SwitchUnreachable(
            f"{self._where()} stopped answering while sending {command!r} for port {port} "
            f"({exc}): check the switch and its management network. {self._left(done)}",
            switch=self.switch.name,
            port=change.port if change else None,
            command=command,
            applied=self._applied(done),
        )

    def _applied(self, done: Sequence[Change]) -> list[Change]:
        return [] if self.transactional else list(done)

    def _left(self, done: Sequence[Change]) -> str:
        if self.transactional:
            return "Nothing was committed: the batch was rolled back."
        if not done:
            return "Nothing of this batch was applied."
        ports = self._ports(done) if any(c.port for c in done) else "no port"
        return (
            f"{len(done)} earlier change(s) of this batch are live but not saved (ports: {ports})."
        )

    def _finish(self, conn: Connection, batch: Sequence[Change]) -> None:
        """Leave configuration mode and save once."""
        try:
            conn.exit_config_mode()
            self._save(conn)
        except ssh_errors().lost as exc:
            raise self._lost(exc, None, self.save_command, batch) from exc

    def _save(self, conn: Connection) -> None:
        self._check_saved(conn.save_config(cmd=self.save_command))

    def _check_saved(self, output: str) -> None:
        for line in str(output).splitlines():
            if re.search(self.error_pattern, line):
                raise SwitchCommandRejected(
                    f"{self._where()} did not save its configuration ({line.strip()}): the "
                    "changes are live but would not survive a reboot; save it by hand and "
                    "check the switch's storage.",
                    switch=self.switch.name,
                    command=self.save_command,
                )

    def _abandon(self, conn: Connection) -> None:
        """After a failure: leave configuration mode without saving (best effort)."""
        try:
            conn.exit_config_mode()
        except Exception:  # the original error is the one to report
            pass
