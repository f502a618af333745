"""The test OS applies its config drive's network_data.json: the very script and awk program the
image carries (builders/testimage.py), run by busybox in a network namespace of the test
(10.99.85.0/24, nothing leaves it), on the document boot/configdrive.network_data writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ironworks.boot.configdrive import HostNic, NicAddress, network_data
from ironworks.builders.testimage import NETWORK_DATA_AWK, STATIC_NETWORK
from ironworks.domain.network import BondMode

BUSYBOX = shutil.which("busybox")
IP = shutil.which("ip") or "ip"  # iproute2's: the script's PATH finds busybox's
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root"),
    pytest.mark.skipif(BUSYBOX is None, reason="apt-get install busybox-static"),
]

NS = f"iwtin{os.getpid() % 100000}"
MAC1, MAC2, MAC3 = "52:54:00:85:00:01", "52:54:00:85:00:02", "52:54:00:85:00:03"


def awk(doc: dict[str, object], tmp: Path) -> list[str]:
    (tmp / "nd.json").write_text(json.dumps(doc))
    (tmp / "nd.awk").write_text(NETWORK_DATA_AWK)
    done = subprocess.run(
        [str(BUSYBOX), "awk", "-f", str(tmp / "nd.awk"), str(tmp / "nd.json")],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return done.stdout.splitlines()


def test_the_awk_program_lists_each_static_ipv4_address_with_its_mac(tmp_path: Path) -> None:
    doc = network_data(
        [
            HostNic(
                "nic-1",
                "net-1",
                MAC1.upper(),
                (MAC1.upper(),),
                addresses=(
                    NicAddress("10.99.85.10", "10.99.85.0/24", "10.99.85.1", ("10.99.85.1",)),
                    NicAddress("fd99:85::10", "fd99:85::/64"),
                ),
            ),
            HostNic(
                "nic-2",
                "net-2",
                MAC2,
                (MAC2, MAC3),
                bond_mode=BondMode("active-backup"),
                addresses=(NicAddress("10.99.86.7", "10.99.86.0/23", "10.99.86.1"),),
            ),
            HostNic("nic-3", "net-3", MAC3, (MAC3,)),  # no address: nothing to set
        ]
    )
    # the MAC lowered; IPv6 left out; the default route only through the first IPv4 subnet
    assert awk(doc, tmp_path) == [f"{MAC1} 10.99.85.10/24 10.99.85.1", f"{MAC2} 10.99.86.7/23 "]
    assert awk({"links": [], "networks": [], "services": []}, tmp_path) == []


@pytest.fixture
def namespace() -> Iterator[str]:
    subprocess.run(["ip", "netns", "add", NS], check=True)
    try:
        for name, mac, peer in (("eth0", MAC1, "p0"), ("eth1", MAC2, "p1")):
            subprocess.run(
                [
                    *("ip", "-n", NS, "link", "add", name, "address", mac, "type", "veth"),
                    *("peer", "name", peer),
                ],
                check=True,
            )
            subprocess.run(["ip", "-n", NS, "link", "set", peer, "up"], check=True)
        yield NS
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)


def test_the_script_sets_each_address_on_the_interface_with_its_mac(
    namespace: str, tmp_path: Path
) -> None:
    doc = network_data(
        [
            HostNic(
                "nic-1",
                "net-1",
                MAC2,
                (MAC2,),
                addresses=(NicAddress("10.99.85.20", "10.99.85.0/24", "10.99.85.1"),),
            ),
            HostNic(
                "nic-2",
                "net-2",
                "52:54:00:85:00:99",  # no interface has it: said, skipped
                ("52:54:00:85:00:99",),
                addresses=(NicAddress("10.99.85.130", "10.99.85.128/25"),),
            ),
        ]
    )
    (tmp_path / "nd.json").write_text(json.dumps(doc))
    (tmp_path / "nd.awk").write_text(NETWORK_DATA_AWK)
    (tmp_path / "static-network").write_text(STATIC_NETWORK)
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/sbin:/usr/bin:/sbin:/bin"}
    (tmp_path / "bin").mkdir()
    for tool in ("awk", "tr", "ip", "rm"):  # busybox's, as in the image
        (tmp_path / "bin" / tool).symlink_to(str(BUSYBOX))
    done = subprocess.run(
        [
            *(IP, "netns", "exec", namespace, str(BUSYBOX), "sh", str(tmp_path / "static-network")),
            *(str(tmp_path / p) for p in ("nd.json", "nd.awk", "set")),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "address 10.99.85.20/24 on eth1 via 10.99.85.1" in done.stdout, done.stdout
    assert "no interface has MAC 52:54:00:85:00:99 for 10.99.85.130/25" in done.stdout
    assert (tmp_path / "set").read_text() == "eth1 10.99.85.20/24\n"

    def ip(*args: str) -> list[dict[str, object]]:
        out = subprocess.run(
            ["ip", "-n", namespace, "-j", *args], capture_output=True, text=True, check=True
        )
        return list(json.loads(out.stdout or "[]"))

    eth1 = ip("-4", "addr", "show", "dev", "eth1")[0]
    assert [(a["local"], a["prefixlen"]) for a in eth1["addr_info"]] == [("10.99.85.20", 24)]
    assert not any(link.get("addr_info") for link in ip("-4", "addr", "show", "dev", "eth0"))
    assert [(r["dst"], r.get("gateway"), r["dev"]) for r in ip("route", "show", "default")] == [
        ("default", "10.99.85.1", "eth1")
    ]
