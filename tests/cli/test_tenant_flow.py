"""A tenant's day through the CLI, against a live `ironworks serve` with identity on.

The cloud admin (over HTTP) makes a department, two projects with a member each, a flavor and
four fake-hardware nodes made available through manage and provide. Then alice, through the
CLI: logs in, creates 3 hosts with one command and waits for them, stops, starts and rebuilds
one, deletes them; carol (another project) cannot see them; the audit log names alice for each
action; the export opens in openpyxl with those rows.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import httpx
import openpyxl
import pytest

from tests.cli.test_cli import cli, cli_json
from tests.conftest import start_server, wait_for

ADMIN_PASSWORD = "Adm1n-Passw0rd"
PASSWORD = "Us3r-Passw0rd"


def admin_setup(url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The cloud admin: identity and the flavor through the CLI, nodes over HTTP."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config-admin"))
    cli(url, "login", "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
    cli(url, "department", "create", "rail", "--quota-hosts", "10")
    for project in ("signals", "timetable"):
        cli(url, "project", "create", project, "--department", "rail")
    for user, project in (("alice", "signals"), ("carol", "timetable")):
        cli(url, "user", "create", user, "--password-stdin", stdin=PASSWORD + "\n")
        cli(url, "project", "member", project, user)
    weak = cli(url, "user", "create", "mallory", "--password-stdin", stdin="password\n", code=1)
    assert "the password must mix three of" in weak.output
    assert [u["name"] for u in cli_json(url, "user", "list")] == ["admin", "alice", "carol"]
    assert cli_json(url, "project", "list")[0]["members"] == [{"role": "member", "user": "alice"}]
    cli(
        url,
        "flavor",
        "create",
        "bm.small",
        "--cpus",
        "8",
        "--memory-mb",
        "16384",
        "--local-gb",
        "100",
    )
    token = httpx.post(
        f"{url}/api/v1/auth/tokens", json={"username": "admin", "password": ADMIN_PASSWORD}
    ).json()["token"]
    h = {"Authorization": f"Bearer {token}", "X-OpenStack-Ironic-API-Version": "latest"}
    with httpx.Client(base_url=url, headers=h, timeout=30) as c:
        props = {"cpus": 16, "memory_mb": 32768, "local_gb": 200, "cpu_arch": "x86_64"}
        for i in range(4):
            r = c.post(
                "/v1/nodes",
                json={"name": f"rack-{i}", "driver": "fake-hardware", "properties": props},
            )
            assert r.status_code == 201
            for verb in ("manage", "provide"):
                assert (
                    c.put(f"/v1/nodes/rack-{i}/states/provision", json={"target": verb}).status_code
                    == 202
                )
                goal = {"manage": "manageable", "provide": "available"}[verb]
                wait_for(
                    lambda i=i, goal=goal: (
                        c.get(f"/v1/nodes/rack-{i}").json()["provision_state"] == goal
                    ),
                    timeout=20,
                )


def as_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, user: str) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / f"config-{user}"))
    cli(url, "login", "--user", user, "--password-stdin", stdin=PASSWORD + "\n")


def test_a_tenant_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IRONWORKS_TOKEN", raising=False)
    server = start_server(
        tmp_path / "server",
        env={
            "IRONWORKS_AUTH__NOAUTH": "false",
            "IRONWORKS_AUTH__ADMIN_PASSWORD": ADMIN_PASSWORD,
            "IRONWORKS_IMAGES__TENANT_URL_HOSTS": '["images"]',
        },
    )  # tenants' URLs on host "images" only
    try:
        url = server.url
        admin_setup(url, monkeypatch, tmp_path)
        as_user(monkeypatch, tmp_path, url, "alice")
        assert [f["name"] for f in cli_json(url, "flavor", "list")] == ["bm.small"]
        started = time.monotonic()
        made = cli_json(
            url,
            "host",
            "create",
            "app",
            "--count",
            "3",
            "--flavor",
            "bm.small",
            "--image",
            "http://images/redflag-7.6.qcow2",
            "--wait",
        )
        took = time.monotonic() - started
        assert sorted(h["name"] for h in made) == ["app-1", "app-2", "app-3"], made
        assert {h["status"] for h in made} == {"active"} and took < 60
        cli(url, "host", "stop", "app-1", "--wait")
        assert cli_json(url, "host", "show", "app-1")["status"] == "stopped"
        cli(url, "host", "start", "app-1", "--wait")
        cli(url, "host", "rebuild", "app-2", "--image", "http://images/debian-12.qcow2", "--wait")
        assert cli_json(url, "host", "show", "app-2")["image"] == "http://images/debian-12.qcow2"
        # carol, of another project, does not see them
        as_user(monkeypatch, tmp_path, url, "carol")
        assert cli_json(url, "host", "list") == []
        refused = cli(url, "host", "show", "app-1", code=1)
        assert "host app-1 could not be found" in refused.output
        # back to alice: delete them all, then read the audit log and export it
        as_user(monkeypatch, tmp_path, url, "alice")
        cli(url, "host", "delete", "app-1", "app-2", "app-3", "--wait")
        assert cli_json(url, "host", "list") == []
        events = cli_json(url, "audit", "list", "--user", "alice")
        actions = [e["action"] for e in events if e["outcome"] == "success"]
        assert actions.count("host:delete") == 3 and actions.count("host:power") == 2
        assert {"host:create", "host:rebuild"} <= set(actions)
        out = tmp_path / "audit.xlsx"
        cli(url, "audit", "export", "-o", str(out), "--user", "alice")
        rows = list(
            openpyxl.load_workbook(io.BytesIO(out.read_bytes())).active.iter_rows(values_only=True)
        )
        assert rows[0][2] == "user_name" and len(rows) - 1 == len(events)
        assert {r[2] for r in rows[1:]} == {"alice"}
    finally:
        server.proc.terminate()
        server.proc.wait(10)
