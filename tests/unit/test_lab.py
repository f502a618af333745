"""The lab's machine model and fleet layout (no sockets: the integration tests serve them)."""

from __future__ import annotations

import pytest

from ironworks.lab.errors import LabError
from ironworks.lab.fleet import FleetOptions, enrol_csv, faults_of, make_specs
from ironworks.lab.machine import BootDevice, MemoryMachine


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_power_changes_take_their_time() -> None:
    clock = Clock()
    m = MemoryMachine(power_delay=2.0, shutdown_delay=5.0, clock=clock)
    m.power_on()
    assert m.power_state() == "off"
    clock.now += 2.0
    assert m.power_state() == "on"
    m.shutdown()
    clock.now += 4.9
    assert m.power_state() == "on"
    clock.now += 0.2
    assert m.power_state() == "off"


def test_a_hung_os_ignores_acpi_shutdown() -> None:
    m = MemoryMachine(shutdown_delay=None)
    m.force_power("on")
    m.shutdown()
    assert m.power_state() == "on"


def test_one_time_boot_device_is_spent_persistent_is_kept() -> None:
    m = MemoryMachine()
    m.set_boot_device(BootDevice("pxe", persistent=False))
    m.power_on()
    assert m.boots == ["pxe"] and m.boot_device().device is None
    m.set_boot_device(BootDevice("disk", persistent=True))
    m.reset()
    m.power_off()
    m.power_on()
    assert m.boots == ["pxe", "disk", "disk"] and m.boot_device().device == "disk"


def test_flapping_power_toggles_by_itself() -> None:
    clock = Clock()
    m = MemoryMachine(flap_interval=5.0, clock=clock)
    assert m.power_state() == "off"
    clock.now += 5.0
    assert m.power_state() == "on"
    clock.now += 5.0
    assert m.power_state() == "off"
    assert [e.deassertion for e in m.events()] == [True, False]


def test_faults_fall_on_distinct_bmcs_and_the_csv_lists_every_bmc() -> None:
    specs = make_specs(FleetOptions(count=100, base_port=20000), ["dead=2%", "badpass=3", "slow=1"])
    kinds = [faults_of(s, "password") for s in specs]
    assert sum(1 for k in kinds if k) == 6 and all(len(k) <= 1 for k in kinds)
    assert [s.port for s in specs] == list(range(20000, 20100))
    lines = enrol_csv(specs, "password").splitlines()
    assert lines[0] == "name,driver,bmc_address,bmc_port,bmc_username,bmc_password,macs"
    assert len(lines) == 101 and all(",password," in line for line in lines[1:])


@pytest.mark.parametrize("address", ["0.0.0.0", "192.0.2.2", "example.com"])
def test_the_lab_listens_on_loopback_only(address: str) -> None:
    with pytest.raises(LabError, match="loopback"):
        make_specs(FleetOptions(count=1, address=address))


def test_one_address_per_bmc() -> None:
    specs = make_specs(FleetOptions(count=300, base_port=623, address_each=True))
    assert [(s.address, s.port) for s in specs[:2]] == [("127.0.0.1", 623), ("127.0.0.2", 623)]
    assert specs[-1].address == "127.0.1.44"
    with pytest.raises(LabError, match="leave the loopback range"):
        make_specs(FleetOptions(count=10, address="127.255.255.250", address_each=True))


def test_the_bmc_module_does_not_import_the_fleet() -> None:
    """fleet.py starts BMC processes from bmc.py; the other way round would be a circle."""
    import ast
    from pathlib import Path

    import ironworks.lab.bmc

    tree = ast.parse(Path(ironworks.lab.bmc.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "ironworks.lab.fleet" not in imported
