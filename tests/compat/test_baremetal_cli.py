"""OpenStack's own `baremetal` CLI (python-ironicclient) against a live Ironworks.

Every call under test is the real CLI in a subprocess, with `--os-endpoint <url>
--os-auth-type none`, the way an Ironic standalone operator runs it. The CLI does no version
discovery: it sends its newest microversion and relies on the server's headers, so these tests
also prove that ours satisfy it. Outputs are checked, not just exit codes.

Time: each CLI call costs about half a second of Python start-up, and `--wait` polls at once
and then every 2 s (manage, inspect) or every 10 s (provide, deploy, rebuild, undeploy). The fake
hardware needs a few milliseconds, which is usually just too long for the first poll, so the four
long-poll verbs run side by side on four nodes instead of one after the other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, start_server, wait_for

pytest.importorskip("ironicclient")

pytestmark = pytest.mark.compat

BAREMETAL = Path(sys.executable).with_name("baremetal")


class Baremetal:
    """The `baremetal` CLI pointed at one server, in a clean environment (no OS_*, no clouds)."""

    def __init__(self, server: LiveServer, home: Path) -> None:
        self.server = server
        home.mkdir(parents=True, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        self.env.update(
            HOME=str(home), XDG_CACHE_HOME=str(home / "cache"), XDG_CONFIG_HOME=str(home / "config")
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        cmd = [str(BAREMETAL), "--os-endpoint", self.server.url, "--os-auth-type", "none", *args]
        return subprocess.Popen(
            cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    @staticmethod
    def collect(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
        try:
            out, err = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def check(
        self, done: subprocess.CompletedProcess[str], ok: bool = True
    ) -> subprocess.CompletedProcess[str]:
        said = " ".join(done.args[5:])  # what follows --os-endpoint URL --os-auth-type none
        if ok and done.returncode != 0:
            pytest.fail(
                f"baremetal {said} exited {done.returncode}\n"
                f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}\n"
                f"server log (tail):\n{self.server.logs()[-3000:]}"
            )
        if not ok and done.returncode == 0:
            pytest.fail(f"baremetal {said} succeeded but should not have:\n{done.stdout}")
        return done

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        return self.check(self.collect(self.start(*args)), ok)

    def run_together(self, *commands: tuple[str, ...]) -> list[subprocess.CompletedProcess[str]]:
        """Independent commands side by side; each must succeed."""
        done = [self.collect(p) for p in [self.start(*c) for c in commands]]
        return [self.check(d) for d in done]

    def json(self, *args: str) -> Any:
        out = self.run(*args, "-f", "json").stdout
        try:
            return json.loads(out)
        except ValueError:
            pytest.fail(f"baremetal {' '.join(args)} -f json printed no JSON:\n{out}")

    def show(self, node: str, *columns: str) -> dict[str, Any]:
        cols = [a for c in columns for a in ("-c", c)]
        return self.json("node", "show", node, *cols)

    def wait_power(self, node: str, expected: str, timeout: float = 15.0) -> None:
        """`node power on|off` and `reboot` return at once (202); poll the way an operator would."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.show(node, "power_state", "target_power_state")
            if got["power_state"] == expected and got["target_power_state"] is None:
                return
            if time.monotonic() > deadline:
                pytest.fail(f"node {node} did not reach {expected}: {got}")
            time.sleep(0.2)


@pytest.fixture
def bm(live_server: LiveServer, tmp_path: Path) -> Baremetal:
    if not BAREMETAL.exists():
        pytest.skip(f"{BAREMETAL} is not installed")
    return Baremetal(live_server, tmp_path / "client-home")


def create_node(bm: Baremetal, name: str) -> dict[str, Any]:
    return bm.json(
        "node",
        "create",
        "--driver",
        "fake-hardware",
        "--name",
        name,
        "--driver-info",
        "fake_username=admin",
        "--driver-info",
        "fake_password=s3cret",
    )


def prepare(server: LiveServer, name: str, *verbs: str, **fields: Any) -> None:
    """Set-up only, not under test: enrol a node and move it along with plain API calls."""
    with httpx.Client(
        base_url=f"{server.url}/v1", timeout=10, headers={"X-OpenStack-Ironic-API-Version": "1.115"}
    ) as http:
        r = http.post("/nodes", json={"driver": "fake-hardware", "name": name, **fields})
        assert r.status_code == 201, r.text

        def settled() -> dict[str, Any] | None:
            node = http.get(f"/nodes/{name}").json()
            busy = node["target_provision_state"] or node["reservation"]
            return None if busy else node

        for verb in verbs:
            r = http.put(f"/nodes/{name}/states/provision", json={"target": verb})
            assert r.status_code == 202, r.text
            wait_for(settled)


def test_enrol_edit_and_delete_node_ports_and_portgroup(bm: Baremetal) -> None:
    created = bm.run(
        "node",
        "create",
        "--driver",
        "fake-hardware",
        "--name",
        "cli-1",
        "--driver-info",
        "fake_username=admin",
        "--driver-info",
        "fake_password=s3cret",
        "--property",
        "cpus=2",
        "-f",
        "json",
    ).stdout
    assert "s3cret" not in created
    node = json.loads(created)
    assert node["name"] == "cli-1" and node["driver"] == "fake-hardware"
    assert node["provision_state"] == "enroll"
    assert node["driver_info"] == {"fake_username": "admin", "fake_password": "******"}
    assert node["properties"] == {"cpus": 2}
    assert node["power_interface"] == "fake" and node["uuid"]
    uuid = node["uuid"]

    bond = bm.json(
        "port",
        "group",
        "create",
        "--node",
        "cli-1",
        "--name",
        "cli-1-bond",
        "--address",
        "52:54:00:00:10:00",
        "--mode",
        "802.3ad",
    )
    assert bond["node_uuid"] == uuid and bond["name"] == "cli-1-bond"
    assert bond["address"] == "52:54:00:00:10:00" and bond["mode"] == "802.3ad"
    port = bm.json(
        "port",
        "create",
        "52:54:00:00:10:01",
        "--node",
        uuid,
        "--port-group",
        bond["uuid"],
        "--physical-network",
        "physnet1",
        "--local-link-connection",
        "switch_id=00:11:22:33:44:55",
        "--local-link-connection",
        "port_id=Ethernet1/1",
    )
    assert port["node_uuid"] == uuid and port["address"] == "52:54:00:00:10:01"
    assert port["portgroup_uuid"] == bond["uuid"]
    assert port["physical_network"] == "physnet1" and port["pxe_enabled"] is True
    assert port["local_link_connection"] == {
        "switch_id": "00:11:22:33:44:55",
        "port_id": "Ethernet1/1",
    }

    listed = bm.json("node", "list", "--provision-state", "enroll")
    assert [(n["uuid"], n["name"], n["provision_state"]) for n in listed] == [
        (uuid, "cli-1", "enroll")
    ]
    assert set(listed[0]) == {
        "uuid",
        "name",
        "instance_uuid",
        "power_state",
        "provision_state",
        "maintenance",
    }

    bm.run(
        "node",
        "set",
        "cli-1",
        "--name",
        "cli-1b",
        "--property",
        "cpus=4",
        "--property",
        "memory_mb=8192",
        "--extra",
        "rack=r7",
        "--driver-info",
        "fake_password=n3w",
        "--driver-info",
        "fake_bmc_address=10.0.0.9",
        "--instance-info",
        "image_source=http://img.example/os.qcow2",
    )
    out = bm.run("node", "show", "cli-1b", "-f", "json").stdout
    assert "n3w" not in out
    shown = json.loads(out)
    assert shown["uuid"] == uuid and shown["name"] == "cli-1b"
    assert shown["properties"] == {"cpus": 4, "memory_mb": 8192}
    assert shown["extra"] == {"rack": "r7"}
    assert shown["instance_info"] == {"image_source": "http://img.example/os.qcow2"}
    assert shown["driver_info"] == {
        "fake_username": "admin",
        "fake_password": "******",
        "fake_bmc_address": "10.0.0.9",
    }
    bm.run(
        "node",
        "unset",
        "cli-1b",
        "--property",
        "memory_mb",
        "--extra",
        "rack",
        "--driver-info",
        "fake_bmc_address",
        "--instance-info",
        "image_source",
    )
    shown = bm.show("cli-1b", "properties", "extra", "driver_info", "instance_info")
    assert shown == {
        "properties": {"cpus": 4},
        "extra": {},
        "instance_info": {},
        "driver_info": {"fake_username": "admin", "fake_password": "******"},
    }

    # A pinned old microversion hides newer fields; one past our maximum names the range.
    old = bm.json("--os-baremetal-api-version", "1.40", "node", "show", "cli-1b")
    assert old["uuid"] == uuid and "bios_interface" in old
    assert "shard" not in old and "owner" not in old
    too_new = bm.run("--os-baremetal-api-version", "1.200", "node", "list", ok=False)
    assert "1.1 to 1.115" in too_new.stderr

    in_bond = bm.json("port", "list", "--port-group", "cli-1-bond")
    assert [(p["uuid"], p["address"]) for p in in_bond] == [(port["uuid"], "52:54:00:00:10:01")]
    bm.run("port", "delete", port["uuid"])
    assert "Deleted port group" in bm.run("port", "group", "delete", "cli-1-bond").stdout
    assert "Deleted node cli-1b" in bm.run("node", "delete", "cli-1b").stdout
    gone = bm.run("node", "show", uuid, ok=False)
    assert "could not be found" in gone.stderr
    assert bm.json("port", "list") == []


def test_provision_verbs_with_wait(bm: Baremetal, live_server: LiveServer) -> None:
    life = create_node(bm, "cli-life")["uuid"]
    out = bm.run("node", "manage", "cli-life", "--wait", "30")
    assert "Waiting for provision state manageable" in out.stdout
    bm.run("node", "inspect", "cli-life", "--wait", "30")
    shown = bm.show(
        "cli-life",
        "provision_state",
        "target_provision_state",
        "power_state",
        "properties",
        "inspection_finished_at",
    )
    assert shown["provision_state"] == "manageable" and shown["target_provision_state"] is None
    assert shown["power_state"] == "power off"
    assert shown["properties"]["cpu_arch"] == "x86_64" and shown["properties"]["cpus"] > 0
    assert shown["inspection_finished_at"]

    # What Nova or an operator sets before a deploy: the image; and a config drive that the
    # server builds from a JSON object (API 1.56), which the client sends as it is.
    image = {"image_source": "http://img.example/os.qcow2", "image_checksum": "0123abcd"}
    drive = json.dumps({"meta_data": {"hostname": "web-1"}, "user_data": "#!/bin/sh\necho hi\n"})
    prepare(live_server, "cli-deploy", "manage", "provide", instance_info=image)
    prepare(live_server, "cli-rebuild", "manage", "provide", "active", instance_info=image)
    prepare(live_server, "cli-undeploy", "manage", "provide", "active", instance_info=image)

    provide, deploy, rebuild, undeploy = bm.run_together(
        ("node", "provide", "cli-life", "--wait", "30"),
        ("node", "deploy", "cli-deploy", "--config-drive", drive, "--wait", "30"),
        # OpenStack Ironic answers a rebuild with a 500 in a standalone setup; we rebuild.
        ("node", "rebuild", "cli-rebuild", "--config-drive", drive, "--wait", "30"),
        ("node", "undeploy", "cli-undeploy", "--wait", "30"),
    )
    assert "Waiting for provision state available" in provide.stdout
    assert "Waiting for provision state active" in deploy.stdout
    assert "Waiting for provision state active" in rebuild.stdout
    assert "Waiting for provision state available" in undeploy.stdout

    listed = bm.json(
        "node",
        "list",
        "--fields",
        "uuid",
        "name",
        "provision_state",
        "power_state",
        "last_error",
        "instance_info",
    )
    by_name = {n["name"]: n for n in listed}
    assert by_name["cli-life"]["uuid"] == life
    states = {
        k: (n["provision_state"], n["power_state"], n["last_error"]) for k, n in by_name.items()
    }
    assert states == {
        "cli-life": ("available", "power off", None),
        "cli-deploy": ("active", "power on", None),
        "cli-rebuild": ("active", "power on", None),
        "cli-undeploy": ("available", "power off", None),
    }
    assert by_name["cli-deploy"]["instance_info"] == {**image, "configdrive": "******"}
    assert by_name["cli-rebuild"]["instance_info"] == {**image, "configdrive": "******"}
    assert by_name["cli-undeploy"]["instance_info"] == {}


def test_power_maintenance_boot_device_vifs_validate_and_history(bm: Baremetal) -> None:
    uuid = create_node(bm, "cli-ops")["uuid"]
    port = bm.json("port", "create", "52:54:00:00:20:01", "--node", uuid)

    bm.run("node", "power", "on", "cli-ops")
    bm.wait_power("cli-ops", "power on")
    bm.run("node", "power", "off", "cli-ops")
    bm.wait_power("cli-ops", "power off")
    bm.run("node", "reboot", "cli-ops")
    bm.wait_power("cli-ops", "power on")

    bm.run("node", "maintenance", "set", "cli-ops", "--reason", "x")
    listed = bm.json(
        "node", "list", "--maintenance", "--fields", "uuid", "maintenance", "maintenance_reason"
    )
    assert listed == [{"uuid": uuid, "maintenance": True, "maintenance_reason": "x"}]
    # Refused at once with a 400, as Ironic does; the CLI would retry a 409 for 10 s first.
    started = time.monotonic()
    refused = bm.run("node", "deploy", "cli-ops", ok=False)
    assert "maintenance" in refused.stderr and "HTTP 400" in refused.stderr
    assert time.monotonic() - started < 8
    bm.run("node", "maintenance", "unset", "cli-ops")
    assert bm.show("cli-ops", "maintenance", "maintenance_reason") == {
        "maintenance": False,
        "maintenance_reason": None,
    }

    bm.run("node", "boot", "device", "set", "cli-ops", "pxe", "--persistent")
    assert bm.json("node", "boot", "device", "show", "cli-ops") == {
        "boot_device": "pxe",
        "persistent": True,
    }

    bm.run(
        "node",
        "vif",
        "attach",
        "cli-ops",
        "vif-a",
        "--port-uuid",
        port["uuid"],
        "--vif-info",
        "note=compat",
    )
    assert bm.json("node", "vif", "list", "cli-ops") == [{"id": "vif-a"}]
    shown = bm.json("port", "show", port["uuid"], "-c", "internal_info")
    assert shown["internal_info"]["tenant_vif_port_id"] == "vif-a"
    bm.run("node", "vif", "detach", "cli-ops", "vif-a")
    assert bm.json("node", "vif", "list", "cli-ops") == []

    results = {r["Interface"]: r for r in bm.json("node", "validate", "cli-ops")}
    for iface in ("boot", "deploy", "management", "power"):
        assert results[iface]["Result"] is True, results[iface]

    events = bm.json("node", "history", "list", "cli-ops")
    assert all(set(e) >= {"uuid", "created_at", "severity", "event"} for e in events)
    texts = [e["event"] for e in events]
    assert any("maintenance" in t.lower() and t.endswith("x") for t in texts), texts
    assert any("vif-a" in t for t in texts), texts


def test_with_identity_on_a_token_is_needed_and_enough(tmp_path: Path) -> None:
    """`baremetal` with keystoneauth's admin_token plugin: the token from our log-in."""
    if not BAREMETAL.exists():
        pytest.skip(f"{BAREMETAL} is not installed")
    password = "Adm1n-Passw0rd"
    server = start_server(
        tmp_path / "server",
        env={"IRONWORKS_AUTH__NOAUTH": "false", "IRONWORKS_AUTH__ADMIN_PASSWORD": password},
    )
    try:
        token = httpx.post(
            f"{server.url}/api/v1/auth/tokens", json={"username": "admin", "password": password}
        ).json()["token"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))

        def bm(*args: str, auth: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
            cmd = [str(BAREMETAL), "--os-endpoint", server.url, *auth, *args]
            return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=90)

        with_token = ("--os-auth-type", "admin_token", "--os-token", token)
        done = bm("node", "create", "--driver", "fake-hardware", "--name", "tok", auth=with_token)
        assert done.returncode == 0, done.stderr
        listed = bm("node", "list", "-f", "json", auth=with_token)
        assert [n.get("Name", n.get("name")) for n in json.loads(listed.stdout)] == ["tok"], (
            listed.stdout
        )
        refused = bm("node", "list", auth=("--os-auth-type", "none"))
        assert refused.returncode != 0 and "HTTP 401" in refused.stderr
    finally:
        server.proc.terminate()
        server.proc.wait(10)
