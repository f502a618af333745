"""metalsmith (from PyPI, unmodified) against a live Ironworks on fake hardware, as on a
standalone Ironic: a clouds.yaml cloud with `auth_type: none` and `baremetal_endpoint_override`.

The CLI's `deploy` reserves a node through an allocation (resource class, traits; with
`--capability`, metalsmith first lists the candidates itself: `associated=False`,
`provision_state=available`, `maintenance=False`, `resource_class`), writes instance_info and
`extra`, validates the node, deploys it with a config drive and waits; `undeploy` finds the
instance by its hostname (the allocation's name) and returns the node to `available`. Its
Python API (`Provisioner`) does the same steps one by one. Deploying a real VM this way is
tests/e2e/test_metalsmith.py.

Without Neutron, the CLI runs with `--quiet`: its output of a deployed instance lists the
instance's IP addresses from Neutron's ports, which a standalone cloud has not.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat.test_allocations_clients import available
from tests.conftest import LiveServer, start_server, stop_server, wait_for

pytest.importorskip("metalsmith")

pytestmark = [
    pytest.mark.compat,
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:openstack"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:metalsmith"),
]

METALSMITH = Path(sys.executable).with_name("metalsmith")
CLOUD = "ironworks"
H = {"X-OpenStack-Ironic-API-Version": "1.115"}
IMAGE = "http://images.example/test-os.raw"
SHA256 = "ab" * 32


class Metalsmith:
    """The CLI in a subprocess, with only its own clouds.yaml and no OS_* variables."""

    def __init__(self, server: LiveServer, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        (home / "clouds.yaml").write_text(
            f"clouds:\n  {CLOUD}:\n    auth_type: none\n"
            f"    baremetal_endpoint_override: {server.url}\n"
        )
        self.key = home / "id.pub"
        self.key.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIcompat compat@test\n")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        self.env.update(OS_CLIENT_CONFIG_FILE=str(home / "clouds.yaml"), HOME=str(home))

    def run(self, *args: str) -> str:
        done = self.call(*args)
        assert done.returncode == 0, (done.args, done.stdout, done.stderr[-3000:])
        return done.stdout

    def call(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(METALSMITH), "--os-cloud", CLOUD, *args]
        return subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=120)


@pytest.fixture
def ms(live_server: LiveServer, tmp_path: Path) -> Metalsmith:
    if not METALSMITH.exists():
        pytest.skip(f"{METALSMITH} is not installed")
    return Metalsmith(live_server, tmp_path / "client-home")


@pytest.fixture
def api(live_server: LiveServer) -> Any:
    import openstack
    from metalsmith import Provisioner

    conn = openstack.connect(
        auth_type="none",
        baremetal_endpoint_override=live_server.url,
        load_yaml_config=False,
        load_envvars=False,
    )
    yield Provisioner(cloud_region=conn.config)
    conn.close()


def get(server: LiveServer, path: str) -> Any:
    r = httpx.get(f"{server.url}/v1{path}", headers=H, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_cli_deploy_by_resource_class_and_trait_then_undeploy(
    ms: Metalsmith, live_server: LiveServer
) -> None:
    available(live_server, "ms-other", rc="other")
    available(live_server, "ms-plain", rc="ms")
    gpu = available(live_server, "ms-gpu", "CUSTOM_GPU", rc="ms")

    ms.run(
        "--quiet",
        "deploy",
        *("--resource-class", "ms", "--trait", "CUSTOM_GPU"),
        *("--image", IMAGE, "--image-checksum", SHA256),
        *("--ssh-public-key", str(ms.key), "--hostname", "web-1", "--wait", "60"),
    )
    (alloc,) = get(live_server, "/allocations")["allocations"]
    assert alloc["node_uuid"] == gpu and alloc["name"] == "web-1" and alloc["state"] == "active"
    assert alloc["resource_class"] == "ms" and alloc["traits"] == ["CUSTOM_GPU"]
    node = get(live_server, f"/nodes/{gpu}")
    assert node["provision_state"] == "active" and node["instance_uuid"] == alloc["uuid"]
    assert node["allocation_uuid"] == alloc["uuid"]
    info = node["instance_info"]
    assert info["image_source"] == IMAGE and info["image_checksum"] == SHA256
    assert info["capabilities"] == {"boot_option": "local"} and info["traits"] == ["CUSTOM_GPU"]
    assert node["extra"] == {"metalsmith_created_ports": [], "metalsmith_attached_ports": []}
    for other in ("ms-other", "ms-plain"):
        assert get(live_server, f"/nodes/{other}")["instance_uuid"] is None

    out = ms.run("undeploy", "web-1", "--wait", "60")
    assert "Successfully unprovisioned node ms-gpu" in out, out
    node = get(live_server, f"/nodes/{gpu}")
    assert node["provision_state"] == "available" and node["allocation_uuid"] is None
    assert node["instance_uuid"] is None and node["extra"] == {}
    assert "image_source" not in node["instance_info"]
    assert get(live_server, "/allocations")["allocations"] == []


def test_cli_deploy_with_a_capability_filters_the_nodes_itself(
    ms: Metalsmith, live_server: LiveServer
) -> None:
    available(live_server, "ms-a", rc="ms")
    wanted = available(live_server, "ms-b", rc="ms")
    r = httpx.patch(
        f"{live_server.url}/v1/nodes/ms-b",
        json=[{"op": "add", "path": "/properties/capabilities", "value": "profile:compute"}],
        headers=H,
    )
    assert r.status_code == 200, r.text

    ms.run(
        "--quiet",
        "deploy",
        *("--resource-class", "ms", "--capability", "profile=compute"),
        *("--image", IMAGE, "--image-checksum", SHA256, "--wait", "60"),
    )
    (alloc,) = get(live_server, "/allocations")["allocations"]
    assert alloc["node_uuid"] == wanted and alloc["candidate_nodes"] == [wanted]
    assert alloc["name"] == "ms-b"  # no --hostname: metalsmith names it after the node
    info = get(live_server, f"/nodes/{wanted}")["instance_info"]
    # metalsmith patches the reservation's capabilities in; its later boot_option=local goes
    # into that same dict in place, which openstacksdk's PATCH diff does not see (never sent)
    assert info["capabilities"]["profile"] == "compute"


def test_python_api_reserve_provision_show_unprovision(api: Any, live_server: LiveServer) -> None:
    from metalsmith import sources

    uuid = available(live_server, "ms-py", rc="ms")
    node = api.reserve_node("ms", hostname="py-1")
    assert node.id == uuid and node.allocation_id
    (alloc,) = get(live_server, "/allocations")["allocations"]
    assert alloc["uuid"] == node.allocation_id and alloc["name"] == "py-1"

    image = sources.HttpWholeDiskImage(IMAGE, checksum=SHA256)
    instance = api.provision_node(node, image, wait=60)
    assert instance.state.value == "active" and instance.hostname == "py-1"
    shown = api.show_instance("py-1")
    assert shown.uuid == uuid and shown.allocation.id == alloc["uuid"] and shown.is_deployed
    assert [i.uuid for i in api.list_instances()] == [uuid]

    done = api.unprovision_node("py-1", wait=60)
    assert done.provision_state == "available" and done.allocation_id is None
    assert api.list_instances() == []


def test_with_identity_on_metalsmith_uses_a_token(tmp_path: Path) -> None:
    """Identity on: keystoneauth's admin_token plugin in clouds.yaml carries our log-in's
    token (X-Auth-Token); without it metalsmith is refused."""
    if not METALSMITH.exists():
        pytest.skip(f"{METALSMITH} is not installed")
    password = "Adm1n-Passw0rd"
    server = start_server(
        tmp_path / "server",
        env={"IRONWORKS_AUTH__NOAUTH": "false", "IRONWORKS_AUTH__ADMIN_PASSWORD": password},
    )
    try:
        token = httpx.post(
            f"{server.url}/api/v1/auth/tokens", json={"username": "admin", "password": password}
        ).json()["token"]
        with httpx.Client(
            base_url=f"{server.url}/v1", headers={**H, "X-Auth-Token": token}, timeout=10
        ) as http:
            r = http.post(
                "/nodes", json={"driver": "fake-hardware", "name": "ms-tok", "resource_class": "ms"}
            )
            assert r.status_code == 201, r.text
            for verb, state in (("manage", "manageable"), ("provide", "available")):
                assert http.put("/nodes/ms-tok/states/provision", json={"target": verb}).is_success
                wait_for(lambda s=state: http.get("/nodes/ms-tok").json()["provision_state"] == s)

            ms = Metalsmith(server, tmp_path / "client-home")
            refused = ms.call("list")
            assert refused.returncode != 0 and "401" in refused.stderr, refused.stderr[-2000:]
            (tmp_path / "client-home" / "clouds.yaml").write_text(
                f"clouds:\n  {CLOUD}:\n    auth_type: admin_token\n"
                f"    auth:\n      token: {token}\n      endpoint: {server.url}\n"
                f"    baremetal_endpoint_override: {server.url}\n"
            )
            deploy = ("deploy", "--resource-class", "ms", "--hostname", "tok-1")
            ms.run("--quiet", *deploy, "--image", IMAGE, "--image-checksum", SHA256)
            (alloc,) = http.get("/allocations").json()["allocations"]
            assert alloc["name"] == "tok-1" and alloc["state"] == "active", alloc
            assert http.get("/nodes/ms-tok").json()["provision_state"] == "active"
            assert "Successfully unprovisioned" in ms.run("undeploy", "tok-1", "--wait", "60")
            assert http.get("/nodes/ms-tok").json()["provision_state"] == "available"
    finally:
        stop_server(server)
