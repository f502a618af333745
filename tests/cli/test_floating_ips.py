"""`ironworks floating-ip ...` against a live server: create, list, show, set, associate
(refused for a NIC that does not exist), disassociate and delete; the project's
`--quota-floating-ips` enforced."""

from __future__ import annotations

from tests.cli.test_cli import cli, cli_json
from tests.conftest import LiveServer


def test_floating_ips(live_server: LiveServer) -> None:
    url = live_server.url
    cli(url, "department", "create", "d1")
    cli(url, "project", "create", "p1", "--department", "d1")
    cli(url, "physical-network", "create", "fabric", "--ranges", "100-199")
    refused = cli(url, "floating-ip", "create", "--project", "p1", code=1)
    assert "no external network" in refused.output
    cli(url, "network", "create", "ext", "--role", "external")
    cli(url, "subnet", "create", "ext-sub", "--network", "ext", "--cidr", "10.99.72.0/28")

    fip = cli_json(url, "floating-ip", "create", "--project", "p1", "--description", "web")
    assert fip["address"] == "10.99.72.3" and fip["status"] == "unassociated"
    assert "10.99.72.3" in cli(url, "floating-ip", "list").output
    assert cli_json(url, "floating-ip", "list", "--project", "p1")[0]["uuid"] == fip["uuid"]
    changed = cli_json(url, "floating-ip", "set", "10.99.72.3", "--description", "api")
    assert changed["description"] == "api"
    missing = "00000000-0000-4000-8000-000000000042"
    refused = cli(url, "floating-ip", "associate", "10.99.72.3", missing, code=1)
    assert f"host NIC {missing} could not be found" in refused.output
    shown = cli_json(url, "floating-ip", "disassociate", fip["uuid"])
    assert shown["status"] == "unassociated" and shown["host_nic"] is None

    project = cli_json(url, "project", "set", "p1", "--quota-floating-ips", "1")
    assert project["quota_floating_ips"] == 1
    refused = cli(url, "floating-ip", "create", "--project", "p1", code=1)
    assert "quota exceeded" in refused.output
    assert "released floating IP" in cli(url, "floating-ip", "delete", "10.99.72.3").output
    assert cli_json(url, "floating-ip", "list") == []
