"""metalsmith, OpenStack's deployment tool for standalone Ironic, drives a lab VM end to end.

metalsmith comes from PyPI unmodified (the `test` extra) and talks to Ironworks as to a
standalone Ironic: a clouds.yaml cloud with `auth_type: none` and `baremetal_endpoint_override`
(the server runs with identity off, as the other lab tests). `metalsmith deploy
--resource-class ... --trait ...` creates an allocation, which picks the one available VM of that
resource class and trait; metalsmith names the allocation, writes the image's URL and checksum
into the node's instance_info, validates the node and deploys it with its config drive (the
hostname, the SSH key). The VM PXE-boots the agent ramdisk, gets the test OS image on its disk
and boots it: its serial console prints the config drive's hostname, as in test_deploy.py.
`metalsmith undeploy HOSTNAME` finds the node through the allocation's name and returns it to
`available`; the allocation is gone with the instance.

No Neutron: metalsmith creates no port when no `--network`/`--port`/`--subnet` is given. What
still asks Neutron is its *output* of a deployed instance (the table, value and JSON formats and
`metalsmith show`/`list`/`wait` list the instance's IP addresses from Neutron's ports), which
fails where there is no network service, Ironic's standalone mode included. So the CLI runs
with `--quiet`, and the instance is looked at through metalsmith's Python API (`Provisioner`),
which reads only the bare metal API.

The lab has its own namespace, on 10.99.90.0/24, and two VMs: the one metalsmith must pick and
one of another resource class that it must leave alone.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import serve_directory
from tests.e2e.labkit import lab_up, serve_lab, x86_artefacts
from tests.e2e.test_deploy import CONSOLE, HEADERS, WAIT_TIMEOUT, Node

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.xdist_group("qemu"),  # one VM user at a time
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:openstack"),
]

METALSMITH = Path(sys.executable).with_name("metalsmith")
CLOUD = "ironworks-lab"
RESOURCE_CLASS = "ms-e2e"
TRAIT = "CUSTOM_METALSMITH"
HOSTNAME = "ms-e2e"
# The lab's provisioning network: a /24 of its own (the lab and the boot server default to
# 10.99.0.1/16, which other labs use).
BRIDGE, BOOT_SERVER = "10.99.90.1/24", "10.99.90.1"
DHCP_RANGE = "10.99.90.10,10.99.90.250,255.255.255.0"
# only ever written into the config drive's meta_data.json (public_keys): no sshd reads it
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMetalsmithE2eKeyForTheConfigDriveOnly e2e"


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return x86_artefacts(tmp_path_factory.mktemp("artefacts"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    port = 24000 + (os.getpid() % 1000) * 2  # above the BMC ports the other lab tests use
    with lab_up(
        tmp_path_factory.mktemp("lab"),
        f"iwms{uuidlib.uuid4().hex[:6]}",
        *("--nodes", "2", "--base-port", str(port), "--memory", "512", "--disk-mb", "256"),
        *("--bridge-address", BRIDGE, "--no-switch"),
    ) as state:
        yield state


@pytest.fixture(scope="module")
def cloud(
    lab: dict[str, Any], artefacts: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    waits = ("deploy_callback", "clean_callback", "inspect_wait")
    with serve_lab(
        tmp_path_factory.mktemp("server"),
        lab,
        artefacts["ramdisk"],
        dict.fromkeys(waits, WAIT_TIMEOUT),
        BOOT__HTTP_ADDRESS=BOOT_SERVER,
        BOOT__DHCP_RANGE=DHCP_RANGE,
    ) as url:
        yield url


@pytest.fixture(scope="module")
def image(artefacts: dict[str, Path]) -> Iterator[tuple[str, str]]:
    """The test OS image's URL (plain HTTP on loopback: the conductor fetches it) and SHA256."""
    with serve_directory(artefacts["www"]) as www:
        path = artefacts["image"]
        yield f"{www}/{path.name}", hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def http(cloud: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cloud, headers=HEADERS, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def client_home(cloud: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clouds.yaml naming the cloud as a standalone Ironic, and an SSH public key."""
    home = tmp_path_factory.mktemp("metalsmith")
    (home / "clouds.yaml").write_text(
        f"clouds:\n  {CLOUD}:\n    auth_type: none\n    baremetal_endpoint_override: {cloud}\n"
    )
    (home / "id_ed25519.pub").write_text(SSH_KEY + "\n")
    return home


def metalsmith(home: Path, *args: str, timeout: float = 900) -> str:
    """The metalsmith CLI as an operator runs it (`--os-cloud`), with the machine's own OS_*
    variables and clouds.yaml files out of the way."""
    if not METALSMITH.exists():
        pytest.skip(f"{METALSMITH} is not installed (pip install -e '.[test]')")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(OS_CLIENT_CONFIG_FILE=str(home / "clouds.yaml"), HOME=str(home))
    cmd = [str(METALSMITH), "--os-cloud", CLOUD, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    assert done.returncode == 0, (cmd, done.stdout, done.stderr[-4000:])
    return done.stdout


def on_disk(disk: Path, needle: bytes) -> bool:
    """`needle` somewhere on a VM's (sparse) disk file: the config drive's files are plain."""
    tail = b""
    with disk.open("rb") as f:
        while chunk := f.read(4 << 20):
            if needle in tail + chunk:
                return True
            tail = chunk[-len(needle) :]
    return False


def provisioner(cloud: str) -> Any:
    """metalsmith's Python API on the same standalone cloud."""
    import openstack
    from metalsmith import Provisioner

    conn = openstack.connect(
        auth_type="none",
        baremetal_endpoint_override=cloud,
        load_yaml_config=False,
        load_envvars=False,
    )
    return Provisioner(cloud_region=conn.config)


def test_metalsmith_deploys_a_lab_vm_through_an_allocation_and_undeploys_it(
    http: httpx.Client,
    lab: dict[str, Any],
    image: tuple[str, str],
    client_home: Path,
    cloud: str,
) -> None:
    other, target = (Node(http, vm) for vm in lab["vms"])
    for node, rc in ((other, "ms-other"), (target, RESOURCE_CLASS)):
        r = http.patch(
            f"/v1/nodes/{node.uuid}",
            json=[{"op": "add", "path": "/resource_class", "value": rc}],
        )
        assert r.status_code == 200, r.text
        node.make_available()
    r = http.put(f"/v1/nodes/{target.uuid}/traits", json={"traits": [TRAIT]})
    assert r.status_code == 204, r.text

    url, checksum = image
    mark = len(target.console_text())
    started = time.monotonic()
    metalsmith(
        client_home,
        "--quiet",  # its output of a deployed instance asks Neutron (the module's docstring)
        "deploy",
        *("--resource-class", RESOURCE_CLASS, "--trait", TRAIT),
        *("--image", url, "--image-checksum", checksum),
        *("--ssh-public-key", str(client_home / "id_ed25519.pub")),
        *("--hostname", HOSTNAME, "--wait", "600"),
    )
    print(f"metalsmith deploy: {time.monotonic() - started:.1f} s; {target.timeline()}")

    # the allocation metalsmith made picked the VM of that resource class and trait
    (alloc,) = http.get("/v1/allocations").json()["allocations"]
    assert alloc["state"] == "active" and alloc["node_uuid"] == target.uuid, alloc
    assert alloc["name"] == HOSTNAME and alloc["resource_class"] == RESOURCE_CLASS, alloc
    assert alloc["traits"] == [TRAIT], alloc
    node = target.get()
    assert node["provision_state"] == "active", node["last_error"]
    assert node["allocation_uuid"] == alloc["uuid"] == node["instance_uuid"]
    info = node["instance_info"]
    assert info["image_source"] == url and info["image_checksum"] == checksum, info
    assert other.get()["allocation_uuid"] is None and other.get()["provision_state"] == "available"

    # the VM booted the deployed image from its disk, with metalsmith's config drive
    target.wait_console(CONSOLE + HOSTNAME, mark)
    target.wait_console("IRONWORKS-TEST-OS: first boot reported", mark, timeout=60)
    booted = target.console_text()[mark:]
    assert "marker written on /dev/vda1" in booted, target.tail()
    after = booted[booted.index("booting the agent ramdisk") :]
    assert "booting the agent ramdisk" not in after[30:], "it PXE-booted the ramdisk again"
    assert on_disk(Path(target.vm["disk"]), SSH_KEY.split()[1].encode()), "no SSH key on disk"

    # metalsmith's own view: the instance is found by its hostname, through the allocation
    api = provisioner(cloud)
    instance = api.show_instance(HOSTNAME)
    assert instance.state.value == "active" and instance.is_deployed and instance.is_healthy
    assert instance.uuid == target.uuid and instance.hostname == HOSTNAME
    assert instance.allocation.id == alloc["uuid"]
    assert [i.uuid for i in api.list_instances()] == [target.uuid]

    started = time.monotonic()
    out = metalsmith(client_home, "undeploy", HOSTNAME, "--wait", "600")
    assert f"Successfully unprovisioned node {target.vm['name']}" in out, out
    print(f"metalsmith undeploy: {time.monotonic() - started:.1f} s")
    node = target.get()
    assert node["provision_state"] == "available", node["last_error"]
    assert node["allocation_uuid"] is None and node["instance_uuid"] is None
    assert "image_source" not in node["instance_info"]
    assert not any(k.startswith("metalsmith_") for k in node["extra"]), node["extra"]
    assert http.get("/v1/allocations").json()["allocations"] == []
    assert api.list_instances() == []
