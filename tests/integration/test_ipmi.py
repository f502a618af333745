"""The `ipmi` hardware type against emulated BMCs over real RMCP+/UDP on 127.0.0.1.

The BMCs run in a shard process started by the module (`ironworks.lab.fleet.Fleet`), exactly as
`ironworks lab bmc` serves them; the API runs in-process with a real conductor thread, and the
last tests drive a live `ironworks serve` with OpenStack's `baremetal` CLI and ipmitool. Each
test uses its own BMC, so tests are independent and run in any order. Timeouts in driver_info
are short (2 s, one retry) to keep the failure cases fast.

The database does not matter here (the API tests cover both): SQLite only.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ironworks.common.errors import BMCAuthFailed, BMCUnreachable
from ironworks.drivers.base import Task
from ironworks.drivers.ipmi import IPMIManagement, IPMIPower
from tests.conftest import start_server, wait_for

if TYPE_CHECKING:
    from ironworks.lab.fleet import Fleet

pytest.importorskip("pyghmi", reason="the ipmi hardware type and the lab need pyghmi")

USER, PASSWORD = "admin", "s3cret"
NAMES = [
    "verify",
    "power",
    "soft",
    "boot",
    "sensors",
    "badpass",
    "dead",
    "slow",
    "ipmitool",
    "ipmitool-driver",
    "cli",
    "retry",
]
BAREMETAL = Path(sys.executable).with_name("baremetal")
IPMITOOL = shutil.which("ipmitool")


def free_udp_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    from ironworks.lab.fleet import Fleet
    from ironworks.lab.spec import BmcSpec

    specs = []
    for name, port in zip(NAMES, free_udp_ports(len(NAMES)), strict=True):
        spec = BmcSpec(
            name=name,
            address="127.0.0.1",
            port=port,
            username=USER,
            password=PASSWORD,
            power_delay=0.3,
            shutdown_delay=0.5,
        )
        if name == "badpass":
            spec = replace(spec, password="not-" + PASSWORD)
        if name == "dead":
            spec = replace(spec, dead=True)
        if name == "slow":
            spec = replace(spec, slow=0.8)
        specs.append(spec)
    with Fleet(specs, shard_size=len(specs)) as f:
        yield f


def port_of(fleet: Fleet, name: str) -> int:
    return next(s.port for s in fleet.specs if s.name == name)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ironworks.db'}"


def info(fleet: Fleet, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "ipmi_address": "127.0.0.1",
        "ipmi_port": port_of(fleet, name),
        "ipmi_username": USER,
        "ipmi_password": PASSWORD,
        "ipmi_timeout": 2,
        "ipmi_retries": 1,
        **extra,
    }


def enrol(client: Any, fleet: Fleet, name: str, **fields: Any) -> dict[str, Any]:
    driver_info = fields.pop("driver_info", None) or info(fleet, name)
    r = client.post(
        "/v1/nodes", json={"name": name, "driver": "ipmi", "driver_info": driver_info, **fields}
    )
    assert r.status_code == 201, r.text
    return r.json()


def manage(client: Any, name: str, expect: str = "manageable") -> dict[str, Any]:
    r = client.put(f"/v1/nodes/{name}/states/provision", json={"target": "manage"})
    assert r.status_code == 202, r.text

    def settled() -> dict[str, Any] | None:
        node = client.get(f"/v1/nodes/{name}").json()
        return node if node["provision_state"] in ("manageable", "enroll") else None

    node = wait_for(settled, timeout=30)
    assert node["provision_state"] == expect, node
    return node


def power(client: Any, name: str, target: str, expect: str) -> dict[str, Any]:
    r = client.put(f"/v1/nodes/{name}/states/power", json={"target": target})
    assert r.status_code == 202, r.text

    def settled() -> dict[str, Any] | None:
        node = client.get(f"/v1/nodes/{name}").json()
        return node if node["target_power_state"] is None else None

    node = wait_for(settled, timeout=30)
    assert node["power_state"] == expect and not node["last_error"], node
    return node


def task(fleet: Fleet, name: str, **extra: Any) -> Task:
    return Task(node={"uuid": name, "driver_info": info(fleet, name, **extra)}, purpose="test")


# --- through the API, with a conductor ------------------------------------------------------------


def test_manage_reads_power_from_the_bmc(client: Any, conductor: Any, fleet: Fleet) -> None:
    fleet.force_power("verify", "on")
    enrol(client, fleet, "verify")
    node = manage(client, "verify")
    assert node["power_state"] == "power on" and node["last_error"] is None
    shown = client.get("/v1/nodes/verify").json()["driver_info"]
    assert shown["ipmi_password"] == "******"


def test_power_on_off_reboot_follow_the_bmc(client: Any, conductor: Any, fleet: Fleet) -> None:
    enrol(client, fleet, "power")
    manage(client, "power")
    power(client, "power", "power on", "power on")
    assert fleet.snapshot("power")["power"] == "on"
    boots = len(fleet.snapshot("power")["boots"])
    power(client, "power", "rebooting", "power on")
    assert len(fleet.snapshot("power")["boots"]) == boots + 1  # off, then on: a new boot
    power(client, "power", "power off", "power off")
    assert fleet.snapshot("power")["power"] == "off"


def test_soft_power_off_and_soft_reboot(client: Any, conductor: Any, fleet: Fleet) -> None:
    fleet.force_power("soft", "on")
    enrol(client, fleet, "soft")
    manage(client, "soft")
    boots = len(fleet.snapshot("soft")["boots"])
    power(client, "soft", "soft rebooting", "power on")
    assert fleet.snapshot("soft")["power"] == "on"
    assert len(fleet.snapshot("soft")["boots"]) == boots + 1
    power(client, "soft", "soft power off", "power off")
    assert fleet.snapshot("soft")["power"] == "off"


def test_boot_device_persistent_and_once(client: Any, conductor: Any, fleet: Fleet) -> None:
    enrol(client, fleet, "boot", properties={"capabilities": "boot_mode:bios"})
    manage(client, "boot")
    url = "/v1/nodes/boot/management/boot_device"
    assert client.put(url, json={"boot_device": "pxe", "persistent": True}).status_code == 204
    assert client.get(url).json() == {"boot_device": "pxe", "persistent": True}
    snap = fleet.snapshot("boot")
    assert (snap["boot_device"], snap["persistent"], snap["uefi"]) == ("pxe", True, False)

    assert client.put(url, json={"boot_device": "disk", "persistent": False}).status_code == 204
    assert client.get(url).json() == {"boot_device": "disk", "persistent": False}
    power(client, "boot", "power on", "power on")
    snap = fleet.snapshot("boot")
    assert snap["boots"][-1] == "disk"  # the one-time device was used ...
    assert client.get(url).json() == {"boot_device": None, "persistent": None}  # ... and spent

    r = client.put(url, json={"boot_device": "floppy"})
    assert r.status_code == 400, r.text
    assert client.put("/v1/nodes/boot/management/inject_nmi", json={}).status_code == 204
    assert fleet.snapshot("boot")["nmis"] == 1


def test_uefi_boot_mode_from_driver_info(fleet: Fleet) -> None:
    mgmt = IPMIManagement()
    mgmt.set_boot_device(task(fleet, "boot", ipmi_boot_mode="uefi"), "cdrom", persistent=True)
    snap = fleet.snapshot("boot")
    assert (snap["boot_device"], snap["persistent"], snap["uefi"]) == ("cdrom", True, True)


def test_sensors_and_event_log(fleet: Fleet) -> None:
    t = task(fleet, "sensors")
    pw = IPMIPower()
    assert pw.set_power_state(t, "power on", timeout=10) == "power on"
    data = IPMIManagement().get_sensors_data(t)
    assert data["Temperature"]["CPU1 Temp"]["Sensor Reading"] == "45 °C"
    assert data["Fan"]["FAN1"]["Sensor Reading"] == "5400 RPM"
    assert data["Voltage"]["12V"]["Sensor Reading"] == "12.1 V"
    assert data["Temperature"]["CPU1 Temp"]["Status"] == "ok"
    events = IPMIManagement().get_sel(t)
    assert events and events[-1]["component_type"] == "Power Unit"
    assert events[-1]["deassertion"] is True  # power-off deasserted: the machine came on


def test_wrong_password_is_fatal_and_named(client: Any, conductor: Any, fleet: Fleet) -> None:
    enrol(client, fleet, "badpass")
    logins = fleet.snapshot("badpass")["logins"]
    started = time.monotonic()
    node = manage(client, "badpass", expect="enroll")
    port = port_of(fleet, "badpass")
    assert f"BMC 127.0.0.1:{port} rejected the credentials for user admin" in node["last_error"]
    assert fleet.snapshot("badpass")["logins"] == logins + 1, "an auth failure is not retried"
    assert time.monotonic() - started < 10


def test_dead_bmc_lands_in_enroll_with_tries(client: Any, conductor: Any, fleet: Fleet) -> None:
    enrol(client, fleet, "dead")
    node = manage(client, "dead", expect="enroll")
    port = port_of(fleet, "dead")
    assert f"no answer from BMC 127.0.0.1:{port} within 2 s (2 tries)" in node["last_error"]


def test_malformed_driver_info_is_refused_at_enrolment(client: Any, fleet: Fleet) -> None:
    props = client.get("/v1/drivers/ipmi/properties").json()
    assert props["ipmi_address"].endswith("Required.") and "ipmi_password" in props
    assert "Default 623" in props["ipmi_port"] and "ipmi_bridging" in props
    for key, value in (
        ("ipmi_port", "http"),
        ("ipmi_priv_level", "ROOT"),
        ("ipmi_cipher_suite", 42),
        ("ipmi_timeout", -1),
    ):
        r = client.post(
            "/v1/nodes",
            json={"driver": "ipmi", "driver_info": info(fleet, "verify", **{key: value})},
        )
        assert r.status_code == 400, (key, r.text)
        assert key in r.text


def test_slow_bmc_is_answered_within_the_budget(fleet: Fleet) -> None:
    t = task(fleet, "slow", ipmi_timeout=6, ipmi_retries=1)
    assert IPMIPower().get_power_state(t) in ("power on", "power off")


def test_power_change_to_the_current_state_sends_nothing(fleet: Fleet) -> None:
    fleet.force_power("retry", "off")
    t = task(fleet, "retry")
    assert IPMIPower().set_power_state(t, "power on", timeout=10) == "power on"
    assert IPMIPower().set_power_state(t, "power on", timeout=10) == "power on"  # no-op
    assert len(fleet.snapshot("retry")["boots"]) == 1


# --- ipmitool ----------------------------------------------------------------------------------


def ipmitool(fleet: Fleet, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    port = port_of(fleet, name)
    return subprocess.run(
        [
            IPMITOOL or "ipmitool",
            "-I",
            "lanplus",
            "-H",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            USER,
            "-E",
            "-N",
            "1",
            "-R",
            "2",
            *args,
        ],
        env={**os.environ, "IPMI_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.skipif(IPMITOOL is None, reason="ipmitool is not installed (apt-get install ipmitool)")
def test_ipmitool_interop(fleet: Fleet) -> None:
    fleet.force_power("ipmitool", "off")
    out = ipmitool(fleet, "ipmitool", "power", "status")
    assert out.returncode == 0 and "Chassis Power is off" in out.stdout, out.stderr
    assert ipmitool(fleet, "ipmitool", "power", "on").returncode == 0
    wait_for(lambda: fleet.snapshot("ipmitool")["power"] == "on", timeout=5)
    out = ipmitool(fleet, "ipmitool", "chassis", "bootdev", "pxe", "options=persistent,efiboot")
    assert out.returncode == 0, out.stderr
    snap = fleet.snapshot("ipmitool")
    assert (snap["boot_device"], snap["persistent"], snap["uefi"]) == ("pxe", True, True)
    out = ipmitool(fleet, "ipmitool", "chassis", "bootparam", "get", "5")
    assert "Force PXE" in out.stdout and "all future boots" in out.stdout, out.stdout
    out = ipmitool(fleet, "ipmitool", "sensor")
    assert out.returncode == 0 and "CPU1 Temp" in out.stdout, out.stdout + out.stderr
    bad = subprocess.run(
        [
            IPMITOOL or "ipmitool",
            "-I",
            "lanplus",
            "-H",
            "127.0.0.1",
            "-p",
            str(port_of(fleet, "ipmitool")),
            "-U",
            USER,
            "-E",
            "-N",
            "1",
            "-R",
            "1",
            "power",
            "status",
        ],
        env={**os.environ, "IPMI_PASSWORD": "wrong"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode != 0


@pytest.mark.skipif(IPMITOOL is None, reason="ipmitool is not installed (apt-get install ipmitool)")
def test_ipmitool_interfaces(client: Any, conductor: Any, fleet: Fleet) -> None:
    name = "ipmitool-driver"
    enrol(client, fleet, name, power_interface="ipmitool", management_interface="ipmitool")
    manage(client, name)
    power(client, name, "power on", "power on")
    assert fleet.snapshot(name)["power"] == "on"
    url = f"/v1/nodes/{name}/management/boot_device"
    assert client.put(url, json={"boot_device": "pxe", "persistent": True}).status_code == 204
    assert client.get(url).json() == {"boot_device": "pxe", "persistent": True}
    power(client, name, "power off", "power off")
    # the password never appears on a command line: ipmitool reads it with -E
    from ironworks.drivers.ipmitool import IPMITool

    argv = IPMITool(task(fleet, name)).argv(2.0)
    assert PASSWORD not in argv and "-E" in argv


# --- OpenStack's baremetal CLI against a live server --------------------------------------------


@pytest.mark.compat
def test_baremetal_cli_powers_an_emulated_bmc(tmp_path: Path, fleet: Fleet) -> None:
    if not BAREMETAL.exists():
        pytest.skip(f"{BAREMETAL} is not installed")
    server = start_server(tmp_path / "server")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"))

    def bm(*args: str) -> str:
        done = subprocess.run(
            [str(BAREMETAL), "--os-endpoint", server.url, "--os-auth-type", "none", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert done.returncode == 0, f"{args}: {done.stderr}\n{server.logs()[-2000:]}"
        return done.stdout

    try:
        port = port_of(fleet, "cli")
        fleet.force_power("cli", "off")
        created = json.loads(
            bm(
                "node",
                "create",
                "--driver",
                "ipmi",
                "--name",
                "cli",
                "--driver-info",
                "ipmi_address=127.0.0.1",
                "--driver-info",
                f"ipmi_port={port}",
                "--driver-info",
                f"ipmi_username={USER}",
                "--driver-info",
                f"ipmi_password={PASSWORD}",
                "--driver-info",
                "ipmi_timeout=2",
                "--driver-info",
                "ipmi_retries=1",
                "-f",
                "json",
            )
        )
        assert created["driver"] == "ipmi"
        assert created["driver_info"]["ipmi_password"] == "******"
        bm("node", "manage", "cli", "--wait", "30")
        bm("node", "power", "on", "cli")
        wait_for(lambda: fleet.snapshot("cli")["power"] == "on", timeout=30)

        def powered() -> bool:
            with httpx.Client(timeout=5) as h:
                node = h.get(f"{server.url}/v1/nodes/cli").json()
            return node["power_state"] == "power on" and node["target_power_state"] is None

        wait_for(powered, timeout=30)
    finally:
        server.proc.terminate()
        try:
            server.proc.wait(10)
        except subprocess.TimeoutExpired:
            server.proc.kill()


@pytest.mark.skipif(IPMITOOL is None, reason="ipmitool is not installed (apt-get install ipmitool)")
def test_ipmitool_errors_name_their_cause(fleet: Fleet) -> None:
    from ironworks.drivers.ipmitool import IPMIToolPower

    with pytest.raises(BMCAuthFailed, match=r"rejected the credentials for user admin"):
        IPMIToolPower().get_power_state(task(fleet, "badpass"))
    port = port_of(fleet, "dead")
    with pytest.raises(BMCUnreachable, match=rf"BMC 127.0.0.1:{port} within 2 s \(2 tries\)"):
        IPMIToolPower().get_power_state(task(fleet, "dead"))


def test_dead_bmcs_do_not_stall_the_others() -> None:
    """Many threads, some dead BMCs: every live BMC answers, round after round.

    Guards the fix of pyghmi's lock-order deadlock (see `ipmi._pyghmi`): without it, a
    retransmit for a dead BMC and a send from another thread hang every pyghmi call for good.
    """
    from concurrent.futures import ThreadPoolExecutor

    from ironworks.lab.fleet import Fleet, FleetOptions, make_specs

    ports = free_udp_ports(40)
    specs = [
        replace(s, port=p)
        for s, p in zip(
            make_specs(FleetOptions(count=40, base_port=20000, password=PASSWORD), ["dead=3"]),
            ports,
            strict=True,
        )
    ]

    def read(spec: Any) -> str:
        t = Task(
            node={
                "uuid": spec.name,
                "driver_info": {
                    "ipmi_address": "127.0.0.1",
                    "ipmi_port": spec.port,
                    "ipmi_username": spec.username,
                    # generous for live BMCs on a loaded CI machine; a deadlock would hang for good anyway
                    "ipmi_password": PASSWORD,
                    "ipmi_timeout": 6,
                    "ipmi_retries": 0,
                },
            },
            purpose="sync",
        )
        try:
            return IPMIPower().get_power_state(t)
        except BMCUnreachable:
            return "unreachable"

    with Fleet(specs, shard_size=20) as fleet_:
        assert len(fleet_.pids) == 2
        for _ in range(3):
            started = time.monotonic()
            with ThreadPoolExecutor(16) as pool:
                got = dict(zip([s.name for s in specs], pool.map(read, specs), strict=True))
            dead = {s.name for s in specs if s.dead}
            assert {n for n, v in got.items() if v == "unreachable"} == dead, got
            assert time.monotonic() - started < 40
