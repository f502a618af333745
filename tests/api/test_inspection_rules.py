"""Inspection rules (`/v1/inspection_rules`, Ironic's API 1.96) on SQLite and PostgreSQL: create,
list (short and detailed), show, PATCH, delete, the version gate, the negative cases, and what
they do: an inspection of a fake-hardware node whose rules set its resource class from the CPU
model and add a trait, in the commit that ends the inspection, and a rule that fails it."""

from __future__ import annotations

import json

import pytest

from ironworks.drivers.fake import FAKE_CPU_MODEL
from tests.api.test_nodes import make_node, provision

OLD = {"X-OpenStack-Ironic-API-Version": "1.95"}
GOLD = {
    "description": "Xeon nodes are gold",
    "priority": 50,
    "conditions": [
        {"op": "contains", "args": {"value": "{inventory[cpu][model_name]}", "regex": "Xeon"}}
    ],
    "actions": [
        {"op": "set-attribute", "args": {"path": "/resource_class", "value": "gold"}},
        {"op": "add-trait", "args": {"name": "CUSTOM_XEON"}},
        {
            "op": "set-attribute",
            "args": {"path": "/properties/cpu_model", "value": "{inventory[cpu][model_name]}"},
        },
        {"op": "set-capability", "args": {"name": "cpu_vendor", "value": "intel"}},
    ],
}


def error_of(r) -> str:
    return json.loads(r.json()["error_message"])["faultstring"]


def create(client, **body):
    r = client.post("/v1/inspection_rules", json=body)
    assert r.status_code == 201, r.text
    assert r.headers["Location"].endswith(f"/v1/inspection_rules/{r.json()['uuid']}")
    return r.json()


def test_create_show_list_patch_delete(client):
    uuid = "5b1e4a5c-3f6f-4c39-9b8e-0a4f3f7a0c11"
    r = create(client, uuid=uuid.upper(), **GOLD)
    assert r["uuid"] == uuid and r["priority"] == 50 and r["phase"] == "main"
    assert r["sensitive"] is False and r["description"] == "Xeon nodes are gold"
    assert r["conditions"] == GOLD["conditions"] and r["actions"] == GOLD["actions"]
    assert r["created_at"] and r["updated_at"] is None
    assert r["links"][0]["href"].endswith(f"/v1/inspection_rules/{uuid}")

    other = create(client, actions=[{"op": "log", "args": {"msg": "seen {node.name}"}}])
    assert other["priority"] == 0 and other["conditions"] == []

    shown = client.get(f"/v1/inspection_rules/{uuid}").json()
    assert shown == {**r}
    assert set(client.get(f"/v1/inspection_rules/{uuid}?fields=uuid,priority").json()) == {
        "uuid",
        "priority",
        "links",
    }

    short = client.get("/v1/inspection_rules").json()["inspection_rules"]
    assert [x["uuid"] for x in short] == [uuid, other["uuid"]]
    assert "actions" not in short[0] and short[0]["description"] == GOLD["description"]
    detail = client.get("/v1/inspection_rules?detail=True").json()["inspection_rules"]
    assert detail[0]["actions"] == GOLD["actions"]
    assert len(client.get("/v1/inspection_rules?phase=main").json()["inspection_rules"]) == 2
    page = client.get("/v1/inspection_rules?limit=1").json()
    assert len(page["inspection_rules"]) == 1 and "marker=" in page["next"]
    by_prio = client.get("/v1/inspection_rules?sort_key=priority&sort_dir=desc").json()
    assert by_prio["inspection_rules"][0]["uuid"] == uuid

    patch = [
        {"op": "replace", "path": "/priority", "value": 70},
        {
            "op": "add",
            "path": "/actions/-",
            "value": {"op": "add-trait", "args": {"name": "CUSTOM_B"}},
        },
        {"op": "remove", "path": "/conditions/0"},
    ]
    r = client.patch(f"/v1/inspection_rules/{uuid}", json=patch)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["priority"] == 70 and got["conditions"] == [] and len(got["actions"]) == 5
    assert got["updated_at"]

    assert client.delete(f"/v1/inspection_rules/{uuid}").status_code == 204
    assert client.get(f"/v1/inspection_rules/{uuid}").status_code == 404
    assert client.delete("/v1/inspection_rules").status_code == 204
    assert client.get("/v1/inspection_rules").json()["inspection_rules"] == []


def test_version_gate(client):
    assert client.get("/v1/inspection_rules", headers=OLD).status_code == 404
    r = client.post("/v1/inspection_rules", json=GOLD, headers=OLD)
    assert r.status_code == 405
    assert "inspection_rules" in client.get("/v1/").json()


def test_sensitive_rules_hide_their_arguments(client):
    r = create(
        client,
        sensitive=True,
        actions=[{"op": "set-attribute", "args": {"path": "/extra/token", "value": "s3cret"}}],
    )
    assert r["actions"] == [{"op": "set-attribute", "args": {"path": "******", "value": "******"}}]
    assert "s3cret" not in client.get(f"/v1/inspection_rules/{r['uuid']}").text
    assert "s3cret" not in client.get("/v1/inspection_rules?detail=True").text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"actions": []}, "actions"),
        ({"actions": [{"op": "boom"}]}, "actions[0].op"),
        ({"actions": [{"op": "fail", "args": {"msg": "x"}}], "priority": 10000}, "priority"),
        ({"actions": [{"op": "fail", "args": {"msg": "x"}}], "phase": "late"}, "phase"),
        ({"actions": [{"op": "fail", "args": {"msg": "x"}}], "uuid": "nope"}, "uuid"),
        ({"actions": [{"op": "fail", "args": {"msg": "x"}}], "name": "x"}, "name"),
        (
            {"actions": [{"op": "set-attribute", "args": {"path": "/driver", "value": "ipmi"}}]},
            "actions[0].args",
        ),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_rules_are_400_naming_the_field(client, body, field):
    r = client.post("/v1/inspection_rules", json=body)
    assert r.status_code == 400, r.text
    assert field.lower() in error_of(r).lower()  # the message names the field
    assert client.get("/v1/inspection_rules").json()["inspection_rules"] == []


def test_negative_cases(client):
    r = create(client, **GOLD)
    again = client.post("/v1/inspection_rules", json={**GOLD, "uuid": r["uuid"]})
    assert again.status_code == 409 and r["uuid"] in error_of(again)
    assert client.get("/v1/inspection_rules/not-a-uuid").status_code == 404
    missing = "0b1e4a5c-3f6f-4c39-9b8e-0a4f3f7a0c11"
    assert client.get(f"/v1/inspection_rules/{missing}").status_code == 404
    assert client.delete(f"/v1/inspection_rules/{missing}").status_code == 404
    bad = [{"op": "replace", "path": "/uuid", "value": missing}]
    assert client.patch(f"/v1/inspection_rules/{r['uuid']}", json=bad).status_code == 400
    bad = [{"op": "replace", "path": "/actions", "value": []}]
    assert client.patch(f"/v1/inspection_rules/{r['uuid']}", json=bad).status_code == 400
    bad = [{"op": "remove", "path": "/nothing"}]
    assert client.patch(f"/v1/inspection_rules/{r['uuid']}", json=bad).status_code == 400
    assert client.get("/v1/inspection_rules?phase=late").status_code == 400
    assert client.get("/v1/inspection_rules?fields=uuid&detail=True").status_code == 400
    assert client.get("/v1/inspection_rules?fields=bogus").status_code == 400
    assert client.get("/v1/inspection_rules?marker=nope").status_code == 400
    assert client.get("/v1/inspection_rules?sort_key=actions").status_code == 400
    # the rule is unchanged by the refused patches
    assert client.get(f"/v1/inspection_rules/{r['uuid']}").json()["actions"] == GOLD["actions"]


def test_inspection_applies_rules_in_priority_order(client, conductor):
    create(client, **GOLD)
    create(  # runs first (higher priority); GOLD overrides its resource class
        client,
        priority=90,
        actions=[
            {"op": "set-attribute", "args": {"path": "/resource_class", "value": "plain"}},
            {"op": "add-trait", "args": {"name": "CUSTOM_SEEN"}},
        ],
    )
    create(  # never matches
        client,
        conditions=[
            {"op": "!contains", "args": {"value": "{inventory[cpu][model_name]}", "regex": "Xeon"}}
        ],
        actions=[{"op": "fail", "args": {"msg": "not a Xeon"}}],
    )
    u = make_node(client, name="insp-1")["uuid"]
    provision(client, u, "manage", "manageable")
    node = provision(client, u, "inspect", "manageable")
    assert node["resource_class"] == "gold"
    assert node["properties"]["cpu_model"] == FAKE_CPU_MODEL
    assert node["properties"]["cpus"] == 8  # what the inspection found is kept
    assert "cpu_vendor:intel" in node["properties"]["capabilities"]
    assert client.get(f"/v1/nodes/{u}/traits").json()["traits"] == ["CUSTOM_SEEN", "CUSTOM_XEON"]
    hist = client.get(f"/v1/nodes/{u}/history?detail=True").json()["history"]
    assert any("inspection rules applied" in h["event"] for h in hist)


def test_a_failing_rule_fails_the_inspection_with_its_message(client, conductor):
    create(
        client,
        conditions=[{"op": "gt", "args": {"values": ["{inventory[memory][physical_mb]}", 1024]}}],
        actions=[
            {"op": "set-attribute", "args": {"path": "/resource_class", "value": "never"}},
            {"op": "fail", "args": {"msg": "{node.name} has {inventory[memory][physical_mb]} MiB"}},
        ],
    )
    u = make_node(client, name="insp-2")["uuid"]
    provision(client, u, "manage", "manageable")
    node = provision(client, u, "inspect", "inspect failed")
    assert "insp-2 has 16384 MiB" in node["last_error"]
    assert node["resource_class"] is None  # nothing of a failed rule set is written
    assert node["inspection_finished_at"] is None
