"""Volume connectors and targets changed by JSON patch with Ironic's rule (only while their node
is powered off, the other node too when one moves), their short and detailed lists, and
`?fields=` on every v1 resource that has it (chassis, volumes, conductors, drivers, nodes, ports,
portgroups, allocations), on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from tests.api.test_nodes import make_node
from tests.conftest import wait_for


def error_of(r) -> str:
    return json.loads(r.json()["error_message"])["faultstring"]


def power(client, uuid: str, target: str) -> None:
    r = client.put(f"/v1/nodes/{uuid}/states/power", json={"target": target})
    assert r.status_code == 202, r.text
    want = "power on" if target == "power on" else "power off"
    wait_for(lambda: client.get(f"/v1/nodes/{uuid}").json()["power_state"] == want)


def connector(client, node: str, cid: str = "iqn.2026-12.dev.ironworks:a") -> dict:
    r = client.post(
        "/v1/volume/connectors", json={"node_uuid": node, "type": "iqn", "connector_id": cid}
    )
    assert r.status_code == 201, r.text
    return r.json()


def target(client, node: str, index: int = 0, vid: str = "vol-a") -> dict:
    body = {"node_uuid": node, "volume_type": "iscsi", "boot_index": index, "volume_id": vid}
    r = client.post("/v1/volume/targets", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_patch_connectors_and_targets_only_while_powered_off(client, conductor):
    a = make_node(client, name="va")["uuid"]
    b = make_node(client, name="vb")["uuid"]
    c = connector(client, a)
    t = target(client, a)
    power(client, a, "power on")

    patch = [{"op": "replace", "path": "/connector_id", "value": "iqn.2026-12.dev.ironworks:b"}]
    r = client.patch(f"/v1/volume/connectors/{c['uuid']}", json=patch)
    assert r.status_code == 400 and "power on" in error_of(r)
    r = client.delete(f"/v1/volume/targets/{t['uuid']}")
    assert r.status_code == 400 and "volume target deletion" in error_of(r)

    power(client, a, "power off")
    r = client.patch(f"/v1/volume/connectors/{c['uuid']}", json=patch)
    assert r.status_code == 200, r.text
    assert r.json()["connector_id"] == "iqn.2026-12.dev.ironworks:b" and r.json()["updated_at"]
    extra = [{"op": "add", "path": "/extra/owner", "value": "ops"}]
    assert client.patch(f"/v1/volume/connectors/{c['uuid']}", json=extra).json()["extra"] == {
        "owner": "ops"
    }
    props = [
        {"op": "replace", "path": "/boot_index", "value": 3},
        {"op": "add", "path": "/properties/target_lun", "value": 1},
    ]
    got = client.patch(f"/v1/volume/targets/{t['uuid']}", json=props).json()
    assert got["boot_index"] == 3 and got["properties"] == {"target_lun": 1}

    # moving to another node: that node must be off too
    power(client, b, "power on")
    move = [{"op": "replace", "path": "/node_uuid", "value": b}]
    r = client.patch(f"/v1/volume/targets/{t['uuid']}", json=move)
    assert r.status_code == 400 and b in error_of(r)
    power(client, b, "power off")
    r = client.patch(f"/v1/volume/targets/{t['uuid']}", json=move)
    assert r.status_code == 200 and r.json()["node_uuid"] == b
    assert client.get(f"/v1/nodes/{b}/volume/targets").json()["targets"][0]["uuid"] == t["uuid"]

    # negative cases: unknown or read-only fields, wrong types, unknown node, a taken boot index
    for bad in (
        [{"op": "replace", "path": "/uuid", "value": "x"}],
        [{"op": "replace", "path": "/created_at", "value": "x"}],
        [{"op": "replace", "path": "/type", "value": 5}],
        [{"op": "remove", "path": "/connector_id"}],
        [{"op": "replace", "path": "/extra", "value": []}],
        [{"op": "replace", "path": "/node_uuid", "value": "no-such-node"}],
        [{"op": "remove", "path": "/nothing"}],
        {"op": "replace"},
    ):
        r = client.patch(f"/v1/volume/connectors/{c['uuid']}", json=bad)
        assert r.status_code == 400, (bad, r.text)
    target(client, b, index=0, vid="vol-b")
    clash = [{"op": "replace", "path": "/boot_index", "value": 0}]
    assert client.patch(f"/v1/volume/targets/{t['uuid']}", json=clash).status_code == 409
    assert client.patch("/v1/volume/targets/nope", json=clash).status_code == 404
    # the refused changes left the connector as it was
    got = client.get(f"/v1/volume/connectors/{c['uuid']}").json()
    assert got["connector_id"] == "iqn.2026-12.dev.ironworks:b" and got["node_uuid"] == a

    assert client.delete(f"/v1/volume/connectors/{c['uuid']}").status_code == 204


def test_volume_lists_short_detail_and_fields(client):
    a = make_node(client)["uuid"]
    c = connector(client, a)
    target(client, a)
    short = client.get("/v1/volume/connectors").json()["connectors"][0]
    assert set(short) == {"uuid", "node_uuid", "type", "connector_id", "links"}
    detail = client.get("/v1/volume/connectors?detail=True").json()["connectors"][0]
    assert {"extra", "created_at", "updated_at"} <= set(detail)
    assert client.get("/v1/volume/connectors/detail").json()["connectors"][0] == detail
    assert set(client.get("/v1/volume/targets").json()["targets"][0]) == {
        "uuid",
        "node_uuid",
        "volume_type",
        "boot_index",
        "volume_id",
        "links",
    }
    got = client.get(f"/v1/volume/connectors/{c['uuid']}?fields=uuid,extra").json()
    assert set(got) == {"uuid", "extra", "links"}
    listed = client.get(f"/v1/nodes/{a}/volume/targets?fields=volume_id").json()["targets"]
    assert set(listed[0]) == {"volume_id", "links"}
    assert client.get("/v1/volume/connectors?fields=bogus").status_code == 400
    assert client.get("/v1/volume/connectors?fields=uuid&detail=True").status_code == 400


def test_fields_on_every_resource(client, conductor):
    ch = client.post("/v1/chassis", json={"description": "rack 9"}).json()
    got = client.get(f"/v1/chassis/{ch['uuid']}?fields=description").json()
    assert set(got) == {"description", "links"}
    listed = client.get("/v1/chassis?fields=uuid").json()["chassis"]
    assert set(listed[0]) == {"uuid", "links"}

    cond = client.get("/v1/conductors?fields=hostname,drivers").json()["conductors"][0]
    assert set(cond) == {"hostname", "drivers", "links"}
    host = cond["hostname"]
    assert set(client.get(f"/v1/conductors/{host}?fields=alive").json()) == {"alive", "links"}
    assert client.get("/v1/conductors?fields=nope").status_code == 400
    assert client.get("/v1/conductors?fields=alive&detail=True").status_code == 400

    drv = client.get("/v1/drivers?fields=name,default_power_interface").json()["drivers"]
    assert all(set(d) == {"name", "default_power_interface", "links"} for d in drv)
    one = client.get("/v1/drivers/fake-hardware?fields=enabled_boot_interfaces").json()
    assert set(one) == {"enabled_boot_interfaces", "links"}
    assert client.get("/v1/drivers/fake-hardware?fields=nope").status_code == 400

    n = make_node(client, name="fields-1")
    shown = client.get("/v1/nodes/fields-1?fields=name,retired,instance_name").json()
    assert (
        {"name", "retired", "instance_name"}
        <= set(shown)
        <= {
            "name",
            "retired",
            "instance_name",
            "links",
        }
    )
    port = client.post(
        "/v1/ports", json={"node_uuid": n["uuid"], "address": "52:54:00:aa:bb:01"}
    ).json()
    assert "address" in client.get(f"/v1/ports/{port['uuid']}?fields=address").json()
