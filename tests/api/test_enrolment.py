"""Batch enrolment over HTTP (`/api/v1/nodes/import|export`), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import logging

import openpyxl
import sqlalchemy as sa

from ironworks.api.native import uploads
from ironworks.db.schema import node_history, nodes, ports
from ironworks.services import imports, sheets
from ironworks.services.sheets import XLSX_MIME

HEADER = (
    "name,driver,bmc_address,bmc_port,bmc_username,bmc_password,macs,cpu_arch,"
    "resource_class,cpus,memory_mb,local_gb,property:rack,driver_info:fake_power_delay"
)


def row(i: int, **over: str) -> str:
    cells = {
        "name": f"n{i}",
        "driver": "fake-hardware",
        "bmc_address": f"10.0.0.{i}",
        "bmc_port": "",
        "bmc_username": "admin",
        "bmc_password": f"pw-{i}-s3cret",
        "macs": f"52:54:00:00:00:{i:02x};52:54:00:00:01:{i:02x}",
        "cpu_arch": "x86_64",
        "resource_class": "baremetal",
        "cpus": "8",
        "memory_mb": "16384",
        "local_gb": "100",
        "property:rack": "r1",
        "driver_info:fake_power_delay": "",
    }
    cells.update(over)
    return ",".join(cells.values())


def csv_file(*rows: str) -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode()


def post_csv(client, data: bytes, **params):
    return client.post(
        "/api/v1/nodes/import", content=data, params=params, headers={"Content-Type": "text/csv"}
    )


def counts(services) -> tuple[int, int, int]:
    with services.db.read() as conn:
        return tuple(
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
            for t in (nodes, ports, node_history)
        )


def test_csv_enrols_nodes_ports_history_and_seals_passwords(client, services, caplog):
    caplog.set_level(logging.DEBUG)
    r = post_csv(client, csv_file(row(1), row(2), row(3)))
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["errors"] == [] and report["skipped"] == 0
    assert [(c["row"], c["name"]) for c in report["created"]] == [(2, "n1"), (3, "n2"), (4, "n3")]
    assert counts(services) == (3, 6, 3)

    node = client.get("/v1/nodes/n2").json()
    assert node["provision_state"] == "enroll" and node["resource_class"] == "baremetal"
    assert node["driver_info"] == {
        "fake_bmc_address": "10.0.0.2",
        "fake_username": "admin",
        "fake_password": "******",
    }
    assert node["properties"] == {
        "cpu_arch": "x86_64",
        "cpus": 8,
        "memory_mb": 16384,
        "local_gb": 100,
        "rack": "r1",
    }
    assert node["power_interface"] == "fake"
    macs = {p["address"] for p in client.get("/v1/ports", params={"node": "n2"}).json()["ports"]}
    assert macs == {"52:54:00:00:00:02", "52:54:00:00:01:02"}
    history = client.get("/v1/nodes/n2/history").json()["history"]
    assert len(history) == 1 and "batch enrolment" in history[0]["event"]
    with services.db.read() as conn:
        stored = conn.execute(sa.select(nodes.c.driver_info).where(nodes.c.name == "n2")).scalar()
    assert stored["fake_password"].startswith("enc:v1:") and "s3cret" not in str(stored)
    assert "s3cret" not in r.text and "s3cret" not in client.get("/v1/nodes/detail").text
    assert "enrolled 3 node(s)" in caplog.text and "s3cret" not in caplog.text


def test_xlsx_as_multipart_upload(client, services):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(
        [
            "x1",
            "fake-hardware",
            "10.0.0.1",
            None,
            "admin",
            1234,
            "52:54:00:aa:00:01",
            "aarch64",
            "baremetal",
            64,
            262144,
            960,
            "r9",
            "0.1",
        ]
    )
    buf = io.BytesIO()
    book.save(buf)
    r = client.post(
        "/api/v1/nodes/import", files={"file": ("fleet.xlsx", buf.getvalue(), XLSX_MIME)}
    )
    assert r.status_code == 200, r.text
    assert [c["name"] for c in r.json()["created"]] == ["x1"]
    node = client.get("/v1/nodes/x1").json()
    assert node["properties"]["cpus"] == 64 and node["properties"]["cpu_arch"] == "aarch64"
    assert node["driver_info"]["fake_power_delay"] == "0.1"
    events = client.get("/v1/nodes/x1/history").json()["history"]
    assert "fleet.xlsx" in events[0]["event"]
    # raw XLSX body too
    r = client.post(
        "/api/v1/nodes/import", content=buf.getvalue(), headers={"Content-Type": XLSX_MIME}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["column"] == "name"
    # a raw body may name its file
    sheet["A2"] = "x2"
    sheet["G2"] = "52:54:00:aa:00:02"
    buf = io.BytesIO()
    book.save(buf)
    r = client.post(
        "/api/v1/nodes/import",
        content=buf.getvalue(),
        headers={
            "Content-Type": XLSX_MIME,
            "Content-Disposition": "attachment; filename*=UTF-8''%E6%9C%BA%E6%88%BF.xlsx",
        },
    )
    assert r.status_code == 200, r.text
    assert "机房.xlsx" in client.get("/v1/nodes/x2/history").json()["history"][0]["event"]


def test_an_invalid_file_enrols_nothing_and_lists_every_error(client, services):
    data = csv_file(
        row(1),
        row(2, macs="52:54:00:00:00:zz"),
        row(3, cpus="many"),
        row(4, name="n1"),
        row(5, driver="warp-drive"),
        row(6, **{"driver_info:fake_power_delay": "soon"}),
        row(7),
    )
    r = post_csv(client, data)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert "nothing was enrolled" in body["detail"]
    assert [(e["row"], e["column"]) for e in body["errors"]] == [
        (3, "macs"),
        (4, "cpus"),
        (5, "name"),
        (6, "driver"),
        (7, "driver_info:fake_power_delay"),
    ]
    assert counts(services) == (0, 0, 0)
    assert "s3cret" not in r.text


def test_names_and_macs_already_enrolled_are_errors(client, services):
    client.post("/v1/nodes", json={"driver": "fake-hardware", "name": "n2"})
    other = client.post("/v1/nodes", json={"driver": "fake-hardware", "name": "other"}).json()
    client.post("/v1/ports", json={"node_uuid": other["uuid"], "address": "52:54:00:00:00:03"})
    r = post_csv(client, csv_file(row(1), row(2), row(3)))
    assert r.status_code == 422
    assert [(e["row"], e["column"], e["message"]) for e in r.json()["errors"]] == [
        (3, "name", "a node named 'n2' already exists"),
        (4, "macs", "MAC 52:54:00:00:00:03 is already enrolled"),
    ]
    assert counts(services)[0] == 2


def test_skip_invalid_enrols_the_valid_rows_in_one_go(client, services):
    data = csv_file(row(1), row(2, cpus="-4"), row(3), row(4, bmc_address=""))
    r = post_csv(client, data, skip_invalid="true")
    assert r.status_code == 200, r.text
    report = r.json()
    assert [c["name"] for c in report["created"]] == ["n1", "n3"]
    assert report["skipped"] == 2
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(3, "cpus"), (5, "bmc_address")]
    assert counts(services) == (2, 4, 2)
    # every row invalid: nothing to do, still a report
    r = post_csv(client, csv_file(row(1), row(3)), skip_invalid="true")
    assert r.status_code == 200 and r.json()["created"] == [] and r.json()["skipped"] == 2


def test_file_level_errors_are_problems(client, services, monkeypatch):
    r = post_csv(client, b"name,driver,colour\r\nn1,fake-hardware,red\r\n", skip_invalid="true")
    assert r.status_code == 422
    cols = {(e["row"], e["column"]) for e in r.json()["errors"]}
    assert cols == {(1, "colour"), (1, "bmc_address")}
    r = client.post(
        "/api/v1/nodes/import", content=b"{}", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 415 and r.headers["content-type"] == "application/problem+json"
    r = client.post("/api/v1/nodes/import", content=b"", headers={"Content-Type": "text/csv"})
    assert r.status_code == 422 and "empty" in r.json()["detail"]
    form = b'--b\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n--b--\r\n'
    r = client.post(
        "/api/v1/nodes/import",
        content=form,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert r.status_code == 400 and r.json()["field"] == "file"
    r = post_csv(client, csv_file(row(1)), skip_invalid="perhaps")
    assert r.status_code == 400 and "skip_invalid" in r.json()["detail"]
    monkeypatch.setattr(uploads, "MAX_UPLOAD", 100)
    r = post_csv(client, csv_file(row(1)))
    assert r.status_code == 413 and "larger than" in r.json()["detail"]
    assert counts(services) == (0, 0, 0)


def test_export_round_trips_without_passwords(client, services):
    post_csv(client, csv_file(row(1), row(2)))
    client.post(
        "/v1/nodes",
        json={
            "driver": "fake-hardware",
            "name": "api-made",
            "driver_info": {"fake_password": "x", "fake_deploy_delay": 1},
            "properties": {"capabilities": {"boot_mode": "uefi"}},
        },
    )
    r = client.get("/api/v1/nodes/export")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["x-node-count"] == "3"
    assert "attachment" in r.headers["content-disposition"]
    text = r.text
    assert "s3cret" not in text and "enc:v1:" not in text
    lines = text.splitlines()
    assert lines[0].startswith("name,driver,bmc_address,bmc_port,bmc_username,bmc_password,macs")
    assert "property:capabilities" in lines[0] and "driver_info:fake_deploy_delay" in lines[0]
    assert lines[1].startswith("n1,fake-hardware,10.0.0.1,,admin,,52:54:00:00:00:01 ")

    for fmt in ("csv", "xlsx"):
        r = client.get("/api/v1/nodes/export", params={"format": fmt})
        assert r.status_code == 200
        checked = imports.check(sheets.read(r.content), ["fake-hardware"])
        # the node made through the API has no BMC address: the one required value missing
        assert [(e.row, e.column) for e in checked.errors] == [(4, "bmc_address")]
        assert [n.name for n in checked.nodes] == ["n1", "n2"]
        assert checked.nodes[0].driver_info == {
            "fake_bmc_address": "10.0.0.1",
            "fake_username": "admin",
        }
        assert checked.nodes[0].properties["rack"] == "r1"
    assert r.headers["content-type"] == XLSX_MIME
    r = client.get("/api/v1/nodes/export", params={"format": "pdf"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"


def test_the_lab_fleet_csv_enrols_as_printed(client, services):
    from ironworks.lab.fleet import FleetOptions, enrol_csv, make_specs

    specs = make_specs(FleetOptions(count=5, base_port=21000))
    r = post_csv(client, enrol_csv(specs, "secret").encode())
    assert r.status_code == 200, r.text
    node = client.get(f"/v1/nodes/{specs[0].name}").json()
    assert node["driver"] == "ipmi" and node["driver_info"]["ipmi_port"] in (21000, "21000")
    assert node["driver_info"]["ipmi_password"] == "******"


def test_dry_run_checks_everything_and_enrols_nothing(client, services):
    before = counts(services)
    r = post_csv(client, csv_file(row(1), row(2)), dry_run="true")
    assert r.status_code == 200, r.text
    assert r.json() == {"created": [], "errors": [], "skipped": 0, "valid": 2}
    assert counts(services) == before
    (event,) = client.get("/api/v1/audit-events", params={"limit": 1}).json()["audit_events"]
    assert (event["action"], event["detail"]) == ("node:import", "dry run")
    # the same errors as a real import, on their row and column, reported: nothing written
    r = post_csv(client, csv_file(row(1), row(2, cpus="many")), dry_run="true")
    assert r.status_code == 200, r.text
    report = r.json()
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(3, "cpus")]
    assert (report["valid"], report["skipped"], report["created"]) == (1, 1, [])
    assert counts(services) == before
    # a header the import cannot use: reported the same way
    r = post_csv(client, b"name,colour\r\nn1,red\r\n", dry_run="true")
    assert r.status_code == 200 and r.json()["errors"][0]["row"] == 1
    assert r.json()["valid"] == 0
    # a name already enrolled is the database's rule: the dry run finds it too
    assert post_csv(client, csv_file(row(1))).status_code == 200
    r = post_csv(client, csv_file(row(1)), dry_run="true")
    assert r.status_code == 200 and r.json()["errors"][0]["row"] == 2


def test_hardware_type_properties_say_required_and_secret(client):
    r = client.get("/api/v1/hardware-types/ipmi/properties")
    assert r.status_code == 200, r.text
    props = {p["name"]: p for p in r.json()["properties"]}
    assert props["ipmi_address"]["required"] and not props["ipmi_address"]["secret"]
    assert props["ipmi_password"]["secret"] and not props["ipmi_password"]["required"]
    assert client.get("/api/v1/hardware-types/nope/properties").status_code == 404
