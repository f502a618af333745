"""Schemathesis against `/openapi.json` of a live server, authenticated as the cloud admin.

Every documented operation gets generated requests (valid and invalid, then stateful
sequences); none may answer 5xx, an undocumented status or content type, or a body that breaks
its documented schema. Host power actions and log-in/out are left out: they would stop hosts
or revoke the token the rest relies on. A few examples per operation keeps it under a minute;
`schemathesis run` by hand goes deeper (README).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import start_server

ST = Path(sys.executable).with_name("schemathesis")
ADMIN_PASSWORD = "Adm1n-Passw0rd"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
SKIP = r"(.*/(start|stop|reboot|soft-reboot|rebuild)$)|(/api/v1/auth/tokens$)"


def test_openapi_fuzz(tmp_path: Path) -> None:
    if not ST.exists() and not shutil.which("schemathesis"):
        pytest.skip("schemathesis is not installed")
    server = start_server(
        tmp_path / "server",
        env={
            "IRONWORKS_AUTH__NOAUTH": "false",
            "IRONWORKS_AUTH__ADMIN_PASSWORD": ADMIN_PASSWORD,
            "IRONWORKS_AUTH__MAX_FAILED_LOGINS": "1000000",
        },
    )
    try:
        token = httpx.post(
            f"{server.url}/api/v1/auth/tokens",
            json={"username": "admin", "password": ADMIN_PASSWORD},
        ).json()["token"]
        done = subprocess.run(
            [
                str(ST),
                "run",
                f"{server.url}/openapi.json",
                "-H",
                f"Authorization: Bearer {token}",
                "-c",
                CHECKS,
                "-n",
                "10",
                "--request-timeout",
                "10",
                "--seed",
                "1",
                "--exclude-path-regex",
                SKIP,
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        tail = done.stdout[-6000:]
        # the failures, each with its operation and a curl to reproduce, come before the long
        # summary: show them whole
        report = done.stdout
        found = report.find("FAILURES")
        shown = report[found : found + 8000] if found >= 0 else tail
        assert done.returncode == 0, f"schemathesis found problems:\n{shown}\n{done.stderr[-2000:]}"
        assert " passed" in tail and "generated" in tail
        assert "Traceback" not in server.logs(), server.logs()[-3000:]
    finally:
        server.proc.terminate()
        server.proc.wait(10)
