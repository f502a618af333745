"""`ironworks node ...` and `ironworks port ...` against a real server.

Each test drives `ironworks.cmd.main.app` with typer's CliRunner, the way an operator types
the commands, against a `ironworks serve` process (`live_server`) running fake hardware.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from ironworks.cmd.main import app
from tests.conftest import LiveServer, start_server

runner = CliRunner()


def cli(url: str, *args: str, code: int = 0, stdin: str | None = None) -> Result:
    """Run one command; check its exit code and that no traceback reached the operator."""
    result = runner.invoke(app, [*args, "--url", url], input=stdin)
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == code, f"exit {result.exit_code}, wanted {code}:\n{result.output}"
    return result


def cli_json(url: str, *args: str, code: int = 0) -> Any:
    return json.loads(cli(url, *args, "--json", code=code).stdout)


def enrol(url: str, name: str, *extra: str) -> dict[str, Any]:
    return cli_json(url, "node", "create", "--driver", "fake-hardware", "--name", name, *extra)


def test_node_create_list_show_set_unset_delete(live_server: LiveServer) -> None:
    url = live_server.url
    node = enrol(
        url,
        "n1",
        "--driver-info",
        "fake_username=admin",
        "--driver-info",
        "fake_password=0123",
        "--property",
        "cpus:=8",
        "--property",
        "cpu_arch=x86_64",
        "--resource-class",
        "baremetal",
        "--extra",
        "rack=r1",
    )
    assert node["name"] == "n1" and node["provision_state"] == "enroll"
    assert node["properties"] == {"cpus": 8, "cpu_arch": "x86_64"}
    assert node["driver_info"]["fake_password"] == "******"  # the server masks it
    assert "links" not in node

    out = cli(url, "node", "list").stdout
    assert "n1" in out and node["uuid"] in out and "enroll" in out
    rows = cli_json(url, "node", "list")
    assert [r["uuid"] for r in rows] == [node["uuid"]]
    rows = cli_json(url, "node", "list", "--fields", "uuid,resource_class")
    assert rows == [{"uuid": node["uuid"], "resource_class": "baremetal"}]
    assert cli_json(url, "node", "list", "--provision-state", "available") == []
    assert len(cli_json(url, "node", "list", "--no-maintenance", "--driver", "fake-hardware")) == 1

    shown = cli_json(url, "node", "show", "n1")
    assert shown["uuid"] == node["uuid"]
    assert "fake_username" in cli(url, "node", "show", node["uuid"]).stdout
    assert cli_json(url, "node", "show", "n1", "--fields", "name,extra") == {
        "name": "n1",
        "extra": {"rack": "r1"},
    }

    cli(
        url,
        "node",
        "set",
        "n1",
        "--name",
        "n2",
        "--property",
        "memory_mb:=4096",
        "--extra",
        'tags:=["a"]',
        "--description",
        "spare",
    )
    shown = cli_json(url, "node", "show", "n2")
    assert shown["properties"] == {"cpus": 8, "cpu_arch": "x86_64", "memory_mb": 4096}
    assert shown["extra"] == {"rack": "r1", "tags": ["a"]}
    assert shown["description"] == "spare"

    cli(url, "node", "unset", "n2", "--property", "cpus", "--extra", "rack", "--description")
    shown = cli_json(url, "node", "show", "n2")
    assert "cpus" not in shown["properties"] and shown["extra"] == {"tags": ["a"]}
    assert shown["description"] is None

    # the server's refusal, in one line
    r = cli(url, "node", "unset", "n2", "--extra", "nope", code=1)
    assert r.stderr.startswith("ironworks: ") and "nope" in r.stderr
    r = cli(url, "node", "set", "n2", code=2)
    assert "nothing to change" in r.stderr

    enrol(url, "n3")
    r = cli(url, "node", "delete", "n2", "ghost", "n3", code=1)
    assert "Deleted node n2." in r.stdout and "Deleted node n3." in r.stdout
    assert "ghost" in r.stderr
    assert cli_json(url, "node", "list") == []


def test_power_and_provision_with_wait(live_server: LiveServer) -> None:
    url = live_server.url
    enrol(url, "n1")
    enrol(url, "n2")

    results = cli_json(url, "node", "power", "on", "n1", "n2", "--wait", "--timeout", "20")
    assert {(r["node"], r["result"], r["power_state"]) for r in results} == {
        ("n1", "done", "power on"),
        ("n2", "done", "power on"),
    }
    r = cli(url, "node", "power", "off", "n1", "--wait")
    assert "done" in r.stdout
    assert cli_json(url, "node", "show", "n1")["power_state"] == "power off"

    steps = json.dumps([{"interface": "deploy", "step": "erase_devices_metadata"}])
    drive = json.dumps({"meta_data": {"hostname": "h1"}})
    for verb, state, *options in [
        ("manage", "manageable"),
        ("clean", "manageable", "--clean-steps", steps),
        ("clean", "manageable", "--clean-steps", "-"),
        ("provide", "available"),
        ("deploy", "active", "--configdrive", drive),
        ("undeploy", "available"),
    ]:
        args = ("node", verb, "n1", "n2", "--wait", "--timeout", "20", *options, "--json")
        results = json.loads(cli(url, *args, stdin=steps).stdout)
        assert [(r["node"], r["result"], r["provision_state"]) for r in results] == [
            ("n1", "done", state),
            ("n2", "done", state),
        ], verb
        if verb == "deploy":
            info = cli_json(url, "node", "show", "n1", "--fields", "instance_info")
            assert info["instance_info"]["configdrive"] == "******"  # sent, and masked

    # without --json: the progress ends in a table; without --wait: the state right after
    r = cli(url, "node", "manage", "n1", "--wait")
    assert "manageable" in r.stdout and "done" in r.stdout
    r = cli(url, "node", "inspect", "n1")
    assert 'Requested inspect for node n1: it is now "inspecting".' in r.stdout

    history = cli_json(url, "node", "history", "n2")
    assert any("deploy" in e["event"] for e in history)
    states = cli_json(url, "node", "states", "n2")
    assert states["provision_state"] == "available"
    assert states["allowed_verbs"] == ["deploy", "manage"]


def test_wait_reports_failure_and_timeout(live_server: LiveServer) -> None:
    url = live_server.url
    enrol(url, "bad")
    enrol(url, "slow")
    cli(url, "node", "manage", "bad", "slow", "--wait", "--timeout", "20")
    cli(url, "node", "provide", "bad", "slow", "--wait", "--timeout", "20")
    # faults after cleaning: the fake deploy interface cleans too
    cli(url, "node", "set", "bad", "--driver-info", "fake_deploy_fail=disk on fire")
    cli(url, "node", "set", "slow", "--driver-info", "fake_deploy_delay=5")

    r = cli(url, "node", "deploy", "bad", "--wait", "--timeout", "20", code=1)
    assert "deploy failed" in r.stdout or "failed" in r.stdout
    assert "disk on fire" in r.stderr
    assert cli_json(url, "node", "show", "bad")["provision_state"] == "deploy failed"

    r = cli(url, "node", "deploy", "slow", "--timeout", "0.5", code=3)
    assert "timeout" in r.stdout and '"deploying"' in r.stderr


def test_errors_are_one_line_with_exit_codes(live_server: LiveServer, tmp_path: Path) -> None:
    url = live_server.url
    r = cli(url, "node", "show", "no-such-node", code=1)
    assert r.stderr.strip() == "ironworks: Node no-such-node could not be found."

    enrol(url, "n1")
    r = cli(url, "node", "deploy", "n1", "--wait", code=1)
    assert '"enroll"' in r.stderr and "manage" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1

    r = cli(url, "node", "power", "on", "ghost", code=1)
    assert "ghost" in r.stderr

    r = cli(url, "node", "create", "--driver", "fake-hardware", "--driver-info", "oops", code=2)
    assert "KEY=VALUE" in r.stderr
    r = cli(url, "node", "clean", "n1", "--clean-steps", str(tmp_path / "missing.json"), code=2)
    assert "--clean-steps" in r.stderr

    r = cli("http://127.0.0.1:9", "node", "list", code=1)
    assert "cannot reach Ironworks at http://127.0.0.1:9" in r.stderr
    r = cli("ftp://example", "node", "list", code=1)
    assert "not an http:// or https:// URL" in r.stderr


def test_maintenance_boot_device_validate_vifs(live_server: LiveServer) -> None:
    url = live_server.url
    enrol(url, "n1")
    cli(url, "port", "create", "--node", "n1", "--address", "52:54:00:00:00:01")

    cli(url, "node", "maintenance", "set", "n1", "--reason", "fan [broken]")
    shown = cli_json(url, "node", "show", "n1", "--fields", "maintenance,maintenance_reason")
    assert shown == {"maintenance": True, "maintenance_reason": "fan [broken]"}
    assert "fan [broken]" in cli(url, "node", "show", "n1").stdout  # not eaten as rich markup
    assert len(cli_json(url, "node", "list", "--maintenance")) == 1
    cli(url, "node", "maintenance", "unset", "n1")
    assert cli_json(url, "node", "show", "n1")["maintenance"] is False

    cli(url, "node", "boot-device", "set", "n1", "disk", "--persistent")
    assert cli_json(url, "node", "boot-device", "show", "n1") == {
        "boot_device": "disk",
        "persistent": True,
    }
    r = cli(url, "node", "boot-device", "set", "n1", "floppy", code=1)
    assert "floppy" in r.stderr
    assert "pxe" in cli_json(url, "node", "boot-device", "supported", "n1")

    checks = cli_json(url, "node", "validate", "n1")
    assert checks["power"]["result"] is True
    assert "power" in cli(url, "node", "validate", "n1").stdout

    cli(url, "node", "vif", "attach", "n1", "vif-1")
    assert cli_json(url, "node", "vif", "list", "n1") == [{"id": "vif-1"}]
    cli(url, "node", "vif", "detach", "n1", "vif-1")
    assert cli_json(url, "node", "vif", "list", "n1") == []


def test_ports(live_server: LiveServer) -> None:
    url = live_server.url
    n1, n2 = enrol(url, "n1"), enrol(url, "n2")
    p1 = cli_json(
        url,
        "port",
        "create",
        "--node",
        "n1",
        "--address",
        "52:54:00:00:00:01",
        "--no-pxe-enabled",
        "--physical-network",
        "physnet1",
    )
    assert p1["node_uuid"] == n1["uuid"] and p1["pxe_enabled"] is False
    assert p1["physical_network"] == "physnet1"
    cli(url, "port", "create", "--node", n2["uuid"], "--address", "52-54-00-00-00-02")

    assert len(cli_json(url, "port", "list")) == 2
    only = cli_json(url, "port", "list", "--node", "n1")
    assert [p["address"] for p in only] == ["52:54:00:00:00:01"]
    assert "52:54:00:00:00:02" in cli(url, "port", "list").stdout
    r = cli(url, "port", "list", "--node", "ghost", code=1)
    assert "ghost" in r.stderr

    cli(url, "port", "set", "52:54:00:00:00:01", "--pxe-enabled", "--extra", "slot=2")
    shown = cli_json(url, "port", "show", p1["uuid"])
    assert shown["pxe_enabled"] is True and shown["extra"] == {"slot": "2"}
    r = cli(url, "port", "create", "--node", "n1", "--address", "52:54:00:00:00:01", code=1)
    assert "already exists" in r.stderr

    cli(url, "port", "delete", p1["uuid"], "52:54:00:00:00:02")
    assert cli_json(url, "port", "list") == []


@pytest.fixture
def small_pages(tmp_path: Path) -> Any:
    srv = start_server(tmp_path / "small", env={"IRONWORKS_API__MAX_LIMIT": "2"})
    yield srv
    srv.proc.terminate()
    srv.proc.wait(10)


def test_lists_follow_next_links_and_keep_filters(small_pages: LiveServer) -> None:
    """Pages of two: every page is fetched, and filters hold on every page."""
    url = small_pages.url
    for i in range(7):
        enrol(url, f"n{i}", *(["--resource-class", "gold"] if i % 2 else []))
    cli(url, "node", "maintenance", "set", "n0", "n1")
    names = [n["name"] for n in cli_json(url, "node", "list")]
    assert names == [f"n{i}" for i in range(7)]
    assert len(cli_json(url, "node", "list", "--limit", "3")) == 3
    assert len(cli_json(url, "node", "list", "--long")) == 7
    gold = cli_json(url, "node", "list", "--resource-class", "gold", "--fields", "name")
    assert [n["name"] for n in gold] == ["n1", "n3", "n5"]
    working = cli_json(url, "node", "list", "--no-maintenance", "--fields", "name")
    assert [n["name"] for n in working] == ["n2", "n3", "n4", "n5", "n6"]
    for i in range(3):
        cli(url, "port", "create", "--node", "n6", "--address", f"52:54:00:00:00:0{i}")
        cli(url, "port", "create", "--node", "n5", "--address", f"52:54:00:00:01:0{i}")
    assert len(cli_json(url, "port", "list")) == 6
    assert len(cli_json(url, "port", "list", "--node", "n6")) == 3


def test_login_whoami_logout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("IRONWORKS_TOKEN", raising=False)
    server = start_server(
        tmp_path / "server",
        env={"IRONWORKS_AUTH__NOAUTH": "false", "IRONWORKS_AUTH__ADMIN_PASSWORD": "Adm1n-Passw0rd"},
    )
    try:
        url = server.url
        refused = cli(url, "node", "list", code=1)
        assert "this call needs a token" in refused.output and "ironworks login" in refused.output
        wrong = cli(url, "login", "--password-stdin", stdin="nope\n", code=1)
        assert "wrong user name or password" in wrong.output
        said = cli(url, "login", "--password-stdin", stdin="Adm1n-Passw0rd\n").output
        assert f"logged in to {url} as admin" in said
        kept = tmp_path / "config" / "ironworks" / "tokens.json"
        assert oct(kept.stat().st_mode & 0o777) == "0o600"
        assert cli_json(url, "whoami")["roles"] == ["admin"]
        enrol(url, "after-login")
        assert "logged out" in cli(url, "logout").output
        cli(url, "node", "list", code=1)
    finally:
        server.proc.terminate()
        server.proc.wait(10)
