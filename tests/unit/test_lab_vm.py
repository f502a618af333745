"""The VM lab's pure parts: layout (MACs, ports, names, paths), state file, CSV, QEMU command."""

from __future__ import annotations

from pathlib import Path

import pytest

from ironworks.lab.errors import LabError
from ironworks.lab.machine import BootDevice
from ironworks.lab.qemu import qemu_command
from ironworks.lab.vmlab import (
    LabOptions,
    enrol_csv,
    load_state,
    mac_for,
    plan,
    register_command,
    save_state,
    state_path,
)


def opts(tmp_path: Path, **kw: object) -> LabOptions:
    return LabOptions(**{"nodes": 3, "directory": tmp_path, **kw})  # type: ignore[arg-type]


def test_macs_ports_and_names_are_deterministic(tmp_path: Path) -> None:
    state = plan(opts(tmp_path, nodes=200, base_port=20000))
    assert [v.name for v in state.vms[:2]] == ["lab-vm-0000", "lab-vm-0001"]
    assert [v.vm.mac for v in state.vms[:2]] == ["52:54:00:99:00:00", "52:54:00:99:00:01"]
    assert mac_for(257) == "52:54:00:99:01:01"
    assert [v.bmc_port for v in state.vms] == list(range(20000, 20200))
    assert len({v.vm.tap for v in state.vms}) == 200
    assert all(len(v.vm.tap) <= 15 for v in state.vms)
    assert plan(opts(tmp_path, nodes=200, base_port=20000)) == state
    assert mac_for(65535) == "52:54:00:99:ff:ff"
    with pytest.raises(LabError):
        mac_for(65536)


def test_files_live_under_the_lab_directory(tmp_path: Path) -> None:
    vm = plan(opts(tmp_path)).vms[1].vm
    base = tmp_path.resolve() / "vms" / "lab-vm-0001"
    assert (vm.disk, vm.serial_log, vm.qmp_socket) == (
        str(base / "disk.img"),
        str(base / "serial.log"),
        str(base / "qmp.sock"),
    )
    assert vm.namespace == "iwlab" and not vm.uefi and vm.pxe


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"address": "0.0.0.0"}, "loopback"),
        ({"base_port": 65534}, "do not fit"),
        ({"nodes": 0}, "--nodes"),
        ({"nodes": 200, "aarch64_nodes": 1}, "--aarch64-nodes"),
        ({"nodes": 201}, "--nodes"),
        ({"arch": "riscv64"}, "--arch"),
        ({"namespace": "bad name"}, "namespace name"),
        ({"no_pxe": frozenset({"lab-vm-0009"})}, "no such VM"),
        ({"switch_address": "10.99.0"}, "--switch-address"),
        ({"provisioning_vlan": 4095}, "--provisioning-vlan"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, kw: dict[str, object], match: str) -> None:
    with pytest.raises(LabError, match=match):
        plan(opts(tmp_path, **kw))


def test_one_lab_holds_both_architectures(tmp_path: Path) -> None:
    state = plan(opts(tmp_path, nodes=2, aarch64_nodes=1))
    assert [(v.name, v.vm.arch, v.vm.uefi) for v in state.vms] == [
        ("lab-vm-0000", "x86_64", False),
        ("lab-vm-0001", "x86_64", False),
        ("lab-vm-0002", "aarch64", True),
    ]
    assert [bool(v.vm.flash_code) for v in state.vms] == [False, False, True]
    assert len({v.vm.mac for v in state.vms}) == len({v.bmc_port for v in state.vms}) == 3
    (arm,) = plan(opts(tmp_path, nodes=0, aarch64_nodes=1)).vms
    assert arm.vm.arch == "aarch64"


def test_state_file_round_trip(tmp_path: Path) -> None:
    state = plan(opts(tmp_path, arch="aarch64", no_pxe=frozenset({"lab-vm-0002"})))
    state.bmc_pid = 4242
    path = state_path(tmp_path)
    save_state(state, path)
    assert load_state(path) == state
    assert load_state(tmp_path / "missing.json") is None
    path.write_text("{")
    with pytest.raises(LabError, match="cannot read"):
        load_state(path)


def test_the_lab_is_a_switch_ironworks_can_register(tmp_path: Path) -> None:
    state = plan(opts(tmp_path, provisioning_vlan=10))
    sw = state.switch
    assert sw is not None
    assert (sw.name, sw.address, sw.username, sw.provisioning_vlan) == (
        "lab-switch",
        "10.99.0.2",
        "iwswitch",
        10,
    )
    assert sw.relay_address == "127.0.0.1" and Path(sw.directory) == tmp_path.resolve() / "switch"
    sw.relay_port = 40022
    assert register_command(state, "fabric-lab") == (
        "ironworks switch create lab-switch --vendor linux-bridge --address 127.0.0.1 "
        "--port 40022 --username iwswitch --physical-network fabric-lab --password-stdin"
    )
    without = plan(opts(tmp_path, switch=False))
    assert without.switch is None and register_command(without) is None
    # a state file written before the lab had a switch still loads
    path = state_path(tmp_path)
    save_state(without, path)
    data = path.read_text().replace('"switch": null', '"x": null')
    path.write_text(data)
    assert load_state(path) == without


def test_csv_enrols_every_vm(tmp_path: Path) -> None:
    lines = enrol_csv(plan(opts(tmp_path, base_port=16300))).splitlines()
    assert lines[0] == "name,driver,bmc_address,bmc_port,bmc_username,bmc_password,macs"
    assert lines[1] == "lab-vm-0000,ipmi,127.0.0.1,16300,admin,password,52:54:00:99:00:00"
    assert len(lines) == 4


def _boot(cmd: list[str]) -> str:
    return cmd[cmd.index("-boot") + 1] if "-boot" in cmd else ""


def test_boot_device_picks_the_boot_order(tmp_path: Path) -> None:
    vm = plan(opts(tmp_path)).vms[0].vm
    assert _boot(qemu_command(vm, BootDevice())) == "order=cn"
    assert _boot(qemu_command(vm, BootDevice("pxe", persistent=True))) == "order=n"
    assert _boot(qemu_command(vm, BootDevice("disk", persistent=True))) == "order=c"
    assert _boot(qemu_command(vm, BootDevice("pxe"))) == "once=n,order=cn"
    cmd = qemu_command(vm, BootDevice())
    assert not any(a.startswith("user") for a in cmd)  # never QEMU's user-mode network
    assert f"tap,id=n0,ifname={vm.tap},script=no,downscript=no" in cmd
    assert "-bios" not in cmd


def test_a_vm_without_pxe_boots_its_disk_only(tmp_path: Path) -> None:
    vm = plan(opts(tmp_path, no_pxe=frozenset({"lab-vm-0000"}))).vms[0].vm
    cmd = qemu_command(vm, BootDevice("pxe", persistent=True))
    assert _boot(cmd) == "order=c"
    assert any(a.endswith(",romfile=") for a in cmd)


def test_uefi_uses_bootindex(tmp_path: Path) -> None:
    vm = plan(opts(tmp_path, uefi=True)).vms[0].vm
    cmd = qemu_command(vm, BootDevice("pxe"))
    assert cmd[cmd.index("-bios") + 1] == "/usr/share/qemu/OVMF.fd" and "-boot" not in cmd
    assert any("virtio-net-pci" in a and "bootindex=1" in a for a in cmd)
    arm = plan(opts(tmp_path, arch="aarch64")).vms[0].vm
    cmd = qemu_command(arm, BootDevice("disk", persistent=True))
    assert cmd[0] == "qemu-system-aarch64" and "virt" in cmd and "-fw_cfg" not in cmd
    assert any("virtio-blk-pci" in a and "bootindex=1" in a for a in cmd)
