"""A database that cannot be reached (restarting, failing over) is a 503 with Retry-After on
every app: the API (problem+json, or Ironic's error body on /v1) and the boot listener that
agents and iPXE talk to. Never a 500. The live version: tests/integration/test_db_failover.py."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from ironworks.api.app import create_app
from ironworks.api.boot import boot_app
from ironworks.db.engine import Database
from ironworks.services.context import Services
from tests.conftest import free_port, make_settings


def _gone(tmp_path: Path) -> Services:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere?connect_timeout=2"
    settings = make_settings(url, tmp_path)
    return Services(db=Database(url), settings=settings)


def test_api_answers_503_when_the_database_is_gone(tmp_path: Path) -> None:
    svc = _gone(tmp_path)
    try:
        with TestClient(create_app(svc), raise_server_exceptions=False) as c:
            r = c.get("/api/v1/statistics")
            assert r.status_code == 503 and r.headers["retry-after"] == "1"
            assert r.headers["content-type"].startswith("application/problem+json")
            body = r.json()
            assert body["type"].endswith("/database-unavailable") and body["status"] == 503
            assert "database is unavailable" in body["detail"]
            r = c.get("/v1/nodes", headers={"X-OpenStack-Ironic-API-Version": "latest"})
            assert r.status_code == 503 and r.headers["retry-after"] == "1"
            assert "database is unavailable" in r.text
    finally:
        svc.db.dispose()


def test_boot_listener_answers_503_when_the_database_is_gone(tmp_path: Path) -> None:
    svc = _gone(tmp_path)
    try:
        with TestClient(boot_app(svc), raise_server_exceptions=False) as c:
            r = c.get("/boot/52:54:00:00:00:01.ipxe")
            assert r.status_code == 503 and r.headers["retry-after"] == "1"
    finally:
        svc.db.dispose()
