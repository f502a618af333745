"""The redfish BIOS, firmware and virtual media interfaces against sushy-tools' emulator on
loopback, with the BIOS and firmware versions `sushy_bios_emulator.py` gives its fake driver
(staged BIOS settings land when the system next powers on, as on a real BMC).

The step methods are called directly, the way the conductor's step runner calls them
(`method(task, **args)`), and the emulator's own documents show the change; the API tests enroll
nodes and read the cache a verify filled, and attach virtual media served from a loopback HTTP
server (the emulator downloads it).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("sushy", reason="the redfish hardware type needs sushy")
pytest.importorskip("sushy_tools", reason="sushy-tools provides the Redfish emulator")

from ironworks.common.errors import Conflict, DriverError, InvalidInput, IronworksError
from ironworks.common.settings import Settings
from ironworks.drivers import registry
from ironworks.drivers.base import Task
from ironworks.drivers.declared_steps import declared, find
from ironworks.drivers.redfish import (
    RedfishBIOS,
    RedfishFirmware,
    RedfishHardware,
    RedfishManagement,
)
from tests.conftest import make_settings
from tests.integration.redfish_emulator import FakeSystem, RedfishEmulator
from tests.integration.test_redfish import PASSWORD, USER, enroll, info, provision

V = {"X-OpenStack-Ironic-API-Version": "1.89"}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedfishEmulator]:
    systems = [
        FakeSystem("apply", power_state="On"),
        FakeSystem("reset", power_state="Off"),
        FakeSystem("firmware", power_state="Off"),
        FakeSystem("vmedia", power_state="Off"),
        FakeSystem("api", power_state="Off"),
        FakeSystem("template", power_state="Off"),
        FakeSystem("runbook", power_state="Off"),
    ]
    emu = RedfishEmulator(
        tmp_path_factory.mktemp("redfish-bios"), systems, {USER: PASSWORD}, bios=True
    )
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture(autouse=True)
def redfish_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.HARDWARE_TYPES, RedfishHardware.name, RedfishHardware)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        enabled_hardware_types=["fake-hardware", "redfish"],
        conductor={"hostname": "test-conductor", "poll_interval": 0.05, "periodic_interval": 3600},
        timeouts={"power_state_change": 30},
    )


@pytest.fixture(scope="module")
def image_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A loopback HTTP server with one small ISO-named file, for the emulator to download."""
    root = tmp_path_factory.mktemp("images")
    (root / "boot.iso").write_bytes(b"\0" * 4096)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def task_for(emu: RedfishEmulator, system: str) -> Task:
    node = {"uuid": f"node-{system}", "driver": "redfish", "driver_info": info(emu, system)}
    return Task(node=node, purpose="test", options={"bios_apply_timeout": 30})


def bios_of(emu: RedfishEmulator, system: str) -> dict[str, Any]:
    return emu.get(f"Systems/{emu.systems[system].uuid}/BIOS")["Attributes"]


# --- the driver, as the step runner calls it -----------------------------------------------------


def test_settings_come_with_the_registry(emulator):
    settings = {s["name"]: s for s in RedfishBIOS().get_settings(task_for(emulator, "apply"))}
    assert settings["ProcTurboMode"]["value"] == "Enabled"
    assert settings["BootMode"]["attribute_type"] == "Enumeration"
    assert settings["BootMode"]["allowable_values"] == ["Bios", "Uefi"]
    assert settings["NumCores"]["read_only"] is True


def test_steps_are_declared_as_ironic_declares_them():
    bios = RedfishBIOS()
    for kind in ("clean", "deploy"):
        steps = {s["step"]: s for s in declared(bios, kind)}
        assert set(steps) == {"apply_configuration", "factory_reset"}
        assert steps["apply_configuration"]["priority"] == 0
        assert steps["apply_configuration"]["argsinfo"]["settings"]["required"] is True
    assert [s["step"] for s in declared(RedfishFirmware(), "clean")] == ["update"]
    assert find({"bios": bios}, "clean", "bios", "factory_reset") == bios.factory_reset


@pytest.mark.slow
def test_apply_configuration_lands_after_the_reboot(emulator):
    task = task_for(emulator, "apply")
    step = find({"bios": RedfishBIOS()}, "clean", "bios", "apply_configuration")
    assert bios_of(emulator, "apply")["ProcTurboMode"] == "Enabled"
    result = step(task, settings=[{"name": "ProcTurboMode", "value": "Disabled"}])
    assert result == "done"
    assert bios_of(emulator, "apply")["ProcTurboMode"] == "Disabled"
    assert emulator.power_state("apply") == "On"  # rebooted, and back on
    cached = {s["name"]: s["value"] for s in task.bios_settings or []}
    assert cached["ProcTurboMode"] == "Disabled"


def test_staged_settings_wait_for_a_power_on(emulator):
    """What the emulator does without the step's reboot: the setting stays staged."""
    sid = emulator.systems["firmware"].uuid
    r = httpx.patch(
        f"{emulator.url}/redfish/v1/Systems/{sid}/BIOS/Settings",
        json={"Attributes": {"QuietBoot": "false"}},
        auth=(USER, PASSWORD),
        timeout=10,
    )
    assert r.status_code == 204
    assert bios_of(emulator, "firmware")["QuietBoot"] == "true"


@pytest.mark.slow
def test_factory_reset_restores_the_defaults(emulator):
    task = task_for(emulator, "reset")
    bios = RedfishBIOS()
    changes = [{"name": "BootMode", "value": "Bios"}, {"name": "QuietBoot", "value": "false"}]
    assert bios.apply_configuration(task, settings=changes) == "done"
    before = bios_of(emulator, "reset")
    assert (before["BootMode"], before["QuietBoot"]) == ("Bios", "false")
    assert bios.factory_reset(task) == "done"
    after = bios_of(emulator, "reset")
    assert (after["BootMode"], after["QuietBoot"]) == ("Uefi", "true")
    assert {s["name"]: s["value"] for s in task.bios_settings or []}["BootMode"] == "Uefi"


@pytest.mark.parametrize(
    ("settings", "field", "words"),
    [
        ([{"name": "NoSuchKnob", "value": "x"}], "settings/0/name", "no setting 'NoSuchKnob'"),
        ([{"name": "NumCores", "value": "4"}], "settings/0/name", "read-only"),
        ([{"value": "x"}], "settings/0", "name"),
        ([], "settings", "non-empty"),
    ],
)
def test_bad_settings_are_refused_before_anything_changes(emulator, settings, field, words):
    with pytest.raises(InvalidInput) as e:
        RedfishBIOS().apply_configuration(task_for(emulator, "apply"), settings=settings)
    assert e.value.field == field and words in e.value.message


def test_firmware_components_and_update(emulator):
    fw = RedfishFirmware()
    task = task_for(emulator, "firmware")
    got = {c["component"]: c["current_version"] for c in fw.get_components(task)}
    assert got == {"bios": "1.0.0", "bmc": "1.00"}
    assert (
        fw.update(task, settings=[{"component": "bios", "url": "http://127.0.0.1:1/b.bin"}])
        == "done"
    )
    assert emulator.system("firmware")["BiosVersion"] == "1.1.0"
    assert task.firmware == [
        {"component": "bios", "current_version": "1.1.0", "last_version_flashed": "1.1.0"}
    ]
    # sushy-tools updates no manager: refused by the BMC, said clearly
    with pytest.raises(DriverError) as e:
        fw.update(task, settings=[{"component": "bmc", "url": "http://127.0.0.1:1/m.bin"}])
    assert "Manager is not currently a supported Target" in e.value.message


def test_virtual_media_insert_and_eject(emulator, image_server):
    mgmt = RedfishManagement()
    task = task_for(emulator, "vmedia")
    sid = emulator.systems["vmedia"].uuid
    url = f"{image_server}/boot.iso"
    mgmt.attach_virtual_media(task, "cdrom", url)
    cd = emulator.get(f"Systems/{sid}/VirtualMedia/Cd")
    assert (cd["Inserted"], cd["Image"]) == (True, url)
    with pytest.raises(Conflict):  # one image per device
        mgmt.attach_virtual_media(task, "cdrom", url)
    mgmt.detach_virtual_media(task, ["cdrom", "floppy", "disk"])
    cd = emulator.get(f"Systems/{sid}/VirtualMedia/Cd")
    assert cd["Inserted"] is False and not cd["Image"]
    # a URL the emulator cannot download: its error, not a 500
    with pytest.raises(IronworksError):
        mgmt.attach_virtual_media(task, "cdrom", f"{image_server}/missing.iso")


# --- through the API and a conductor -------------------------------------------------------------


@pytest.mark.slow
def test_verify_caches_bios_and_firmware_for_the_api(client, conductor, emulator, image_server):
    uuid = enroll(client, info(emulator, "api"))
    n = provision(client, uuid, "manage", "manageable")
    assert n["last_error"] is None
    r = client.get(f"/v1/nodes/{uuid}/bios?detail=true", headers=V)
    assert r.status_code == 200, r.text
    got = {s["name"]: s for s in r.json()["bios"]}
    assert got["ProcTurboMode"]["value"] == "Enabled"
    assert got["ProcTurboMode"]["allowable_values"] == ["Enabled", "Disabled"]
    r = client.get(f"/v1/nodes/{uuid}/bios/SerialNumber", headers=V)
    assert r.json()["SerialNumber"]["value"] == "QPX12345"
    assert client.get(f"/v1/nodes/{uuid}/bios/Nope", headers=V).status_code == 404
    fw = {
        c["component"]: c
        for c in client.get(f"/v1/nodes/{uuid}/firmware", headers=V).json()["firmware"]
    }
    assert fw["bios"]["current_version"] == "1.0.0" and fw["bmc"]["initial_version"] == "1.00"

    body = {"device_type": "cdrom", "image_url": f"{image_server}/boot.iso"}
    assert client.post(f"/v1/nodes/{uuid}/vmedia", json=body, headers=V).status_code == 204
    sid = emulator.systems["api"].uuid
    assert emulator.get(f"Systems/{sid}/VirtualMedia/Cd")["Inserted"] is True
    r = client.post(f"/v1/nodes/{uuid}/vmedia", json=body, headers=V)
    assert r.status_code == 409 and "detach it first" in r.text
    assert client.delete(f"/v1/nodes/{uuid}/vmedia", headers=V).status_code == 204
    assert emulator.get(f"Systems/{sid}/VirtualMedia/Cd")["Inserted"] is False


# --- steps a deploy template and a runbook name, run by the conductor ---------------------------

STEPS_V = {"X-OpenStack-Ironic-API-Version": "1.92"}


def enroll_for_steps(client: httpx.Client, emu: RedfishEmulator, system: str, trait: str) -> str:
    """A redfish node with the fake boot and deploy interfaces (no network boot here): its BIOS
    is the emulator's, its trait names the template or runbook."""
    body = {
        "driver": "redfish",
        "driver_info": info(emu, system),
        "boot_interface": "fake",
        "deploy_interface": "fake",
        "automated_clean": False,
    }
    r = client.post("/v1/nodes", json=body, headers=STEPS_V)
    assert r.status_code == 201, r.text
    uuid = r.json()["uuid"]
    r = client.put(f"/v1/nodes/{uuid}/traits", json={"traits": [trait]}, headers=STEPS_V)
    assert r.status_code == 204, r.text
    return str(uuid)


@pytest.mark.slow
def test_a_deploy_template_matched_by_a_trait_runs_its_bios_step(client, conductor, emulator):
    trait = "CUSTOM_TURBO_OFF"
    step = {
        "interface": "bios",
        "step": "apply_configuration",
        "args": {"settings": [{"name": "ProcTurboMode", "value": "Disabled"}]},
        "priority": 150,
    }
    r = client.post("/v1/deploy_templates", json={"name": trait, "steps": [step]}, headers=STEPS_V)
    assert r.status_code == 201, r.text
    uuid = enroll_for_steps(client, emulator, "template", trait)
    assert provision(client, uuid, "manage", "manageable")["last_error"] is None
    assert provision(client, uuid, "provide", "available")["last_error"] is None
    if bios_of(emulator, "template")["ProcTurboMode"] != "Enabled":  # the other backend's run
        assert RedfishBIOS().factory_reset(task_for(emulator, "template")) == "done"
    assert bios_of(emulator, "template")["ProcTurboMode"] == "Enabled"
    patch = [{"op": "add", "path": "/instance_info", "value": {"traits": [trait]}}]
    assert client.patch(f"/v1/nodes/{uuid}", json=patch, headers=STEPS_V).status_code == 200
    n = provision(client, uuid, "active", "active", timeout=180)
    assert n["last_error"] is None, n["last_error"]
    assert bios_of(emulator, "template")["ProcTurboMode"] == "Disabled"  # on the BMC
    r = client.get(f"/v1/nodes/{uuid}/bios/ProcTurboMode", headers=V)
    assert r.json()["ProcTurboMode"]["value"] == "Disabled"  # and in the API's cache


@pytest.mark.slow
def test_a_runbook_runs_its_bios_step_on_a_manageable_node(client, conductor, emulator):
    trait = "CUSTOM_BIOS_DEFAULTS"
    book = {"name": trait, "steps": [{"interface": "bios", "step": "factory_reset", "order": 0}]}
    r = client.post("/v1/runbooks", json=book, headers=STEPS_V)
    assert r.status_code == 201, r.text
    uuid = enroll_for_steps(client, emulator, "runbook", trait)
    assert provision(client, uuid, "manage", "manageable")["last_error"] is None
    changed = RedfishBIOS().apply_configuration(
        task_for(emulator, "runbook"), settings=[{"name": "ProcTurboMode", "value": "Disabled"}]
    )
    assert changed == "done" and bios_of(emulator, "runbook")["ProcTurboMode"] == "Disabled"
    body = {"target": "clean", "runbook": trait}
    r = client.put(f"/v1/nodes/{uuid}/states/provision", json=body, headers=STEPS_V)
    assert r.status_code == 202, r.text
    n = provision_wait(client, uuid, "manageable", timeout=180)
    assert n["last_error"] is None, n["last_error"]
    assert bios_of(emulator, "runbook")["ProcTurboMode"] == "Enabled"  # the factory default


def provision_wait(client: httpx.Client, uuid: str, until: str, timeout: float) -> dict[str, Any]:
    from tests.conftest import wait_for

    def done() -> dict[str, Any] | None:
        n = client.get(f"/v1/nodes/{uuid}").json()
        return n if n["provision_state"] == until and n["target_provision_state"] is None else None

    return wait_for(done, timeout=timeout, interval=0.2)  # type: ignore[no-any-return]
