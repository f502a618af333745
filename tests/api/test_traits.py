"""Node traits, retirement and `fields=` on chassis against Ironic's semantics, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json

import pytest

from ironworks.db import nodes as node_db
from tests.api.test_nodes import make_node, provision

V = {"X-OpenStack-Ironic-API-Version": "1.37"}


def error_of(r) -> str:
    return json.loads(r.json()["error_message"])["faultstring"]


def traits_of(client, u):
    r = client.get(f"/v1/nodes/{u}/traits", headers=V)
    assert r.status_code == 200, r.text
    return r.json()["traits"]


def test_add_list_replace_remove(client):
    u = make_node(client, name="t1")["uuid"]
    assert traits_of(client, u) == []
    r = client.put(f"/v1/nodes/{u}/traits/CUSTOM_GPU", headers=V)
    assert r.status_code == 204 and r.headers["Location"].endswith("/traits/CUSTOM_GPU")
    assert client.put("/v1/nodes/t1/traits/HW_CPU_X86_AVX2", headers=V).status_code == 204
    assert client.put(f"/v1/nodes/{u}/traits/CUSTOM_GPU", headers=V).status_code == 204  # again
    assert traits_of(client, u) == ["CUSTOM_GPU", "HW_CPU_X86_AVX2"]
    assert client.get(f"/v1/nodes/{u}").json()["traits"] == ["CUSTOM_GPU", "HW_CPU_X86_AVX2"]

    r = client.put(f"/v1/nodes/{u}/traits", json={"traits": ["CUSTOM_A", "CUSTOM_B"]}, headers=V)
    assert r.status_code == 204, r.text
    assert traits_of(client, u) == ["CUSTOM_A", "CUSTOM_B"]

    assert client.delete(f"/v1/nodes/{u}/traits/CUSTOM_A", headers=V).status_code == 204
    assert traits_of(client, u) == ["CUSTOM_B"]
    r = client.delete(f"/v1/nodes/{u}/traits/CUSTOM_A", headers=V)
    assert r.status_code == 404 and "doesn't have a trait 'CUSTOM_A'" in error_of(r)
    assert client.delete(f"/v1/nodes/{u}/traits", headers=V).status_code == 204
    assert traits_of(client, u) == []
    assert client.delete(f"/v1/nodes/{u}/traits", headers=V).status_code == 204  # none left


@pytest.mark.parametrize(
    "trait",
    ["custom_gpu", "CUSTOM_", "CUSTOM-GPU", "HW CPU", "Ünicode", "A" * 256, "CUSTOM_a"],
)
def test_invalid_names_are_400_and_change_nothing(client, trait):
    u = make_node(client)["uuid"]
    r = client.put(f"/v1/nodes/{u}/traits/{trait}", headers=V)
    assert r.status_code == 400 and "Invalid trait" in error_of(r)
    r = client.put(f"/v1/nodes/{u}/traits", json={"traits": ["CUSTOM_OK", trait]}, headers=V)
    assert r.status_code == 400 and "CUSTOM_" in error_of(r)
    assert traits_of(client, u) == []


def test_longest_names_are_accepted(client):
    u = make_node(client)["uuid"]
    assert client.put(f"/v1/nodes/{u}/traits/{'A' * 255}", headers=V).status_code == 204
    assert client.put(f"/v1/nodes/{u}/traits/CUSTOM_{'Z' * 248}", headers=V).status_code == 204
    assert len(traits_of(client, u)) == 2


@pytest.mark.parametrize(
    "body", [{}, {"traits": "CUSTOM_A"}, {"traits": ["CUSTOM_A"], "x": 1}, {"traits": [1]}]
)
def test_bad_bodies_are_400(client, body):
    u = make_node(client)["uuid"]
    assert client.put(f"/v1/nodes/{u}/traits", json=body, headers=V).status_code == 400


def test_at_most_fifty(client):
    u = make_node(client)["uuid"]
    fifty = [f"CUSTOM_T{i}" for i in range(50)]
    assert client.put(f"/v1/nodes/{u}/traits", json={"traits": fifty}, headers=V).status_code == 204
    r = client.put(f"/v1/nodes/{u}/traits/CUSTOM_ONE_MORE", headers=V)
    assert r.status_code == 400 and "maximum of 50" in error_of(r)
    r = client.put(f"/v1/nodes/{u}/traits", json={"traits": [*fifty, "CUSTOM_X"]}, headers=V)
    assert r.status_code == 400
    assert client.put(f"/v1/nodes/{u}/traits/CUSTOM_T0", headers=V).status_code == 204  # has it
    assert traits_of(client, u) == fifty
    # duplicates in a replacement count once (Ironic's set semantics)
    r = client.put(f"/v1/nodes/{u}/traits", json={"traits": [*fifty, "CUSTOM_T0"]}, headers=V)
    assert r.status_code == 204


def test_old_microversion_and_unknown_node_are_404(client):
    u = make_node(client)["uuid"]
    old = {"X-OpenStack-Ironic-API-Version": "1.36"}
    assert client.get(f"/v1/nodes/{u}/traits", headers=old).status_code == 404
    assert client.put(f"/v1/nodes/{u}/traits/CUSTOM_A", headers=old).status_code == 404
    assert client.delete(f"/v1/nodes/{u}/traits", headers=old).status_code == 404
    r = client.put("/v1/nodes/nope/traits/CUSTOM_A", headers=V)
    assert r.status_code == 404 and "Node nope could not be found" in error_of(r)
    assert client.get("/v1/nodes/nope/traits", headers=V).status_code == 404


def test_a_locked_node_refuses_changes(client, services):
    n = make_node(client)
    with services.db.write() as conn:
        node_db.reserve(conn, node_db.get_node(conn, n["uuid"]), "c1", "test")
    r = client.put(f"/v1/nodes/{n['uuid']}/traits/CUSTOM_A", headers=V)
    assert r.status_code == 409, r.text
    assert client.delete(f"/v1/nodes/{n['uuid']}/traits", headers=V).status_code == 409
    assert traits_of(client, n["uuid"]) == []


def test_retired_rules(client, conductor):
    u = make_node(client)["uuid"]
    provision(client, u, "manage", "manageable")
    provision(client, u, "provide", "available")
    r = client.patch(f"/v1/nodes/{u}", json=[{"op": "replace", "path": "/retired", "value": True}])
    assert r.status_code == 409 and "manageable first" in error_of(r)
    old = {"X-OpenStack-Ironic-API-Version": "1.60"}
    r = client.patch(
        f"/v1/nodes/{u}", json=[{"op": "replace", "path": "/retired", "value": True}], headers=old
    )
    assert r.status_code == 406

    # an active node may be retired; its tear-down ends in manageable, without the instance
    provision(client, u, "active", "active")
    r = client.patch(
        f"/v1/nodes/{u}",
        json=[
            {"op": "replace", "path": "/retired", "value": True},
            {"op": "replace", "path": "/retired_reason", "value": "end of warranty"},
        ],
    )
    assert r.status_code == 200, r.text
    assert r.json()["retired"] is True and r.json()["retired_reason"] == "end of warranty"
    done = provision(client, u, "undeploy", "manageable")
    assert done["instance_uuid"] is None and done["retired"] is True
    # provide cleans it and leaves it manageable: a retired node never becomes available
    provision(client, u, "provide", "manageable")
    listed = client.get("/v1/nodes?retired=true").json()["nodes"]
    assert [n["uuid"] for n in listed] == [u]

    r = client.patch(f"/v1/nodes/{u}", json=[{"op": "replace", "path": "/retired", "value": False}])
    assert r.json()["retired"] is False and r.json()["retired_reason"] is None
    provision(client, u, "provide", "available")


def test_chassis_fields(client):
    r = client.post("/v1/chassis", json={"description": "rack 7", "extra": {"row": 3}})
    assert r.status_code == 201, r.text
    c = r.json()["uuid"]
    got = client.get(f"/v1/chassis/{c}?fields=description").json()
    assert set(got) == {"description", "links"} and got["description"] == "rack 7"
    listed = client.get("/v1/chassis?fields=uuid,extra").json()["chassis"]
    assert listed == [{"uuid": c, "extra": {"row": 3}, "links": listed[0]["links"]}]
    assert set(client.get(f"/v1/chassis/{c}").json()) >= {"uuid", "extra", "nodes", "created_at"}
    assert client.get("/v1/chassis?fields=bogus").status_code == 400
    assert client.get("/v1/chassis?fields=uuid&detail=true").status_code == 400
    old = {"X-OpenStack-Ironic-API-Version": "1.7"}
    assert client.get(f"/v1/chassis/{c}?fields=uuid", headers=old).status_code == 406


def test_patch_reads_true_and_false_strings_as_booleans(client):
    """python-ironicclient's `node set --retired` sends the string "True", as Ironic accepts."""
    u = make_node(client)["uuid"]
    r = client.patch(f"/v1/nodes/{u}", json=[{"op": "add", "path": "/retired", "value": "True"}])
    assert r.status_code == 200 and r.json()["retired"] is True, r.text
    r = client.patch(f"/v1/nodes/{u}", json=[{"op": "add", "path": "/retired", "value": "false"}])
    assert r.status_code == 200 and r.json()["retired"] is False, r.text
    r = client.patch(f"/v1/nodes/{u}", json=[{"op": "add", "path": "/retired", "value": "yes"}])
    assert r.status_code == 400
