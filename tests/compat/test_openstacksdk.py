"""openstacksdk's bare metal proxy against a live Ironworks.

The SDK is pointed at the bare endpoint with no Keystone, as in an Ironic standalone setup:
`openstack.connect(auth_type="none", baremetal_endpoint_override=url)`. It then discovers the
API version from `/` and `/v1/` (keystoneauth reads `min_version`/`version` there) and sends
`X-OpenStack-Ironic-API-Version` with each resource's own cap, so these tests also cover our
discovery documents. The SDK's wait loops poll every 2 s; the flows keep their number low.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import LiveServer

openstack = pytest.importorskip("openstack")
from openstack import exceptions  # noqa: E402

pytestmark = [
    pytest.mark.compat,
    # the SDK's notices about its own future releases, not about our API
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:openstack"),
]

WAIT = 30  # seconds; the fake hardware is instant, this only bounds a hang


@pytest.fixture
def bm(live_server: LiveServer) -> Iterator[Any]:
    conn = openstack.connect(
        auth_type="none",
        baremetal_endpoint_override=live_server.url,
        load_yaml_config=False,  # no clouds.yaml and no OS_* variables from the machine
        load_envvars=False,
    )
    yield conn.baremetal
    conn.close()


def test_discovery_finds_v1_and_its_microversions(live_server: LiveServer) -> None:
    # The other spelling: Connection(**kwargs), which reads no clouds.yaml and no OS_* variables
    # when no cloud is named.
    conn = openstack.connection.Connection(
        auth_type="none", baremetal_endpoint_override=live_server.url
    )
    data = conn.baremetal.get_endpoint_data()
    assert data.url.rstrip("/").endswith("/v1")
    assert data.min_microversion == (1, 1) and data.max_microversion == (1, 115)
    assert [d.name for d in conn.baremetal.drivers()] == ["fake-hardware", "ipmi", "redfish"]
    conn.close()


def test_inventory_nodes_ports_portgroups(bm: Any) -> None:
    node = bm.create_node(
        driver="fake-hardware",
        name="sdk-1",
        properties={"cpus": 2},
        driver_info={"fake_username": "admin", "fake_password": "s3cret"},
    )
    assert node.name == "sdk-1" and node.driver == "fake-hardware"
    assert node.provision_state == "enroll" and node.power_interface == "fake"
    assert node.driver_info == {"fake_username": "admin", "fake_password": "******"}

    group = bm.create_port_group(
        node_id=node.id, name="sdk-1-bond", address="52:54:00:00:30:00", mode="802.3ad"
    )
    assert group.node_id == node.id and group.name == "sdk-1-bond" and group.mode == "802.3ad"
    port = bm.create_port(
        node_id=node.id,
        address="52:54:00:00:30:01",
        port_group_id=group.id,
        physical_network="physnet1",
        local_link_connection={"switch_id": "00:11:22:33:44:55", "port_id": "Ethernet1/1"},
    )
    assert port.node_id == node.id and port.port_group_id == group.id
    assert port.physical_network == "physnet1" and port.is_pxe_enabled is True
    assert port.local_link_connection["port_id"] == "Ethernet1/1"
    loose = bm.create_port(node_id=node.id, address="52:54:00:00:30:02")

    detailed = list(bm.nodes(details=True))
    assert [(n.id, n.name, n.driver_info["fake_password"]) for n in detailed] == [
        (node.id, "sdk-1", "******")
    ]
    assert [(n.id, n.provision_state) for n in bm.nodes(provision_state="enroll")] == [
        (node.id, "enroll")
    ]
    assert bm.get_node("sdk-1").id == node.id
    assert bm.get_node(node.id, fields=["uuid", "name"]).name == "sdk-1"

    node = bm.patch_node(
        node,
        [
            {"op": "add", "path": "/extra/rack", "value": "r7"},
            {"op": "add", "path": "/driver_info/fake_bmc_address", "value": "10.0.0.9"},
        ],
    )
    assert node.extra == {"rack": "r7"} and node.driver_info["fake_bmc_address"] == "10.0.0.9"
    assert node.driver_info["fake_password"] == "******"
    node = bm.update_node(node, name="sdk-1b", properties={"cpus": 4, "memory_mb": 8192})
    assert node.name == "sdk-1b" and node.properties == {"cpus": 4, "memory_mb": 8192}
    node = bm.patch_node(
        node,
        [
            {"op": "remove", "path": "/extra/rack"},
            {"op": "remove", "path": "/properties/memory_mb"},
        ],
    )
    again = bm.get_node("sdk-1b")
    assert again.extra == {} and again.properties == {"cpus": 4}

    assert {p.address for p in bm.ports(node=node.id, details=True)} == {
        "52:54:00:00:30:01",
        "52:54:00:00:30:02",
    }
    assert [p.id for p in bm.ports(portgroup=group.id)] == [port.id]
    assert [g.id for g in bm.port_groups(node=node.id, details=True)] == [group.id]
    assert bm.update_port(port, extra={"cable": "c1"}).extra == {"cable": "c1"}
    assert bm.get_port_group("sdk-1-bond").id == group.id

    bm.delete_port(port)
    bm.delete_port(loose)
    bm.delete_port_group(group)
    assert list(bm.ports()) == [] and list(bm.port_groups()) == []
    bm.delete_node(node)
    with pytest.raises(exceptions.NotFoundException):
        bm.get_node(node.id)
    with pytest.raises(exceptions.NotFoundException):
        bm.find_node("sdk-1b", ignore_missing=False)


def test_power_and_provision_lifecycle(bm: Any) -> None:
    node = bm.create_node(driver="fake-hardware", name="sdk-life")

    bm.set_node_power_state(node, "power on", wait=True, timeout=WAIT)
    assert bm.get_node(node.id).power_state == "power on"
    bm.set_node_power_state(node, "power off", wait=True, timeout=WAIT)
    assert bm.get_node(node.id).power_state == "power off"
    bm.set_node_power_state(node, "rebooting", wait=True, timeout=WAIT)
    assert bm.get_node(node.id).power_state == "power on"

    got = bm.set_node_provision_state(node, "manage", wait=True, timeout=WAIT)
    assert got.provision_state == "manageable"
    got = bm.set_node_provision_state(node, "inspect", wait=True, timeout=WAIT)
    assert got.provision_state == "manageable"
    assert got.properties["cpu_arch"] == "x86_64" and got.properties["cpus"] > 0
    got = bm.set_node_provision_state(node, "provide", wait=True, timeout=WAIT)
    assert got.provision_state == "available"

    bm.update_node(node, instance_info={"image_source": "http://img.example/os.qcow2"})
    drive = {"meta_data": {"hostname": "web-1"}, "user_data": "#!/bin/sh\necho hi\n"}
    got = bm.set_node_provision_state(node, "active", config_drive=drive, wait=True, timeout=WAIT)
    assert got.provision_state == "active" and got.last_error is None
    assert got.power_state == "power on"
    assert got.instance_info == {
        "image_source": "http://img.example/os.qcow2",
        "configdrive": "******",
    }

    # OpenStack Ironic answers a rebuild with a 500 in a standalone setup; Ironworks rebuilds.
    got = bm.set_node_provision_state(node, "rebuild", config_drive=drive, wait=True, timeout=WAIT)
    assert got.provision_state == "active" and got.last_error is None

    got = bm.set_node_provision_state(node, "deleted", wait=True, timeout=WAIT)
    assert got.provision_state == "available" and got.instance_info == {}
    assert got.power_state == "power off"
    bm.delete_node(node)


def test_maintenance_boot_device_vifs_validate(bm: Any) -> None:
    node = bm.create_node(driver="fake-hardware", name="sdk-ops")
    port = bm.create_port(node_id=node.id, address="52:54:00:00:40:01")
    group = bm.create_port_group(node_id=node.id, address="52:54:00:00:40:00")

    bm.set_node_maintenance(node, reason="x")
    got = bm.get_node(node.id)
    assert got.is_maintenance is True and got.maintenance_reason == "x"
    assert [n.id for n in bm.nodes(maintenance=True)] == [node.id]
    # A 400 as in Ironic; the SDK would retry a 409 for 15 s and then raise ConflictException.
    with pytest.raises(exceptions.BadRequestException, match="maintenance"):
        bm.set_node_provision_state(node, "active")
    bm.unset_node_maintenance(node)
    got = bm.get_node(node.id)
    assert got.is_maintenance is False and got.maintenance_reason is None

    bm.set_node_boot_device(node, "pxe", persistent=True)
    assert bm.get_node_boot_device(node) == {"boot_device": "pxe", "persistent": True}
    assert "pxe" in bm.get_node_supported_boot_devices(node)["supported_boot_devices"]

    bm.attach_vif_to_node(node, "vif-a", port=port.id)
    bm.attach_vif_to_node(node, "vif-b", port_group=group.id)
    assert sorted(bm.list_node_vifs(node)) == ["vif-a", "vif-b"]
    assert bm.get_port(port.id).internal_info["tenant_vif_port_id"] == "vif-a"
    assert bm.get_port_group(group.id).internal_info["tenant_vif_port_id"] == "vif-b"
    bm.detach_vif_from_node(node, "vif-a")
    bm.detach_vif_from_node(node, "vif-b")
    assert bm.list_node_vifs(node) == []

    results = bm.validate_node(node, required=("boot", "deploy", "management", "power"))
    for iface in ("boot", "deploy", "management", "power"):
        assert results[iface].result is True, (iface, results[iface].reason)

    bm.delete_port(port)
    bm.delete_port_group(group)
    bm.delete_node(node)
    assert list(bm.nodes()) == []
