"""The license: evaluation limit, install, max nodes, expiry, tampering; on both databases."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ironworks.api.app import create_app
from ironworks.db import migrate
from ironworks.db.engine import Database
from ironworks.domain.license import sign
from ironworks.services.context import Services
from tests.conftest import make_settings

KEY = Ed25519PrivateKey.generate()  # the tests' own vendor key
PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
PUB = base64.b64encode(
    KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
).decode()


@pytest.fixture
def licensed(database_url: str, tmp_path: Path) -> Iterator[httpx.Client]:
    settings = make_settings(
        database_url, tmp_path, license={"evaluation_nodes": 2, "trusted_keys": [PUB]}
    )
    db = Database(settings.effective_database_url)
    migrate.upgrade(db)
    from starlette.testclient import TestClient

    with TestClient(create_app(Services(db=db, settings=settings)), base_url="http://t") as c:
        c.headers["X-OpenStack-Ironic-API-Version"] = "latest"
        yield c
    db.dispose()


def document(max_nodes: int = 3, expires: date | None = None, **extra: Any) -> dict[str, Any]:
    fields = {
        "id": "lic-1",
        "customer": "Rail Research Institute",
        "edition": "enterprise",
        "max_nodes": max_nodes,
        "issued": date.today().isoformat(),
        "expires": (expires or date.today() + timedelta(days=365)).isoformat(),
        **extra,
    }
    return sign(fields, PEM)


def enrol(c: httpx.Client, name: str) -> httpx.Response:
    return c.post("/v1/nodes", json={"name": name, "driver": "fake-hardware"})


def test_evaluation_then_a_license(licensed: httpx.Client) -> None:
    c = licensed
    assert c.get("/api/v1/license").json() == {
        "state": "evaluation",
        "nodes_used": 0,
        "nodes_allowed": 2,
        "license": None,
        "nodes_awaiting_acceptance": 0,
    }
    assert enrol(c, "a").status_code == 201 and enrol(c, "b").status_code == 201
    r = enrol(c, "c")
    assert r.status_code == 403
    assert "without a license Ironworks enrols up to 2 nodes" in r.json()["error_message"]
    r = c.post(
        "/api/v1/nodes/import",
        content=b"name,driver,bmc_address\nx,fake-hardware,1.2.3.4\n",
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 403 and r.json()["detail"].endswith("(ironworks license install FILE)")
    r = c.put("/api/v1/license", json=document(max_nodes=3))
    assert r.status_code == 200, r.text
    shown = r.json()
    assert (shown["state"], shown["nodes_used"], shown["nodes_allowed"]) == ("valid", 2, 3)
    assert shown["license"]["customer"] == "Rail Research Institute"
    assert enrol(c, "c").status_code == 201
    r = enrol(c, "d")
    assert r.status_code == 403
    assert (
        "the license of Rail Research Institute allows 3 nodes; 3 are enrolled and 1 more "
        "were asked for"
    ) in r.json()["error_message"]


def test_expired_license_stops_enrolment_only(licensed: httpx.Client) -> None:
    c = licensed
    assert enrol(c, "a").status_code == 201
    old = date.today() - timedelta(days=1)
    assert c.put("/api/v1/license", json=document(expires=old)).json()["state"] == "expired"
    r = enrol(c, "b")
    assert r.status_code == 403 and f"expired on {old}" in r.json()["error_message"]
    # everything else keeps working
    r = c.patch("/v1/nodes/a", json=[{"op": "add", "path": "/extra/rack", "value": "r1"}])
    assert r.status_code == 200


def test_tampered_or_foreign_licenses_are_refused(licensed: httpx.Client) -> None:
    c = licensed
    doc = document(max_nodes=3)
    doc["license"]["max_nodes"] = 3000
    r = c.put("/api/v1/license", json=doc)
    assert r.status_code == 400 and r.json()["field"] == "signature"
    assert "does not match any trusted vendor key" in r.json()["detail"]
    other = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    foreign = sign(document()["license"], other)
    assert c.put("/api/v1/license", json=foreign).status_code == 400
    r = c.put("/api/v1/license", json={"hello": "world"})
    assert r.status_code == 400 and r.json()["field"] == "license"
    assert c.get("/api/v1/license").json()["state"] == "evaluation"
