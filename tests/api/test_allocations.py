"""Allocations (`/v1/allocations`, Ironic's API 1.52+) on SQLite and PostgreSQL: the claim, the
node's allocation_uuid and instance_uuid, backfill, PATCH, deletion rules, the negative cases
clients check, and 50 concurrent allocations racing for 20 nodes through a real server."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
import sqlalchemy as sa

from ironworks.db.schema import allocations, nodes
from tests.api.test_nodes import provision
from tests.conftest import start_server, stop_server

OLD = {"X-OpenStack-Ironic-API-Version": "1.10"}  # nodes created at 1.10 start available
FAIL_PREFIX = "Failed to process allocation"


def error_of(r) -> str:
    return json.loads(r.json()["error_message"])["faultstring"]


def available_node(client, rc="baremetal", traits=(), **kw):
    r = client.post("/v1/nodes", json={"driver": "fake-hardware", **kw}, headers=OLD)
    assert r.status_code == 201, r.text
    u = r.json()["uuid"]
    patch = [{"op": "add", "path": "/resource_class", "value": rc}]
    assert client.patch(f"/v1/nodes/{u}", json=patch).status_code == 200
    if traits:
        r = client.put(f"/v1/nodes/{u}/traits", json={"traits": list(traits)})
        assert r.status_code == 204, r.text
    node = client.get(f"/v1/nodes/{u}").json()
    assert node["provision_state"] == "available"
    return node


def allocate(client, **body):
    r = client.post("/v1/allocations", json=body)
    assert r.status_code == 201, r.text
    assert r.headers["Location"].endswith(f"/v1/allocations/{r.json()['uuid']}")
    return r.json()


def test_allocate_show_list_delete(client):
    a_node = available_node(client, name="n-a", traits=["CUSTOM_GPU"])
    available_node(client, name="n-b")  # no trait: never chosen
    available_node(client, name="n-c", rc="other", traits=["CUSTOM_GPU"])  # other class

    a = allocate(client, resource_class="baremetal", traits=["CUSTOM_GPU"], name="web-1")
    assert a["state"] == "active" and a["last_error"] is None
    assert a["node_uuid"] == a_node["uuid"]
    assert a["traits"] == ["CUSTOM_GPU"] and a["candidate_nodes"] == [] and a["extra"] == {}
    assert a["owner"] is None and a["links"][0]["href"].endswith(a["uuid"])

    node = client.get("/v1/nodes/n-a").json()
    assert node["allocation_uuid"] == a["uuid"] and node["instance_uuid"] == a["uuid"]
    assert node["instance_info"]["traits"] == ["CUSTOM_GPU"]

    assert client.get("/v1/allocations/web-1").json()["uuid"] == a["uuid"]
    assert client.get(f"/v1/allocations/{a['uuid']}").json()["name"] == "web-1"
    assert client.get("/v1/nodes/n-a/allocation").json()["uuid"] == a["uuid"]
    r = client.get("/v1/allocations/web-1?fields=uuid,state")
    assert set(r.json()) == {"uuid", "state", "links"}

    listed = client.get("/v1/allocations").json()["allocations"]
    assert [x["uuid"] for x in listed] == [a["uuid"]]
    assert client.get("/v1/allocations?node=n-a").json()["allocations"][0]["uuid"] == a["uuid"]
    assert client.get("/v1/allocations?node=n-b").json()["allocations"] == []
    assert client.get("/v1/allocations?state=error").json()["allocations"] == []
    assert len(client.get("/v1/allocations?resource_class=baremetal").json()["allocations"]) == 1

    assert client.delete("/v1/allocations/web-1").status_code == 204
    node = client.get("/v1/nodes/n-a").json()
    assert node["allocation_uuid"] is None and node["instance_uuid"] is None
    assert client.get("/v1/allocations/web-1").status_code == 404
    r = client.get("/v1/nodes/n-a/allocation")
    assert r.status_code == 404 and "Allocation for node n-a was not found" in error_of(r)


def test_no_match_is_an_allocation_in_error_with_ironics_words(client):
    available_node(client, name="only", rc="small")
    a = allocate(client, resource_class="large")
    assert a["state"] == "error" and a["node_uuid"] is None
    assert a["last_error"] == (
        f"{FAIL_PREFIX} {a['uuid']}: no available nodes match the resource class large."
    )
    b = allocate(client, resource_class="small", traits=["CUSTOM_NOPE"])
    assert b["state"] == "error"
    assert "no suitable nodes have the requested traits CUSTOM_NOPE" in b["last_error"]
    c = allocate(client, resource_class="large", candidate_nodes=["only"])
    assert (
        "none of the requested nodes are available and match the resource class large"
        in (c["last_error"])
    )
    errors = client.get("/v1/allocations?state=error").json()["allocations"]
    assert {x["uuid"] for x in errors} == {a["uuid"], b["uuid"], c["uuid"]}
    assert client.get("/v1/nodes/only").json()["allocation_uuid"] is None
    assert client.delete(f"/v1/allocations/{a['uuid']}").status_code == 204


def test_candidates_owner_and_name_preference(client):
    n1 = available_node(client, name="c1")
    n2 = available_node(client, name="c2")
    a = allocate(client, resource_class="baremetal", candidate_nodes=["c2"])
    assert a["node_uuid"] == n2["uuid"] and a["candidate_nodes"] == [n2["uuid"]]
    b = allocate(client, resource_class="baremetal", candidate_nodes=[n2["uuid"]])
    assert b["state"] == "error"  # its only candidate is taken
    # owner: only nodes owned or leased by that project
    client.patch(f"/v1/nodes/{n1['uuid']}", json=[{"op": "add", "path": "/lessee", "value": "p"}])
    o = allocate(client, resource_class="baremetal", owner="q")
    assert o["state"] == "error" and o["owner"] == "q"
    o = allocate(client, resource_class="baremetal", owner="p")
    assert o["state"] == "active" and o["node_uuid"] == n1["uuid"]
    assert client.get("/v1/allocations?owner=p").json()["allocations"][0]["uuid"] == o["uuid"]
    # a node named like the allocation is tried first
    for i in range(5):
        available_node(client, name=f"pick-{i}")
    assert (
        allocate(client, resource_class="baremetal", name="pick-3")["node_uuid"]
        == (client.get("/v1/nodes/pick-3").json()["uuid"])
    )


def test_maintenance_retired_locked_and_owned_nodes_are_never_allocated(client, services):
    available_node(client, name="maint")
    assert client.put("/v1/nodes/maint/maintenance", json={"reason": "x"}).status_code == 202
    available_node(client, name="owned")
    instance = "8e1c1e36-4c4b-4e4e-9b9b-1c1c1c1c1c1c"
    patch = [{"op": "add", "path": "/instance_uuid", "value": instance}]
    assert client.patch("/v1/nodes/owned", json=patch).status_code == 200
    # The API refuses to retire an available node; these are the rows the claim must still
    # skip if one got there (a retired node is never allocated), and a node a conductor holds.
    available_node(client, name="ret")
    available_node(client, name="busy")
    with services.db.write() as conn:
        conn.execute(sa.update(nodes).where(nodes.c.name == "ret").values(retired=True))
        conn.execute(sa.update(nodes).where(nodes.c.name == "busy").values(reservation="c1"))
    a = allocate(client, resource_class="baremetal")
    assert a["state"] == "error"
    assert "no available nodes match the resource class baremetal" in a["last_error"]
    assert client.delete("/v1/nodes/maint/maintenance").status_code == 202
    b = allocate(client, resource_class="baremetal")
    assert b["state"] == "active"
    assert b["node_uuid"] == client.get("/v1/nodes/maint").json()["uuid"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({}, "resource_class", "The resource_class field is mandatory when not backfilling"),
        ({"resource_class": "x", "uuid": "not-a-uuid"}, "uuid", "Expected a UUID"),
        ({"resource_class": "x", "traits": ["custom_bad"]}, "traits", "Invalid trait"),
        ({"resource_class": "x", "traits": "CUSTOM_A"}, "traits", "list of strings"),
        ({"resource_class": "x", "candidate_nodes": ["ghost"]}, "candidate_nodes", "ghost"),
        (
            {"resource_class": "x", "candidate_nodes": ["0b3a6a3e-7e43-4d4b-8a5b-3a3e4f5a6b7c"]},
            "candidate_nodes",
            "Nodes cannot be found: 0b3a6a3e-7e43-4d4b-8a5b-3a3e4f5a6b7c",
        ),
        ({"resource_class": "x", "name": "bad name!"}, "name", "invalid name"),
        ({"resource_class": "x" * 81}, "resource_class", "longer than 80"),
        ({"resource_class": "x", "color": "red"}, "color", "color"),
        ({"resource_class": "x", "extra": []}, "extra", "JSON object"),
        ({"resource_class": "x", "node": "ghost"}, "node", "Node ghost could not be found"),
    ],
)
def test_bad_requests_are_400_naming_the_field_and_write_nothing(client, body, field, words):
    available_node(client, rc="x")
    r = client.post("/v1/allocations", json=body)
    assert r.status_code == 400, r.text
    assert words in error_of(r)
    assert client.get("/v1/allocations").json()["allocations"] == []
    assert client.get("/v1/nodes?associated=true").json()["nodes"] == []


def test_duplicates_and_versions(client):
    available_node(client)
    a = allocate(client, resource_class="baremetal", name="dup")
    r = client.post("/v1/allocations", json={"resource_class": "baremetal", "name": "dup"})
    assert r.status_code == 409 and "An allocation with name dup already exists." in error_of(r)
    r = client.post("/v1/allocations", json={"resource_class": "baremetal", "uuid": a["uuid"]})
    assert r.status_code == 409 and "already exists" in error_of(r)

    # an allocation uuid that another node carries as its instance: nothing is written
    taken = "3f0e5d1c-7c44-4a0c-9a1c-2b2b2b2b2b2b"
    other = available_node(client, name="carrier")
    patch = [{"op": "add", "path": "/instance_uuid", "value": taken}]
    assert client.patch("/v1/nodes/carrier", json=patch).status_code == 200
    available_node(client, name="free")
    r = client.post("/v1/allocations", json={"resource_class": "baremetal", "uuid": taken})
    assert r.status_code == 409 and "already associated" in error_of(r), r.text
    assert client.get(f"/v1/allocations/{taken}").status_code == 404
    assert client.get("/v1/nodes/free").json()["instance_uuid"] is None
    assert client.get(f"/v1/nodes/{other['uuid']}").json()["allocation_uuid"] is None

    old = {"X-OpenStack-Ironic-API-Version": "1.51"}
    assert client.get("/v1/allocations", headers=old).status_code == 404
    assert client.delete("/v1/nodes/free/allocation", headers=old).status_code == 404
    r = client.post("/v1/allocations", json={"resource_class": "baremetal"}, headers=old)
    assert r.status_code == 405
    v56 = {"X-OpenStack-Ironic-API-Version": "1.56"}
    r = client.patch("/v1/allocations/dup", json=[], headers=v56)
    assert r.status_code == 405
    v57 = {"X-OpenStack-Ironic-API-Version": "1.57"}
    r = client.post("/v1/allocations", json={"resource_class": "x", "node": "n"}, headers=v57)
    assert r.status_code == 400 and "Cannot set node" in error_of(r)
    v59 = {"X-OpenStack-Ironic-API-Version": "1.59"}
    r = client.post("/v1/allocations", json={"resource_class": "x", "owner": "p"}, headers=v59)
    assert r.status_code == 406
    assert "owner" not in client.get("/v1/allocations/dup", headers=v59).json()
    assert client.get("/v1/allocations?owner=p", headers=v59).status_code == 406
    assert client.get("/v1/nodes?fields=allocation_uuid", headers=old).status_code == 406


def test_patch_name_and_extra(client):
    available_node(client)
    allocate(client, resource_class="baremetal", name="first")
    patch = [
        {"op": "replace", "path": "/name", "value": "second"},
        {"op": "add", "path": "/extra/team", "value": "blue"},
    ]
    r = client.patch("/v1/allocations/first", json=patch)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "second" and r.json()["extra"] == {"team": "blue"}
    r = client.patch(
        "/v1/allocations/second", json=[{"op": "replace", "path": "/resource_class", "value": "y"}]
    )
    assert r.status_code == 400
    r = client.patch(
        "/v1/allocations/second", json=[{"op": "replace", "path": "/name", "value": "a b"}]
    )
    assert r.status_code == 400 and "invalid name" in error_of(r)
    allocate(client, resource_class="baremetal", name="third")  # error: no node left
    r = client.patch(
        "/v1/allocations/third", json=[{"op": "replace", "path": "/name", "value": "second"}]
    )
    assert r.status_code == 409
    assert client.get("/v1/allocations/second").json()["extra"] == {"team": "blue"}


def test_active_node_keeps_its_allocation_unless_in_maintenance(client, conductor):
    node = available_node(client, name="dep")
    a = allocate(client, resource_class="baremetal")
    provision(client, node["uuid"], "active", "active")
    r = client.delete(f"/v1/allocations/{a['uuid']}")
    assert r.status_code == 409 and "because the node is active" in error_of(r)
    r = client.delete("/v1/nodes/dep/allocation")
    assert r.status_code == 409
    remove = [{"op": "remove", "path": "/instance_uuid"}]
    assert client.patch("/v1/nodes/dep", json=remove).status_code == 409
    assert client.get("/v1/nodes/dep").json()["allocation_uuid"] == a["uuid"]
    # tear-down deletes the allocation (Ironic's rule)
    provision(client, node["uuid"], "undeploy", "available")
    assert client.get(f"/v1/allocations/{a['uuid']}").status_code == 404
    n = client.get("/v1/nodes/dep").json()
    assert n["allocation_uuid"] is None and n["instance_uuid"] is None
    # in maintenance an allocation on an active node can go
    b = allocate(client, resource_class="baremetal")
    provision(client, node["uuid"], "active", "active")
    assert client.put("/v1/nodes/dep/maintenance", json={"reason": "r"}).status_code == 202
    assert client.delete("/v1/nodes/dep/allocation").status_code == 204
    n = client.get("/v1/nodes/dep").json()
    assert n["allocation_uuid"] is None and n["instance_uuid"] is None
    assert client.get(f"/v1/allocations/{b['uuid']}").status_code == 404


def test_backfill_an_active_node(client, conductor):
    node = available_node(client, name="bf", traits=["CUSTOM_X"])
    instance = "5d1c7c44-3f0e-4a0c-9a1c-2b2b2b2b2b2b"
    patch = [{"op": "add", "path": "/instance_uuid", "value": instance}]
    assert client.patch("/v1/nodes/bf", json=patch).status_code == 200
    provision(client, node["uuid"], "active", "active")
    r = client.post("/v1/allocations", json={"node": "bf", "resource_class": "other"})
    assert r.status_code == 400 and "Cannot backfill an allocation for node" in error_of(r)
    r = client.post("/v1/allocations", json={"node": "bf", "traits": ["CUSTOM_Y"]})
    assert r.status_code == 400 and "does not match the requested traits" in error_of(r)
    assert client.get("/v1/allocations").json()["allocations"] == []

    a = allocate(client, node="bf", traits=["CUSTOM_X"])
    assert a["uuid"] == instance  # the node's instance uuid, as Ironic
    assert a["state"] == "active" and a["resource_class"] == "baremetal"
    assert a["node_uuid"] == node["uuid"]
    assert client.get("/v1/nodes/bf").json()["allocation_uuid"] == instance
    r = client.post("/v1/allocations", json={"node": "bf"})
    assert r.status_code == 409

    other = available_node(client, name="bf2")
    r = client.post("/v1/allocations", json={"node": other["uuid"]})
    assert r.status_code == 400 and 'Node must be in the "active" state' in error_of(r)


def _db_pairs(database_url: str) -> list[tuple[int, str]]:
    eng = sa.create_engine(database_url)
    try:
        with eng.connect() as conn:
            rows = conn.execute(
                sa.select(allocations.c.node_id, allocations.c.uuid).where(
                    allocations.c.node_id.is_not(None)
                )
            ).all()
            held = conn.execute(
                sa.select(nodes.c.id, nodes.c.allocation_uuid, nodes.c.instance_uuid).where(
                    nodes.c.allocation_uuid.is_not(None)
                )
            ).all()
    finally:
        eng.dispose()
    by_node = {node_id: uuid for node_id, uuid, _ in held}
    assert all(a == i for _, a, i in held)  # instance_uuid is the allocation's
    assert {n: u for n, u in rows} == by_node  # both sides agree
    return [(n, u) for n, u in rows]


def test_fifty_concurrent_allocations_for_twenty_nodes(database_url, tmp_path):
    """A real server process; 50 clients at once. Exactly 20 get a node, 30 get Ironic's
    error, and the database holds no node twice."""
    srv = start_server(tmp_path / "srv", env={"IRONWORKS_DATABASE_URL": database_url})
    try:
        h = {"X-OpenStack-Ironic-API-Version": "latest"}
        with httpx.Client(base_url=srv.url, headers=h, timeout=60) as c:
            for i in range(20):
                available_node(c, rc="race", traits=["CUSTOM_FAST"], name=f"r{i}")
            available_node(c, rc="race", name="slow")  # no trait: never chosen
            available_node(c, rc="other", traits=["CUSTOM_FAST"])  # other class

        results: list[dict] = []
        lock = threading.Lock()
        start = threading.Barrier(50)

        def one(i: int) -> None:
            with httpx.Client(base_url=srv.url, headers=h, timeout=120) as c:
                start.wait()
                r = c.post(
                    "/v1/allocations",
                    json={"resource_class": "race", "traits": ["CUSTOM_FAST"], "name": f"a{i}"},
                )
                with lock:
                    results.append({"status": r.status_code, **r.json()})

        threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [r["status"] for r in results] == [201] * 50
        active = [r for r in results if r["state"] == "active"]
        failed = [r for r in results if r["state"] == "error"]
        assert len(active) == 20 and len(failed) == 30
        assert len({r["node_uuid"] for r in active}) == 20
        for r in failed:
            assert r["last_error"].startswith(f"{FAIL_PREFIX} {r['uuid']}: ")
            assert r["node_uuid"] is None
        pairs = _db_pairs(database_url)
        assert len(pairs) == 20 and len({n for n, _ in pairs}) == 20
        assert {u for _, u in pairs} == {r["uuid"] for r in active}
    finally:
        stop_server(srv)


def test_pages_and_sorting(client):
    made = [allocate(client, resource_class="none", name=f"p{i}") for i in range(5)]
    r = client.get("/v1/allocations?limit=2&state=error")
    body = r.json()
    assert [a["uuid"] for a in body["allocations"]] == [m["uuid"] for m in made[:2]]
    assert "state=error" in body["next"] and f"marker={made[1]['uuid']}" in body["next"]
    nxt = body["next"].split("/v1/", 1)[1]
    assert [a["name"] for a in client.get(f"/v1/{nxt}").json()["allocations"]] == ["p2", "p3"]
    r = client.get("/v1/allocations?sort_key=name&sort_dir=desc&fields=name")
    assert [a["name"] for a in r.json()["allocations"]] == ["p4", "p3", "p2", "p1", "p0"]
    assert client.get("/v1/allocations?sort_key=traits").status_code == 400
    assert client.get("/v1/allocations?state=sleeping").status_code == 400
    assert client.get("/v1/allocations?marker=p1").status_code == 400
    assert client.get("/v1/allocations?fields=color").status_code == 400
