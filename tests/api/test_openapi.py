"""The OpenAPI document describes every `/api/v1` body and answer: request bodies are typed
models that refuse unknown fields, 2xx answers declare their schema, operation ids are stable
(the handler's name) and unique. What is not JSON is listed here with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from ironworks.api.app import create_app
from ironworks.db.engine import Database
from ironworks.services.context import Services
from tests.conftest import make_settings

# (method, path) -> why its request body is not a JSON object
RAW_BODIES = {
    ("put", "/api/v1/images/{ident}/file"): "the image's bytes, streamed to disk as they come",
    ("post", "/api/v1/nodes/import"): "a CSV or XLSX file (raw or as a multipart form)",
}
# (method, path) -> why a 2xx answer has no body
NO_BODY = {
    ("delete", "/api/v1/hosts/{ident}"): "202: the teardown goes on in the background",
    ("post", "/api/v1/hosts/{ident}/start"): "202: the conductor powers the node",
    ("post", "/api/v1/hosts/{ident}/stop"): "202: the conductor powers the node",
    ("post", "/api/v1/hosts/{ident}/reboot"): "202: the conductor powers the node",
    ("post", "/api/v1/hosts/{ident}/soft-reboot"): "202: the conductor powers the node",
    ("post", "/api/v1/hosts/{ident}/rebuild"): "202: the redeploy goes on in the background",
}
# (method, path) -> why a 2xx answer is a file, not JSON
FILES = {
    ("get", "/api/v1/hosts/export"): "CSV or XLSX export",
    ("get", "/api/v1/nodes/export"): "CSV or XLSX export",
    ("get", "/api/v1/audit-events/export"): "CSV or XLSX export",
    ("get", "/api/v1/usage/export"): "CSV or XLSX export",
    ("get", "/api/v1/images/{ident}/file"): "the image's bytes (Range requests answered)",
}
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The document as served; building it needs no database."""
    from starlette.testclient import TestClient

    tmp: Path = tmp_path_factory.mktemp("openapi")
    settings = make_settings(f"sqlite:///{tmp / 'ironworks.db'}", tmp)
    svc = Services(db=Database(settings.effective_database_url), settings=settings)
    with TestClient(create_app(svc), base_url="http://testserver") as c:
        out: dict[str, Any] = c.get("/openapi.json").json()
    svc.db.dispose()
    return out


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in sorted(doc["paths"].items())
        if path.startswith("/api/v1/")
        for method, op in item.items()
        if method in METHODS
    ]


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The object schema behind a $ref (or the non-null branch of `X | None`)."""
    if "$ref" in schema:
        return _resolve(doc, doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]])
    branches = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(branches) == 1:
        return _resolve(doc, branches[0])
    return schema


def test_every_request_body_is_a_model_that_refuses_unknown_fields(doc: dict[str, Any]) -> None:
    bad = []
    for method, path, op in _operations(doc):
        body = op.get("requestBody")
        if body is None:
            continue
        content = body["content"]
        if (method, path) in RAW_BODIES:
            assert "application/json" not in content, (method, path)
            assert all("schema" in c for c in content.values()), (method, path)
            continue
        schema = _resolve(doc, content.get("application/json", {}).get("schema", {}))
        if not schema.get("properties") or schema.get("additionalProperties") is not False:
            bad.append(f"{method.upper()} {path}: {schema}")
    assert not bad, "\n".join(bad)


def test_every_2xx_answer_declares_its_schema(doc: dict[str, Any]) -> None:
    bad = []
    for method, path, op in _operations(doc):
        for status, answer in op["responses"].items():
            if not status.startswith("2"):
                continue
            content = answer.get("content")
            where = f"{method.upper()} {path} {status}"
            if not content:
                if status != "204" and (method, path) not in NO_BODY:
                    bad.append(f"{where}: no body declared")
                continue
            if (method, path) in FILES:
                if not all(c.get("schema", {}).get("type") == "string" for c in content.values()):
                    bad.append(f"{where}: a file answer without its schema")
                continue
            schema = _resolve(doc, content.get("application/json", {}).get("schema", {}))
            if not schema.get("properties"):
                bad.append(f"{where}: {schema}")
    assert not bad, "\n".join(bad)
    for listed in (*RAW_BODIES, *NO_BODY, *FILES):  # the exceptions still exist
        assert listed[0] in doc["paths"].get(listed[1], {}), listed


def test_operation_ids_are_the_handlers_names_and_unique(doc: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in _operations(doc)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    everywhere = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(everywhere) == len(set(everywhere))
    for name in (
        "list_hosts",
        "create_hosts",
        "show_host",
        "create_flavor",
        "list_departments",
        "create_user",
        "set_member",
        "list_images",
        "install_license",
        "log_in",
        "list_events",
    ):
        assert name in ids, name


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/departments", {"name": "d", "colour": "red"}),
        (
            "post",
            "/api/v1/flavors",
            {"name": "f", "cpus": 1, "memory_mb": 1, "local_gb": 0, "colour": "red"},
        ),
        ("put", "/api/v1/license", {"license": {}, "signature": "", "colour": "red"}),
        ("post", "/api/v1/auth/tokens", {"username": "u", "password": "p", "colour": "red"}),
    ],
)
def test_an_unknown_field_is_a_problem_naming_it(
    client: httpx.Client, method: str, path: str, body: dict[str, Any]
) -> None:
    r = client.request(method, path, json=body)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["field"] == "colour" and problem["title"] == "Invalid input", problem
    assert problem["status"] == 400 and "colour" in problem["detail"]


def test_a_typed_answer_keeps_its_shape(client: httpx.Client) -> None:
    """Left-out optional fields stay left out (next_marker while more remain, projects of a
    private flavor), as before the answers were typed."""
    r = client.post("/api/v1/departments", json={"name": "d1", "quota_hosts": 3})
    assert r.status_code == 201, r.text
    assert r.json()["quota_hosts"] == 3 and r.json()["admins"] == [] and r.json()["projects"] == 0
    listed = client.get("/api/v1/departments").json()
    assert [d["name"] for d in listed["departments"]] == ["d1"] and "next_marker" not in listed
    r = client.post(
        "/api/v1/flavors", json={"name": "f1", "cpus": 2, "memory_mb": 1024, "local_gb": 10}
    )
    assert r.status_code == 201 and "projects" not in r.json(), r.text
    assert client.get("/api/v1/license").json()["state"] == "evaluation"
    r = client.post("/api/v1/departments", json={"name": "d2", "quota_hosts": "3"})
    assert r.status_code == 400 and r.json()["field"] == "quota_hosts", r.text
