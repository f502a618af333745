"""Switch drivers: each vendor's commands, one session per batch, and the error mapping.

The expected command lists are written by hand from each vendor's configuration guide (layer-2
access ports, VLANs, LACP link aggregation). The connection is a fake that answers like a switch
and raises netmiko's own exceptions; nothing asserts call shapes beyond what a switch would see.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from netmiko.exceptions import (
    ConfigInvalidException,
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadTimeout,
)
from netmiko.ssh_dispatcher import CLASS_MAPPER

from ironworks.common.errors import InvalidInput
from ironworks.drivers.switches import (
    DRIVERS,
    AddLagPorts,
    CreateVlan,
    DeleteVlan,
    RemoveLagPorts,
    RestoreDefaultVlan,
    SetAccessVlan,
    SwitchAccess,
    driver_for,
)
from ironworks.drivers.switches.errors import (
    SwitchAuthFailed,
    SwitchCommandRejected,
    SwitchUnreachable,
)

SWITCH = SwitchAccess(name="tor-1", host="10.99.0.2", username="ironworks", password="s3cret")


class FakeSwitch:
    """A switch at the other end of one SSH session.

    `reject` maps a command to the switch's error answer; like netmiko, a `send_config_set`
    with an `error_pattern` that matches the answer raises ConfigInvalidException. `fail` maps a
    command to an exception raised when it is sent (a dropped session)."""

    def __init__(
        self,
        *,
        reject: dict[str, str] | None = None,
        fail: dict[str, Exception] | None = None,
        honour_error_pattern: bool = True,
        exit_status: dict[str, tuple[int, str]] | None = None,
        commit_error: Exception | None = None,
        enable_secret_wrong: bool = False,
    ) -> None:
        self.enable_secret_wrong = enable_secret_wrong
        self.reject = reject or {}
        self.fail = fail or {}
        self.honour_error_pattern = honour_error_pattern
        self.exit_status = exit_status or {}
        self.commit_error = commit_error
        self.running: list[str] = []  # every configuration command that took effect
        self.events: list[str] = []  # session-level things: config mode, save, commit, close

    # netmiko BaseConnection, as far as the drivers use it
    def enable(self, *args: Any, **kwargs: Any) -> str:
        if self.enable_secret_wrong:
            raise ValueError("Failed to enter enable mode. Please ensure you pass the 'secret'")
        self.events.append("enable")
        return ""

    def config_mode(self, *args: Any, **kwargs: Any) -> str:
        self.events.append("config")
        return ""

    def exit_config_mode(self, *args: Any, **kwargs: Any) -> str:
        self.events.append("exit")
        return ""

    def send_config_set(self, config_commands, *, error_pattern: str = "", **kwargs) -> str:
        output = []
        for cmd in config_commands:
            if cmd in self.fail:
                raise self.fail[cmd]
            output.append(f"switch(config)#{cmd}")
            answer = self.reject.get(cmd)
            if answer is None:
                self.running.append(cmd)
                continue
            output.append(answer)
            if (
                self.honour_error_pattern
                and error_pattern
                and re.search(error_pattern, answer, flags=re.M)
            ):
                raise ConfigInvalidException(
                    f"Invalid input detected at command: {cmd}, matched error: {answer}"
                )
        return "\n".join(output)

    def send_command(self, command_string: str, **kwargs: Any) -> str:
        cmd, _, _ = command_string.partition("; echo __ironworks_rc=$?")
        if cmd in self.fail:
            raise self.fail[cmd]
        status, answer = self.exit_status.get(cmd, (0, ""))
        if status == 0:
            self.running.append(cmd)
        return f"{answer}\n__ironworks_rc={status}\n".lstrip()

    def save_config(self, cmd: str = "", **kwargs: Any) -> str:
        self.events.append(f"save:{cmd}")
        return ""

    def commit(self, **kwargs: Any) -> str:
        self.events.append("commit")
        if self.commit_error:
            raise self.commit_error
        return "commit complete"

    def disconnect(self) -> None:
        self.events.append("close")


class Factory:
    """The connection factory seam: counts logins, hands out one fake, or fails to connect."""

    def __init__(self, switch: FakeSwitch | None = None, error: Exception | None = None):
        self.switch = switch or FakeSwitch()
        self.error = error
        self.logins: list[dict[str, Any]] = []

    def __call__(self, **params: Any) -> FakeSwitch:
        self.logins.append(params)
        if self.error:
            raise self.error
        return self.switch


def driver(vendor: str, fake: FakeSwitch | None = None, error: Exception | None = None):
    factory = Factory(fake, error)
    return driver_for(vendor, SWITCH, connect=factory), factory


# The vendors' documented syntax --------------------------------------------------------------

PORT = {
    "cisco_ios": "GigabitEthernet1/0/10",
    "arista_eos": "Ethernet10",
    "dell_os10": "ethernet1/1/10",
    "huawei": "GigabitEthernet0/0/10",
    "hp_comware": "GigabitEthernet1/0/10",
    "juniper_junos": "xe-0/0/10",
    "linux-bridge": "tap-vm10",
}
MEMBERS = {
    "cisco_ios": ("GigabitEthernet1/0/11", "GigabitEthernet1/0/12"),
    "arista_eos": ("Ethernet11", "Ethernet12"),
    "dell_os10": ("ethernet1/1/11", "ethernet1/1/12"),
    "huawei": ("GigabitEthernet0/0/11", "GigabitEthernet0/0/12"),
    "hp_comware": ("GigabitEthernet1/0/11", "GigabitEthernet1/0/12"),
    "juniper_junos": ("xe-0/0/11", "xe-0/0/12"),
    "linux-bridge": ("tap-vm11", "tap-vm12"),
}

EXPECTED: dict[str, dict[str, list[str]]] = {
    "cisco_ios": {
        "access": [
            "interface GigabitEthernet1/0/10",
            "switchport mode access",
            "switchport access vlan 120",
            "exit",
        ],
        "restore": ["interface GigabitEthernet1/0/10", "no switchport access vlan", "exit"],
        "create": ["vlan 120", "name tenant-a", "exit"],
        "delete": ["no vlan 120"],
        "lag": [
            "interface GigabitEthernet1/0/11",
            "channel-group 7 mode active",
            "exit",
            "interface GigabitEthernet1/0/12",
            "channel-group 7 mode active",
            "exit",
        ],
        "unlag": [
            "interface GigabitEthernet1/0/11",
            "no channel-group",
            "exit",
            "interface GigabitEthernet1/0/12",
            "no channel-group",
            "exit",
        ],
    },
    "arista_eos": {
        "access": [
            "interface Ethernet10",
            "switchport mode access",
            "switchport access vlan 120",
            "exit",
        ],
        "restore": ["interface Ethernet10", "no switchport access vlan", "exit"],
        "create": ["vlan 120", "name tenant-a", "exit"],
        "delete": ["no vlan 120"],
        "lag": [
            "interface Ethernet11",
            "channel-group 7 mode active",
            "exit",
            "interface Ethernet12",
            "channel-group 7 mode active",
            "exit",
        ],
        "unlag": [
            "interface Ethernet11",
            "no channel-group",
            "exit",
            "interface Ethernet12",
            "no channel-group",
            "exit",
        ],
    },
    "dell_os10": {
        "access": [
            "interface ethernet1/1/10",
            "switchport mode access",
            "switchport access vlan 120",
            "exit",
        ],
        "restore": ["interface ethernet1/1/10", "no switchport access vlan", "exit"],
        "create": ["interface vlan 120", "description tenant-a", "exit"],
        "delete": ["no interface vlan 120"],
        "lag": [
            "interface port-channel 7",
            "exit",
            "interface ethernet1/1/11",
            "no switchport",
            "channel-group 7 mode active",
            "exit",
            "interface ethernet1/1/12",
            "no switchport",
            "channel-group 7 mode active",
            "exit",
        ],
        "unlag": [
            "interface ethernet1/1/11",
            "no channel-group",
            "switchport mode access",
            "exit",
            "interface ethernet1/1/12",
            "no channel-group",
            "switchport mode access",
            "exit",
        ],
    },
    "huawei": {
        "access": [
            "interface GigabitEthernet0/0/10",
            "port link-type access",
            "port default vlan 120",
            "quit",
        ],
        "restore": ["interface GigabitEthernet0/0/10", "undo port default vlan", "quit"],
        "create": ["vlan 120", "name tenant-a", "quit"],
        "delete": ["undo vlan 120"],
        "lag": [
            "interface Eth-Trunk 7",
            "mode lacp",
            "quit",
            "interface GigabitEthernet0/0/11",
            "eth-trunk 7",
            "quit",
            "interface GigabitEthernet0/0/12",
            "eth-trunk 7",
            "quit",
        ],
        "unlag": [
            "interface GigabitEthernet0/0/11",
            "undo eth-trunk",
            "quit",
            "interface GigabitEthernet0/0/12",
            "undo eth-trunk",
            "quit",
        ],
    },
    "hp_comware": {
        "access": [
            "interface GigabitEthernet1/0/10",
            "port link-type access",
            "port access vlan 120",
            "quit",
        ],
        "restore": ["interface GigabitEthernet1/0/10", "undo port access vlan", "quit"],
        "create": ["vlan 120", "name tenant-a", "quit"],
        "delete": ["undo vlan 120"],
        "lag": [
            "interface Bridge-Aggregation 7",
            "link-aggregation mode dynamic",
            "quit",
            "interface GigabitEthernet1/0/11",
            "port link-aggregation group 7",
            "quit",
            "interface GigabitEthernet1/0/12",
            "port link-aggregation group 7",
            "quit",
        ],
        "unlag": [
            "interface GigabitEthernet1/0/11",
            "undo port link-aggregation group",
            "quit",
            "interface GigabitEthernet1/0/12",
            "undo port link-aggregation group",
            "quit",
        ],
    },
    "juniper_junos": {
        "access": [
            "delete interfaces xe-0/0/10 unit 0 family ethernet-switching vlan members",
            "set interfaces xe-0/0/10 unit 0 family ethernet-switching interface-mode access",
            "set interfaces xe-0/0/10 unit 0 family ethernet-switching vlan members 120",
        ],
        "restore": ["delete interfaces xe-0/0/10 unit 0 family ethernet-switching vlan members"],
        "create": ["set vlans tenant-a vlan-id 120"],
        "delete": ["delete vlans tenant-a"],
        "lag": [
            "set interfaces ae7 aggregated-ether-options lacp active",
            "delete interfaces xe-0/0/11 unit 0",
            "set interfaces xe-0/0/11 ether-options 802.3ad ae7",
            "delete interfaces xe-0/0/12 unit 0",
            "set interfaces xe-0/0/12 ether-options 802.3ad ae7",
        ],
        "unlag": [
            "delete interfaces xe-0/0/11 ether-options 802.3ad",
            "delete interfaces xe-0/0/12 ether-options 802.3ad",
        ],
    },
    "linux-bridge": {
        "access": ["ip link set tap-vm10 master br-vlan120 up"],
        "restore": ["ip link set tap-vm10 nomaster"],
        "create": [
            "ip link show br-vlan120 >/dev/null 2>&1 || ip link add br-vlan120 type bridge",
            "ip link set br-vlan120 up",
        ],
        "delete": ["! ip link show br-vlan120 >/dev/null 2>&1 || ip link del br-vlan120"],
        "lag": [
            "ip link show bond7 >/dev/null 2>&1 || ip link add bond7 type bond mode 802.3ad",
            "ip link set tap-vm11 down",
            "ip link set tap-vm11 master bond7",
            "ip link set tap-vm12 down",
            "ip link set tap-vm12 master bond7",
            "ip link set bond7 up",
        ],
        "unlag": ["ip link set tap-vm11 nomaster", "ip link set tap-vm12 nomaster"],
    },
}


def changes_of(vendor: str) -> dict[str, Any]:
    return {
        "access": SetAccessVlan(PORT[vendor], 120),
        "restore": RestoreDefaultVlan(PORT[vendor]),
        "create": CreateVlan(120, "tenant-a"),
        "delete": DeleteVlan(120, "tenant-a"),
        "lag": AddLagPorts(7, MEMBERS[vendor]),
        "unlag": RemoveLagPorts(7, MEMBERS[vendor]),
    }


def test_every_vendor_is_tested_and_registered():
    assert (
        set(EXPECTED)
        == set(DRIVERS)
        == {
            "cisco_ios",
            "huawei",
            "hp_comware",
            "juniper_junos",
            "arista_eos",
            "dell_os10",
            "linux-bridge",
        }
    )


@pytest.mark.parametrize("vendor", sorted(EXPECTED))
@pytest.mark.parametrize("op", ["access", "restore", "create", "delete", "lag", "unlag"])
def test_rendered_commands_follow_the_vendor_syntax(vendor, op):
    d, _ = driver(vendor)
    assert d.render([changes_of(vendor)[op]]) == EXPECTED[vendor][op]


def test_vlan_names_are_optional_and_junos_names_by_id():
    ios, _ = driver("cisco_ios")
    assert ios.render([CreateVlan(130)]) == ["vlan 130", "exit"]
    junos, _ = driver("juniper_junos")
    assert junos.render([CreateVlan(130)]) == ["set vlans vlan130 vlan-id 130"]
    assert junos.render([DeleteVlan(130)]) == ["delete vlans vlan130"]


@pytest.mark.parametrize(
    ("vendor", "name"),
    [
        ("cisco_ios", "Port-channel7"),
        ("arista_eos", "Port-Channel7"),
        ("dell_os10", "port-channel7"),
        ("huawei", "Eth-Trunk7"),
        ("hp_comware", "Bridge-Aggregation7"),
        ("juniper_junos", "ae7"),
        ("linux-bridge", "bond7"),
    ],
)
def test_lag_interface_names(vendor, name):
    d, _ = driver(vendor)
    assert d.lag_name(7) == name
    # the LAG is then a port like any other: its access VLAN is set the same way
    assert d.render([SetAccessVlan(name, 120)])


@pytest.mark.parametrize(
    ("vendor", "enter", "leave"),
    [
        ("cisco_ios", ["configure terminal"], ["end", "write memory"]),
        ("arista_eos", ["configure terminal"], ["end", "copy running-config startup-config"]),
        (
            "dell_os10",
            ["configure terminal"],
            ["end", "copy running-configuration startup-configuration"],
        ),
        ("huawei", ["system-view"], ["return", "save"]),
        ("hp_comware", ["system-view"], ["return", "save force"]),
        ("juniper_junos", ["configure"], ["commit and-quit"]),
        ("linux-bridge", ["set -e"], ["set +e"]),
    ],
)
def test_operator_script_wraps_the_commands(vendor, enter, leave):
    d, _ = driver(vendor)
    change = SetAccessVlan(PORT[vendor], 120)
    assert d.script([change]) == [*enter, *EXPECTED[vendor]["access"], *leave]


@pytest.mark.parametrize("vendor", sorted(DRIVERS))
def test_netmiko_knows_every_device_type(vendor):
    _, factory = driver(vendor)
    d = DRIVERS[vendor](SWITCH, connect=factory)
    d.apply([SetAccessVlan(PORT[vendor], 120)])
    params = factory.logins[0]
    assert params["device_type"] in CLASS_MAPPER
    assert (params["host"], params["port"], params["username"]) == ("10.99.0.2", 22, "ironworks")


def test_switch_access_never_shows_its_password():
    text = repr(SwitchAccess("tor-1", "10.0.0.2", "admin", "hunter2", secret="enable-pw"))
    assert "hunter2" not in text and "enable-pw" not in text


@pytest.mark.parametrize(
    "port", ["Gi1/0/1; reload", "Gi1/0/1\nreload", "", "$(reboot)", "a|b", "'x'", "-x"]
)
def test_port_names_that_could_inject_commands_are_refused(port):
    with pytest.raises(InvalidInput) as err:
        SetAccessVlan(port, 100)
    assert err.value.field == "port"


def test_linux_bridge_wants_linux_interface_names_before_logging_in():
    d, factory = driver("linux-bridge")
    with pytest.raises(InvalidInput) as err:
        d.apply([SetAccessVlan("GigabitEthernet1/0/1", 100)])
    assert "not a Linux interface name" in err.value.message
    assert factory.logins == []


def test_changes_check_vlan_ids_names_and_lag_numbers():
    with pytest.raises(InvalidInput):
        SetAccessVlan("Gi1/0/1", 4095)
    with pytest.raises(InvalidInput):
        CreateVlan(100, "tenant a; reload")
    with pytest.raises(InvalidInput):
        AddLagPorts(0, ("Gi1/0/1",))


# Batches -------------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", sorted(DRIVERS))
def test_many_ports_move_in_one_session_with_one_save(vendor):
    fake = FakeSwitch()
    d, factory = driver(vendor, fake)
    stem = "tap" if vendor == "linux-bridge" else PORT[vendor][:-2]
    ports = [f"{stem}{i}" for i in range(1, 49)]
    batch = [SetAccessVlan(p, 100 + i % 2) for i, p in enumerate(ports)]
    batch += [CreateVlan(100), CreateVlan(101), CreateVlan(100)]  # given late, and twice
    applied = d.apply(batch)
    assert len(factory.logins) == 1
    assert len(applied) == 50  # 48 moves, 2 VLANs (the duplicate once)
    assert applied[:2] == [CreateVlan(100), CreateVlan(101)]  # VLANs exist before ports join
    assert fake.running == d.render(batch)
    if vendor == "linux-bridge":
        assert fake.events == ["close"]  # a shell: nothing to enter, nothing to save
    elif vendor == "juniper_junos":
        assert fake.events == ["config", "commit", "exit", "close"]
    elif vendor in ("cisco_ios", "arista_eos", "dell_os10"):
        assert fake.events == ["enable", "config", "exit", f"save:{d.save_command}", "close"]
    else:
        assert fake.events == ["config", "exit", f"save:{d.save_command}", "close"]


def test_batch_order_is_safe_whatever_the_caller_order():
    d, _ = driver("cisco_ios")
    batch = [
        DeleteVlan(200),
        SetAccessVlan("Gi1/0/1", 100),
        AddLagPorts(3, ("Gi1/0/2", "Gi1/0/3")),
        RemoveLagPorts(4, ("Gi1/0/5",)),
        CreateVlan(100),
    ]
    commands = d.render(batch)
    assert commands.index("vlan 100") < commands.index("switchport access vlan 100")
    assert commands.index("no channel-group") < commands.index("channel-group 3 mode active")
    assert commands[-1] == "no vlan 200"


def test_an_empty_batch_opens_no_session():
    d, factory = driver("cisco_ios")
    assert d.apply([]) == []
    assert factory.logins == []


# Errors --------------------------------------------------------------------------------------


def test_a_switch_that_does_not_answer():
    d, _ = driver("cisco_ios", error=NetmikoTimeoutException("TCP connection to device failed."))
    with pytest.raises(SwitchUnreachable) as err:
        d.apply([SetAccessVlan("Gi1/0/7", 100), SetAccessVlan("Gi1/0/8", 100)])
    e = err.value
    assert e.retryable
    assert "Switch 'tor-1' (10.99.0.2, Cisco IOS) did not answer on SSH port 22" in e.message
    assert "Gi1/0/7, Gi1/0/8" in e.message and "Nothing was changed" in e.message
    assert e.applied == ()


def test_a_switch_that_refuses_the_credentials():
    d, _ = driver("huawei", error=NetmikoAuthenticationException("Authentication failed."))
    with pytest.raises(SwitchAuthFailed) as err:
        d.apply([SetAccessVlan("GigabitEthernet0/0/7", 100)])
    e = err.value
    assert not getattr(e, "retryable", False)
    assert "refused the login of user 'ironworks'" in e.message
    assert "GigabitEthernet0/0/7" in e.message and "s3cret" not in e.message


def test_a_refused_enable_secret_is_an_auth_failure():
    fake = FakeSwitch(enable_secret_wrong=True)
    d, _ = driver("cisco_ios", fake)
    with pytest.raises(SwitchAuthFailed) as err:
        d.apply([SetAccessVlan("Gi1/0/7", 100)])
    assert err.value.command == "enable"
    assert "did not grant privileged mode to user 'ironworks'" in err.value.message
    assert fake.running == [] and "config" not in fake.events and fake.events[-1] == "close"


@pytest.mark.parametrize(
    ("vendor", "answer"),
    [
        ("cisco_ios", "% Invalid input detected at '^' marker."),
        ("arista_eos", "% Invalid input"),
        ("dell_os10", '% Error: Invalid input at "^" marker.'),
        ("huawei", "Error: Unrecognized command found at '^' position."),
        ("hp_comware", "% Unrecognized command found at '^' position."),
        ("juniper_junos", "syntax error."),
    ],
)
@pytest.mark.parametrize("netmiko_catches", [True, False])
def test_a_rejected_command_names_switch_port_and_command(vendor, answer, netmiko_catches):
    bad_port = PORT[vendor].replace("10", "99")
    bad = SetAccessVlan(bad_port, 120)
    d, _ = driver(vendor)
    failing = d.render([bad])[0]  # names the port: the switch has no such interface
    fake = FakeSwitch(reject={failing: answer}, honour_error_pattern=netmiko_catches)
    d, _ = driver(vendor, fake)
    good = SetAccessVlan(PORT[vendor], 120)
    later = SetAccessVlan(MEMBERS[vendor][0], 120)
    with pytest.raises(SwitchCommandRejected) as err:
        d.apply([good, bad, later])
    e = err.value
    assert (e.switch, e.port, e.command) == ("tor-1", bad_port, failing)
    assert f"Switch 'tor-1' (10.99.0.2, {d.label}) rejected {failing!r} for port {bad_port}" in (
        e.message
    )
    assert answer in e.message
    assert not any(ev.startswith(("save", "commit")) for ev in fake.events)  # never saved
    assert fake.events[-1] == "close"
    assert not any(MEMBERS[vendor][0] in c for c in fake.running)  # stopped at the error
    if vendor == "juniper_junos":
        assert e.applied == ()  # the candidate is rolled back, nothing was committed
        assert "rollback 0" in fake.running
        assert "Nothing was committed" in e.message
    else:
        assert e.applied == (good,)  # live, not saved: the caller records or undoes it
        assert "1 earlier change(s) of this batch are live but not saved" in e.message


def test_a_session_that_drops_midway_is_unreachable_with_the_command():
    d, _ = driver("arista_eos")
    failing = d.render([SetAccessVlan("Ethernet5", 100)])[0]
    fake = FakeSwitch(fail={failing: ReadTimeout("Pattern not detected")})
    d, _ = driver("arista_eos", fake)
    with pytest.raises(SwitchUnreachable) as err:
        d.apply([SetAccessVlan("Ethernet5", 100)])
    e = err.value
    assert e.retryable and e.port == "Ethernet5" and "interface Ethernet5" in e.command
    assert "stopped answering while sending" in e.message
    assert fake.events[-1] == "close"


def test_a_refused_junos_commit_rolls_back():
    fake = FakeSwitch(commit_error=ValueError("Commit failed with the following errors: ..."))
    d, _ = driver("juniper_junos", fake)
    with pytest.raises(SwitchCommandRejected) as err:
        d.apply([SetAccessVlan("xe-0/0/1", 100)])
    assert err.value.command == "commit"
    assert "xe-0/0/1" in err.value.message
    assert fake.running[-1] == "rollback 0"


def test_linux_bridge_maps_a_failed_shell_command():
    d, _ = driver("linux-bridge")
    failing = d.render([SetAccessVlan("tap-vm2", 300)])[0]
    fake = FakeSwitch(
        exit_status={failing: (1, 'Error: argument "br-vlan300" is wrong: Device does not exist')}
    )
    d, factory = driver("linux-bridge", fake)
    with pytest.raises(SwitchCommandRejected) as err:
        d.apply([SetAccessVlan("tap-vm1", 100), SetAccessVlan("tap-vm2", 300)])
    e = err.value
    assert (e.port, e.command) == ("tap-vm2", "ip link set tap-vm2 master br-vlan300 up")
    assert "Device does not exist" in e.message
    assert e.applied == (SetAccessVlan("tap-vm1", 100),)
    assert len(factory.logins) == 1 and fake.events == ["close"]


def test_unknown_vendor_names_the_choices():
    with pytest.raises(InvalidInput) as err:
        driver_for("cisco_nxos", SWITCH)
    assert err.value.field == "vendor"
    assert "arista_eos" in err.value.message and "linux-bridge" in err.value.message
