"""dnsmasq as the provisioning network's DHCP and TFTP server.

Ironworks renders dnsmasq's whole configuration from `BootSettings` (`render_config`) and keeps
the set of known MACs in a hosts directory, one file per node (`HostsDir`): dnsmasq reads a new
or changed file there by itself (inotify), and a removed one on SIGHUP, so enrolling or deleting
a node never restarts the DHCP server.

What a booting NIC gets:
* a MAC in no host file: nothing (unless discovery is on: then the same as a known one);
* plain PXE firmware: its network boot program over TFTP — BIOS `undionly.kpxe` and UEFI x86_64
  `snponly.efi` (iPXE, from Debian's ipxe package); UEFI arm64 `grubnetaa64.efi`, a GRUB netboot
  image (Debian ships no arm64 iPXE; ironworks/builders/grub.py builds it next to the aarch64
  ramdisk), which reads `grub/grub.cfg` from the TFTP root (written here: it names the boot
  listener) and then the node's `http://BOOT/boot/grub/MAC.cfg` (boot/grub.py);
* iPXE (user class "iPXE" or option 175): `http://BOOT/boot/boot.ipxe`, which chains to the
  node's own script.
Three settings cut a PXE boot from about 25 s to 7 s (docs/lab.md, "PXE and dnsmasq"): router
advertisements that say "no address here" (`ra-only`, `ra-param` with lifetime 0) so iPXE stops
waiting for IPv6, `no-ping`, and iPXE's no-proxy-DHCP option (encapsulated 175.176).
"""

from __future__ import annotations

import ctypes
import ipaddress
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ironworks.boot import grub
from ironworks.common.errors import ConfigError
from ironworks.common.ids import normalize_mac
from ironworks.common.settings import BootSettings

log = logging.getLogger(__name__)

# DHCP option 93 (client system architecture, RFC 4578 and IANA's registry) values we serve.
_EFI_X86_64 = (7, 9)
_EFI_ARM64 = (11,)
# The network boot program each firmware gets over TFTP, by the name it has in the TFTP root.
BIOS_BINARY = "undionly.kpxe"
EFI_X86_64_BINARY = "snponly.efi"
EFI_ARM64_BINARY = "grubnetaa64.efi"  # GRUB, not iPXE: ironworks/builders/grub.py


def boot_url(cfg: BootSettings) -> str:
    """The base URL nodes reach the boot listener at (IPv4)."""
    return f"http://{cfg.http_address}:{cfg.http_port}"


def boot_url6(cfg: BootSettings) -> str | None:
    return f"http://[{cfg.http_address6}]:{cfg.http_port}" if cfg.http_address6 else None


@dataclass(frozen=True)
class Paths:
    """Where one dnsmasq instance keeps its files (all under the boot state directory)."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "dnsmasq.conf"

    @property
    def hosts(self) -> Path:
        return self.root / "hosts"

    @property
    def tftp(self) -> Path:
        return self.root / "tftp"

    @property
    def leases(self) -> Path:
        return self.root / "dnsmasq.leases"

    @property
    def log(self) -> Path:
        return self.root / "dnsmasq.log"

    @property
    def pid(self) -> Path:
        return self.root / "dnsmasq.pid"


def render_config(cfg: BootSettings, paths: Paths) -> str:
    """dnsmasq.conf for the provisioning network. dnsmasq takes comments on their own lines only."""
    try:
        ipaddress.IPv4Address(cfg.http_address)
        if cfg.http_address6:
            ipaddress.IPv6Address(cfg.http_address6)
    except ValueError as e:
        raise ConfigError(f"boot.http_address: {e}") from e
    url = boot_url(cfg)
    lines = [
        "# Rendered by Ironworks from its boot settings; changes here are overwritten.",
        "# No DNS: this is a DHCP and TFTP server only.",
        "port=0",
        f"interface={cfg.interface}",
        "bind-interfaces",
        f"dhcp-range=set:prov,{cfg.dhcp_range},{cfg.lease_time}",
        f"dhcp-leasefile={paths.leases}",
        f"dhcp-hostsdir={paths.hosts}",
        "# No gateway and no DNS server for nodes on the provisioning network.",
        "dhcp-option=option:router",
        "dhcp-option=option:dns-server",
        "no-ping",
        "dhcp-authoritative",
        "log-dhcp",
        f"log-facility={paths.log}",
        "# Firmware: iPXE itself, or a PXE ROM that needs the iPXE binary for its platform.",
        "dhcp-userclass=set:ipxe,iPXE",
        "dhcp-match=set:ipxe,175",
        "dhcp-option=tag:ipxe,encap:175,176,1b",
        *(f"dhcp-match=set:efi64,option:client-arch,{n}" for n in _EFI_X86_64),
        *(f"dhcp-match=set:efiarm64,option:client-arch,{n}" for n in _EFI_ARM64),
        "enable-tftp",
        f"tftp-root={paths.tftp}",
        f"dhcp-boot=tag:!ipxe,tag:!efi64,tag:!efiarm64,{BIOS_BINARY}",
        f"dhcp-boot=tag:!ipxe,tag:efi64,{EFI_X86_64_BINARY}",
        f"dhcp-boot=tag:!ipxe,tag:efiarm64,{EFI_ARM64_BINARY}",
        f"dhcp-boot=tag:ipxe,{url}/boot/boot.ipxe",
    ]
    if not cfg.discovery:
        lines += [
            "# Only enrolled nodes' MACs (the hosts directory) get an answer.",
            "dhcp-ignore=tag:!known",
        ]
    if cfg.http_address6:
        lines += [
            "# IPv6: router advertisements (iPXE stops waiting for an address at once).",
            "enable-ra",
            f"ra-param={cfg.interface},60,0",
        ]
        if cfg.dhcp_range6:
            url6 = boot_url6(cfg)
            lines += [
                f"dhcp-range=set:prov6,{cfg.dhcp_range6},{cfg.lease_time}",
                "dhcp-match=set:ipxe6,option6:user-class,iPXE",
                f"dhcp-option=tag:!ipxe6,option6:bootfile-url,tftp://[{cfg.http_address6}]/"
                f"{EFI_X86_64_BINARY}",
                f"dhcp-option=tag:ipxe6,option6:bootfile-url,{url6}/boot/boot.ipxe",
            ]
            if not cfg.discovery:
                lines.append("dhcp-ignore=tag:prov6,tag:!known")
        else:
            net6 = ipaddress.IPv6Network(f"{cfg.http_address6}/64", strict=False)
            lines.append(f"dhcp-range={net6.network_address},ra-only")
    return "\n".join(lines) + "\n"


def host_lines(macs: Iterable[str], tag: str) -> str:
    """One node's host file: its MACs, each known to dnsmasq and tagged with the node."""
    known = set()
    for mac in macs:
        normal = normalize_mac(mac)
        if normal is None:
            raise ValueError(f"{mac!r} is not a MAC address")
        known.add(normal)
    out = [f"{mac},set:{tag}" for mac in sorted(known)]
    return "\n".join(out) + ("\n" if out else "")


class HostsDir:
    """The `dhcp-hostsdir` of known MACs: one file per node, named by its UUID."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def sync(self, wanted: Mapping[str, Iterable[str]]) -> tuple[int, int]:
        """Make the directory hold exactly `wanted` (node UUID → MACs).

        Returns (files written, files removed); a write is atomic (rename), and an unchanged
        file is not touched, so dnsmasq re-reads only what changed.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        written = removed = 0
        for uuid, macs in wanted.items():
            text = host_lines(macs, "n-" + uuid.split("-")[0])
            target = self.path / uuid
            try:
                before = target.read_text()
            except FileNotFoundError:
                before = None
            if before == text:
                continue
            if before is not None and set(before.split()) - set(text.split()):
                removed += 1  # dnsmasq forgets a MAC only on SIGHUP
            tmp = self.path / f".{uuid}.tmp"
            tmp.write_text(text)
            tmp.chmod(0o644)
            os.replace(tmp, target)
            written += 1
        for entry in self.path.iterdir():
            if entry.name.startswith(".") or entry.name in wanted:
                continue
            entry.unlink(missing_ok=True)
            removed += 1
        return written, removed


def _die_with_parent() -> None:
    """In the child: SIGTERM when Ironworks dies, however it dies (prctl PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM, 0, 0, 0)


def populate_tftp(cfg: BootSettings, tftp: Path, ramdisk_dir: Path | None = None) -> list[str]:
    """Fill the TFTP root; returns the names of the boot programs missing.

    The iPXE binaries come from `boot.ipxe_dir`, the arm64 GRUB image from the aarch64 ramdisk's
    directory (`ramdisk_dir/aarch64/`, where `ironworks ramdisk build --arch aarch64` puts it),
    and GRUB's `grub/grub.cfg` is rendered for this boot listener."""
    tftp.mkdir(parents=True, exist_ok=True)
    sources = {
        BIOS_BINARY: cfg.ipxe_dir / "undionly.kpxe",
        EFI_X86_64_BINARY: cfg.ipxe_dir / "snponly.efi",
        EFI_ARM64_BINARY: ramdisk_dir / "aarch64" / EFI_ARM64_BINARY if ramdisk_dir else None,
    }
    missing = []
    for name, src in sources.items():
        if src is not None and src.exists():
            shutil.copyfile(src, tftp / name)
            _world_readable(tftp / name)
        elif not (tftp / name).exists():  # one put there by hand serves as well
            missing.append(name)
    config = tftp / grub.TFTP_CONFIG_PATH
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(grub.tftp_config(boot_url(cfg)))
    _world_readable(config)
    return missing


def _world_readable(path: Path) -> None:
    """dnsmasq running as root serves only world-readable files over TFTP (its man page,
    --tftp-secure), and the server's umask (027, cmd/server.py) makes new files 0640. Boot
    programs and GRUB's configuration hold no secret: 0644."""
    path.chmod(0o644)


class Dnsmasq:
    """One dnsmasq process serving the provisioning network, optionally inside a namespace."""

    def __init__(self, cfg: BootSettings, state_dir: Path, ramdisk_dir: Path | None = None) -> None:
        self.cfg = cfg
        self.paths = Paths(state_dir)
        # where the aarch64 GRUB image is (ARCH/grubnetaa64.efi): boot.ramdisk_dir, else the
        # default $IRONWORKS_HOME/ramdisk beside the state directory $IRONWORKS_HOME/boot
        self.ramdisk_dir = ramdisk_dir or cfg.ramdisk_dir or state_dir.parent / "ramdisk"
        self.hosts = HostsDir(self.paths.hosts)
        self._proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        cmd = [
            self.cfg.dnsmasq,
            "--keep-in-foreground",
            f"--conf-file={self.paths.config}",
            f"--pid-file={self.paths.pid}",
            "--user=root",
            "--group=root",
        ]
        if self.cfg.netns:
            cmd = ["ip", "netns", "exec", self.cfg.netns, *cmd]
        return cmd

    def start(self) -> None:
        if shutil.which(self.cfg.dnsmasq) is None:
            raise ConfigError(
                f"boot.dnsmasq: {self.cfg.dnsmasq!r} is not installed (apt-get install dnsmasq)"
            )
        self.paths.root.mkdir(parents=True, exist_ok=True)
        self.paths.hosts.mkdir(exist_ok=True)
        missing = populate_tftp(self.cfg, self.paths.tftp, self.ramdisk_dir)
        if missing:
            log.warning(
                "network boot programs not found in %s or %s: %s (those firmwares cannot PXE-boot)",
                self.cfg.ipxe_dir,
                self.ramdisk_dir / "aarch64",
                ", ".join(missing),
            )
        self.paths.config.write_text(render_config(self.cfg, self.paths))
        self._stop_stale()
        # dnsmasq's own complaints go to a file: a pipe nobody reads would block it one day
        errors = self.paths.root / "dnsmasq.stderr"
        with errors.open("wb") as err_file:
            self._proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stderr=err_file,
                preexec_fn=_die_with_parent,
            )
        try:
            self._proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            log.info(
                "dnsmasq serving %s%s (pid %d)",
                self.cfg.interface,
                f" in namespace {self.cfg.netns}" if self.cfg.netns else "",
                self._proc.pid,
            )
            return
        raise ConfigError(f"dnsmasq exited at start: {errors.read_text(errors='replace').strip()}")

    def _stop_stale(self) -> None:
        """A dnsmasq left by an earlier run of this state directory (killed hard) goes first."""
        try:
            pid = int(self.paths.pid.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if str(self.paths.config).encode() in cmdline:
            log.warning("stopping dnsmasq %d left by an earlier run", pid)
            os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)

    def reload_hosts(self) -> None:
        """Make dnsmasq forget removed host files (new and changed ones it reads by itself)."""
        if self._proc is not None and self._proc.poll() is None:
            try:
                pid = int(self.paths.pid.read_text().strip())
            except (OSError, ValueError):
                return
            os.kill(pid, signal.SIGHUP)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
