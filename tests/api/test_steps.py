"""Declared steps through the API on SQLite and PostgreSQL: manual cleaning with clean_steps,
deploy_steps, deploy templates matched by the instance's traits, runbooks, disable_ramdisk and
the refusals (an undeclared step, a missing argument, a bad name, a runbook the node may not
run)."""

from __future__ import annotations

import json

from tests.api.test_nodes import make_node, provision

OLD = {"X-OpenStack-Ironic-API-Version": "1.54"}


def error_of(r) -> str:
    return json.loads(r.json()["error_message"])["faultstring"]


def record(label, **kw):
    return {"interface": "deploy", "step": "record", "args": {"label": label, **kw}}


def manageable(client, traits=()):
    u = make_node(client)["uuid"]
    provision(client, u, "manage", "manageable")
    if traits:
        r = client.put(f"/v1/nodes/{u}/traits", json={"traits": list(traits)})
        assert r.status_code == 204, r.text
    return u


def internal(services, u):
    from ironworks.db import nodes as node_db

    with services.db.read() as conn:
        return node_db.get_node(conn, u)["driver_internal_info"]


def test_manual_clean_runs_declared_steps_in_order(client, conductor, services):
    u = manageable(client)
    steps = [
        record("one"),
        {"interface": "deploy", "step": "erase_devices_metadata"},
        record("two"),
    ]
    done = provision(client, u, "clean", "manageable", clean_steps=steps)
    assert done["clean_step"] == {} and done["last_error"] is None
    info = internal(services, u)
    assert info["fake_steps"] == ["one", "two"]
    assert "clean_steps" not in info and "clean_step_index" not in info


def test_manual_clean_refuses_an_undeclared_step_naming_it(client, conductor):
    u = manageable(client)
    r = client.put(
        f"/v1/nodes/{u}/states/provision",
        json={
            "target": "clean",
            "clean_steps": [record("x"), {"interface": "deploy", "step": "nope"}],
        },
    )
    assert r.status_code == 400
    msg = error_of(r)
    assert "deploy.nope" in msg and "deploy.erase_devices" in msg
    assert client.get(f"/v1/nodes/{u}").json()["provision_state"] == "manageable"


def test_step_arguments_are_checked_against_argsinfo(client, conductor):
    u = manageable(client)
    cases = [
        ({"interface": "deploy", "step": "record"}, "needs argument 'label'"),
        (record("x", colour="red"), "takes no argument 'colour'"),
        ({"interface": "deploy"}, "needs 'step'"),
        ({"interface": "deploy", "step": "record", "args": [1]}, "args must be a JSON object"),
    ]
    for step, text in cases:
        r = client.put(
            f"/v1/nodes/{u}/states/provision", json={"target": "clean", "clean_steps": [step]}
        )
        assert r.status_code == 400, r.text
        assert text in error_of(r)


def test_disable_ramdisk_only_with_steps_that_need_none(client, conductor, services):
    u = manageable(client)
    r = client.put(
        f"/v1/nodes/{u}/states/provision",
        json={
            "target": "clean",
            "disable_ramdisk": True,
            "clean_steps": [{"interface": "deploy", "step": "erase_devices"}],
        },
    )
    assert r.status_code == 400 and "disable_ramdisk" in error_of(r)
    old = {"X-OpenStack-Ironic-API-Version": "1.69"}
    r = client.put(
        f"/v1/nodes/{u}/states/provision",
        json={"target": "clean", "disable_ramdisk": True, "clean_steps": [record("a")]},
        headers=old,
    )
    assert r.status_code == 400 and "1.70" in error_of(r)
    provision(client, u, "clean", "manageable", disable_ramdisk=True, clean_steps=[record("a")])
    assert internal(services, u)["fake_steps"] == ["a"]


def test_service_verb_is_refused_clearly(client):
    u = make_node(client)["uuid"]
    r = client.put(
        f"/v1/nodes/{u}/states/provision", json={"target": "service", "service_steps": []}
    )
    assert r.status_code == 400 and "servicing" in error_of(r)


def test_a_waiting_step_shows_as_clean_step_and_resumes(client, conductor, services):
    from ironworks.db import jobs as job_db
    from ironworks.domain import states
    from tests.conftest import wait_for

    u = manageable(client)
    r = client.put(
        f"/v1/nodes/{u}/states/provision",
        json={"target": "clean", "clean_steps": [record("a"), record("b", wait=True), record("c")]},
    )
    assert r.status_code == 202
    n = wait_for(
        lambda: (
            (n := client.get(f"/v1/nodes/{u}").json())["provision_state"] == "clean wait"
            and n["reservation"] is None
            and n
        )
    )
    assert n["clean_step"]["step"] == "record" and n["clean_step"]["args"]["label"] == "b"
    assert internal(services, u)["fake_steps"] == ["a"]
    from ironworks.db import nodes as node_db

    with services.db.write() as conn:  # what the agent's heartbeat does (services/agent.py)
        node = node_db.get_node(conn, u)
        node_db.update_node(conn, node["id"], {"provision_state": states.CLEANING})
        job_db.enqueue(conn, node["id"], "provision", {"resume": True})
    job_db.wake()
    wait_for(lambda: client.get(f"/v1/nodes/{u}").json()["provision_state"] == "manageable")
    assert internal(services, u)["fake_steps"] == ["a", "b", "c"]


def test_deploy_steps_and_templates_run_at_deploy(client, conductor, services):
    t = client.post(
        "/v1/deploy_templates",
        json={"name": "CUSTOM_TUNED", "steps": [record("template", **{}) | {"priority": 50}]},
    )
    assert t.status_code == 201, t.text
    u = make_node(client)["uuid"]
    for verb, target in (("manage", "manageable"), ("provide", "available")):
        provision(client, u, verb, target)
    patch = [{"op": "add", "path": "/instance_info/traits", "value": ["CUSTOM_TUNED"]}]
    assert client.patch(f"/v1/nodes/{u}", json=patch).status_code == 200
    done = provision(client, u, "active", "active")
    assert done["deploy_step"] == {}
    assert internal(services, u)["fake_steps"] == ["template"]
    # the request's own step replaces the template's same step; priority 0 disables it
    provision(client, u, "rebuild", "active", deploy_steps=[record("first") | {"priority": 150}])
    assert internal(services, u)["fake_steps"] == ["template", "first"]
    provision(client, u, "rebuild", "active", deploy_steps=[record("x") | {"priority": 0}])
    assert internal(services, u)["fake_steps"] == ["template", "first"]
    r = client.put(
        f"/v1/nodes/{u}/states/provision",
        json={"target": "rebuild", "deploy_steps": [record("x")]},
    )
    assert r.status_code == 400 and "priority" in error_of(r)
    r = client.put(
        f"/v1/nodes/{u}/states/provision",
        json={"target": "rebuild", "deploy_steps": [record("x") | {"priority": 1}]},
        headers={"X-OpenStack-Ironic-API-Version": "1.68"},
    )
    assert r.status_code == 400 and "1.69" in error_of(r)


def test_deploy_template_crud_and_refusals(client):
    assert client.get("/v1/deploy_templates", headers=OLD).status_code == 404
    assert client.post("/v1/deploy_templates", json={}, headers=OLD).status_code == 405
    body = {"name": "CUSTOM_A", "steps": [record("a") | {"priority": 10}], "extra": {"k": 1}}
    t = client.post("/v1/deploy_templates", json=body).json()
    assert t["name"] == "CUSTOM_A" and t["steps"][0]["args"] == {"label": "a"}
    assert t["links"][0]["href"].endswith(f"/v1/deploy_templates/{t['uuid']}")
    listed = client.get("/v1/deploy_templates").json()["deploy_templates"]
    assert [set(x) for x in listed] == [{"uuid", "name", "links"}]
    detail = client.get("/v1/deploy_templates?detail=true").json()["deploy_templates"]
    assert detail[0]["steps"] == t["steps"]
    assert client.get("/v1/deploy_templates/CUSTOM_A").json()["uuid"] == t["uuid"]
    ops = [
        {"op": "replace", "path": "/name", "value": "CUSTOM_B"},
        {"op": "add", "path": "/extra/x", "value": "y"},
    ]
    p = client.patch(f"/v1/deploy_templates/{t['uuid']}", json=ops)
    assert p.status_code == 200, p.text
    assert p.json()["name"] == "CUSTOM_B" and p.json()["extra"] == {"k": 1, "x": "y"}
    refusals = [
        ({**body, "name": "lower_case"}, "name"),
        (
            {**body, "steps": [{"interface": "deploy", "step": "nope", "priority": 1}]},
            "deploy.nope",
        ),
        ({**body, "steps": [record("a")]}, "priority"),
        ({**body, "steps": []}, "steps"),
        ({**body, "colour": 1}, "colour"),
    ]
    for bad, text in refusals:
        r = client.post("/v1/deploy_templates", json=bad)
        assert r.status_code == 400, (bad, r.text)
        assert text in error_of(r)
    dup = client.post("/v1/deploy_templates", json={**body, "name": "CUSTOM_B"})
    assert dup.status_code == 409
    r = client.patch(
        f"/v1/deploy_templates/{t['uuid']}", json=[{"op": "replace", "path": "/uuid", "value": "x"}]
    )
    assert r.status_code == 400
    assert client.delete(f"/v1/deploy_templates/{t['uuid']}").status_code == 204
    assert client.get(f"/v1/deploy_templates/{t['uuid']}").status_code == 404


def test_runbook_crud_and_clean_with_a_runbook(client, conductor, services):
    assert (
        client.get("/v1/runbooks", headers={"X-OpenStack-Ironic-API-Version": "1.91"}).status_code
        == 404
    )
    steps = [record("second") | {"order": 2}, record("first") | {"order": 1}]
    b = client.post("/v1/runbooks", json={"name": "CUSTOM_RB", "steps": steps, "public": True})
    assert b.status_code == 201, b.text
    book = b.json()
    assert book["public"] is True and book["owner"] is None and book["disable_ramdisk"] is False
    r = client.post("/v1/runbooks", json={"name": "CUSTOM_X", "steps": [record("a")]})
    assert r.status_code == 400 and "order" in error_of(r)
    p = client.patch(
        f"/v1/runbooks/{book['uuid']}",
        json=[{"op": "replace", "path": "/extra", "value": {"a": 1}}],
    )
    assert p.status_code == 200 and p.json()["extra"] == {"a": 1}

    u = manageable(client)
    r = client.put(
        f"/v1/nodes/{u}/states/provision", json={"target": "clean", "runbook": "CUSTOM_RB"}
    )
    assert r.status_code == 400 and "trait CUSTOM_RB" in error_of(r)
    client.put(f"/v1/nodes/{u}/traits", json={"traits": ["CUSTOM_RB"]})
    r = client.put(
        f"/v1/nodes/{u}/states/provision", json={"target": "clean", "runbook": "CUSTOM_NONE"}
    )
    assert r.status_code == 400 and "could not be found" in error_of(r)
    provision(client, u, "clean", "manageable", runbook=book["uuid"])
    assert internal(services, u)["fake_steps"] == ["first", "second"]
    assert client.delete("/v1/runbooks/CUSTOM_RB").status_code == 204


def test_a_runbook_of_another_project_is_refused(client, conductor, services):
    steps = [record("x") | {"order": 1}]
    r = client.post("/v1/runbooks", json={"name": "CUSTOM_OWNED", "steps": steps, "owner": "p9"})
    assert r.status_code == 201, r.text
    r = client.post(
        "/v1/runbooks",
        json={"name": "CUSTOM_BOTH", "steps": steps, "owner": "p9", "public": True},
    )
    assert r.status_code == 400 and "public" in error_of(r)
    u = manageable(client, traits=["CUSTOM_OWNED"])
    body = {"target": "clean", "runbook": "CUSTOM_OWNED"}
    r = client.put(f"/v1/nodes/{u}/states/provision", json=body)
    assert r.status_code == 400 and "p9" in error_of(r)
    patch = [{"op": "add", "path": "/lessee", "value": "p9"}]
    assert client.patch(f"/v1/nodes/{u}", json=patch).status_code == 200
    provision(client, u, "clean", "manageable", runbook="CUSTOM_OWNED")
    assert internal(services, u)["fake_steps"] == ["x"]
