"""The `redfish` hardware type against sushy-tools' emulator over real HTTP on loopback.

One emulator serves the whole module (three fake systems, basic auth); each test uses its own
system, so the tests do not depend on each other's power or boot state. The API runs in-process
with a real conductor thread (fixtures `client` + `conductor`). The type is not in the
registry yet: it is registered here for the duration of each test.

Power changes in the emulator land 1-11 s after the request, so the tests that change power are
marked slow and make as few changes as they can.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("sushy", reason="the redfish hardware type needs sushy")
pytest.importorskip("sushy_tools", reason="sushy-tools provides the Redfish emulator")

from ironworks.common.errors import (
    BMCAuthFailed,
    BMCSettingInvalid,
    BMCUnreachable,
    DriverError,
    InvalidInput,
)
from ironworks.common.settings import Settings
from ironworks.drivers import registry
from ironworks.drivers.base import NICS_KEY, Task
from ironworks.drivers.redfish import (
    RedfishHardware,
    RedfishInspect,
    RedfishManagement,
    RedfishPower,
)
from tests.conftest import free_port, make_settings, wait_for
from tests.integration.redfish_emulator import (
    FakeSystem,
    RedfishEmulator,
    StaticRedfish,
    self_signed_certificate,
    server_mockup,
)

USER, PASSWORD = "admin", "s3cret-Redfish"
MACS = ("52:54:00:aa:bb:01", "52:54:00:aa:bb:02")
DISK = 120 * 2**30 + 12345


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedfishEmulator]:
    systems = [
        FakeSystem("power", power_state="Off", macs=MACS[:1], disk_bytes=DISK),
        FakeSystem("boot", power_state="On", macs=MACS[:1], disk_bytes=DISK),
        FakeSystem("inspect", power_state="Off", macs=MACS, disk_bytes=DISK),
    ]
    emu = RedfishEmulator(tmp_path_factory.mktemp("redfish"), systems, {USER: PASSWORD})
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture(autouse=True)
def redfish_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.HARDWARE_TYPES, RedfishHardware.name, RedfishHardware)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """conftest's settings with the redfish type enabled."""
    return make_settings(
        database_url,
        tmp_path,
        enabled_hardware_types=["fake-hardware", "redfish"],
        conductor={"hostname": "test-conductor", "poll_interval": 0.05, "periodic_interval": 3600},
        timeouts={"power_state_change": 30},
    )


def info(emu: RedfishEmulator, system: str | None, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "redfish_address": emu.url,
        "redfish_username": USER,
        "redfish_password": PASSWORD,
        "redfish_timeout": 10,
    }
    if system is not None:
        out["redfish_system_id"] = emu.systems[system].uuid
    out.update(kw)
    return out


def enroll(client: httpx.Client, driver_info: dict[str, Any]) -> str:
    r = client.post("/v1/nodes", json={"driver": "redfish", "driver_info": driver_info})
    assert r.status_code == 201, r.text
    return r.json()["uuid"]


def node(client: httpx.Client, uuid: str) -> dict[str, Any]:
    r = client.get(f"/v1/nodes/{uuid}")
    assert r.status_code == 200, r.text
    return r.json()


def provision(client: httpx.Client, uuid: str, verb: str, until: str, timeout: float = 60) -> dict:
    r = client.put(f"/v1/nodes/{uuid}/states/provision", json={"target": verb})
    assert r.status_code == 202, r.text
    wait_for(
        lambda: (
            node(client, uuid)["provision_state"] == until
            and node(client, uuid)["target_provision_state"] is None
        ),
        timeout=timeout,
        interval=0.1,
    )
    return node(client, uuid)


def power(client: httpx.Client, uuid: str, target: str) -> dict[str, Any]:
    r = client.put(f"/v1/nodes/{uuid}/states/power", json={"target": target})
    assert r.status_code == 202, r.text
    wait_for(lambda: node(client, uuid)["target_power_state"] is None, timeout=45, interval=0.2)
    return node(client, uuid)


def manage_fails(client: httpx.Client, driver_info: dict[str, Any], timeout: float = 30) -> str:
    uuid = enroll(client, driver_info)
    n = provision(client, uuid, "manage", "enroll", timeout=timeout)
    assert n["last_error"], n
    return n["last_error"]


# --- the lifecycle through the API and a live conductor ------------------------------------------


@pytest.mark.slow
def test_manage_then_power_follows_the_emulator(client, conductor, emulator):
    uuid = enroll(client, info(emulator, "power"))
    n = provision(client, uuid, "manage", "manageable")
    assert n["last_error"] is None
    assert n["power_state"] == {"On": "power on", "Off": "power off"}[emulator.power_state("power")]
    # already off (or left on by an earlier failed run): a no-op, or one change to start clean
    n = power(client, uuid, "power off")
    assert (n["power_state"], n["last_error"]) == ("power off", None)
    assert emulator.power_state("power") == "Off"

    n = power(client, uuid, "power on")
    assert (n["power_state"], n["last_error"]) == ("power on", None)
    assert emulator.power_state("power") == "On"

    # the emulator turns the system off at once and back on 1-11 s later: verification waits
    n = power(client, uuid, "rebooting")
    assert (n["power_state"], n["last_error"]) == ("power on", None)
    assert emulator.power_state("power") == "On"

    n = power(client, uuid, "power off")
    assert (n["power_state"], n["last_error"]) == ("power off", None)
    assert emulator.power_state("power") == "Off"


def test_boot_device_persistent_and_once(client, emulator):
    uuid = enroll(client, info(emulator, "boot"))
    base = f"/v1/nodes/{uuid}/management/boot_device"
    supported = client.get(f"{base}/supported").json()["supported_boot_devices"]
    assert {"pxe", "disk", "cdrom", "bios"} <= set(supported)

    r = client.put(base, json={"boot_device": "pxe", "persistent": True})
    assert r.status_code == 204, r.text
    assert emulator.boot_target("boot") == "Pxe"
    assert client.get(base).json() == {"boot_device": "pxe", "persistent": True}

    r = client.put(base, json={"boot_device": "disk", "persistent": False})
    assert r.status_code == 204, r.text
    assert emulator.boot_target("boot") == "Hdd"
    # the emulator keeps every override Continuous (docs/lab.md, "BMC emulation"), so only the
    # device is asserted
    assert client.get(base).json()["boot_device"] == "disk"

    r = client.put(base, json={"boot_device": "cdrom", "persistent": True})
    assert r.status_code == 204, r.text
    assert emulator.boot_target("boot") == "Cd"

    # the emulator's system does not list BiosSetup among its boot targets: refused, with why
    r = client.put(base, json={"boot_device": "bios", "persistent": False})
    assert r.status_code == 400, r.text
    assert "does not offer boot device 'bios'" in r.text and "pxe" in r.text
    assert emulator.boot_target("boot") == "Cd"


def test_sensors_and_nmi(client, emulator):
    uuid = enroll(client, info(emulator, "boot"))
    r = client.get(f"/v1/nodes/{uuid}/management/sensors")
    assert r.status_code == 200, r.text
    temps = r.json()["Temperature"]
    assert any(k.startswith("Chassis Intake Temp@") for k in temps), temps
    assert all(v["Sensor Reading"].endswith("degrees C") for v in temps.values())

    # the emulator lists Nmi but its fake driver answers 501: reported as not supported
    r = client.put(f"/v1/nodes/{uuid}/management/inject_nmi", json={})
    assert r.status_code == 400, r.text
    assert "does not support injecting an NMI" in r.text


def test_inspect_fills_properties_and_macs(client, conductor, emulator):
    uuid = enroll(client, info(emulator, "inspect"))
    provision(client, uuid, "manage", "manageable")
    n = provision(client, uuid, "inspect", "manageable")
    assert n["last_error"] is None
    props = n["properties"]
    assert props["local_gb"] == 120 and NICS_KEY not in props
    # the NICs became ports of the node, and saying so is in its history
    got = client.get("/v1/ports", params={"node": uuid}).json()["ports"]
    assert sorted(p["address"] for p in got) == sorted(m.lower() for m in MACS)
    events = client.get(f"/v1/nodes/{uuid}/history").json()["history"]
    assert events[-1]["event"] == (
        f"inspecting -> manageable: found {len(MACS)} NIC(s): {len(MACS)} port(s) created; "
        "0 already known"
    )
    # inspecting again creates nothing twice
    provision(client, uuid, "inspect", "manageable")
    again = client.get("/v1/ports", params={"node": uuid}).json()["ports"]
    assert len(again) == len(MACS)
    # this emulator publishes no processors or memory: those keys stay unset, not invented
    assert "cpus" not in props and "memory_mb" not in props


# --- failures an operator must be able to act on -------------------------------------------------


def test_wrong_password_names_service_and_user(client, conductor, emulator):
    error = manage_fails(client, info(emulator, "power", redfish_password="wrong"))
    assert f"Redfish service {emulator.url} rejected the credentials for user {USER}" in error
    assert "wrong" not in error  # the password never appears


def test_unreachable_service_is_said_so(client, conductor):
    port = free_port()  # nothing listens there
    error = manage_fails(
        client, {"redfish_address": f"http://127.0.0.1:{port}", "redfish_timeout": 3}
    )
    assert re.search(
        rf"no answer from Redfish service http://127\.0\.0\.1:{port} within 3 s "
        r"\(3 tries; last: connection refused\)",
        error,
    ), error


def test_wrong_system_id_names_the_ids_that_exist(client, conductor, emulator):
    error = manage_fails(client, info(emulator, None, redfish_system_id="no-such-system"))
    assert "has no system 'no-such-system'" in error
    assert all(s.uuid in error for s in emulator.systems.values()), error


def test_several_systems_need_a_system_id(client, conductor, emulator):
    error = manage_fails(client, info(emulator, None))
    assert "manages 3 systems" in error and "redfish_system_id" in error


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("redfish_address", "ftp://10.0.0.5"),
        ("redfish_address", "10.0.0.5:99999"),
        ("redfish_address", "https://admin:pw@10.0.0.5"),
        ("redfish_verify_ca", "maybe"),
        ("redfish_auth_type", "kerberos"),
        ("redfish_timeout", "-1"),
        ("redfish_system_id", "has space"),
    ],
)
def test_malformed_driver_info_is_refused_on_create(client, key, value):
    r = client.post(
        "/v1/nodes",
        json={"driver": "redfish", "driver_info": {"redfish_address": "10.0.0.5", key: value}},
    )
    assert r.status_code == 400, r.text
    assert f"driver_info/{key}" in r.text


def test_properties_are_declared(client):
    props = client.get("/v1/drivers/redfish/properties").json()
    assert "Required." in props["redfish_address"]
    for key in (
        "redfish_system_id",
        "redfish_username",
        "redfish_password",
        "redfish_verify_ca",
        "redfish_auth_type",
        "redfish_timeout",
    ):
        assert key in props
    # the serial console is IPMI SOL (most Redfish BMCs answer IPMI too): optional ipmi_* keys
    assert "ipmi_address" in props and "Required." not in props["ipmi_address"]
    assert RedfishHardware.secret_keys() == {"redfish_password", "ipmi_password"}


# --- driver calls the API does not expose yet ---------------------------------------------------


def _task(emu: RedfishEmulator, system: str, **kw: Any) -> Task:
    return Task(node={"uuid": "direct", "driver_info": info(emu, system, **kw)}, purpose="test")


def test_boot_mode_reads_and_changes(emulator):
    mgmt, task = RedfishManagement(), _task(emulator, "boot")
    assert mgmt.get_boot_mode(task) == "uefi"
    mgmt.set_boot_mode(task, "bios")
    assert mgmt.get_boot_mode(task) == "bios"
    assert emulator.system("boot")["Boot"]["BootSourceOverrideMode"] == "Legacy"
    mgmt.set_boot_mode(task, "uefi")
    assert mgmt.get_boot_mode(task) == "uefi"
    with pytest.raises(InvalidInput):
        mgmt.set_boot_mode(task, "coreboot")


def test_auth_types(emulator):
    for auth in ("basic", "auto"):  # auto: no session service here, so it falls back to basic
        state = RedfishPower().get_power_state(_task(emulator, "boot", redfish_auth_type=auth))
        assert state in ("power on", "power off")
    # sessions only: the emulator answers the session POST with 401, and that is what we say
    with pytest.raises(BMCAuthFailed, match="rejected the credentials for user admin"):
        RedfishPower().get_power_state(_task(emulator, "boot", redfish_auth_type="session"))
    task = _task(emulator, "boot", redfish_username="", redfish_password="")
    with pytest.raises(BMCAuthFailed, match="refused a request without credentials"):
        RedfishPower().get_power_state(task)


# --- a static Redfish service: what the emulator does not publish, and misbehaving BMCs ----------


def _static_task(svc: StaticRedfish, **kw: Any) -> Task:
    driver_info = {
        "redfish_address": svc.url,
        "redfish_username": USER,
        "redfish_password": PASSWORD,
        "redfish_auth_type": "basic",
        **kw,
    }
    return Task(node={"uuid": "direct", "driver_info": driver_info, "properties": {}}, purpose="t")


def test_inspection_reads_processors_memory_disks_and_nics():
    with StaticRedfish(server_mockup()) as svc:
        task = _static_task(svc)
        result, props = RedfishInspect().inspect_hardware(task)
        assert result == "done"
        assert props == {
            "cpus": 32,
            "cpu_arch": "x86_64",
            "memory_mb": 65536,
            "local_gb": 1_920_383_410_176 // 2**30,
            NICS_KEY: [{"address": "b8:ce:f6:00:00:01"}, {"address": "b8:ce:f6:00:00:02"}],
        }
        # what the operator set is kept; the NICs are always the ones found
        task.node["properties"] = {"cpus": 8, NICS_KEY: [{"address": "00:00:00:00:00:01"}]}
        _, props = RedfishInspect().inspect_hardware(task)
        assert props["cpus"] == 8 and props["memory_mb"] == 65536
        assert [n["address"] for n in props[NICS_KEY]] == ["b8:ce:f6:00:00:01", "b8:ce:f6:00:00:02"]


def test_sensors_from_thermal_and_power():
    with StaticRedfish(server_mockup()) as svc:
        sensors = RedfishManagement().get_sensors_data(_static_task(svc))
    assert sensors["Temperature"]["CPU1 Temp@1U"]["Sensor Reading"] == "52 degrees C"
    assert sensors["Fan"]["Fan1@1U"]["Sensor Reading"] == "7200 RPM"
    assert sensors["Power"]["PSU1@1U"]["Sensor Reading"] == "231 W"
    assert sensors["Voltage"]["12V@1U"]["Sensor Reading"] == "12.1 Volts"


def test_power_change_that_never_lands_fails_with_the_state_read():
    with StaticRedfish(server_mockup()) as svc, pytest.raises(DriverError) as e:
        svc.apply_resets = False  # accepts the reset, stays on forever
        RedfishPower().set_power_state(_static_task(svc), "power off", timeout=2)
    assert e.type is DriverError
    assert "still reads power on after 2 s" in e.value.message


def test_slow_service_is_unreachable_after_its_budget():
    with StaticRedfish(server_mockup()) as svc:
        svc.delay = 3.0
        started = time.monotonic()
        with pytest.raises(BMCUnreachable) as e:
            RedfishPower().get_power_state(_static_task(svc, redfish_timeout=1.5))
        elapsed = time.monotonic() - started
    assert e.value.message.startswith(
        f"no answer from Redfish service {svc.url} within 1.5 s (3 tries; last: timed out) "
        "while reading the power state; check driver_info redfish_address"
    )
    assert elapsed < 3.0


def test_busy_service_is_retried_then_unreachable():
    with StaticRedfish(server_mockup()) as svc:
        svc.status = 503
        with pytest.raises(BMCUnreachable) as e:
            RedfishPower().get_power_state(_static_task(svc, redfish_timeout=5))
    assert "(3 tries; last: HTTP 503)" in e.value.message


def test_soft_power_off_and_soft_reboot_without_graceful_restart():
    with StaticRedfish(server_mockup()) as svc:
        task, power = _static_task(svc), RedfishPower()
        # this BMC offers GracefulShutdown but no GracefulRestart: shut down, then power on
        assert power.reboot(task, timeout=10, soft=True) == "power on"
        assert svc.resets == ["GracefulShutdown", "On"]
        assert power.set_power_state(task, "soft power off", timeout=10) == "power off"
        assert power.set_power_state(task, "power off", timeout=10) == "power off"
        assert svc.resets == ["GracefulShutdown", "On", "GracefulShutdown"]  # off already: no-op
        RedfishManagement().inject_nmi(task)
        assert svc.resets[-1] == "Nmi"


def test_tls_verification(tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    with StaticRedfish(server_mockup(), tls=(cert, key)) as svc:
        power = RedfishPower()
        with pytest.raises(BMCSettingInvalid) as e:  # verify is on by default
            power.get_power_state(_static_task(svc))
        assert e.value.field == "driver_info/redfish_verify_ca"
        assert f"TLS certificate of Redfish service {svc.url} could not be verified" in str(e.value)
        assert power.get_power_state(_static_task(svc, redfish_verify_ca=str(cert))) == "power on"
        assert power.get_power_state(_static_task(svc, redfish_verify_ca="false")) == "power on"
        with pytest.raises(InvalidInput, match="driver_info/redfish_verify_ca"):
            power.get_power_state(_static_task(svc, redfish_verify_ca=str(tmp_path / "nope.pem")))


def test_health_reads_thresholds_and_the_event_log():
    """The sensor cycle's read: Thermal/Power with the BMC's thresholds and health, and the
    entries of the system's log services (an Assert and a Deassert of one condition)."""
    docs = server_mockup()
    s, c = "/redfish/v1/Systems/1", "/redfish/v1/Chassis/1U"
    docs[f"{c}/Thermal"]["Temperatures"][0].update(
        {"UpperThresholdNonCritical": 80, "UpperThresholdCritical": 90}
    )
    docs[f"{c}/Power"]["PowerSupplies"][0]["Status"] = {"State": "Enabled", "Health": "Critical"}
    docs[s]["LogServices"] = {"@odata.id": f"{s}/LogServices"}
    docs[f"{s}/LogServices"] = {"Members": [{"@odata.id": f"{s}/LogServices/SEL"}]}
    docs[f"{s}/LogServices/SEL"] = {
        "Id": "SEL",
        "Entries": {"@odata.id": f"{s}/LogServices/SEL/Entries"},
    }
    failure = {
        "Id": "7",
        "Created": "2026-12-01T10:00:00Z",
        "Severity": "Critical",
        "Message": "Power supply PSU1 failed",
        "MessageId": "PSU0001",
        "SensorType": "Power Supply / Converter",
        "SensorNumber": 5,
        "EntryCode": "Assert",
    }
    docs[f"{s}/LogServices/SEL/Entries"] = {"Members": [failure]}
    with StaticRedfish(docs) as svc:
        health = RedfishManagement().get_health(_static_task(svc))
        cpu = next(r for r in health.readings if r.name == "CPU1 Temp")
        assert (cpu.kind, cpu.value, cpu.unit, cpu.status) == ("Temperature", 52.0, "°C", "ok")
        assert cpu.thresholds == {"upper critical": 90.0, "upper non-critical": 80.0}
        psu = next(r for r in health.readings if r.name == "PSU1")
        assert (psu.kind, psu.value, psu.status) == ("Power Supply", 231.0, "critical")
        (entry,) = health.entries
        assert (entry.record_id, entry.severity, entry.asserted) == (7, "critical", True)
        assert entry.event == "Power supply PSU1 failed" and entry.timestamp == 1796119200
        svc.documents[f"{s}/LogServices/SEL/Entries"]["Members"].append(
            {**failure, "Id": "8", "Severity": "OK", "EntryCode": "Deassert"}
        )
        again = RedfishManagement().get_health(_static_task(svc))
    assert [e.record_id for e in again.entries] == [7, 8]
    assert again.entries[1].condition == entry.condition and not again.entries[1].asserted
