"""The API answers and walks a node through its life on both backends."""

from __future__ import annotations

from tests.conftest import wait_for


def test_versions(client):
    r = client.get("/", headers={"X-OpenStack-Ironic-API-Version": ""})
    assert r.status_code == 200
    assert r.json()["default_version"]["version"] == "1.115"
    assert r.headers["X-OpenStack-Ironic-API-Minimum-Version"] == "1.1"
    assert r.headers["X-OpenStack-Request-Id"].startswith("req-")


def test_lifecycle(client, conductor):
    r = client.post("/v1/nodes", json={"driver": "fake-hardware", "name": "n1"})
    assert r.status_code == 201, r.text
    uuid = r.json()["uuid"]
    for verb, target in [
        ("manage", "manageable"),
        ("inspect", "manageable"),
        ("provide", "available"),
        ("active", "active"),
        ("rebuild", "active"),
        ("deleted", "available"),
    ]:
        assert (
            client.put(f"/v1/nodes/{uuid}/states/provision", json={"target": verb}).status_code
            == 202
        )
        wait_for(
            lambda t=target: (
                (n := client.get(f"/v1/nodes/{uuid}").json())["provision_state"] == t
                and n["target_provision_state"] is None
                and n["reservation"] is None
            )
        )
