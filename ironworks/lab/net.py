"""The lab's provisioning network: one namespace, one bridge, one tap per VM NIC.

Everything is made inside the lab's own network namespace (`ip netns add NS`, then only
`ip -n NS ...`): the root namespace gets no lab interface, no lab address and no route, and
nothing links the two (no veth, no forwarding, no NAT; docs/lab.md, "Network safety").
Every `ip` call that creates or changes a link goes through `ip`, which always names the
namespace. `ensure_*` may run any number of times; `destroy` too.
"""

from __future__ import annotations

import json
import re
import subprocess

from ironworks.lab.errors import LabError

NAMESPACE = "iwlab"
BRIDGE = "iwbr0"
BRIDGE_ADDRESS = "10.99.0.1/16"
# The lab's IPv6 prefix (docs/lab.md): the boot server's router advertisements for it
# tell iPXE at once that no IPv6 address is coming, which saves ~13 s per PXE boot.
BRIDGE_ADDRESS6 = "fd99::1/64"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_name(kind: str, name: str, limit: int = 15) -> None:
    """Namespace and link names: short, plain (IFNAMSIZ is 16 with the NUL)."""
    if not _NAME.fullmatch(name) or len(name) > limit:
        raise LabError(f"{kind} name {name!r} must be 1-{limit} letters, digits, '.', '_' or '-'")


def run(
    args: list[str], check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """A command of the lab's plumbing; LabError naming it when it fails (with `check`)."""
    try:
        proc = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        package = {"ip": "iproute2", "setcap": "libcap2-bin", "getcap": "libcap2-bin"}
        raise LabError(
            f"{args[0]} is not installed (apt-get install {package.get(args[0], args[0])}; "
            "scripts/system-packages.txt lists what the lab needs)"
        ) from None
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(args)} failed: {proc.stderr.strip() or proc.returncode}")
    return proc


def ip(ns: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`ip -n NS ...`: never without a namespace, so nothing lands in the root namespace."""
    check_name("namespace", ns, limit=64)
    return run(["ip", "-n", ns, *args], check=check)


def namespaces() -> list[str]:
    out = run(["ip", "-j", "netns", "list"], check=False).stdout.strip()
    return [n["name"] for n in json.loads(out or "[]")]


def exists(ns: str) -> bool:
    return ns in namespaces()


def links(ns: str) -> dict[str, dict[str, str | None]]:
    """The links of the namespace: name → {"master": bridge or None, "kind": ...}."""
    out = ip(ns, "-j", "-d", "link", "show").stdout.strip()
    result: dict[str, dict[str, str | None]] = {}
    for link in json.loads(out or "[]"):
        kind = (link.get("linkinfo") or {}).get("info_kind")
        result[link["ifname"]] = {"master": link.get("master"), "kind": kind}
    return result


def ensure_namespace(
    ns: str = NAMESPACE, bridge: str = BRIDGE, address: str = BRIDGE_ADDRESS
) -> None:
    """The namespace with lo up and the bridge holding `address`, up."""
    check_name("namespace", ns, limit=64)
    check_name("bridge", bridge)
    if not exists(ns):
        run(["ip", "netns", "add", ns])
    ip(ns, "link", "set", "lo", "up")
    if bridge not in links(ns):
        ip(ns, "link", "add", bridge, "type", "bridge")
    ip(ns, "addr", "replace", address, "dev", bridge)
    ip(ns, "-6", "addr", "replace", BRIDGE_ADDRESS6, "dev", bridge, "nodad")
    ip(ns, "link", "set", bridge, "up")


def ensure_tap(ns: str, tap: str, bridge: str | None = BRIDGE) -> None:
    """A persistent tap for QEMU to open; on the bridge unless `bridge` is None (unplugged)."""
    check_name("tap", tap)
    if tap not in links(ns):
        ip(ns, "tuntap", "add", "dev", tap, "mode", "tap")
    if bridge is None:
        ip(ns, "link", "set", tap, "nomaster")
    else:
        ip(ns, "link", "set", tap, "master", bridge)
    ip(ns, "link", "set", tap, "up")


def pids(ns: str) -> list[int]:
    """Processes whose network namespace is `ns`."""
    out = run(["ip", "netns", "pids", ns], check=False).stdout.split()
    return sorted(int(p) for p in out if p.isdigit())


def destroy(ns: str, names: list[str]) -> list[str]:
    """Delete these links (taps, then the bridge) and the namespace; what was removed."""
    if not exists(ns):
        return []
    removed = []
    present = links(ns)
    for name in names:
        if name in present:
            ip(ns, "link", "del", name, check=False)
            removed.append(name)
    run(["ip", "netns", "del", ns])
    removed.append(f"namespace {ns}")
    return removed
