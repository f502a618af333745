"""BMC passwords at rest: sealed in the database, plain only in a driver's Task, masked in every
response and absent from every log line. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa

from ironworks.api.app import create_app
from ironworks.common.crypto import PREFIX, SecretBox, new_key
from ironworks.common.errors import SecretUndecryptable
from ironworks.db import nodes as node_db
from ironworks.db.schema import nodes
from ironworks.drivers.fake import FakePower
from ironworks.services import operations
from ironworks.services.context import Services
from tests.conftest import wait_for

SECRET = "Tr0ub4dor&3-s3cret"


def stored_info(services: Services, name: str) -> dict:
    with services.db.read() as conn:
        return conn.execute(sa.select(nodes.c.driver_info).where(nodes.c.name == name)).scalar()


def node_row(services: Services, name: str) -> dict:
    with services.db.read() as conn:
        return node_db.get_node(conn, name)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def test_create_and_patch_seal_secrets(client, services, logs):
    r = client.post(
        "/v1/nodes",
        json={
            "driver": "fake-hardware",
            "name": "n1",
            "driver_info": {
                "fake_password": SECRET,
                "fake_username": "admin",
                "console_password": "c-" + SECRET,
            },
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["driver_info"] == {
        "fake_password": "******",
        "fake_username": "admin",
        "console_password": "******",
    }
    info = stored_info(services, "n1")
    assert info["fake_password"].startswith(PREFIX) and info["console_password"].startswith(PREFIX)
    assert SECRET not in json.dumps(info) and info["fake_username"] == "admin"
    first = info["fake_password"]

    # a patch elsewhere in driver_info keeps the sealed value as it is
    r = client.patch(
        "/v1/nodes/n1",
        json=[{"op": "replace", "path": "/driver_info/fake_username", "value": "root"}],
    )
    assert r.status_code == 200, r.text
    assert stored_info(services, "n1")["fake_password"] == first
    # a new password is sealed too
    r = client.patch(
        "/v1/nodes/n1",
        json=[{"op": "add", "path": "/driver_info/fake_password", "value": "new-" + SECRET}],
    )
    sealed = stored_info(services, "n1")["fake_password"]
    assert sealed.startswith(PREFIX) and sealed != first
    task = operations.make_task(services, node_row(services, "n1"), "test")
    assert task.driver_info["fake_password"] == "new-" + SECRET
    assert task.driver_info["fake_username"] == "root"
    # the whole driver_info replaced
    client.patch(
        "/v1/nodes/n1",
        json=[{"op": "replace", "path": "/driver_info", "value": {"fake_password": SECRET}}],
    )
    assert stored_info(services, "n1")["fake_password"].startswith(PREFIX)

    for path in ("/v1/nodes/n1", "/v1/nodes/detail", "/v1/nodes?fields=driver_info"):
        assert SECRET not in client.get(path).text
    assert SECRET not in logs.text


def test_a_client_cannot_store_ciphertext_of_its_own(client, services):
    foreign = SecretBox(new_key()).encrypt("x")
    r = client.post(
        "/v1/nodes", json={"driver": "fake-hardware", "driver_info": {"fake_password": foreign}}
    )
    assert r.status_code == 400 and "driver_info/fake_password" in r.text
    node = client.post("/v1/nodes", json={"driver": "fake-hardware", "name": "n1"}).json()
    r = client.patch(
        f"/v1/nodes/{node['uuid']}",
        json=[{"op": "add", "path": "/driver_info/fake_password", "value": foreign}],
    )
    assert r.status_code == 400


def test_the_conductor_hands_the_driver_the_plain_password(
    client, services, conductor, logs, monkeypatch
):
    seen: list[str] = []
    original = FakePower.set_power_state

    def spy(self, task, state, timeout=None):
        seen.append(task.driver_info.get("fake_password"))
        return original(self, task, state, timeout)

    monkeypatch.setattr(FakePower, "set_power_state", spy)
    client.post(
        "/v1/nodes",
        json={"driver": "fake-hardware", "name": "n1", "driver_info": {"fake_password": SECRET}},
    )
    r = client.put("/v1/nodes/n1/states/power", json={"target": "power on"})
    assert r.status_code == 202
    wait_for(lambda: client.get("/v1/nodes/n1").json()["power_state"] == "power on")
    assert seen == [SECRET]
    # what the conductor wrote back is still sealed
    assert stored_info(services, "n1")["fake_password"].startswith(PREFIX)
    assert SECRET not in logs.text


def test_plaintext_rows_from_before_keep_working(client, services):
    node = client.post("/v1/nodes", json={"driver": "fake-hardware", "name": "old"}).json()
    with services.db.write() as conn:
        conn.execute(
            sa.update(nodes)
            .where(nodes.c.uuid == node["uuid"])
            .values(driver_info={"fake_password": "legacy-pw"})
        )
    task = operations.make_task(services, node_row(services, "old"), "test")
    assert task.driver_info["fake_password"] == "legacy-pw"
    assert client.get("/v1/nodes/old").json()["driver_info"]["fake_password"] == "******"
    assert client.get("/v1/nodes/old/validate").status_code == 200
    # the next write of driver_info seals it
    client.patch(
        "/v1/nodes/old", json=[{"op": "add", "path": "/driver_info/fake_username", "value": "a"}]
    )
    assert stored_info(services, "old")["fake_password"].startswith(PREFIX)


def test_a_wrong_key_is_a_clear_error_naming_the_setting(client, services, db, settings, logs):
    client.post(
        "/v1/nodes",
        json={"driver": "fake-hardware", "name": "n1", "driver_info": {"fake_password": SECRET}},
    )
    other = Services(db=db, settings=settings, secret_box=SecretBox(new_key()))
    with pytest.raises(SecretUndecryptable) as e:
        operations.validate(other, "n1")
    assert "secret_key" in e.value.message

    from starlette.testclient import TestClient

    with TestClient(create_app(other), base_url="http://testserver") as c:
        assert c.get("/v1/nodes/n1").status_code == 200  # reading the node needs no key
        r = c.get("/v1/nodes/n1/validate")
        assert r.status_code == 500
        assert "secret_key" in json.loads(r.json()["error_message"])["faultstring"]
    assert "Traceback" not in logs.text and SECRET not in logs.text


def test_what_is_masked_is_what_is_sealed_and_left_out_of_exports(client, services):
    """One rule (domain/nodes.py is_secret_key) for every driver_info key: a value shown as
    ****** is also encrypted at rest and empty in exports, and nothing else is. (A key named
    like a key, snmp_auth_key, was masked but stored and exported in plain text.)"""
    info = {
        "fake_password": "p-" + SECRET,
        "snmp_auth_key": "k-" + SECRET,
        "console_password": "c-" + SECRET,
        "fake_username": "admin",
        "fake_bmc_address": "10.0.0.9",
    }
    secrets = {"fake_password", "snmp_auth_key", "console_password"}
    r = client.post(
        "/v1/nodes", json={"driver": "fake-hardware", "name": "n1", "driver_info": info}
    )
    assert r.status_code == 201, r.text
    shown = r.json()["driver_info"]
    stored = stored_info(services, "n1")
    exported = client.get("/api/v1/nodes/export").text
    for key, value in info.items():
        secret = key in secrets
        assert (shown[key] == "******") == secret, key
        assert stored[key].startswith(PREFIX) == secret, key
        assert (value in exported) == (not secret), key


def test_json_patch_cannot_read_a_secret_out(client, services):
    """#15 item 9: copy, move and test read a value: from a secret they would echo or probe
    its ciphertext."""
    r = client.post(
        "/v1/nodes",
        json={"driver": "fake-hardware", "name": "n1", "driver_info": {"fake_password": SECRET}},
    )
    assert r.status_code == 201, r.text
    sealed = stored_info(services, "n1")["fake_password"]
    for op in (
        {"op": "copy", "from": "/driver_info/fake_password", "path": "/extra/x"},
        {"op": "move", "from": "/driver_info/fake_password", "path": "/extra/x"},
        {"op": "copy", "from": "/driver_info", "path": "/extra/x"},
        {"op": "test", "path": "/driver_info/fake_password", "value": sealed},
        {"op": "test", "path": "/driver_info", "value": {"fake_password": sealed}},
    ):
        r = client.patch("/v1/nodes/n1", json=[op])
        assert r.status_code == 400, (op, r.text)
        assert sealed not in r.text and "secret" in r.json()["error_message"]
    assert client.get("/v1/nodes/n1").json()["extra"] == {}
    # copying a value that is not secret still works
    r = client.patch(
        "/v1/nodes/n1",
        json=[
            {"op": "add", "path": "/driver_info/fake_username", "value": "admin"},
            {"op": "copy", "from": "/driver_info/fake_username", "path": "/extra/user"},
        ],
    )
    assert r.status_code == 200 and r.json()["extra"] == {"user": "admin"}
