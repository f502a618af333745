"""The node API against Ironic's semantics, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from tests.conftest import wait_for


def make_node(client, **kw):
    body = {"driver": "fake-hardware", **kw}
    r = client.post("/v1/nodes", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def error_of(r) -> str:
    return json.loads(r.json()["error_message"])["faultstring"]


def test_create_shows_every_field_and_masks_passwords(client):
    n = make_node(
        client,
        name="alpha",
        driver_info={"fake_password": "s3cret", "fake_username": "admin"},
        properties={"cpus": 8},
    )
    assert n["provision_state"] == "enroll"
    assert n["driver_info"] == {"fake_password": "******", "fake_username": "admin"}
    assert n["properties"] == {"cpus": 8}
    assert len(n) >= 69
    assert n["links"][0]["href"].endswith(f"/v1/nodes/{n['uuid']}")
    r = client.get("/v1/nodes/alpha")
    assert r.json()["uuid"] == n["uuid"]
    assert "s3cret" not in r.text


def test_create_location_header(client):
    r = client.post("/v1/nodes", json={"driver": "fake-hardware"})
    assert r.headers["Location"].endswith(r.json()["uuid"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "driver"),
        ({"driver": "no-such"}, "driver"),
        ({"driver": "fake-hardware", "name": "bad name!"}, "name"),
        ({"driver": "fake-hardware", "properties": []}, "properties"),
        ({"driver": "fake-hardware", "bogus": 1}, "bogus"),
        ({"driver": "fake-hardware", "power_interface": "ipmitool"}, "power_interface"),
        (
            {"driver": "fake-hardware", "driver_info": {"fake_power_delay": "soon"}},
            "fake_power_delay",
        ),
        ({"driver": "fake-hardware", "uuid": "not-a-uuid"}, "uuid"),
    ],
)
def test_create_rejects_bad_input_naming_the_field(client, body, field):
    r = client.post("/v1/nodes", json=body)
    assert r.status_code == 400, r.text
    assert field in error_of(r)
    assert client.get("/v1/nodes").json()["nodes"] == []


def test_bad_json_is_400(client):
    r = client.post("/v1/nodes", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert "error_message" in r.json()


def test_duplicate_name_is_409(client):
    make_node(client, name="dup")
    r = client.post("/v1/nodes", json={"driver": "fake-hardware", "name": "dup"})
    assert r.status_code == 409
    assert "dup" in error_of(r)


def test_not_found(client):
    r = client.get("/v1/nodes/7a2f2a4e-0000-4000-8000-000000000000")
    assert r.status_code == 404
    assert "could not be found" in error_of(r)


def test_old_microversion_hides_new_fields_and_creates_available(client):
    h = {"X-OpenStack-Ironic-API-Version": "1.1"}
    r = client.post("/v1/nodes", json={"driver": "fake-hardware"}, headers=h)
    assert r.status_code == 201
    n = r.json()
    assert "name" not in n and "owner" not in n and "resource_class" not in n
    assert n["provision_state"] is None  # 'available' shown as None before 1.2
    assert client.get(f"/v1/nodes/{n['uuid']}").json()["provision_state"] == "available"


def test_unsupported_version_is_406(client):
    r = client.get("/v1/nodes", headers={"X-OpenStack-Ironic-API-Version": "1.500"})
    assert r.status_code == 406
    assert r.headers["X-OpenStack-Ironic-API-Maximum-Version"] == "1.115"


def test_field_newer_than_version_is_406(client):
    r = client.post(
        "/v1/nodes",
        json={"driver": "fake-hardware", "owner": "x"},
        headers={"X-OpenStack-Ironic-API-Version": "1.40"},
    )
    assert r.status_code == 406


def test_list_filters_fields_and_pagination(client):
    for i in range(7):
        make_node(client, name=f"n{i}", resource_class="gold" if i % 2 else "silver")
    body = client.get("/v1/nodes?limit=3").json()
    assert len(body["nodes"]) == 3
    assert set(body["nodes"][0]) == {
        "uuid",
        "name",
        "instance_uuid",
        "maintenance",
        "power_state",
        "provision_state",
        "links",
    }
    seen = [n["name"] for n in body["nodes"]]
    while "next" in body:
        body = client.get(body["next"].replace("http://testserver", "")).json()
        seen += [n["name"] for n in body["nodes"]]
    assert seen == [f"n{i}" for i in range(7)]
    gold = client.get("/v1/nodes/detail?resource_class=gold").json()["nodes"]
    assert {n["name"] for n in gold} == {"n1", "n3", "n5"}
    assert "driver_info" in gold[0]
    only = client.get("/v1/nodes?fields=uuid,resource_class&sort_key=name&sort_dir=desc").json()[
        "nodes"
    ]
    assert set(only[0]) == {"uuid", "resource_class", "links"}
    names = [client.get(f"/v1/nodes/{n['uuid']}").json()["name"] for n in only]
    assert names == sorted(names, reverse=True)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("sort_key=driver_info", 400),
        ("sort_dir=up", 400),
        ("limit=0", 400),
        ("fields=nope", 400),
        ("bogus=1", 400),
        ("provision_state=flying", 400),
        ("maintenance=perhaps", 400),
    ],
)
def test_list_bad_query(client, query, status):
    assert client.get(f"/v1/nodes?{query}").status_code == status


def test_patch(client):
    n = make_node(client, name="p1", driver_info={"fake_password": "x"})
    ops = [
        {"op": "replace", "path": "/name", "value": "p2"},
        {"op": "add", "path": "/properties/cpus", "value": 16},
        {"op": "add", "path": "/instance_info", "value": {"image_source": "http://x/img"}},
        {"op": "add", "path": "/extra/rack", "value": "r1"},
    ]
    r = client.patch(f"/v1/nodes/{n['uuid']}", json=ops)
    assert r.status_code == 200, r.text
    got = r.json()
    assert (
        got["name"] == "p2" and got["properties"]["cpus"] == 16 and got["extra"] == {"rack": "r1"}
    )
    assert got["driver_info"]["fake_password"] == "******"
    r = client.patch(f"/v1/nodes/{n['uuid']}", json=[{"op": "remove", "path": "/extra/rack"}])
    assert r.json()["extra"] == {}


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "replace", "path": "/provision_state", "value": "active"}],
        [{"op": "replace", "path": "/uuid", "value": "x"}],
        [{"op": "remove", "path": "/extra/missing"}],
        [{"op": "replace", "path": "/name", "value": "has space"}],
        [{"op": "replace", "path": "/properties", "value": "str"}],
        [{"op": "frobnicate", "path": "/name"}],
        [],
    ],
)
def test_patch_rejects(client, ops):
    n = make_node(client, name="keep")
    r = client.patch(f"/v1/nodes/{n['uuid']}", json=ops)
    assert r.status_code == 400, r.text
    assert client.get(f"/v1/nodes/{n['uuid']}").json()["name"] == "keep"


def test_provision_errors_name_state_and_allowed_verbs(client):
    n = make_node(client)
    r = client.put(f"/v1/nodes/{n['uuid']}/states/provision", json={"target": "active"})
    assert r.status_code == 409
    msg = error_of(r)
    assert '"enroll"' in msg and "manage" in msg
    r = client.put(f"/v1/nodes/{n['uuid']}/states/provision", json={"target": "fly"})
    assert r.status_code == 400
    r = client.put(f"/v1/nodes/{n['uuid']}/states/provision", json={"target": "manage", "x": 1})
    assert r.status_code == 400


def test_second_request_while_working_is_refused(client):
    n = make_node(client)  # no conductor in this test: the job waits in the queue
    assert (
        client.put(f"/v1/nodes/{n['uuid']}/states/provision", json={"target": "manage"}).status_code
        == 202
    )
    got = client.get(f"/v1/nodes/{n['uuid']}").json()
    assert got["provision_state"] == "verifying" and got["target_provision_state"] == "manageable"
    r = client.put(f"/v1/nodes/{n['uuid']}/states/provision", json={"target": "manage"})
    assert r.status_code == 409
    assert (
        client.put(f"/v1/nodes/{n['uuid']}/states/power", json={"target": "power on"}).status_code
        == 202
    )
    r = client.put(f"/v1/nodes/{n['uuid']}/states/power", json={"target": "power off"})
    assert r.status_code == 409


def provision(client, uuid, verb, target, **body):
    r = client.put(f"/v1/nodes/{uuid}/states/provision", json={"target": verb, **body})
    assert r.status_code == 202, r.text
    return wait_for(
        lambda: (
            (n := client.get(f"/v1/nodes/{uuid}").json())["provision_state"] == target
            and n["reservation"] is None
            and n["target_provision_state"] is None
            and n
        )
    )


def test_full_cycle_and_history(client, conductor):
    n = make_node(client)
    u = n["uuid"]
    provision(client, u, "manage", "manageable")
    provision(client, u, "inspect", "manageable")
    got = client.get(f"/v1/nodes/{u}").json()
    assert got["properties"]["cpu_arch"] == "x86_64" and got["inspection_finished_at"]
    provision(client, u, "provide", "available")
    done = provision(client, u, "active", "active", configdrive={"meta_data": {"hostname": "h1"}})
    assert done["power_state"] == "power on"
    assert done["instance_info"]["configdrive"] == "******"
    provision(client, u, "rebuild", "active")
    provision(client, u, "undeploy", "available")
    hist = client.get(f"/v1/nodes/{u}/history?detail=True").json()["history"]
    pairs = [(h["from_state"], h["state"]) for h in hist if h["event_type"] == "provisioning"]
    assert ("available", "deploying") in pairs and ("deploying", "active") in pairs
    assert ("deleting", "cleaning") in pairs and ("cleaning", "available") in pairs
    assert all(h["duration_seconds"] is not None for h in hist if h["from_state"])
    one = client.get(f"/v1/nodes/{u}/history/{hist[0]['uuid']}").json()
    assert one["uuid"] == hist[0]["uuid"]


def test_failures_land_in_the_documented_states_with_reasons(client, conductor):
    u = make_node(
        client, driver_info={"fake_power_fail": "BMC 10.0.0.5:623 rejected the credentials"}
    )["uuid"]
    client.put(f"/v1/nodes/{u}/states/provision", json={"target": "manage"})
    n = wait_for(
        lambda: (
            (n := client.get(f"/v1/nodes/{u}").json())["provision_state"] == "enroll"
            and n["last_error"]
            and n
        )
    )
    assert "rejected the credentials" in n["last_error"] and n["target_provision_state"] is None
    client.put(f"/v1/nodes/{u}/states/power", json={"target": "power on"})
    n = wait_for(
        lambda: (n := client.get(f"/v1/nodes/{u}").json())["target_power_state"] is None and n
    )
    assert n["power_state"] is None and "power on failed" in n["last_error"]
    client.patch(
        f"/v1/nodes/{u}",
        json=[
            {"op": "remove", "path": "/driver_info/fake_power_fail"},
            {"op": "add", "path": "/driver_info/fake_deploy_fail", "value": "disk gone"},
        ],
    )
    provision(client, u, "manage", "manageable")
    client.put(f"/v1/nodes/{u}/states/provision", json={"target": "provide"})
    n = wait_for(
        lambda: (
            (n := client.get(f"/v1/nodes/{u}").json())["provision_state"] == "clean failed" and n
        )
    )
    assert n["last_error"].startswith("cleaning failed: disk gone")
    hist = client.get(f"/v1/nodes/{u}/history?detail=True").json()["history"]
    assert any(h["severity"] == "ERROR" and "disk gone" in h["event"] for h in hist)
    provision(client, u, "manage", "manageable")


def test_power(client, conductor):
    n = make_node(client)
    u = n["uuid"]
    for target, expect in [
        ("power on", "power on"),
        ("rebooting", "power on"),
        ("power off", "power off"),
        ("soft rebooting", "power on"),
        ("soft power off", "power off"),
    ]:
        r = client.put(f"/v1/nodes/{u}/states/power", json={"target": target, "timeout": 30})
        assert r.status_code == 202, r.text
        wait_for(
            lambda e=expect: (
                (s := client.get(f"/v1/nodes/{u}/states").json())["power_state"] == e
                and s["target_power_state"] is None
            )
        )
    assert client.put(f"/v1/nodes/{u}/states/power", json={"target": "on"}).status_code == 400
    assert (
        client.put(
            f"/v1/nodes/{u}/states/power", json={"target": "power on", "timeout": 0}
        ).status_code
        == 400
    )


def test_maintenance(client):
    n = make_node(client)
    u = n["uuid"]
    assert client.put(f"/v1/nodes/{u}/maintenance", json={"reason": "fan"}).status_code == 202
    got = client.get(f"/v1/nodes/{u}").json()
    assert got["maintenance"] is True and got["maintenance_reason"] == "fan"
    assert [n["uuid"] for n in client.get("/v1/nodes?maintenance=true").json()["nodes"]] == [u]
    assert client.delete(f"/v1/nodes/{u}/maintenance").status_code == 202
    got = client.get(f"/v1/nodes/{u}").json()
    assert got["maintenance"] is False and got["maintenance_reason"] is None


def test_boot_device_nmi_validate_console_raid(client):
    u = make_node(client)["uuid"]
    assert (
        client.put(
            f"/v1/nodes/{u}/management/boot_device",
            json={"boot_device": "disk", "persistent": True},
        ).status_code
        == 204
    )
    assert client.get(f"/v1/nodes/{u}/management/boot_device").json() == {
        "boot_device": "disk",
        "persistent": True,
    }
    assert (
        "pxe"
        in client.get(f"/v1/nodes/{u}/management/boot_device/supported").json()[
            "supported_boot_devices"
        ]
    )
    assert (
        client.put(
            f"/v1/nodes/{u}/management/boot_device", json={"boot_device": "floppy"}
        ).status_code
        == 400
    )
    assert client.put(f"/v1/nodes/{u}/management/inject_nmi", json={}).status_code == 204
    val = client.get(f"/v1/nodes/{u}/validate").json()
    assert val["power"]["result"] is True and val["deploy"]["result"] is True
    assert client.put(f"/v1/nodes/{u}/states/console", json={"enabled": True}).status_code == 202
    assert client.get(f"/v1/nodes/{u}/states/console").json()["console_enabled"] is True
    raid = {"logical_disks": [{"size_gb": 100, "raid_level": "1", "is_root_volume": True}]}
    assert client.put(f"/v1/nodes/{u}/states/raid", json=raid).status_code == 204
    assert client.get(f"/v1/nodes/{u}").json()["target_raid_config"] == raid
    assert client.put(f"/v1/nodes/{u}/states/raid", json={"logical_disks": [{}]}).status_code == 400


def test_console_not_supported_is_clear(client):
    u = make_node(client, console_interface="no-console")["uuid"]
    r = client.put(f"/v1/nodes/{u}/states/console", json={"enabled": True})
    assert r.status_code == 400
    assert "does not support" in error_of(r)


def test_delete_rules(client, conductor):
    n = make_node(client)
    u = n["uuid"]
    provision(client, u, "manage", "manageable")
    provision(client, u, "provide", "available")
    provision(client, u, "active", "active")
    r = client.delete(f"/v1/nodes/{u}")
    assert r.status_code == 409 and '"active"' in error_of(r)
    provision(client, u, "deleted", "available")
    assert client.delete(f"/v1/nodes/{u}").status_code == 204
    assert client.get(f"/v1/nodes/{u}").status_code == 404


def test_request_id_on_every_response(client):
    for r in (client.get("/v1/nodes"), client.get("/v1/nodes/missing"), client.get("/nowhere")):
        assert r.headers["X-OpenStack-Request-Id"].startswith("req-")


def test_next_link_keeps_the_filters(client):
    for i in range(5):
        make_node(client, name=f"f{i}", resource_class="gold" if i % 2 == 0 else "silver")
    body = client.get("/v1/nodes?resource_class=gold&limit=1").json()
    seen = [n["name"] for n in body["nodes"]]
    while "next" in body:
        assert "resource_class=gold" in body["next"]
        body = client.get(body["next"].replace("http://testserver", "")).json()
        seen += [n["name"] for n in body["nodes"]]
    assert seen == ["f0", "f2", "f4"]


def test_protected_node_refuses_undeploy_and_delete(client, conductor):
    u = make_node(client)["uuid"]
    for verb, target in (("manage", "manageable"), ("provide", "available"), ("active", "active")):
        provision(client, u, verb, target)
    r = client.patch(
        f"/v1/nodes/{u}",
        json=[
            {"op": "replace", "path": "/protected", "value": True},
            {"op": "add", "path": "/protected_reason", "value": "prod db"},
        ],
    )
    assert r.status_code == 200 and r.json()["protected"] is True
    r = client.put(f"/v1/nodes/{u}/states/provision", json={"target": "deleted"})
    assert r.status_code == 403 and "protected" in error_of(r)
    client.put(f"/v1/nodes/{u}/maintenance", json={"reason": "x"})
    assert client.delete(f"/v1/nodes/{u}").status_code == 403
    client.patch(f"/v1/nodes/{u}", json=[{"op": "replace", "path": "/protected", "value": False}])
    client.delete(f"/v1/nodes/{u}/maintenance")
    provision(client, u, "deleted", "available")
