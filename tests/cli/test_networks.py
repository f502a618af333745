"""`ironworks physical-network|network|subnet|switch ...` against a live server: create, list,
show, set and delete each; the switch's password read from stdin and never printed."""

from __future__ import annotations

from tests.cli.test_cli import cli, cli_json
from tests.conftest import LiveServer

SWITCH_PASSWORD = "Sw1tch-Passw0rd-never-shown"


def test_networks_subnets_and_switches(live_server: LiveServer) -> None:
    url = live_server.url
    fabric = cli_json(url, "physical-network", "create", "fabric-a", "--ranges", "100-199")
    assert fabric["scheme"] == "dynamic" and fabric["segmentation_ranges"] == "100-199"
    cli(url, "physical-network", "set", "fabric-a", "--scheme", "preconfigured")
    assert cli_json(url, "physical-network", "show", "fabric-a")["scheme"] == "preconfigured"
    assert "fabric-a" in cli(url, "physical-network", "list").output

    net = cli_json(url, "network", "create", "n1", "--shared")
    assert net["segmentation_id"] == 100 and net["shared"] is True
    net = cli_json(url, "network", "set", "n1", "--name", "tenant-a", "--no-shared")
    assert net["name"] == "tenant-a" and net["shared"] is False
    assert [n["name"] for n in cli_json(url, "network", "list")] == ["tenant-a"]

    sub = cli_json(
        url,
        "subnet",
        "create",
        "s1",
        "--network",
        "tenant-a",
        "--cidr",
        "10.20.0.0/24",
        "--pool",
        "10.20.0.10-10.20.0.20",
        "--dns",
        "10.0.0.2",
    )
    assert sub["allocation_pools"] == [{"start": "10.20.0.10", "end": "10.20.0.20"}]
    assert sub["gateway_ip"] == "10.20.0.1" and sub["dns_nameservers"] == ["10.0.0.2"]
    assert cli_json(url, "subnet", "set", "s1", "--no-gateway")["gateway_ip"] is None
    listed = cli_json(url, "subnet", "list", "--network", "tenant-a")
    assert [s["name"] for s in listed] == ["s1"]
    assert cli_json(url, "network", "show", "tenant-a")["subnets"] == [sub["uuid"]]
    bad = cli(url, "subnet", "set", "s1", "--pool", "10.20.0.10", code=2)
    assert "START-END" in bad.output
    refused = cli(url, "network", "create", "n2", "--segmentation-id", "5000", code=1)
    assert "segmentation_id" in refused.output

    made = cli(
        url,
        "switch",
        "create",
        "tor-1",
        "--vendor",
        "cisco_ios",
        "--address",
        "10.99.0.2",
        "--username",
        "netops",
        "--physical-network",
        "fabric-a",
        "--password-stdin",
        "--json",
        stdin=SWITCH_PASSWORD + "\n",
    )
    assert SWITCH_PASSWORD not in made.output and '"password": "******"' in made.output
    outputs = [
        cli(url, "switch", "list").output,
        cli(url, "switch", "show", "tor-1").output,
        cli(url, "switch", "set", "tor-1", "--port", "2222").output,
    ]
    assert all(SWITCH_PASSWORD not in out for out in outputs)
    assert cli_json(url, "switch", "show", "tor-1")["port"] == 2222
    assert [
        s["name"] for s in cli_json(url, "switch", "list", "--physical-network", "fabric-a")
    ] == ["tor-1"]

    assert "deleted switch tor-1" in cli(url, "switch", "delete", "tor-1").output
    assert "deleted subnet s1" in cli(url, "subnet", "delete", "s1").output
    assert "deleted network tenant-a" in cli(url, "network", "delete", "tenant-a").output
    cli(url, "physical-network", "delete", "fabric-a")
    assert cli_json(url, "physical-network", "list") == []
