"""The agent protocol end to end, without a VM: inspect, clean, deploy and fail, for real.

A real conductor drives a node whose BMC is an emulated IPMI BMC over UDP on 127.0.0.1 (the lab's
shard process); the API runs in uvicorn on loopback; the node's "ramdisk" is the real
`ironworks_agent` running in a thread over a fake /proc, /sys and /dev tree whose disk is a
sparse file. Each time the conductor boots the ramdisk (a new agent session) the test starts a
fresh agent, as a reboot would; the image comes from a real HTTP server on 127.0.0.1 through
the conductor's image cache. What the QEMU lab adds on top of this (PXE, dnsmasq, a kernel) is
tests/e2e's job.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ironworks.api.app import create_app
from ironworks.db.engine import Database
from ironworks.db.migrate import upgrade
from ironworks.services.context import Services
from ironworks_agent.agent import Agent
from tests.conftest import free_port, make_settings, serve_directory, wait_for
from tests.unit.agent.conftest import add_disk, add_nic, write

if TYPE_CHECKING:
    from ironworks.lab.fleet import Fleet

pytest.importorskip("pyghmi", reason="the emulated BMC needs pyghmi")

USER, PASSWORD = "admin", "s3cret"
MAC = "52:54:00:99:00:01"
MIB = 1024 * 1024
DISK = 256 * MIB


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    from ironworks.lab.fleet import Fleet
    from ironworks.lab.spec import BmcSpec

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = BmcSpec(
        name="vm",
        address="127.0.0.1",
        port=port,
        username=USER,
        password=PASSWORD,
        power_delay=0.1,
        shutdown_delay=0.2,
    )
    with Fleet([spec], shard_size=1) as f:
        yield f


@pytest.fixture
def images(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A directory served over HTTP on 127.0.0.1: (base URL, directory)."""
    root = tmp_path / "www"
    root.mkdir()
    with serve_directory(root) as url:
        yield url, root


@pytest.fixture
def cloud(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """API + conductor in this process, the API (with the boot routes) on a loopback port.
    Indirect parameters are more boot settings."""
    import uvicorn

    from ironworks.conductor.conductor import Conductor

    port = free_port()
    param = dict(getattr(request, "param", {}))
    licensed = param.pop("license_nodes", None)  # an evaluation license of that many nodes
    boot = {
        "http_address": "127.0.0.1",
        "http_port": port,
        "agent_heartbeat": 0.2,
        "serve_on_api": True,
        **param,
    }
    settings = make_settings(
        f"sqlite:///{tmp_path / 'ironworks.db'}",
        tmp_path / "home",
        conductor={"hostname": "c1", "poll_interval": 0.05, "periodic_interval": 0.5},
        boot=boot,
        timeouts={"deploy_callback": 30, "clean_callback": 30, "inspect_wait": 30},
        **({"license": {"evaluation_nodes": licensed}} if licensed is not None else {}),
    )
    db = Database(settings.effective_database_url)
    upgrade(db)
    conductor = Conductor(db, settings)
    conductor.start()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(Services(db=db, settings=settings)),
            host="127.0.0.1",
            port=port,
            log_config=None,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=10)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)
    conductor.stop(wait=True)
    db.dispose()


def machine(root: Path) -> Path:
    """The node as its ramdisk sees it: 2 CPUs, 1 GiB, one NIC, one 256 MiB disk."""
    write(
        root / "proc/cpuinfo",
        "processor\t: 0\nmodel name\t: Test CPU\n\nprocessor\t: 1\nmodel name\t: Test CPU\n",
    )
    write(root / "proc/meminfo", "MemTotal:        1010000 kB")
    write(root / "proc/cmdline", f"console=ttyS0 BOOTIF=01-{MAC.replace(':', '-')}")
    add_nic(root, "eth0", MAC, speed="1000", carrier="1")
    write(root / "sys/class/dmi/id/sys_vendor", "Ironworks Lab")
    add_disk(root, "vda", DISK, **{"device__serial": "disk-0001"})
    return root / "dev/vda"


def whole_disk_image(size: int) -> bytes:
    """Random data behind an MBR with one Linux partition from 1 MiB to the end."""
    data = bytearray(os.urandom(size))
    data[446:512] = b"\0" * 66
    struct.pack_into(
        "<B3sB3sII", data, 446, 0x80, b"\0\0\0", 0x83, b"\0\0\0", 2048, size // 512 - 2048
    )
    data[510:512] = b"\x55\xaa"
    return bytes(data)


@contextmanager
def ramdisk(api: str, root: Path, powered: list[str] | None = None) -> Iterator[Agent]:
    """One boot of the agent ramdisk: fresh /run, the agent running until the block ends.
    Power commands the agent receives are appended to `powered` (never done to this host)."""
    from ironworks_agent.commands import Context

    for name in ("ironworks-agent.token", "ironworks-agent.state"):
        (root / "run" / name).unlink(missing_ok=True)
    ctx = Context(root=root, pxe_mac=MAC, power=(powered if powered is not None else []).append)
    agent = Agent(api, root=root, boot_mac=MAC, ctx=ctx, lookup_retry=0.3, power_delay=0.1)
    thread = threading.Thread(target=agent.run, daemon=True)
    thread.start()
    try:
        yield agent
    finally:
        agent.stop()
        thread.join(10)


def settle(http: httpx.Client, uuid: str, until: set[str], timeout: float = 40) -> dict[str, Any]:
    return wait_for(
        lambda: (
            (n := http.get(f"/v1/nodes/{uuid}").json())["provision_state"] in until
            and n["reservation"] is None
            and n
        ),
        timeout=timeout,
    )


def act(http: httpx.Client, uuid: str, target: str, **body: Any) -> None:
    r = http.put(f"/v1/nodes/{uuid}/states/provision", json={"target": target, **body})
    assert r.status_code == 202, r.text


def test_inspect_clean_deploy_and_undeploy_through_the_agent(
    cloud: str, fleet: Fleet, images: tuple[str, Path], tmp_path: Path
) -> None:
    http = httpx.Client(base_url=cloud, headers={"X-OpenStack-Ironic-API-Version": "latest"})
    root = tmp_path / "node"
    disk = machine(root)
    port = next(s.port for s in fleet.specs if s.name == "vm")
    r = http.post(
        "/v1/nodes",
        json={
            "name": "vm",
            "driver": "ipmi",
            "driver_info": {
                "ipmi_address": "127.0.0.1",
                "ipmi_port": port,
                "ipmi_username": USER,
                "ipmi_password": PASSWORD,
                "ipmi_timeout": 3,
                "ipmi_retries": 1,
            },
        },
    )
    assert r.status_code == 201, r.text
    node = r.json()
    uuid = node["uuid"]
    assert (node["boot_interface"], node["deploy_interface"], node["inspect_interface"]) == (
        "ipxe",
        "agent",
        "agent",
    )
    assert http.post("/v1/ports", json={"node_uuid": uuid, "address": MAC}).status_code == 201
    act(http, uuid, "manage")
    settle(http, uuid, {"manageable"})

    # The node's iPXE script follows its state.
    script = http.get(f"/boot/{MAC.replace(':', '-')}.ipxe").text
    assert "sanboot" in script and "manageable" in script

    # Inspection: the conductor PXE-boots the ramdisk; the agent reports its inventory.
    act(http, uuid, "inspect")
    settle(http, uuid, {"inspect wait"})
    snap = fleet.snapshot("vm")
    assert snap["power"] == "on" and snap["boots"][-1] == "pxe"  # PXE once, spent by this boot
    script = http.get(f"/boot/{MAC}.ipxe").text
    assert f"ironworks.node={uuid}" in script and f"ironworks.api={cloud}" in script
    with ramdisk(cloud, root):
        node = settle(http, uuid, {"manageable", "inspect failed"})
    assert node["provision_state"] == "manageable", node["last_error"]
    props = node["properties"]
    assert (props["cpus"], props["cpu_arch"], props["memory_mb"]) == (2, os.uname().machine, 1024)
    assert props["disks"][0]["serial"] == "disk-0001" and props["local_gb"] == 0
    assert fleet.snapshot("vm")["power"] == "off"
    ports = http.get(f"/v1/nodes/{uuid}/ports").json()["ports"]
    assert [p["address"] for p in ports] == [MAC]

    # Manual cleaning runs the agent deploy interface's declared step; clean_step shows it.
    with disk.open("r+b") as f:
        f.write(b"MANUAL" * 100)
    steps = [{"interface": "deploy", "step": "erase_devices_metadata"}]
    act(http, uuid, "clean", clean_steps=steps)
    node = settle(http, uuid, {"clean wait"})
    assert node["clean_step"] == {**steps[0], "args": {}}
    with ramdisk(cloud, root):
        node = settle(http, uuid, {"manageable", "clean failed"})
    assert node["provision_state"] == "manageable", node["last_error"]
    assert node["clean_step"] == {} and disk.read_bytes()[:600] == b"\0" * 600

    # Cleaning erases the disk's metadata; a marker at the start of the disk is gone.
    with disk.open("r+b") as f:
        f.write(b"MARKER" * 100)
    act(http, uuid, "provide")
    settle(http, uuid, {"clean wait"})
    with ramdisk(cloud, root):
        node = settle(http, uuid, {"available", "clean failed"})
    assert node["provision_state"] == "available", node["last_error"]
    assert disk.read_bytes()[:600] == b"\0" * 600

    # Deploy an image from a URL, with a config drive.
    base, www = images
    image = whole_disk_image(3 * MIB)
    (www / "os.img").write_bytes(image)
    digest = hashlib.sha256(image).hexdigest()
    r = http.patch(
        f"/v1/nodes/{uuid}",
        json=[
            {"op": "add", "path": "/instance_info/image_source", "value": f"{base}/os.img"},
            {"op": "add", "path": "/instance_info/image_checksum", "value": digest},
        ],
    )
    assert r.status_code == 200, r.text
    act(http, uuid, "active", configdrive={"meta_data": {"hostname": "web-1"}})
    settle(http, uuid, {"wait call-back"})
    started = time.monotonic()
    with ramdisk(cloud, root):
        node = settle(http, uuid, {"active", "deploy failed"})
    assert node["provision_state"] == "active", node["last_error"]
    print(f"deploy from agent start to active: {time.monotonic() - started:.2f} s")
    data = disk.read_bytes()
    assert data[446:462] == image[446:462]  # the image's own partition, and ...
    assert data[:446] + data[512 : len(image)] == image[:446] + image[512:]  # ... every byte
    # the config drive: an MBR partition at the end of the disk, holding a FAT labelled config-2
    entries = [struct.unpack_from("<BBBBBBBBII", data, 446 + 16 * i) for i in range(4)]
    start = next(e[8] for e in entries if e[4] in (0x0B, 0x0C, 0x0E) and e[8])
    assert start * 512 > len(image)
    assert b"CONFIG-2" in data[start * 512 : start * 512 + 4096]
    snap = fleet.snapshot("vm")
    assert snap["power"] == "on" and snap["boot_device"] == "disk" and snap["persistent"]
    timeline = node["driver_internal_info"]["timeline"]
    assert [(p["phase"], bool(p["finished"])) for p in timeline] == [
        ("fetch image", True),
        ("boot ramdisk", True),
        ("write image", True),
        ("config drive", True),
        ("reboot to disk", True),
        ("first boot", False),
    ]
    # The deployed OS reports its first boot to the URL in its config drive's vendor_data.
    fat = tmp_path / "configdrive.img"
    size = next(e[9] for e in entries if e[8] == start)
    fat.write_bytes(data[start * 512 : (start + size) * 512])
    vendor = json.loads(
        subprocess.run(
            ["mtype", "-i", str(fat), "::openstack/latest/vendor_data.json"],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "MTOOLS_SKIP_CHECK": "1"},
        ).stdout
    )
    url = vendor["ironworks"]["first_boot_url"]
    assert url.startswith(f"{cloud}/api/v1/agent/first-boot/{uuid}/")
    assert "phone_home:" in vendor["cloud-init"] and url in vendor["cloud-init"]
    assert httpx.post(url[: url.rindex("/") + 1] + "forged").status_code == 404
    assert httpx.post(url, data={"instance_id": "web-1"}).status_code == 204
    assert httpx.post(url).status_code == 404  # once only
    node = http.get(f"/v1/nodes/{uuid}").json()
    first = node["driver_internal_info"]["timeline"][-1]
    assert first["phase"] == "first boot" and first["finished"], first
    assert node["driver_internal_info"]["first_boot"]["from"] == "127.0.0.1"
    events = [e["event"] for e in http.get(f"/v1/nodes/{uuid}/history").json()["history"]]
    assert any(e.startswith("first boot reported by the deployed OS") for e in events), events
    assert "sanboot" in http.get(f"/boot/{MAC}.ipxe").text  # active: the disk, never PXE
    cache = tmp_path / "home" / "images" / "cache"
    kept = [p.read_text() for p in cache.glob("*.json")]
    assert kept and not [k for k in kept if "configdrive" in k], "a written config drive stayed"

    # A broken checksum fails the deploy and says so (rebuild on the same node).
    r = http.patch(
        f"/v1/nodes/{uuid}",
        json=[{"op": "replace", "path": "/instance_info/image_checksum", "value": "0" * 64}],
    )
    act(http, uuid, "rebuild")
    node = settle(http, uuid, {"deploy failed", "wait call-back", "active"})
    assert node["provision_state"] == "deploy failed"
    assert "checksum mismatch" in node["last_error"] and "0" * 64 in node["last_error"]


@pytest.mark.parametrize("cloud", [{"discovery": True}], indirect=True)
def test_an_unknown_machine_is_discovered_and_enrolled_from_its_inventory(
    cloud: str, tmp_path: Path
) -> None:
    http = httpx.Client(base_url=cloud, headers={"X-OpenStack-Ironic-API-Version": "latest"})
    root = tmp_path / "node"
    machine(root)
    script = http.get(f"/boot/{MAC}.ipxe")
    assert script.status_code == 200 and "ironworks.node" not in script.text  # discovery ramdisk
    powered: list[str] = []
    with ramdisk(cloud, root, powered):
        wait_for(lambda: powered, timeout=20)
    node = http.get(f"/v1/nodes/discovered-{MAC.replace(':', '')}").json()
    assert node["provision_state"] == "enroll" and node["driver"] == "ipmi"
    assert node["properties"]["cpus"] == 2 and node["properties"]["memory_mb"] == 1024
    assert [p["address"] for p in http.get(f"/v1/nodes/{node['uuid']}/ports").json()["ports"]] == [
        MAC
    ]
    assert powered == ["power_off"]
    events = [e["event"] for e in http.get(f"/v1/nodes/{node['uuid']}/history").json()["history"]]
    assert any(e.startswith("discovered at 127.0.0.1") for e in events), events
    assert any(e.startswith("discovery: inventory taken") for e in events), events


@pytest.mark.parametrize("cloud", [{"discovery": True, "license_nodes": 2}], indirect=True)
def test_discovered_machines_take_no_license_seat_until_accepted(cloud: str) -> None:
    """#15 item 8: made-up MACs cannot use up the license and lock the admin out of enrolment;
    a discovered machine counts once an operator accepts it (manage)."""
    http = httpx.Client(base_url=cloud, headers={"X-OpenStack-Ironic-API-Version": "latest"})
    for i in range(2):
        r = http.post("/v1/nodes", json={"driver": "fake-hardware", "name": f"own{i}"})
        assert r.status_code == 201, r.text
    for i in range(3):
        r = http.post("/api/v1/agent/lookup", json={"macs": [f"52:54:00:bb:00:{i:02x}"]})
        assert r.status_code == 200, r.text
    lic = http.get("/api/v1/license").json()
    assert (lic["nodes_used"], lic["nodes_awaiting_acceptance"]) == (2, 3), lic
    r = http.post("/v1/nodes", json={"driver": "fake-hardware", "name": "own2"})
    assert r.status_code == 403 and "evaluation" in r.text  # the license is full of own nodes
    found = next(n for n in http.get("/v1/nodes").json()["nodes"] if n["name"].startswith("disc"))
    r = http.put(f"/v1/nodes/{found['uuid']}/states/provision", json={"target": "manage"})
    assert r.status_code == 403 and "evaluation" in r.text, r.text  # accepting needs a seat
    assert http.delete("/v1/nodes/own0").status_code == 204
    r = http.put(f"/v1/nodes/{found['uuid']}/states/provision", json={"target": "manage"})
    assert r.status_code == 202, r.text
    lic = http.get("/api/v1/license").json()
    assert (lic["nodes_used"], lic["nodes_awaiting_acceptance"]) == (2, 2), lic


@pytest.mark.parametrize("cloud", [{"discovery": True, "discovery_max_pending": 2}], indirect=True)
def test_discovery_stops_at_its_cap_of_machines_waiting_for_an_operator(cloud: str) -> None:
    """A host on the provisioning network that makes MACs up enrols at most
    boot.discovery_max_pending nodes; managing or deleting one makes room again."""
    http = httpx.Client(base_url=cloud, headers={"X-OpenStack-Ironic-API-Version": "latest"})
    made_up = [f"52:54:00:aa:00:{i:02x}" for i in range(4)]
    for mac in made_up[:2]:
        r = http.post("/api/v1/agent/lookup", json={"macs": [mac]})
        assert r.status_code == 200, r.text
    r = http.post("/api/v1/agent/lookup", json={"macs": [made_up[2]]})
    assert r.status_code == 409 and "boot.discovery_max_pending = 2" in r.json()["detail"], r.text
    nodes = http.get("/v1/nodes").json()["nodes"]
    assert sorted(n["name"] for n in nodes) == sorted(
        "discovered-" + m.replace(":", "") for m in made_up[:2]
    )
    assert http.delete(f"/v1/nodes/{nodes[0]['uuid']}").status_code == 204
    r = http.post("/api/v1/agent/lookup", json={"macs": [made_up[3]]})
    assert r.status_code == 200, r.text


def test_unknown_macs_get_no_ramdisk_without_discovery(cloud: str) -> None:
    http = httpx.Client(base_url=cloud)
    assert http.get(f"/boot/{MAC}.ipxe").status_code == 404
    r = http.post("/api/v1/agent/lookup", json={"macs": [MAC]})
    assert r.status_code == 404 and "enable boot.discovery" in r.json()["detail"]
    r = http.post("/api/v1/agent/lookup", json={"macs": ["not-a-mac"]})
    assert r.status_code == 400 and r.json()["field"] == "macs/0"
    r = http.post("/api/v1/agent/heartbeat", json={"node_uuid": "x"})
    assert r.status_code == 401


def test_an_earlier_boots_agent_cannot_take_the_token_and_abort_ends_the_session(
    cloud: str, fleet: Fleet, tmp_path: Path
) -> None:
    from ironworks_agent import protocol

    http = httpx.Client(base_url=cloud, headers={"X-OpenStack-Ironic-API-Version": "latest"})
    port = next(s.port for s in fleet.specs if s.name == "vm")
    r = http.post(
        "/v1/nodes",
        json={
            "name": "vm2",
            "driver": "ipmi",
            "driver_info": {
                "ipmi_address": "127.0.0.1",
                "ipmi_port": port,
                "ipmi_username": USER,
                "ipmi_password": PASSWORD,
                "ipmi_timeout": 3,
                "ipmi_retries": 1,
            },
        },
    )
    uuid = r.json()["uuid"]
    http.post("/v1/ports", json={"node_uuid": uuid, "address": MAC})
    act(http, uuid, "manage")
    settle(http, uuid, {"manageable"})
    act(http, uuid, "inspect")
    settle(http, uuid, {"inspect wait"})
    script = http.get(f"/boot/{MAC}.ipxe").text
    boot_id = script.split("ironworks.boot=")[1].split()[0]
    lookup = {"macs": [MAC], "version": protocol.VERSION}
    stale = http.post(protocol.LOOKUP_PATH, json={**lookup, "boot_id": "an-earlier-boot"})
    assert stale.status_code == 409 and "earlier session" in stale.json()["detail"]
    ok = http.post(protocol.LOOKUP_PATH, json={**lookup, "boot_id": boot_id})
    assert ok.status_code == 200, ok.text
    token = ok.json()["token"]
    assert http.post(protocol.LOOKUP_PATH, json={**lookup, "boot_id": boot_id}).status_code == 409

    def heartbeat() -> list[dict[str, Any]]:
        r = http.post(
            protocol.HEARTBEAT_PATH,
            headers={protocol.TOKEN_HEADER: token},
            json={"node_uuid": uuid, "results": [], "running": None},
        )
        assert r.status_code == 200, r.text
        return r.json()["commands"]

    assert wait_for(heartbeat, timeout=10)[0]["name"] == "inventory"
    bad = http.post(
        protocol.HEARTBEAT_PATH,
        headers={protocol.TOKEN_HEADER: token},
        json={"node_uuid": uuid, "running": {"id": "x", "progress": [1]}},
    )
    assert bad.status_code == 400 and bad.json()["field"] == "running/progress"

    act(http, uuid, "abort")
    assert http.get(f"/v1/nodes/{uuid}").json()["provision_state"] == "inspect failed"
    gone = http.post(
        protocol.HEARTBEAT_PATH,
        headers={protocol.TOKEN_HEADER: token},
        json={"node_uuid": uuid, "results": [], "running": None},
    )
    assert gone.status_code == 401
    assert http.post(protocol.LOOKUP_PATH, json={**lookup, "boot_id": boot_id}).status_code == 409
