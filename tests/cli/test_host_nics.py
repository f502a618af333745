"""`ironworks host create --network`, `host list/show` with the host's addresses and
`ironworks host nic list|attach|detach`, against a live server with fake hardware (noauth: the
cloud admin). Addresses of the lab range 10.99.70.0/24; no packet is sent."""

from __future__ import annotations

import httpx

from tests.cli.test_cli import cli, cli_json
from tests.conftest import LiveServer, wait_for


def _cloud(url: str) -> None:
    """Project p of department d, flavor f, a fabric with networks a (10.99.70.128/28) and b
    (10.99.70.144/28) of p, and one available node with two ports."""
    cli(url, "department", "create", "d")
    cli(url, "project", "create", "p", "--department", "d")
    cli(url, "flavor", "create", "f", "--cpus", "1", "--memory-mb", "1", "--local-gb", "1")
    cli(url, "physical-network", "create", "fab", "--ranges", "100-199")
    for net, cidr in (("a", "10.99.70.128/28"), ("b", "10.99.70.144/28")):
        cli(url, "network", "create", net, "--project", "p")
        cli(url, "subnet", "create", f"s-{net}", "--network", net, "--cidr", cidr)
    h = {"X-OpenStack-Ironic-API-Version": "latest"}
    with httpx.Client(base_url=url, headers=h, timeout=30) as c:
        props = {"cpus": 1, "memory_mb": 1, "local_gb": 1}
        r = c.post("/v1/nodes", json={"name": "n0", "driver": "fake-hardware", "properties": props})
        assert r.status_code == 201, r.text
        for i in range(2):
            port = {"node_uuid": "n0", "address": f"52:54:00:70:60:0{i}", "pxe_enabled": i == 0}
            assert c.post("/v1/ports", json=port).status_code == 201
        for verb, goal in (("manage", "manageable"), ("provide", "available")):
            r = c.put("/v1/nodes/n0/states/provision", json={"target": verb})
            assert r.status_code == 202, r.text
            wait_for(lambda g=goal: c.get("/v1/nodes/n0").json()["provision_state"] == g)


def test_host_nics_through_the_cli(live_server: LiveServer) -> None:
    url = live_server.url
    _cloud(url)
    cli(url, "host", "create", "h", "--flavor", "f", "--image", "http://images/os.raw",
        "--project", "p", "--network", "a=10.99.70.140", "--wait")  # fmt: skip
    shown = cli_json(url, "host", "show", "h")
    assert shown["status"] == "active" and shown["ip_addresses"] == ["10.99.70.140"]
    assert "10.99.70.140" in cli(url, "host", "list").output
    assert "10.99.70.140" in cli(url, "host", "show", "h").output
    nic = cli_json(url, "host", "nic", "attach", "h", "b")
    assert nic["network_name"] == "b" and nic["mac"] == "52:54:00:70:60:01"
    assert [ip["address"] for ip in nic["fixed_ips"]] == ["10.99.70.146"]
    listed = cli(url, "host", "nic", "list", "h").output
    assert "10.99.70.140" in listed and "10.99.70.146" in listed
    refused = cli(url, "host", "nic", "attach", "h", "b", code=1)
    assert "no free physical port" in refused.output
    cli(url, "host", "nic", "detach", "h", nic["uuid"])
    assert [n["network_name"] for n in cli_json(url, "host", "nic", "list", "h")] == ["a"]
    assert cli_json(url, "host", "list")[0]["ip_addresses"] == ["10.99.70.140"]
