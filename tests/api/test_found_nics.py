"""NICs found by an inspection become ports (db/ports.add_found_nics), on both databases."""

from __future__ import annotations

import sqlalchemy as sa

from ironworks.db.ports import add_found_nics
from ironworks.db.schema import nodes, ports


def node_id(db, name):
    with db.read() as conn:
        return conn.execute(sa.select(nodes.c.id).where(nodes.c.name == name)).scalar_one()


def test_found_nics_become_ports_once(client, db):
    for name in ("a", "b"):
        assert (
            client.post("/v1/nodes", json={"name": name, "driver": "fake-hardware"}).status_code
            == 201
        )
    b = client.get("/v1/nodes/b").json()["uuid"]
    r = client.post("/v1/ports", json={"node_uuid": b, "address": "52:54:00:00:00:0b"})
    assert r.status_code == 201, r.text
    llc = {"switch_id": "aa:bb:cc:dd:ee:ff", "port_id": "Ethernet1/7"}
    nics = [
        {"address": "52:54:00:00:00:0A", "local_link_connection": llc},
        {"address": "52:54:00:00:00:0b"},
        {"address": "not-a-mac"},
        {"address": None},
    ]
    with db.write() as conn:
        found = add_found_nics(conn, node_id(db, "a"), nics)
    assert found.created == ["52:54:00:00:00:0a"]
    assert found.elsewhere == {"52:54:00:00:00:0b": b}
    assert found.invalid == ["not-a-mac", "None"]
    assert found.sentence() == (
        "found 4 NIC(s): 1 port(s) created; 0 already known; 52:54:00:00:00:0b is a port of node "
        f"{b}, not added; 'not-a-mac' is not a MAC address, ignored; 'None' is not a MAC "
        "address, ignored"
    )
    port = client.get("/v1/ports/detail", params={"address": "52:54:00:00:00:0a"}).json()["ports"][
        0
    ]
    assert port["local_link_connection"] == llc and port["pxe_enabled"] is True
    # again: nothing new; a known port without switch data gets it, one with data keeps it
    with db.write() as conn:
        conn.execute(
            sa.update(ports)
            .where(ports.c.address == "52:54:00:00:00:0a")
            .values(local_link_connection={})
        )
        again = add_found_nics(conn, node_id(db, "a"), nics[:1])
    assert (again.created, again.known) == ([], ["52:54:00:00:00:0a"])
    port = client.get("/v1/ports/detail", params={"address": "52:54:00:00:00:0a"}).json()["ports"][
        0
    ]
    assert port["local_link_connection"] == llc
