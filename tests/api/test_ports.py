"""Ports, portgroups and VIFs."""

from __future__ import annotations

import pytest

from tests.api.test_nodes import error_of, make_node


def test_port_crud(client):
    n = make_node(client)
    r = client.post(
        "/v1/ports",
        json={
            "node_uuid": n["uuid"],
            "address": "52:54:00:AB:CD:EF",
            "local_link_connection": {"switch_id": "aa:bb:cc:dd:ee:ff", "port_id": "Eth1/1"},
        },
    )
    assert r.status_code == 201, r.text
    p = r.json()
    assert (
        p["address"] == "52:54:00:ab:cd:ef"
        and p["node_uuid"] == n["uuid"]
        and p["pxe_enabled"] is True
    )
    assert client.get(f"/v1/ports/{p['uuid']}").json()["address"] == p["address"]
    assert [x["uuid"] for x in client.get(f"/v1/nodes/{n['uuid']}/ports").json()["ports"]] == [
        p["uuid"]
    ]
    assert client.get("/v1/ports?address=52:54:00:ab:cd:ef").json()["ports"][0]["uuid"] == p["uuid"]
    r = client.patch(
        f"/v1/ports/{p['uuid']}", json=[{"op": "replace", "path": "/pxe_enabled", "value": False}]
    )
    assert r.status_code == 200 and r.json()["pxe_enabled"] is False
    dup = client.post("/v1/ports", json={"node_uuid": n["uuid"], "address": "52:54:00:ab:cd:ef"})
    assert dup.status_code == 409 and "52:54:00:ab:cd:ef" in error_of(dup)
    assert client.delete(f"/v1/ports/{p['uuid']}").status_code == 204
    assert client.get(f"/v1/ports/{p['uuid']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"address": "zz"}, "address"),
        ({"address": "52:54:00:00:00:01", "node_uuid": "nope"}, "node"),
        ({"address": "52:54:00:00:00:01", "extra": []}, "extra"),
        ({"address": "52:54:00:00:00:01", "x": 1}, "x"),
    ],
)
def test_port_bad_input(client, body, field):
    n = make_node(client)
    r = client.post("/v1/ports", json={"node_uuid": n["uuid"], **body})
    assert r.status_code == 400 and field in error_of(r)
    assert client.get("/v1/ports").json()["ports"] == []


def test_ports_go_with_their_node(client):
    n = make_node(client)
    client.post("/v1/ports", json={"node_uuid": n["uuid"], "address": "52:54:00:00:00:02"})
    assert client.delete(f"/v1/nodes/{n['uuid']}").status_code == 204
    assert client.get("/v1/ports").json()["ports"] == []


def test_portgroup_and_bond_membership(client):
    n = make_node(client)
    r = client.post(
        "/v1/portgroups",
        json={
            "node_uuid": n["uuid"],
            "name": "bond0",
            "mode": "802.3ad",
            "address": "52:54:00:00:01:00",
        },
    )
    assert r.status_code == 201, r.text
    pg = r.json()
    assert pg["mode"] == "802.3ad"
    for mac in ("52:54:00:00:01:01", "52:54:00:00:01:02"):
        r = client.post(
            "/v1/ports", json={"node_uuid": n["uuid"], "address": mac, "portgroup_uuid": pg["uuid"]}
        )
        assert r.status_code == 201, r.text
    members = client.get(f"/v1/portgroups/{pg['uuid']}/ports").json()["ports"]
    assert len(members) == 2
    r = client.delete(f"/v1/portgroups/{pg['uuid']}")
    assert r.status_code == 409 and "2 port" in error_of(r)
    assert (
        client.post("/v1/portgroups", json={"node_uuid": n["uuid"], "mode": "bogus"}).status_code
        == 400
    )


def test_vifs_are_recorded_and_listed(client):
    n = make_node(client)
    u = n["uuid"]
    r = client.post(f"/v1/nodes/{u}/vifs", json={"id": "vif-1"})
    assert r.status_code == 400 and "not enough free" in error_of(r)
    client.post("/v1/ports", json={"node_uuid": u, "address": "52:54:00:00:02:01"})
    client.post("/v1/ports", json={"node_uuid": u, "address": "52:54:00:00:02:02"})
    assert client.post(f"/v1/nodes/{u}/vifs", json={"id": "vif-1"}).status_code == 204
    assert client.post(f"/v1/nodes/{u}/vifs", json={"id": "vif-2"}).status_code == 204
    assert client.post(f"/v1/nodes/{u}/vifs", json={"id": "vif-1"}).status_code == 409
    assert client.post(f"/v1/nodes/{u}/vifs", json={"id": "vif-3"}).status_code == 400
    assert sorted(v["id"] for v in client.get(f"/v1/nodes/{u}/vifs").json()["vifs"]) == [
        "vif-1",
        "vif-2",
    ]
    ports = client.get(f"/v1/nodes/{u}/ports/detail").json()["ports"]
    assert {p["internal_info"].get("tenant_vif_port_id") for p in ports} == {"vif-1", "vif-2"}
    assert client.delete(f"/v1/nodes/{u}/vifs/vif-1").status_code == 204
    assert client.delete(f"/v1/nodes/{u}/vifs/vif-1").status_code == 400
    assert [v["id"] for v in client.get(f"/v1/nodes/{u}/vifs").json()["vifs"]] == ["vif-2"]


def test_drivers_conductors_chassis(client, conductor):
    d = client.get("/v1/drivers").json()["drivers"]
    assert [x["name"] for x in d] == ["fake-hardware", "ipmi", "redfish"]
    assert d[0]["hosts"] == ["test-conductor"]
    detail = client.get("/v1/drivers/fake-hardware").json()
    assert (
        detail["default_power_interface"] == "fake"
        and "no-console" in detail["enabled_console_interfaces"]
    )
    props = client.get("/v1/drivers/fake-hardware/properties").json()
    assert "fake_password" in props and "fake_deploy_delay" in props
    assert client.get("/v1/drivers/nope").status_code == 404
    cs = client.get("/v1/conductors").json()["conductors"]
    assert cs[0]["hostname"] == "test-conductor" and cs[0]["alive"] is True
    ch = client.post("/v1/chassis", json={"description": "rack 7"}).json()
    n = make_node(client, chassis_uuid=ch["uuid"])
    assert n["chassis_uuid"] == ch["uuid"]
    assert client.delete(f"/v1/chassis/{ch['uuid']}").status_code == 409


def test_volume_connectors_and_targets(client):
    n = make_node(client)
    r = client.post(
        "/v1/volume/connectors",
        json={
            "node_uuid": n["uuid"],
            "type": "iqn",
            "connector_id": "iqn.2026-11.dev.ironworks:n1",
        },
    )
    assert r.status_code == 201, r.text
    r = client.post(
        "/v1/volume/targets",
        json={
            "node_uuid": n["uuid"],
            "volume_type": "iscsi",
            "boot_index": 0,
            "volume_id": "v-1",
            "properties": {},
        },
    )
    assert r.status_code == 201, r.text
    assert len(client.get(f"/v1/nodes/{n['uuid']}/volume/targets").json()["targets"]) == 1
    assert (
        client.post(
            "/v1/volume/targets",
            json={
                "node_uuid": n["uuid"],
                "volume_type": "iscsi",
                "boot_index": 0,
                "volume_id": "v-2",
            },
        ).status_code
        == 409
    )
