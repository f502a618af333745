"""A `Machine` that is a QEMU virtual machine in the lab's network namespace.

Power on starts `ip netns exec NS qemu-system-ARCH ...` (iproute2 execs QEMU in place, so the
child's PID is QEMU's); power off sends SIGTERM, then SIGKILL after a grace period; QEMU having
exited (a guest `poweroff`, a crash) reads as off. Reset is a kill and a fresh start, so the boot
device is read again as a real reset would. ACPI shutdown presses the virtual power button over
QMP (`system_powerdown`): a guest that handles ACPI turns itself off, one that does not (firmware
waiting for DHCP, a ramdisk without acpid) stays on, as a real server would. NMI goes over QMP
too (`inject-nmi`).

Boot device → firmware. SeaBIOS (x86_64, legacy): persistent pxe `-boot order=n`, persistent
disk `order=c`, a one-time override `-boot once=X,order=cn` (QEMU restores `order` at the next
guest reset, so the override is spent by the boot that used it even when the guest reboots
itself), none: the firmware default `order=cn`. UEFI (OVMF, AAVMF) ignores `-boot` and reads
`bootindex` instead: the chosen device gets bootindex 1, the other 2; a one-time override then
lasts until QEMU restarts (a guest reboot within one power-on boots it again).

A VM with `pxe=False` cannot network-boot: its NIC has no option ROM (`romfile=`), QEMU boots
the disk only, and the lab leaves its tap off the bridge (UEFI firmware has a network stack of
its own that no ROM setting removes). On a blank disk it never boots: the case of a server whose
deploy must time out.

The serial console is a Unix socket the VM's BMC listens on (`serial_socket`): QEMU connects to
it as it starts (`server=off`), before the firmware prints a byte, and the BMC bridges it to SOL
(lab/bmc.py). Its output also goes to a file opened in append mode, so the log of every power-on
is kept, watched or not.
QEMU's own messages go to a second file. After every change the machine writes a small JSON
status file (`status_file`) that `ironworks lab status` reads: the boot device lives in the BMC
process's memory and nowhere else.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ironworks.lab.machine import OFF, ON, BootDevice, Event, EventLog, Sensor, sensor_readings

log = logging.getLogger(__name__)

ARCHES = ("x86_64", "aarch64")
OVMF = "/usr/share/qemu/OVMF.fd"
AAVMF = "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"
PFLASH_BYTES = 64 * 1024 * 1024  # the virt machine's flash banks are 64 MiB each
SERCON = b"\xf8\x03"  # I/O port 0x3f8 (COM1), little-endian: SeaBIOS and iPXE print there
# BMC boot device → SeaBIOS boot letter (c disk, d CD-ROM, n network); None: firmware default.
_LETTERS = {"pxe": "n", "disk": "c", "safe": "c", "cdrom": "d"}
_DEFAULT_ORDER = "cn"


@dataclass(frozen=True)
class VmSpec:
    """One lab VM: its hardware, its place on the lab network, and its files."""

    name: str
    arch: str
    memory_mb: int
    cpus: int
    mac: str
    namespace: str
    tap: str
    disk: str
    serial_log: str
    qemu_log: str
    qmp_socket: str
    status_file: str
    sercon: str  # file holding SERCON, fed to SeaBIOS through fw_cfg (x86_64)
    uefi: bool = False
    pxe: bool = True
    flash_code: str = ""  # aarch64: the firmware padded to a flash bank (shared, read-only)
    flash_vars: str = ""  # aarch64: this VM's UEFI variable store
    serial_socket: str = ""  # the serial port's Unix socket ("": a file only, older labs)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VmSpec:
        return cls(**data)


def boot_args(vm: VmSpec, boot: BootDevice) -> tuple[list[str], str | None]:
    """The `-boot` arguments and, for UEFI, the device that gets bootindex 1 ("net"/"disk")."""
    if not vm.pxe:
        return ["-boot", "order=c"], "disk"
    letter = _LETTERS.get(boot.device or "")
    if vm.uefi or vm.arch == "aarch64":
        return [], "net" if letter == "n" else "disk"
    if letter is None:
        return ["-boot", f"order={_DEFAULT_ORDER}"], None
    if boot.persistent:
        return ["-boot", f"order={letter}"], None
    return ["-boot", f"once={letter},order={_DEFAULT_ORDER}"], None


def qemu_command(vm: VmSpec, boot: BootDevice) -> list[str]:
    """The QEMU command line (without `ip netns exec`) for one power-on from `boot`."""
    boot_opts, first = boot_args(vm, boot)
    net_index = disk_index = ""
    if first is not None:
        net_index = f",bootindex={1 if first == 'net' else 2}"
        disk_index = f",bootindex={1 if first == 'disk' else 2}"
    nic = f"virtio-net-pci,netdev=n0,mac={vm.mac}{net_index}"
    if not vm.pxe:
        nic += ",romfile="
    cmd = [f"qemu-system-{vm.arch}"]
    if vm.arch == "aarch64":
        cmd += [
            "-M",
            "virt",
            "-cpu",
            "cortex-a57",
            "-drive",
            f"if=pflash,format=raw,readonly=on,file={vm.flash_code}",
            "-drive",
            f"if=pflash,format=raw,file={vm.flash_vars}",
        ]
    cmd += [
        "-accel",
        "tcg",
        "-m",
        str(vm.memory_mb),
        "-smp",
        str(vm.cpus),
        "-display",
        "none",
        "-vga",
        "none",
        "-monitor",
        "none",
        "-nodefaults",
        "-chardev",
        (
            f"socket,id=serial0,path={vm.serial_socket},server=off,"
            f"logfile={vm.serial_log},logappend=on"
            if vm.serial_socket
            else f"file,id=serial0,path={vm.serial_log},append=on"
        ),
        "-serial",
        "chardev:serial0",
        "-qmp",
        f"unix:{vm.qmp_socket},server=on,wait=off",
        "-netdev",
        f"tap,id=n0,ifname={vm.tap},script=no,downscript=no",
        "-device",
        nic,
        "-drive",
        f"file={vm.disk},format=raw,if=none,id=d0,cache=unsafe",
        "-device",
        f"virtio-blk-pci,drive=d0{disk_index}",
    ]
    if vm.arch == "x86_64":
        cmd += ["-fw_cfg", f"name=etc/sercon-port,file={vm.sercon}"]
        if vm.uefi:
            cmd += ["-bios", OVMF]
    return cmd + boot_opts


def qmp(path: str, command: str, timeout: float = 2.0) -> dict[str, Any]:
    """Run one QMP command on QEMU's socket; the reply (events in between are skipped)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        f = s.makefile("rwb")
        f.readline()  # the greeting
        reply: dict[str, Any] = {}
        for execute in ("qmp_capabilities", command):
            f.write(json.dumps({"execute": execute}).encode() + b"\n")
            f.flush()
            while True:
                line = f.readline()
                if not line:
                    raise OSError("QEMU closed its QMP socket")
                reply = json.loads(line)
                if "return" in reply or "error" in reply:
                    break
        return reply


def process_args(pid: int) -> list[str]:
    """A process's argv, or [] when it is gone, a zombie, or not ours to read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def is_qemu_of(pid: int, disk: str) -> bool:
    """Whether `pid` is a running QEMU with this disk (so a reused PID is never killed)."""
    args = process_args(pid)
    return bool(args) and "qemu-system" in args[0] and any(f"file={disk}," in a for a in args)


def qemu_pids(disks: list[str]) -> list[int]:
    """Every running QEMU that uses one of these disks (a scan of /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and any(is_qemu_of(int(entry), d) for d in disks):
            found.append(int(entry))
    return sorted(found)


def kill(pids: list[int], grace: float = 3.0) -> None:
    """SIGTERM, then SIGKILL whatever is left after `grace` seconds (children are reaped)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    left = list(pids)
    while left and time.monotonic() < deadline:
        left = [p for p in left if _alive(p)]
        if left:
            time.sleep(0.05)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in pids:
        _alive(pid)


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


class QemuMachine:
    """The `Machine` protocol over one QEMU process (module docstring)."""

    def __init__(self, vm: VmSpec, grace: float = 3.0) -> None:
        self.vm = vm
        self.grace = grace
        self.boot = BootDevice()
        self.boots: list[str | None] = []
        self.nmis = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._sel = EventLog()
        self._lock = threading.RLock()

    # --- power -----------------------------------------------------------------------------------

    def _running(self) -> bool:
        if self._proc is None:
            return False
        if self._proc.poll() is None:
            return True
        log.info("%s: QEMU exited with status %s", self.vm.name, self._proc.returncode)
        self._proc = None
        self._log_power(OFF)
        self._save()
        return False

    def _start(self) -> None:
        boot = self.boot
        cmd = ["ip", "netns", "exec", self.vm.namespace, *qemu_command(self.vm, boot)]
        with open(self.vm.qemu_log, "ab") as out:
            out.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n".encode())
            out.flush()
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.boots.append(boot.device)
        del self.boots[:-32]
        if boot.device is not None and not boot.persistent:
            self.boot = BootDevice()  # a one-time override is spent by the boot that used it
        self._log_power(ON)
        self._save()

    def _stop(self) -> None:
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(self.grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._log_power(OFF)
        self._save()

    def power_state(self) -> str:
        with self._lock:
            return ON if self._running() else OFF

    def power_on(self) -> None:
        with self._lock:
            if not self._running():
                self._start()

    def power_off(self) -> None:
        with self._lock:
            if self._running():
                self._stop()

    def shutdown(self) -> None:
        with self._lock:
            if self._running():
                self._qmp("system_powerdown")

    def reset(self) -> None:
        with self._lock:
            if self._running():
                self._stop()
                self._start()

    def pulse_nmi(self) -> None:
        with self._lock:
            self.nmis += 1
            # Critical Interrupt (0x13) offset 0 "front panel NMI / diagnostic interrupt".
            self._log(Event(int(time.time()), 0x13, 0x20, 0))
            if self._running():
                self._qmp("inject-nmi")

    def _qmp(self, command: str) -> None:
        try:
            reply = qmp(self.vm.qmp_socket, command)
        except (OSError, ValueError) as e:
            log.warning("%s: QMP %s failed: %s", self.vm.name, command, e)
            return
        if "error" in reply:
            log.warning("%s: QMP %s: %s", self.vm.name, command, reply["error"])

    # --- boot device, sensors, log ---------------------------------------------------------------

    def boot_device(self) -> BootDevice:
        with self._lock:
            return BootDevice(self.boot.device, self.boot.persistent, self.boot.uefi)

    def set_boot_device(self, boot: BootDevice) -> None:
        with self._lock:
            self.boot = BootDevice(boot.device, boot.persistent, boot.uefi)
            self._save()

    def sensors(self) -> list[tuple[Sensor, float]]:
        with self._lock:
            return sensor_readings(self.power_state() == ON, set(self._sel.conditions))

    def events(self) -> list[Event]:
        with self._lock:
            self._running()
            return list(self._sel.entries)

    def add_event(self, event: Event) -> Event:
        with self._lock:
            return self._sel.add(event)

    def clear_events(self) -> None:
        with self._lock:
            self._sel.clear()

    def _log_power(self, state: str) -> None:
        # Power Unit (0x09) offset 0 "power off / down": asserted at off, deasserted at on.
        self._log(Event(int(time.time()), 0x09, 0x10, 0, deassertion=state == ON))

    def _log(self, event: Event) -> None:
        self._sel.add(event)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            running = self._running()
            return {
                "name": self.vm.name,
                "power": ON if running else OFF,
                "pid": self._proc.pid if running and self._proc else None,
                "boot_device": self.boot.device,
                "persistent": self.boot.persistent,
                "uefi": self.boot.uefi,
                "boots": list(self.boots),
                "nmis": self.nmis,
                "events": len(self._sel.entries),
            }

    def _save(self) -> None:
        """Write the status file for `lab status` (atomically: it may be read at any time)."""
        path = Path(self.vm.status_file)
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(json.dumps({**self.snapshot(), "updated": time.time()}) + "\n")
            tmp.replace(path)
        except OSError as e:
            log.warning("%s: cannot write %s: %s", self.vm.name, path, e)
