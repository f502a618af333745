"""The VM lab: QEMU virtual machines behind emulated IPMI BMCs, on a private network.

`ironworks lab up --nodes N` lays out N VMs (`plan`: pure, so names, MACs, ports and paths are
the same for the same options), makes the network (`net.py`: namespace `iwlab`, bridge `iwbr0`
with 10.99.0.1/16, one tap per VM), a sparse disk per VM, writes the state file
(`DIR/state.json`), and starts ONE background process that serves a BMC per VM on loopback in
the root namespace (127.0.0.1, consecutive UDP ports from 16300) in front of a `QemuMachine`.
That process outlives `lab up`: its PID is in the state file, and it signals that it listens by
writing `DIR/bmc.ready`. Power on through a BMC starts the VM's QEMU inside the namespace.

`lab down` stops the BMC process (which powers its VMs off), then every QEMU still using one of
the lab's disks (by the PIDs the BMC process recorded, and by a scan of /proc), removes the taps,
the bridge and the namespace, and deletes the state file; disks and logs stay for a post-mortem.
Run twice, the second finds nothing to do. `lab status` reads the state file and each VM's
status file (written by its machine on every change) and checks the QEMU PIDs itself.

Files under DIR: `state.json`, `bmc.log` (the BMC process), `sercon.bin`, and per VM
`vms/NAME/{disk.img, serial.log, serial.sock, qemu.log, qmp.sock, status.json}` (aarch64:
`vars.fd`, and the shared `aarch64-code.fd`).
"""

from __future__ import annotations

import contextlib
import csv
import io
import ipaddress
import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ironworks.lab import net
from ironworks.lab import switch as labswitch
from ironworks.lab.errors import LabError
from ironworks.lab.fleet import CSV_COLUMNS, SHARD_SIZE, check_address
from ironworks.lab.qemu import (
    AAVMF,
    ARCHES,
    OVMF,
    PFLASH_BYTES,
    SERCON,
    QemuMachine,
    VmSpec,
    is_qemu_of,
    kill,
    process_args,
    qemu_pids,
)
from ironworks.lab.spec import BmcSpec

log = logging.getLogger(__name__)

STATE_VERSION = 1
BASE_PORT = 16300
MAC_PREFIX = "52:54:00:99"
MAX_NODES = SHARD_SIZE  # one BMC process serves them all; QEMU under TCG runs out far sooner
READY = "bmc.ready"
SWITCH_PORT = "switch.port"  # the relay's port, written by the BMC process before READY


@dataclass(frozen=True)
class LabOptions:
    nodes: int
    directory: Path
    arch: str = "x86_64"
    aarch64_nodes: int = 0  # more VMs, aarch64, after the `nodes` of `arch`: one mixed lab
    memory_mb: int = 512
    cpus: int = 1
    disk_mb: int = 1024
    uefi: bool = False
    namespace: str = net.NAMESPACE
    bridge: str = net.BRIDGE
    bridge_address: str = net.BRIDGE_ADDRESS
    address: str = "127.0.0.1"
    base_port: int = BASE_PORT
    username: str = "admin"
    password: str = "password"
    name_prefix: str = "lab-vm-"
    no_pxe: frozenset[str] = frozenset()  # VM names that cannot network-boot
    # The lab switch (lab/switch.py): the namespace is the switch, the taps its ports, the
    # bridge VLAN `provisioning_vlan`; sshd on `switch_address`, relayed to `address`:<port>.
    switch: bool = True
    switch_name: str = "lab-switch"
    switch_address: str = "10.99.0.2"  # below the DHCP range (10.99.1.0-): no VM gets it
    switch_user: str = labswitch.ACCOUNT
    switch_password: str = "password"
    provisioning_vlan: int = 1


@dataclass
class LabSwitch:
    """The lab switch as the state file keeps it."""

    name: str
    address: str  # management address inside the namespace
    username: str
    password: str
    provisioning_vlan: int
    directory: str
    relay_address: str  # where the conductor reaches it: relay_address:relay_port
    relay_port: int = 0  # chosen by the BMC process, which runs the relay
    sshd_pid: int | None = None

    def spec(self, namespace: str) -> labswitch.SwitchSpec:
        return labswitch.SwitchSpec(
            namespace=namespace,
            directory=Path(self.directory),
            address=self.address,
            username=self.username,
            password=self.password,
        )

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class LabVm:
    vm: VmSpec
    bmc_address: str
    bmc_port: int

    @property
    def name(self) -> str:
        return self.vm.name


@dataclass
class LabState:
    directory: str
    namespace: str
    bridge: str
    bridge_address: str
    username: str
    password: str
    vms: list[LabVm] = field(default_factory=list)
    bmc_pid: int | None = None
    bmc_log: str = ""
    switch: LabSwitch | None = None
    version: int = STATE_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "directory": self.directory,
            "namespace": self.namespace,
            "bridge": self.bridge,
            "bridge_address": self.bridge_address,
            "bmc_pid": self.bmc_pid,
            "bmc_log": self.bmc_log,
            "bmc_username": self.username,
            "bmc_password": self.password,
            "vms": [
                {**v.vm.to_json(), "bmc_address": v.bmc_address, "bmc_port": v.bmc_port}
                for v in self.vms
            ],
            "switch": self.switch.to_json() if self.switch else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabState:
        if data.get("version") != STATE_VERSION:
            raise LabError(f"lab state version {data.get('version')!r} is not {STATE_VERSION}")
        vms = []
        for entry in data["vms"]:
            entry = dict(entry)
            address, port = entry.pop("bmc_address"), entry.pop("bmc_port")
            vms.append(LabVm(VmSpec.from_json(entry), address, port))
        return cls(
            directory=data["directory"],
            namespace=data["namespace"],
            bridge=data["bridge"],
            bridge_address=data["bridge_address"],
            username=data["bmc_username"],
            password=data["bmc_password"],
            vms=vms,
            bmc_pid=data.get("bmc_pid"),
            bmc_log=data.get("bmc_log", ""),
            switch=LabSwitch(**data["switch"]) if data.get("switch") else None,
        )


# --- layout (pure) -------------------------------------------------------------------------------


def mac_for(index: int) -> str:
    """52:54:00:99:xx:yy, xx:yy the VM's index: the same lab always has the same MACs."""
    if not 0 <= index < 256 * 256:
        raise LabError(f"VM index {index} does not fit in a MAC's last two bytes")
    return f"{MAC_PREFIX}:{index >> 8:02x}:{index & 0xFF:02x}"


def tap_for(index: int) -> str:
    return f"iwtap{index}"


def state_path(directory: Path) -> Path:
    return directory / "state.json"


def plan(opts: LabOptions) -> LabState:
    """Names, MACs, BMC ports, taps and file paths of every VM; nothing is created."""
    check_address(opts.address)
    net.check_name("namespace", opts.namespace, limit=64)
    net.check_name("bridge", opts.bridge)
    ipaddress.ip_interface(opts.bridge_address)
    if opts.arch not in ARCHES:
        raise LabError(f"--arch {opts.arch} is not one of {', '.join(ARCHES)}")
    total = opts.nodes + opts.aarch64_nodes
    if opts.nodes < 0 or opts.aarch64_nodes < 0 or not 1 <= total <= MAX_NODES:
        raise LabError(f"--nodes and --aarch64-nodes must add up to 1..{MAX_NODES}")
    if opts.memory_mb < 64 or opts.cpus < 1 or opts.disk_mb < 1:
        raise LabError("--memory must be at least 64 (MiB), --cpus and --disk-mb at least 1")
    last = opts.base_port + total - 1
    if opts.base_port < 1 or last > 65535:
        raise LabError(f"ports {opts.base_port}..{last} do not fit in 1..65535")
    directory = opts.directory.resolve()
    width = max(4, len(str(total - 1)))
    names = [f"{opts.name_prefix}{i:0{width}d}" for i in range(total)]
    arches = [opts.arch] * opts.nodes + ["aarch64"] * opts.aarch64_nodes
    unknown = sorted(opts.no_pxe - set(names))
    if unknown:
        raise LabError(f"--no-pxe {', '.join(unknown)}: no such VM (they are {names[0]}..)")
    vms = []
    for i, (name, arch) in enumerate(zip(names, arches, strict=True)):
        d = directory / "vms" / name
        vm = VmSpec(
            name=name,
            arch=arch,
            memory_mb=opts.memory_mb,
            cpus=opts.cpus,
            mac=mac_for(i),
            namespace=opts.namespace,
            tap=tap_for(i),
            disk=str(d / "disk.img"),
            serial_log=str(d / "serial.log"),
            serial_socket=str(d / "serial.sock"),
            qemu_log=str(d / "qemu.log"),
            qmp_socket=str(d / "qmp.sock"),
            status_file=str(d / "status.json"),
            sercon=str(directory / "sercon.bin"),
            uefi=opts.uefi or arch == "aarch64",
            pxe=name not in opts.no_pxe,
            flash_code=str(directory / "aarch64-code.fd") if arch == "aarch64" else "",
            flash_vars=str(d / "vars.fd") if arch == "aarch64" else "",
        )
        if len(vm.qmp_socket.encode()) > 107:
            raise LabError(f"lab directory {directory} is too deep for a unix socket path")
        vms.append(LabVm(vm, opts.address, opts.base_port + i))
    switch = None
    if opts.switch:
        try:
            ipaddress.IPv4Address(opts.switch_address)
        except ValueError:
            raise LabError(
                f"--switch-address {opts.switch_address!r} is not an IPv4 address"
            ) from None
        if not 1 <= opts.provisioning_vlan <= 4094:
            raise LabError(f"--provisioning-vlan {opts.provisioning_vlan} is not in 1..4094")
        switch = LabSwitch(
            name=opts.switch_name,
            address=opts.switch_address,
            username=opts.switch_user,
            password=opts.switch_password,
            provisioning_vlan=opts.provisioning_vlan,
            directory=str(directory / "switch"),
            relay_address=opts.address,
        )
    return LabState(
        directory=str(directory),
        namespace=opts.namespace,
        bridge=opts.bridge,
        bridge_address=opts.bridge_address,
        username=opts.username,
        password=opts.password,
        vms=vms,
        bmc_log=str(directory / "bmc.log"),
        switch=switch,
    )


def enrol_csv(state: LabState) -> str:
    """The CSV `ironworks node import` takes, one row per VM."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for v in state.vms:
        w.writerow(
            [v.name, "ipmi", v.bmc_address, v.bmc_port, state.username, state.password, v.vm.mac]
        )
    return buf.getvalue()


def save_state(state: LabState, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state.to_json(), indent=2) + "\n")
    tmp.replace(path)


def load_state(path: Path) -> LabState | None:
    try:
        return LabState.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as e:
        raise LabError(f"cannot read the lab state {path}: {e}") from None


# --- up ------------------------------------------------------------------------------------------


def check_host(state: LabState) -> None:
    """Root, iproute2, QEMU and the firmware the VMs need."""
    if os.geteuid() != 0:
        raise LabError("the VM lab needs root (network namespaces, taps)")
    needed = {"ip"} | {f"qemu-system-{v.vm.arch}" for v in state.vms}
    missing = sorted(p for p in needed if shutil.which(p) is None)
    if missing:
        raise LabError(
            f"not installed: {', '.join(missing)} (apt-get install iproute2 "
            "qemu-system-x86 qemu-system-arm ipxe-qemu ovmf qemu-efi-aarch64)"
        )
    for v in state.vms:
        firmware = AAVMF if v.vm.arch == "aarch64" else OVMF if v.vm.uefi else None
        if firmware and not Path(firmware).is_file():
            raise LabError(f"{v.name} needs the firmware {firmware}, which is not installed")


def _make_files(state: LabState, disk_bytes: int) -> None:
    directory = Path(state.directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sercon.bin").write_bytes(SERCON)
    if any(v.vm.flash_code for v in state.vms):
        code = Path(next(v.vm.flash_code for v in state.vms if v.vm.flash_code))
        data = Path(AAVMF).read_bytes()
        if len(data) > PFLASH_BYTES:
            raise LabError(f"{AAVMF} is larger than a 64 MiB flash bank")
        code.write_bytes(data + bytes(PFLASH_BYTES - len(data)))
    for v in state.vms:
        Path(v.vm.disk).parent.mkdir(parents=True, exist_ok=True)
        for path in (v.vm.disk, v.vm.status_file, v.vm.qmp_socket):
            Path(path).unlink(missing_ok=True)
        os.truncate(os.open(v.vm.disk, os.O_CREAT | os.O_WRONLY, 0o644), disk_bytes)
        Path(v.vm.serial_log).write_bytes(b"")  # a new lab starts new logs; power-ons append
        Path(v.vm.qemu_log).write_bytes(b"")
        if v.vm.flash_vars:
            Path(v.vm.flash_vars).unlink(missing_ok=True)
            with open(v.vm.flash_vars, "wb") as f:
                f.truncate(PFLASH_BYTES)


def up(opts: LabOptions, bmc_command: list[str], timeout: float = 60.0) -> LabState:
    """Create the lab and start its BMC process; `bmc_command` + [state file] runs `serve`."""
    state = plan(opts)
    path = state_path(Path(state.directory))
    old = load_state(path)
    if old is not None:
        if bmc_alive(old, path):
            raise LabError(
                f"a lab is already up in {state.directory} (BMC process "
                f"{old.bmc_pid}); run `ironworks lab down` first"
            )
        down(Path(state.directory))
    check_host(state)
    try:
        _make_files(state, opts.disk_mb * 1024 * 1024)
        net.ensure_namespace(state.namespace, state.bridge, state.bridge_address)
        for v in state.vms:
            net.ensure_tap(state.namespace, v.vm.tap, state.bridge if v.vm.pxe else None)
        if state.switch is not None:
            _make_switch(state)
        save_state(state, path)
        state.bmc_pid = _start_bmc(state, path, bmc_command, timeout)
        if state.switch is not None:
            state.switch.relay_port = int((Path(state.directory) / SWITCH_PORT).read_text())
        save_state(state, path)
    except BaseException:
        save_state(state, path)
        down(Path(state.directory))
        raise
    return state


def _make_switch(state: LabState) -> None:
    """The lab namespace becomes a switch: its bridge is the provisioning VLAN, sshd runs."""
    sw = state.switch
    assert sw is not None
    spec = sw.spec(state.namespace)
    labswitch.ensure_account(sw.username, sw.password)
    labswitch.ensure_switch(spec)
    labswitch.ensure_vlan(state.namespace, sw.provisioning_vlan, existing=state.bridge)
    sw.sshd_pid = labswitch.start_sshd(spec)


def _start_bmc(state: LabState, path: Path, command: list[str], timeout: float) -> int:
    ready = Path(state.directory) / READY
    ready.unlink(missing_ok=True)
    with open(state.bmc_log, "ab") as out:
        proc = subprocess.Popen(
            [*command, str(path)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    state.bmc_pid = proc.pid
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if proc.poll() is not None:
            tail = Path(state.bmc_log).read_text(errors="replace").strip().splitlines()[-5:]
            raise LabError("the BMC process exited: " + (" / ".join(tail) or "no output"))
        if time.monotonic() > deadline:
            raise LabError(
                f"the BMC process did not listen within {timeout:g} s; see {state.bmc_log}"
            )
        time.sleep(0.05)
    return proc.pid


# --- the BMC process -----------------------------------------------------------------------------


def serve(path: Path) -> None:
    """The BMC process: one BMC per VM of the state file, until SIGTERM (then VMs go off)."""
    from ironworks.lab import bmc  # pyghmi: only where BMCs are served

    state = load_state(path)
    if state is None:
        raise LabError(f"no lab state at {path}")
    machines = [QemuMachine(v.vm) for v in state.vms]
    specs = [
        BmcSpec(
            name=v.name,
            address=v.bmc_address,
            port=v.bmc_port,
            username=state.username,
            password=state.password,
            mac=v.vm.mac,
            serial=v.vm.serial_socket or None,
        )
        for v in state.vms
    ]
    bmcs, scheduler = bmc.open_bmcs(list(zip(specs, machines, strict=True)))
    for m in machines:
        m.set_boot_device(m.boot_device())  # writes the first status file

    def stop(*_: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if state.switch is not None:  # the conductor's way to the switch's sshd
        relay = labswitch.Relay(state.switch.spec(state.namespace), state.switch.relay_address)
        relay.start()
        (Path(state.directory) / SWITCH_PORT).write_text(f"{relay.port}\n")
    # Notice QEMUs that exit by themselves (guest poweroff): reap them, update status files.
    threading.Thread(target=_watch, args=(machines,), daemon=True, name="watch").start()
    (Path(state.directory) / READY).write_text(f"{os.getpid()}\n")
    log.warning(
        "serving %d BMCs on %s:%d-%d",
        len(bmcs),
        state.vms[0].bmc_address,
        state.vms[0].bmc_port,
        state.vms[-1].bmc_port,
    )
    try:
        bmc.serve_forever(bmcs, scheduler)
    finally:
        for m in machines:
            m.power_off()


def _watch(machines: list[QemuMachine]) -> None:
    while True:
        time.sleep(1.0)
        for m in machines:
            m.power_state()


# --- status and down -----------------------------------------------------------------------------


def bmc_alive(state: LabState, path: Path) -> bool:
    """Whether the state's BMC process runs (and is ours: its argv names this state file)."""
    if not state.bmc_pid:
        return False
    return str(path) in process_args(state.bmc_pid)


def _vm_status(v: LabVm) -> dict[str, Any]:
    try:
        saved = json.loads(Path(v.vm.status_file).read_text())
    except (OSError, ValueError):
        saved = {}
    pid = saved.get("pid")
    running = bool(pid) and is_qemu_of(int(pid), v.vm.disk)
    return {
        "name": v.name,
        "arch": v.vm.arch,
        "bmc_address": v.bmc_address,
        "bmc_port": v.bmc_port,
        "mac": v.vm.mac,
        "power": "on" if running else "off",
        "pid": pid if running else None,
        "boot_device": saved.get("boot_device"),
        "persistent": saved.get("persistent", False),
        "last_boot": (saved.get("boots") or [None])[-1],
        "boots": len(saved.get("boots") or []),
        "pxe": v.vm.pxe,
        "uefi": v.vm.uefi,
        "serial_log": v.vm.serial_log,
        "disk": v.vm.disk,
    }


def status(directory: Path) -> dict[str, Any] | None:
    """The lab's state with each VM's power (QEMU running or not) and boot device; None: no lab."""
    path = state_path(directory.resolve())
    state = load_state(path)
    if state is None:
        return None
    return {
        "state_file": str(path),
        "namespace": state.namespace,
        "namespace_exists": net.exists(state.namespace),
        "bridge": state.bridge,
        "bridge_address": state.bridge_address,
        "bmc_pid": state.bmc_pid,
        "bmc_alive": bmc_alive(state, path),
        "bmc_log": state.bmc_log,
        "vms": [_vm_status(v) for v in state.vms],
        "switch": _switch_status(state),
    }


def _switch_status(state: LabState) -> dict[str, Any] | None:
    sw = state.switch
    if sw is None:
        return None
    alive = bool(sw.sshd_pid) and labswitch.is_sshd_of(sw.sshd_pid or 0, sw.spec(state.namespace))
    return {
        "name": sw.name,
        "vendor": "linux-bridge",
        "address": sw.relay_address,
        "port": sw.relay_port,
        "username": sw.username,
        "management_address": sw.address,
        "provisioning_vlan": sw.provisioning_vlan,
        "provisioning_bridge": state.bridge,
        "sshd_pid": sw.sshd_pid,
        "sshd_alive": alive,
        "sshd_log": str(sw.spec(state.namespace).log),
    }


def register_command(state: LabState, physical_network: str = "PHYSNET") -> str | None:
    """How to register the lab switch with Ironworks (the password comes on stdin)."""
    sw = state.switch
    if sw is None:
        return None
    return (
        f"ironworks switch create {sw.name} --vendor linux-bridge --address "
        f"{sw.relay_address} --port {sw.relay_port} --username {sw.username} "
        f"--physical-network {physical_network} --password-stdin"
    )


def down(directory: Path, namespace: str | None = None) -> list[str]:
    """Stop and remove everything the lab in `directory` made; what was done, one line each.

    Without a state file (already down, or lost) it still kills any QEMU using a disk under
    `directory` and removes `namespace` if given and present.
    """
    directory = directory.resolve()
    path = state_path(directory)
    state = load_state(path)
    done: list[str] = []
    if state is not None and bmc_alive(state, path):
        kill([state.bmc_pid or 0], grace=15.0)  # it powers its VMs off first
        done.append(f"stopped the BMC process {state.bmc_pid}")
    disks = (
        [v.vm.disk for v in state.vms]
        if state
        else [str(p) for p in directory.glob("vms/*/disk.img")]
    )
    pids = set(qemu_pids(disks))
    for v in state.vms if state else []:
        with contextlib.suppress(OSError, ValueError):
            pid = json.loads(Path(v.vm.status_file).read_text()).get("pid")
            if pid and is_qemu_of(int(pid), v.vm.disk):
                pids.add(int(pid))
    if pids:
        kill(sorted(pids))
        done.append(f"killed QEMU {', '.join(str(p) for p in sorted(pids))}")
    ns = state.namespace if state else namespace
    if ns and net.exists(ns):
        spec = labswitch.SwitchSpec(namespace=ns, directory=directory / "switch")
        for pid in labswitch.stop_all(spec):  # by PID: the sshd whose argv names our config
            done.append(f"stopped the switch's sshd {pid}")
        others = net.pids(ns)
        if others:
            done.append(
                f"warning: processes {', '.join(map(str, others))} are still in "
                f"namespace {ns}; it goes when they exit"
            )
        links = [v.vm.tap for v in state.vms] + [state.bridge] if state else []
        done += [f"removed {x}" for x in net.destroy(ns, links)]
    if state is not None:
        for v in state.vms:
            for p in (v.vm.qmp_socket, v.vm.status_file):
                Path(p).unlink(missing_ok=True)
        (directory / READY).unlink(missing_ok=True)
        (directory / SWITCH_PORT).unlink(missing_ok=True)
        path.unlink(missing_ok=True)
        done.append(f"removed {path} (disks and logs stay in {directory})")
    return done
