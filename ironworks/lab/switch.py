"""The lab switch: a network namespace that Ironworks drives over SSH like a top-of-rack switch.

The switch is a network namespace (the VM lab's own, `iwlab`; tests and benchmarks make their
own) holding one Linux bridge per VLAN and the ports: the VMs' taps, or veths whose other end
is in another namespace. The kernels here have neither 802.1Q links nor bridge `vlan_filtering`
(docs/lab.md), so VLAN N is the bridge `br-vlan<N>` and a port is on VLAN N when that bridge is
its master: exactly what the `linux-bridge` driver (drivers/switches/linux_bridge.py) renders.
The lab's provisioning bridge (`iwbr0`, which carries the boot server's address) gets the
alternative name `br-vlan<provisioning VLAN>`, so "move the port to the provisioning VLAN" is
the same command as any other move.

Management: OpenSSH's sshd, started with `ip netns exec NS`, so it listens inside the namespace
only (on the management address, put on the namespace's loopback) and every shell it starts is
inside the namespace, where `ip link ...` changes the switch and nothing else. It accepts one
account by password (`iwswitch` by default, a system account) whose login shell refuses to run
outside a named network namespace and holds CAP_NET_ADMIN and nothing else of root's (an ambient
capability, from a copy of `setpriv` that only this account may run: iproute2's `ip` keeps a
capability only when it is inheritable): the account can rewire a lab switch and cannot touch
the machine's own interfaces. The conductor runs in the root namespace, which has no
route into the lab: a `Relay` (a TCP relay on 127.0.0.1 whose outgoing sockets are made inside
the namespace) gives it a management address, `127.0.0.1:<port>`, as a real switch's management
network would. No packet of the lab crosses it: it carries the SSH byte stream only.

The switch namespace answers nothing on the VLAN bridges: IPv4 forwarding off, ARP answers only
for an address on the interface asked (`arp_ignore=1`), strict reverse-path filtering (a frame
crafted on a tenant bridge for the boot server's address is dropped) and no IPv6 on the bridges
made after the namespace's own (the VLAN bridges, the ports).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import pwd
import selectors
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ironworks.boot.netns import connect_in
from ironworks.common.errors import ConfigError
from ironworks.lab import net
from ironworks.lab.errors import LabError
from ironworks.lab.qemu import kill, process_args

ACCOUNT = "iwswitch"
# The account's files: its login shell, its setpriv (CAP_NET_ADMIN) and its shell's rc file.
# Root-owned and not writable by the account.
ACCOUNT_HOME = Path("/var/lib/ironworks-lab-switch")
SSHD = "/usr/sbin/sshd"  # sshd re-executes itself: it must be started by its absolute path
PRIVSEP_DIR = Path("/run/sshd")  # Debian's sshd refuses to start without it
PROMPT = "lab-switch$ "


def bridge(vlan: int) -> str:
    """The bridge of VLAN `vlan`: the naming of the `linux-bridge` driver (its `bridge`), not
    imported from it so that the lab's processes do not load netmiko."""
    return f"br-vlan{vlan}"


@dataclass(frozen=True)
class SwitchSpec:
    """One lab switch: its namespace and where its sshd keeps its files."""

    namespace: str
    directory: Path  # sshd_config, host key, sshd.log
    address: str = "10.99.0.2"  # management address, on the namespace's loopback
    ssh_port: int = 22  # inside the namespace
    username: str = ACCOUNT
    password: str = "password"

    @property
    def config(self) -> Path:
        return self.directory / "sshd_config"

    @property
    def log(self) -> Path:
        return self.directory / "sshd.log"


# --- the account ---------------------------------------------------------------------------------

_SHELL = """#!/bin/sh
# The login shell of the lab switch's account (ironworks/lab/switch.py): a shell inside a named
# network namespace (a lab switch), never in the machine's own.
me=$(stat -L -c %i /proc/self/ns/net 2>/dev/null)
inside=
for ns in /run/netns/*; do
  [ -n "$me" ] && [ "$(stat -L -c %i "$ns" 2>/dev/null)" = "$me" ] && inside=1 && break
done
if [ -z "$inside" ]; then
  echo "this account works inside an Ironworks lab switch only" >&2
  exit 1
fi
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
caps="--inh-caps +net_admin --ambient-caps +net_admin"
[ $# -eq 0 ] && exec {home}/bin/setpriv $caps /bin/bash --noprofile --rcfile {home}/switchrc -i
exec {home}/bin/setpriv $caps /bin/bash --noprofile --norc "$@"
"""

_RC = f"""unset HISTFILE
PS1='{PROMPT}'
"""


def _write(path: Path, text: str, mode: int) -> None:
    if not path.exists() or path.read_text() != text:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    path.chmod(mode)


def ensure_account(username: str, password: str) -> None:
    """The switch's login: a system account with the shell above, and this password.

    Every lab switch of the machine shares the account; the last `ensure_account` sets the
    password (tests and benchmarks use the lab's default)."""
    net.check_name("switch user", username, limit=32)
    if not password or "\n" in password or ":" in password:
        raise LabError("the switch password must be one line without ':'")
    setpriv = shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin")
    if setpriv is None:
        raise LabError("setpriv is not installed (apt-get install util-linux)")
    home = ACCOUNT_HOME
    (home / "bin").mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)
    (home / "bin").chmod(0o755)
    _write(home / "shell", _SHELL.format(home=home), 0o755)
    _write(home / "switchrc", _RC, 0o644)
    shell = str(home / "shell")
    try:
        account = pwd.getpwnam(username)
    except KeyError:
        made = net.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                        str(home), "--shell", shell, username], check=False)  # fmt: skip
        try:  # another lab may have made it meanwhile
            account = pwd.getpwnam(username)
        except KeyError:
            raise LabError(f"useradd {username} failed: {made.stderr.strip()}") from None
    if account.pw_shell != shell:  # never set the password of anybody else's account
        raise LabError(
            f"user {username!r} exists and is not a lab switch account (its shell is "
            f"{account.pw_shell}, not {shell}): choose another --switch-user"
        )
    net.run(["chpasswd"], stdin=f"{username}:{password}\n")
    # iproute2's `ip` drops file capabilities unless CAP_NET_ADMIN is inheritable: the shell
    # gets it as an ambient capability from a copy of setpriv that only this account may run.
    own = home / "bin" / "setpriv"
    if not own.exists() or own.read_bytes() != Path(setpriv).read_bytes():
        shutil.copyfile(setpriv, own.with_name("setpriv.tmp"))
        own.with_name("setpriv.tmp").replace(own)
    os.chown(own, 0, account.pw_gid)
    own.chmod(0o750)
    if "cap_net_admin" not in net.run(["getcap", str(own)]).stdout:
        net.run(["setcap", "cap_net_admin+ep", str(own)])


# --- the switch ----------------------------------------------------------------------------------


def _sysctl(ns: str, *settings: str) -> None:
    net.run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", *settings])


def ensure_switch(spec: SwitchSpec) -> None:
    """The namespace (made if missing), its management address and its no-answer settings."""
    net.check_name("namespace", spec.namespace, limit=64)
    ipaddress.IPv4Address(spec.address)
    if not net.exists(spec.namespace):
        net.run(["ip", "netns", "add", spec.namespace])
    net.ip(spec.namespace, "link", "set", "lo", "up")
    net.ip(spec.namespace, "addr", "replace", f"{spec.address}/32", "dev", "lo")
    _sysctl(
        spec.namespace,
        "net.ipv4.ip_forward=0",
        "net.ipv4.conf.all.arp_ignore=1",
        "net.ipv4.conf.all.rp_filter=1",
        "net.ipv4.conf.default.rp_filter=1",
        "net.ipv6.conf.default.disable_ipv6=1",
    )


def ensure_vlan(ns: str, vlan: int, existing: str | None = None) -> str:
    """VLAN `vlan` on the switch: `existing` (a bridge of the namespace) gets the name
    `br-vlan<vlan>` as an alternative name, or the bridge `br-vlan<vlan>` is made; up."""
    name = bridge(vlan)
    present = net.links(ns)
    if existing is not None:
        if name not in present and existing in present:
            shown = net.ip(ns, "-j", "link", "show", "dev", existing).stdout
            if name not in shown:
                net.ip(ns, "link", "property", "add", "dev", existing, "altname", name)
        net.ip(ns, "link", "set", existing, "up")
        return existing
    if name not in present:
        net.ip(ns, "link", "add", name, "type", "bridge")
    net.ip(ns, "link", "set", name, "up")
    return name


def ports_of(ns: str, vlan: int) -> list[str]:
    """The ports on VLAN `vlan` (`ip link show master br-vlan<vlan>` in the namespace)."""
    out = net.ip(ns, "-j", "link", "show", "master", bridge(vlan)).stdout
    return sorted(link["ifname"] for link in json.loads(out or "[]"))


def _sshd_config(spec: SwitchSpec) -> str:
    key = spec.directory / "ssh_host_ed25519_key"
    return "\n".join(
        [
            "# The lab switch's sshd (ironworks/lab/switch.py): inside its namespace only.",
            f"ListenAddress {spec.address}:{spec.ssh_port}",
            f"HostKey {key}",
            f"PidFile {spec.directory / 'sshd.pid'}",
            f"AllowUsers {spec.username}",
            "PasswordAuthentication yes",
            "PermitEmptyPasswords no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication no",
            "AuthorizedKeysFile none",
            "PermitRootLogin no",
            "UsePAM no",
            "X11Forwarding no",
            "AllowTcpForwarding no",
            "AllowAgentForwarding no",
            "AllowStreamLocalForwarding no",
            "PermitTunnel no",
            "PermitUserEnvironment no",
            "PrintMotd no",
            "PrintLastLog no",
            "UseDNS no",
            "LoginGraceTime 30",
            # benchmarks open sessions back to back; a real switch allows a handful at once
            "MaxStartups 50:30:100",
            "",
        ]
    )


def start_sshd(spec: SwitchSpec) -> int:
    """sshd inside the switch's namespace, in the background (a new session: it outlives
    `lab up`); its PID once it listens."""
    if not Path(SSHD).is_file():
        raise LabError(f"{SSHD} is not installed (apt-get install openssh-server)")
    spec.directory.mkdir(parents=True, exist_ok=True)
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    key = spec.directory / "ssh_host_ed25519_key"
    if not key.exists():
        net.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lab-switch", "-f", str(key)])
    _write(spec.config, _sshd_config(spec), 0o600)
    net.run([SSHD, "-t", "-f", str(spec.config)])
    spec.log.write_bytes(b"")
    proc = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            spec.namespace,
            SSHD,
            "-D",
            "-f",
            str(spec.config),
            "-E",
            str(spec.log),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 15
    while not _listening(spec):
        if proc.poll() is not None:
            raise LabError(f"sshd of the lab switch exited: {_tail(spec.log)}")
        if time.monotonic() > deadline:
            stop_sshd(proc.pid, spec)
            raise LabError(f"sshd of the lab switch did not listen within 15 s: {_tail(spec.log)}")
        time.sleep(0.05)
    return proc.pid


def _listening(spec: SwitchSpec) -> bool:
    with contextlib.suppress(OSError, ConfigError):
        connect_in(spec.namespace, spec.address, spec.ssh_port, timeout=1.0).close()
        return True
    return False


def _tail(path: Path) -> str:
    with contextlib.suppress(OSError):
        return " / ".join(path.read_text(errors="replace").strip().splitlines()[-3:]) or "no log"
    return "no log"


def is_sshd_of(pid: int, spec: SwitchSpec) -> bool:
    """Whether `pid` is this switch's sshd (its argv names this switch's config)."""
    args = process_args(pid)
    # sshd rewrites its title ("sshd: /usr/sbin/sshd -D -f CONFIG [listener] ...")
    return bool(args) and "sshd" in args[0] and str(spec.config) in " ".join(args)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stop_sshd(pid: int | None, spec: SwitchSpec) -> bool:
    """Stop this switch's sshd (by PID, checked) and the sessions it serves; whether it ran."""
    if not pid or not is_sshd_of(pid, spec):
        return False
    kill([pid, *_descendants(pid)], grace=5.0)
    return True


def stop_all(spec: SwitchSpec) -> list[int]:
    """Stop every sshd of this switch still running in its namespace (a lost state file)."""
    return [pid for pid in net.pids(spec.namespace) if stop_sshd(pid, spec)]


# --- the management relay ------------------------------------------------------------------------


class Relay:
    """127.0.0.1:`port` here (the root namespace) → `address:ssh_port` inside the switch's
    namespace. One thread accepts; each connection gets one thread that copies both ways."""

    def __init__(self, spec: SwitchSpec, listen: str = "127.0.0.1", port: int = 0) -> None:
        if not ipaddress.ip_address(listen).is_loopback:
            raise LabError(f"the switch relay listens on loopback only, not {listen}")
        self.spec = spec
        self._sock = socket.create_server((listen, port))
        self.port: int = self._sock.getsockname()[1]
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="switch-relay", daemon=True)

    def start(self) -> Relay:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()

    def __enter__(self) -> Relay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        spec = self.spec
        try:
            upstream = connect_in(spec.namespace, spec.address, spec.ssh_port)
        except (OSError, ConfigError):
            client.close()  # the switch does not answer: neither does its management address
            return
        for sock in (client, upstream):  # SSH is many small writes: no Nagle wait on each
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with client, upstream, selectors.DefaultSelector() as sel:
            sel.register(client, selectors.EVENT_READ, upstream)
            sel.register(upstream, selectors.EVENT_READ, client)
            while not self._closed.is_set():
                for key, _ in sel.select(timeout=1.0):
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = src.recv(65536)
                        if not data:
                            return
                        key.data.sendall(data)
                    except OSError:
                        return
