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


def test_node_network_show_and_confirm(live_server: LiveServer) -> None:
    """A post-configured physical network: the node waits in `inspect confirm`, the CLI prints
    the commands to type on the switch, and `confirm` lets the inspection go on."""
    import httpx

    from tests.conftest import wait_for

    url = live_server.url
    cli(url, "physical-network", "create", "fabric-p", "--scheme", "postconfigured")
    cli(url, "network", "create", "prov", "--segmentation-id", "10", "--role", "provisioning")
    cli(
        url,
        "switch",
        "create",
        "lab-sw",
        "--vendor",
        "linux-bridge",
        "--address",
        "10.99.74.2",
        "--username",
        "root",
        "--physical-network",
        "fabric-p",
        "--password-stdin",
        stdin="unused\n",
    )
    node = cli_json(url, "node", "create", "--driver", "fake-hardware", "--name", "pc1")
    port = {
        "node_uuid": node["uuid"],
        "address": "52:54:00:74:10:01",
        "physical_network": "fabric-p",
        "local_link_connection": {"port_id": "tap-pc1"},
    }
    headers = {"X-OpenStack-Ironic-API-Version": "latest"}
    assert httpx.post(f"{url}/v1/ports", json=port, headers=headers).status_code == 201
    cli(url, "node", "manage", "pc1", "--wait")
    cli(url, "node", "inspect", "pc1")

    def state() -> str:
        return str(cli_json(url, "node", "show", "pc1")["provision_state"])

    wait_for(lambda: state() == "inspect confirm")
    shown = cli(url, "node", "network", "show", "pc1").output
    assert "ip link set tap-pc1 master br-vlan10" in shown
    assert "ironworks node network confirm" in shown and "--step inspect" in shown
    as_json = cli_json(url, "node", "network", "show", "pc1")
    assert as_json["waiting"] and as_json["pending"]["switches"][0]["switch"] == "lab-sw"
    refused = cli(url, "node", "network", "confirm", "pc1", "--step", "deploy", code=1)
    assert "inspect" in refused.output
    cli(url, "node", "network", "confirm", "pc1", "--step", "inspect")
    wait_for(lambda: state() == "manageable")
    assert cli_json(url, "node", "network", "show", "pc1")["ports"][0]["vlan"] == 10
