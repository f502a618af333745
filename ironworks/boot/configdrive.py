"""Config drives: what a deployed OS reads at first boot (hostname, SSH keys, user data, network).

A provision request carries a config drive the way Ironic clients send it: a JSON object with
`meta_data`, `user_data`, `network_data` and `vendor_data`, or a gzipped, base64-encoded image
(ISO 9660 or VFAT, labelled `config-2`). We turn either into one image file that the agent writes
into a partition at the end of the node's disk. From an object we build a VFAT filesystem with
dosfstools and mtools, which need no mount and no root; an image is written as given.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import ipaddress
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ironworks.common.errors import InvalidInput
from ironworks.domain.network import BondMode, bond_link

LABEL = "config-2"
SIZE_MB = 16  # plenty for metadata, keys and user data; the agent rounds the partition up
MAX_IMAGE = 64 * 1024 * 1024


def _run(cmd: list[str], **env: str) -> None:
    try:
        subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, **env}, timeout=60)
    except FileNotFoundError as e:
        raise InvalidInput(
            f"building the config drive needs {cmd[0]} (apt-get install dosfstools mtools)",
            field="configdrive",
        ) from e
    except subprocess.CalledProcessError as e:
        raise InvalidInput(
            f"building the config drive failed: {cmd[0]}: {e.stderr.decode(errors='replace')}",
            field="configdrive",
        ) from e


def meta_data(
    node: dict[str, Any],
    given: dict[str, Any] | None = None,
    hostname: str | None = None,
    ssh_keys: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The OpenStack meta_data.json: what was given, completed from the node."""
    info = node.get("instance_info") or {}
    name = hostname or info.get("display_name") or node.get("instance_name") or node.get("name")
    md: dict[str, Any] = {
        "uuid": node.get("instance_uuid") or node["uuid"],
        "hostname": name or node["uuid"],
        "name": name or node["uuid"],
        "launch_index": 0,
        "availability_zone": (node.get("properties") or {}).get("availability_zone", ""),
        "files": [],
        "meta": {},
    }
    if ssh_keys:
        md["public_keys"] = dict(ssh_keys)
    md.update(given or {})
    return md


@dataclass(frozen=True)
class NicAddress:
    """One address a host NIC holds, with its subnet."""

    address: str
    cidr: str
    gateway: str | None = None
    dns: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostNic:
    """A host NIC as the deployed OS must configure it (from `host_nics` and its node's ports).

    `members`: the MACs of the physical ports it uses, one for a plain port, two or more for a
    port group (then `bond_mode` says how they are bonded). `vlan_id`: the 802.1Q tag the host
    itself must put on its frames, for a NIC on a trunk port; None on an access port, where the
    switch tags and the host sends untagged frames (the dynamic scheme's case)."""

    uuid: str
    network: str  # the network's uuid
    mac: str
    members: tuple[str, ...]
    bond_mode: BondMode | None = None
    mtu: int | None = None
    vlan_id: int | None = None
    addresses: tuple[NicAddress, ...] = field(default_factory=tuple)


def _route(net: ipaddress.IPv4Network | ipaddress.IPv6Network, gateway: str) -> dict[str, Any]:
    default = "0.0.0.0" if net.version == 4 else "::"
    return {"network": default, "netmask": default, "gateway": gateway}


def network_data(nics: list[HostNic]) -> dict[str, Any]:
    """The OpenStack `network_data.json` for these NICs: a `phy` link per physical port, a
    `bond` link over the members of a port group, a `vlan` link for a tagged NIC, then one
    static `ipv4`/`ipv6` network per address (netmask, the default route through the first
    subnet of each family that has a gateway, DNS servers as services). cloud-init and Glean
    turn it into the host's configuration."""
    links: list[dict[str, Any]] = []
    networks: list[dict[str, Any]] = []
    dns: list[str] = []
    routed: set[int] = set()  # IP versions that have their default route already
    phy = bonds = vlans = 0
    for nic in nics:
        member_ids = []
        for mac in nic.members:
            member_ids.append(f"phy{phy}")
            links.append(
                {
                    "id": f"phy{phy}",
                    "type": "phy",
                    "ethernet_mac_address": mac,
                    "mtu": nic.mtu,
                    **({} if nic.bond_mode else {"vif_id": nic.uuid}),
                }
            )
            phy += 1
        link = member_ids[0]
        if nic.bond_mode is not None:
            link = f"bond{bonds}"
            bonds += 1
            links.append(
                {
                    **bond_link(link, nic.bond_mode, member_ids, mac=nic.mac, mtu=nic.mtu),
                    "vif_id": nic.uuid,
                }
            )
        if nic.vlan_id is not None:
            base, link = link, f"vlan{vlans}"
            vlans += 1
            links.append(
                {
                    "id": link,
                    "type": "vlan",
                    "vlan_link": base,
                    "vlan_id": nic.vlan_id,
                    "vlan_mac_address": nic.mac,
                    "mtu": nic.mtu,
                    "vif_id": nic.uuid,
                }
            )
        for addr in nic.addresses:
            net = ipaddress.ip_network(addr.cidr)
            entry: dict[str, Any] = {
                "id": f"network{len(networks)}",
                "type": f"ipv{net.version}",
                "link": link,
                "ip_address": addr.address,
                "netmask": str(net.netmask),
                "routes": [],
                "network_id": nic.network,
            }
            if addr.gateway and net.version not in routed:
                entry["routes"].append(_route(net, addr.gateway))
                routed.add(net.version)
            if addr.dns:
                entry["services"] = [{"type": "dns", "address": a} for a in addr.dns]
            networks.append(entry)
            dns += [a for a in addr.dns if a not in dns]
    return {
        "links": links,
        "networks": networks,
        "services": [{"type": "dns", "address": a} for a in dns],
    }


def build_vfat(files: dict[str, bytes], out: Path, size_mb: int = SIZE_MB) -> Path:
    """A VFAT image labelled config-2 holding `files` (paths relative to its root)."""
    tmp = out.with_name(out.name + ".tmp")
    tmp.unlink(missing_ok=True)
    _run(["mkfs.vfat", "-n", LABEL.upper(), "-C", str(tmp), str(size_mb * 1024)])
    dirs = sorted({str(Path(p).parent) for p in files} - {"."}, key=lambda d: d.count("/"))
    made: set[str] = set()
    with tempfile.TemporaryDirectory() as work:
        for d in dirs:
            parts = Path(d).parts
            for i in range(1, len(parts) + 1):
                sub = "/".join(parts[:i])
                if sub not in made:
                    _run(["mmd", "-i", str(tmp), f"::{sub}"], MTOOLS_SKIP_CHECK="1")
                    made.add(sub)
        for rel, data in files.items():
            src = Path(work) / "f"
            src.write_bytes(data)
            _run(["mcopy", "-o", "-i", str(tmp), str(src), f"::{rel}"], MTOOLS_SKIP_CHECK="1")
    os.replace(tmp, out)
    return out


def first_boot_vendor_data(
    vendor: dict[str, Any] | None, url: str, phone_home: bool = True
) -> dict[str, Any]:
    """`vendor` (the request's vendor_data) with the URL the deployed OS posts to on its first
    boot: as `ironworks.first_boot_url` for any client, and as cloud-init's `phone_home`
    (`phone_home`, and the request brought no cloud-init vendor data of its own)."""
    out = dict(vendor or {})
    out["ironworks"] = {
        **(out.get("ironworks") if isinstance(out.get("ironworks"), dict) else {}),
        "first_boot_url": url,
    }
    if phone_home:
        out.setdefault(
            "cloud-init",
            "#cloud-config\nphone_home:\n  url: "
            + json.dumps(url)
            + "\n  post: [instance_id]\n  tries: 3\n",
        )
    return out


def from_object(
    node: dict[str, Any],
    drive: dict[str, Any],
    out: Path,
    first_boot_url: str | None = None,
    phone_home: bool = True,
) -> Path:
    """Build the image for an Ironic-style config drive object."""
    unknown = set(drive) - {"meta_data", "user_data", "network_data", "vendor_data"}
    if unknown:
        raise InvalidInput(
            f"configdrive has unknown key(s) {', '.join(sorted(unknown))}; "
            "use meta_data, user_data, network_data, vendor_data",
            field="configdrive/" + sorted(unknown)[0],
        )
    for key in ("meta_data", "network_data", "vendor_data"):
        if drive.get(key) is not None and not isinstance(drive[key], dict):
            raise InvalidInput(
                f"configdrive {key} must be a JSON object", field=f"configdrive/{key}"
            )
    md = meta_data(node, drive.get("meta_data"))
    files = {"openstack/latest/meta_data.json": json.dumps(md, indent=1).encode()}
    if drive.get("network_data") is not None:
        files["openstack/latest/network_data.json"] = json.dumps(drive["network_data"]).encode()
    vendor = drive.get("vendor_data")
    if first_boot_url:
        vendor = first_boot_vendor_data(vendor, first_boot_url, phone_home)
    if vendor is not None:
        files["openstack/latest/vendor_data.json"] = json.dumps(vendor).encode()
    user = drive.get("user_data")
    if user is not None:
        files["openstack/latest/user_data"] = (
            json.dumps(user).encode() if isinstance(user, dict | list) else str(user).encode()
        )
    return build_vfat(files, out)


def from_encoded(text: str, out: Path) -> Path:
    """Decode a gzipped, base64-encoded config drive image into `out`."""
    try:
        packed = io.BytesIO(base64.b64decode(text, validate=False))
        with gzip.GzipFile(fileobj=packed) as unpacked, out.open("wb") as f:
            size = 0
            while chunk := unpacked.read(1 << 20):  # streamed: a gzip bomb stops at the cap
                size += len(chunk)
                if size > MAX_IMAGE:
                    raise InvalidInput(
                        f"configdrive image is more than {MAX_IMAGE} bytes "
                        "unpacked; at most that is accepted",
                        field="configdrive",
                    )
                f.write(chunk)
    except (binascii.Error, OSError, EOFError, ValueError) as e:
        out.unlink(missing_ok=True)
        raise InvalidInput(
            f"configdrive is neither a JSON object nor a gzipped, base64-encoded image ({e})",
            field="configdrive",
        ) from e
    except InvalidInput:
        out.unlink(missing_ok=True)
        raise
    return out


def build(
    node: dict[str, Any],
    drive: Any,
    out: Path,
    first_boot_url: str | None = None,
    phone_home: bool = True,
) -> Path:
    """The config drive image for a provision request's `configdrive` value; a JSON object's
    gets `first_boot_url` in its vendor_data (an encoded image is written as given)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(drive, dict):
        return from_object(node, drive, out, first_boot_url, phone_home)
    if isinstance(drive, str) and not drive.startswith(("http://", "https://")):
        return from_encoded(drive, out)
    raise InvalidInput(
        "configdrive must be a JSON object or a gzipped, base64-encoded image", field="configdrive"
    )
