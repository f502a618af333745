"""A node's BIOS settings, firmware components and virtual media, and the RAID refusals, through
Ironic's v1 API on SQLite and PostgreSQL (fake-hardware for the working paths, ipmi for the
refusals)."""

from __future__ import annotations

import json

import pytest

from ironworks.db import bios as bios_db
from ironworks.db import firmware as firmware_db
from ironworks.db import nodes as node_db
from ironworks.drivers.fake import FAKE_BIOS_DEFAULTS, FAKE_VMEDIA
from tests.api.test_nodes import make_node, provision

V140 = {"X-OpenStack-Ironic-API-Version": "1.40"}
V174 = {"X-OpenStack-Ironic-API-Version": "1.74"}


def error_of(r) -> str:
    return json.loads(r.json()["error_message"])["faultstring"]


@pytest.fixture
def managed(client, conductor) -> str:
    """A fake-hardware node that went through verify: its BIOS and firmware are cached."""
    u = make_node(client, name="hw1")["uuid"]
    provision(client, u, "manage", "manageable")
    return u


def ipmi_node(client) -> str:
    info = {"ipmi_address": "127.0.0.1", "ipmi_username": "a", "ipmi_password": "b"}
    return make_node(client, driver="ipmi", driver_info=info)["uuid"]


def test_bios_list_is_the_cache_filled_by_verify(client, managed):
    r = client.get(f"/v1/nodes/{managed}/bios", headers=V140)
    assert r.status_code == 200, r.text
    got = r.json()["bios"]
    assert [s["name"] for s in got] == sorted(FAKE_BIOS_DEFAULTS)
    first = got[0]
    assert set(first) == {"name", "value", "created_at", "updated_at", "links"}
    assert first["links"][0]["href"].endswith(f"/v1/nodes/{managed}/bios/{first['name']}")
    assert {s["name"]: s["value"] for s in got}["Virtualization"] == "Enabled"
    # by name too
    assert client.get("/v1/nodes/hw1/bios", headers=V140).json() == r.json()


def test_bios_detail_and_fields_follow_the_version(client, managed):
    r = client.get(f"/v1/nodes/{managed}/bios?detail=true", headers=V174)
    assert r.status_code == 200, r.text
    virt = next(s for s in r.json()["bios"] if s["name"] == "Virtualization")
    assert virt["attribute_type"] == "Enumeration"
    assert virt["allowable_values"] == ["Enabled", "Disabled"]
    assert virt["reset_required"] is True and virt["upper_bound"] is None
    r = client.get(f"/v1/nodes/{managed}/bios?fields=name", headers=V174)
    assert r.status_code == 200 and set(r.json()["bios"][0]) == {"name", "links"}
    # before 1.74: neither detail nor fields
    assert client.get(f"/v1/nodes/{managed}/bios?detail=true", headers=V140).status_code == 406
    assert client.get(f"/v1/nodes/{managed}/bios?fields=name", headers=V140).status_code == 406
    r = client.get(f"/v1/nodes/{managed}/bios?detail=true&fields=name", headers=V174)
    assert r.status_code == 400 and "detail" in error_of(r)
    r = client.get(f"/v1/nodes/{managed}/bios?fields=colour", headers=V174)
    assert r.status_code == 400 and "colour" in error_of(r)
    r = client.get(f"/v1/nodes/{managed}/bios?colour=1", headers=V174)
    assert r.status_code == 400


def test_bios_setting_show_and_unknown_is_404(client, managed):
    r = client.get(f"/v1/nodes/{managed}/bios/NumCores", headers=V140)
    assert r.status_code == 200, r.text
    got = r.json()["NumCores"]
    assert got["value"] == "8" and "upper_bound" not in got
    r = client.get(f"/v1/nodes/{managed}/bios/NumCores", headers=V174)
    assert r.json()["NumCores"]["upper_bound"] == 64
    r = client.get(f"/v1/nodes/{managed}/bios/NoSuchThing", headers=V140)
    assert r.status_code == 404 and "NoSuchThing" in error_of(r)


def test_bios_needs_1_40(client, managed):
    r = client.get(f"/v1/nodes/{managed}/bios", headers={"X-OpenStack-Ironic-API-Version": "1.39"})
    assert r.status_code == 404 and "1.40" in error_of(r)


def test_bios_of_a_node_never_verified_is_empty(client):
    u = make_node(client)["uuid"]
    r = client.get(f"/v1/nodes/{u}/bios", headers=V140)
    assert r.status_code == 200 and r.json() == {"bios": []}


def test_firmware_components(client, managed):
    r = client.get(f"/v1/nodes/{managed}/firmware")
    assert r.status_code == 200, r.text
    got = {c["component"]: c for c in r.json()["firmware"]}
    assert set(got) == {"bios", "bmc"}
    assert got["bios"]["initial_version"] == got["bios"]["current_version"] == "1.0.0"
    assert got["bios"]["last_version_flashed"] is None and got["bios"]["created_at"]
    old = client.get(
        f"/v1/nodes/{managed}/firmware", headers={"X-OpenStack-Ironic-API-Version": "1.85"}
    )
    assert old.status_code == 404


def test_vmedia_attach_and_detach_on_fake(client, managed):
    body = {"device_type": "cdrom", "image_url": "http://127.0.0.1:9/boot.iso"}
    r = client.post(f"/v1/nodes/{managed}/vmedia", json=body)
    assert r.status_code == 204, r.text
    internal = client.get(f"/v1/nodes/{managed}").json()["driver_internal_info"]
    assert internal[FAKE_VMEDIA] == {"cdrom": "http://127.0.0.1:9/boot.iso"}
    r = client.request("DELETE", f"/v1/nodes/{managed}/vmedia", json={"device_types": "cdrom"})
    assert r.status_code == 204, r.text
    internal = client.get(f"/v1/nodes/{managed}").json()["driver_internal_info"]
    assert internal[FAKE_VMEDIA] == {}
    assert client.delete(f"/v1/nodes/{managed}/vmedia").status_code == 204  # nothing left: fine
    events = client.get(f"/v1/nodes/{managed}/history").json()["history"]
    assert any("Virtual media attached: cdrom" in e["event"] for e in events)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"device_type": "tape", "image_url": "http://x/y.iso"}, "device_type"),
        ({"device_type": "cdrom"}, "image_url"),
        ({"device_type": "cdrom", "image_url": "ftp://x/y.iso"}, "image_url"),
        ({"device_type": "cdrom", "image_url": "http://x/y", "colour": 1}, "colour"),
        (
            {"device_type": "cdrom", "image_url": "http://x/y", "image_download_source": "local"},
            "image_download_source",
        ),
    ],
)
def test_vmedia_bad_bodies_are_400_naming_the_field(client, managed, body, field):
    r = client.post(f"/v1/nodes/{managed}/vmedia", json=body)
    assert r.status_code == 400, r.text
    assert field in error_of(r)


def test_vmedia_bad_device_types_on_detach(client, managed):
    r = client.delete(f"/v1/nodes/{managed}/vmedia?device_types=cdrom,tape")
    assert r.status_code == 400 and "device_types" in error_of(r)


def test_vmedia_needs_1_89(client, managed):
    body = {"device_type": "cdrom", "image_url": "http://x/y.iso"}
    old = {"X-OpenStack-Ironic-API-Version": "1.88"}
    assert client.post(f"/v1/nodes/{managed}/vmedia", json=body, headers=old).status_code == 404


def test_ipmi_nodes_refuse_clearly(client):
    u = ipmi_node(client)
    for path in ("bios", "bios/BootMode", "firmware"):
        r = client.get(f"/v1/nodes/{u}/{path}")
        assert r.status_code == 400, (path, r.text)
        msg = error_of(r)
        assert "ipmi hardware type does not support" in msg and "redfish" in msg, msg
    body = {"device_type": "cdrom", "image_url": "http://x/y.iso"}
    r = client.post(f"/v1/nodes/{u}/vmedia", json=body)
    assert r.status_code == 400 and "ipmi hardware type does not support virtual media" in error_of(
        r
    )
    assert client.get(f"/v1/nodes/{u}").json()["reservation"] is None  # the lock went back
    r = client.put(
        f"/v1/nodes/{u}/states/raid", json={"logical_disks": [{"size_gb": 10, "raid_level": "1"}]}
    )
    assert r.status_code == 400
    assert "ipmi hardware type does not support RAID" in error_of(r)
    assert "setup utility" in error_of(r)


def test_raid_logical_disk_properties(client):
    r = client.get("/v1/drivers/fake-hardware/raid/logical_disk_properties")
    assert r.status_code == 200 and "raid_level" in r.json() and "size_gb" in r.json()
    for driver in ("ipmi", "redfish"):
        r = client.get(f"/v1/drivers/{driver}/raid/logical_disk_properties")
        assert r.status_code == 400, r.text
        assert f"the {driver} hardware type does not support RAID" in error_of(r)
    assert client.get("/v1/drivers/nope/raid/logical_disk_properties").status_code == 404


def test_cache_keeps_created_at_and_marks_changes(client, db):
    u = make_node(client)["uuid"]
    with db.write() as conn:
        node_id = node_db.get_node(conn, u)["id"]
        bios_db.replace(conn, node_id, [{"name": "A", "value": 1}, {"name": "B", "value": "x"}])
        firmware_db.record(conn, node_id, [{"component": "bios", "current_version": "1.0"}])
    with db.read() as conn:
        first = {s["name"]: s for s in bios_db.list_settings(conn, node_id)}
    with db.write() as conn:
        bios_db.replace(conn, node_id, [{"name": "A", "value": 1}, {"name": "C", "value": None}])
        firmware_db.record(
            conn,
            node_id,
            [{"component": "bios", "current_version": "1.1", "last_version_flashed": "1.1"}],
        )
    with db.read() as conn:
        after = {s["name"]: s for s in bios_db.list_settings(conn, node_id)}
        fw = firmware_db.list_components(conn, node_id)
    assert set(after) == {"A", "C"} and after["A"]["value"] == "1"
    assert after["A"]["created_at"] == first["A"]["created_at"] and after["A"]["updated_at"] is None
    assert fw[0]["initial_version"] == "1.0" and fw[0]["current_version"] == "1.1"
    assert fw[0]["last_version_flashed"] == "1.1" and fw[0]["updated_at"] is not None
