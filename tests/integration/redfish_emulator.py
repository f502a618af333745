"""sushy-tools' Redfish emulator (fake systems driver, no libvirt) as a subprocess on loopback.

The emulator reads a Python config file (`sushy-emulator --config FILE`); everything it keeps
(the fake systems' power and boot state) lives in SQLite under the given state directory, so
two emulators never share state. Users come from an htpasswd file with bcrypt hashes, which is
the only digest the emulator accepts. Power changes land 1-11 s after the request (the fake
driver draws the delay; no setting shortens it).
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import bcrypt
import httpx

from tests.conftest import free_port


@dataclass
class FakeSystem:
    name: str
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    power_state: str = "Off"
    macs: tuple[str, ...] = ()
    disk_bytes: int | None = None

    def config(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "name": self.name,
            "power_state": self.power_state,
            "external_notifier": False,
            "nics": [{"mac": m, "ip": f"10.99.0.{i + 10}"} for i, m in enumerate(self.macs)],
        }


class RedfishEmulator:
    def __init__(
        self,
        workdir: Path,
        systems: list[FakeSystem],
        users: dict[str, str] | None = None,
        *,
        bios: bool = False,
    ) -> None:
        """`bios`: run the emulator with a BIOS and firmware versions on its fake driver
        (`sushy_bios_emulator.py`; sushy-tools' own fake driver has neither)."""
        self.bios = bios
        self.workdir = workdir
        self.systems = {s.name: s for s in systems}
        self.users = users or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "emulator.log"

    def _write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        storage: dict[str, Any] = {}
        drives: dict[Any, Any] = {}
        volumes: dict[Any, Any] = {}
        for s in self.systems.values():
            # every system gets a storage entry: the emulator answers 500 for one without
            disks = [] if s.disk_bytes is None else ["disk0"]
            storage[s.uuid] = [{"Id": "1", "Name": "Local Storage Controller", "Drives": disks}]
            volumes[(s.uuid, "1")] = []
            if s.disk_bytes is not None:
                drives[(s.uuid, "1")] = [
                    {
                        "Id": "disk0",
                        "Name": "Disk 0",
                        "CapacityBytes": s.disk_bytes,
                        "Protocol": "SATA",
                    }
                ]
        lines = [
            "SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'",
            f"SUSHY_EMULATOR_LISTEN_PORT = {self.port}",
            "SUSHY_EMULATOR_FAKE_DRIVER = True",
            f"SUSHY_EMULATOR_STATE_DIR = {str(self.workdir / 'state')!r}",
            f"SUSHY_EMULATOR_FAKE_SYSTEMS = {[s.config() for s in self.systems.values()]!r}",
            f"SUSHY_EMULATOR_STORAGE = {storage!r}",
            f"SUSHY_EMULATOR_DRIVES = {drives!r}",
            f"SUSHY_EMULATOR_VOLUMES = {volumes!r}",
        ]
        if self.users:
            auth = self.workdir / "htpasswd"
            auth.write_text(
                "".join(
                    f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=4)).decode()}\n"
                    for u, p in self.users.items()
                )
            )
            lines.append(f"SUSHY_EMULATOR_AUTH_FILE = {str(auth)!r}")
        config = self.workdir / "emulator.conf"
        config.write_text("\n".join(lines) + "\n")
        return config

    def start(self) -> RedfishEmulator:
        config = self._write_config()
        exe = Path(sys.executable).with_name("sushy-emulator")
        program = [str(exe)]
        if self.bios:
            program = [sys.executable, str(Path(__file__).with_name("sushy_bios_emulator.py"))]
        self.proc = subprocess.Popen(
            [
                *program,
                "--config",
                str(config),
                "--interface",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sushy-emulator exited:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/redfish/v1/", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"sushy-emulator did not come up:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    # --- reading the emulator's own view, not through Ironworks -------------------------------

    def system(self, name: str) -> dict[str, Any]:
        auth = next(iter(self.users.items()), None)
        r = httpx.get(
            f"{self.url}/redfish/v1/Systems/{self.systems[name].uuid}", auth=auth, timeout=10
        )
        r.raise_for_status()
        return r.json()

    def power_state(self, name: str) -> str:
        return self.system(name)["PowerState"]

    def boot_target(self, name: str) -> str:
        return self.system(name)["Boot"]["BootSourceOverrideTarget"]

    def get(self, path: str) -> dict[str, Any]:
        """Any document of the emulator, e.g. "Systems/<uuid>/BIOS"."""
        auth = next(iter(self.users.items()), None)
        r = httpx.get(f"{self.url}/redfish/v1/{path}", auth=auth, timeout=10)
        r.raise_for_status()
        return r.json()


# --- a static Redfish service, for what the emulator does not publish ---------------------------


class StaticRedfish:
    """A tiny Redfish service on loopback that serves fixed JSON documents (a mockup).

    sushy-tools' fake driver publishes no processors, memory, fans or power supplies; this serves
    one system that has them. A Reset action sets the system's PowerState at once (unless
    `apply_resets` is False: a BMC that accepts and never acts) and is recorded in `resets`.
    `delay` makes every answer late (a slow BMC); `status` makes every answer after the service
    root fail with that HTTP status. With `tls` = (certificate file, key file) it speaks HTTPS.
    """

    def __init__(
        self, documents: dict[str, dict[str, Any]], tls: tuple[Path, Path] | None = None
    ) -> None:
        self.documents = {k.rstrip("/"): v for k, v in documents.items()}
        self.delay = 0.0
        self.status: int | None = None
        self.apply_resets = True
        self.resets: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                path = self.path.split("?", 1)[0].rstrip("/")
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"null") if length else None
                if outer.delay:
                    time.sleep(outer.delay)
                body = outer.documents.get(path)
                if outer.status and path != "/redfish/v1":
                    code, body = outer.status, {"error": {"message": "injected"}}
                elif self.command == "POST" and path.endswith("/Actions/ComputerSystem.Reset"):
                    outer._reset(path.rsplit("/Actions/", 1)[0], request["ResetType"])
                    code, body = 204, None
                elif self.command != "GET":
                    code, body = 204, None
                else:
                    code = 200 if body is not None else 404
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _reset(self, system: str, reset_type: str) -> None:
        self.resets.append(reset_type)
        if self.apply_resets:
            off = reset_type in ("ForceOff", "GracefulShutdown")
            self.documents[system]["PowerState"] = "Off" if off else "On"

    def __enter__(self) -> StaticRedfish:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def self_signed_certificate(workdir: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with the openssl command."""
    cert, key = workdir / "bmc.crt", workdir / "bmc.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _ref(path: str) -> dict[str, str]:
    return {"@odata.id": path}


def server_mockup() -> dict[str, dict[str, Any]]:
    """One x86_64 server: 2 CPUs of 16 threads, 64 GiB, a 480 GB and a 1.92 TB disk, 2 NICs."""
    r, s, c = "/redfish/v1", "/redfish/v1/Systems/1", "/redfish/v1/Chassis/1U"
    on = {"State": "Enabled", "Health": "OK"}
    cpu = {
        "ProcessorType": "CPU",
        "InstructionSet": "x86-64",
        "ProcessorArchitecture": "x86",
        "TotalCores": 8,
        "TotalThreads": 16,
    }
    return {
        r: {
            "@odata.id": r,
            "Id": "RootService",
            "RedfishVersion": "1.6.0",
            "Systems": _ref(f"{r}/Systems"),
            "Chassis": _ref(f"{r}/Chassis"),
        },
        f"{r}/Systems": {
            "@odata.id": f"{r}/Systems",
            "Members": [_ref(s)],
            "Members@odata.count": 1,
        },
        s: {
            "@odata.id": s,
            "Id": "1",
            "Name": "server",
            "PowerState": "On",
            "Boot": {"BootSourceOverrideEnabled": "Disabled", "BootSourceOverrideTarget": "None"},
            "ProcessorSummary": {"Count": 2, "LogicalProcessorCount": 32},
            "MemorySummary": {"TotalSystemMemoryGiB": 64},
            "Processors": _ref(f"{s}/Processors"),
            "SimpleStorage": _ref(f"{s}/SimpleStorage"),
            "EthernetInterfaces": _ref(f"{s}/EthernetInterfaces"),
            "Links": {"Chassis": [_ref(c)]},
            "Actions": {
                "#ComputerSystem.Reset": {
                    "target": f"{s}/Actions/ComputerSystem.Reset",
                    "ResetType@Redfish.AllowableValues": [
                        "On",
                        "ForceOff",
                        "GracefulShutdown",
                        "ForceRestart",
                        "Nmi",
                    ],
                }
            },
        },
        f"{s}/Processors": {
            "@odata.id": f"{s}/Processors",
            "Members": [_ref(f"{s}/Processors/0"), _ref(f"{s}/Processors/1")],
        },
        f"{s}/Processors/0": {"@odata.id": f"{s}/Processors/0", "Id": "0", **cpu},
        f"{s}/Processors/1": {"@odata.id": f"{s}/Processors/1", "Id": "1", **cpu},
        f"{s}/SimpleStorage": {
            "@odata.id": f"{s}/SimpleStorage",
            "Members": [_ref(f"{s}/SimpleStorage/0")],
        },
        f"{s}/SimpleStorage/0": {
            "@odata.id": f"{s}/SimpleStorage/0",
            "Id": "0",
            "Devices": [
                {"Name": "ssd0", "CapacityBytes": 480_103_981_056, "Status": on},
                {"Name": "ssd1", "CapacityBytes": 1_920_383_410_176, "Status": on},
                {"Name": "empty bay", "Status": {"State": "Absent"}},
            ],
        },
        f"{s}/EthernetInterfaces": {
            "@odata.id": f"{s}/EthernetInterfaces",
            "Members": [_ref(f"{s}/EthernetInterfaces/0"), _ref(f"{s}/EthernetInterfaces/1")],
        },
        f"{s}/EthernetInterfaces/0": {
            "@odata.id": f"{s}/EthernetInterfaces/0",
            "Id": "0",
            "MACAddress": "B8:CE:F6:00:00:01",
        },
        f"{s}/EthernetInterfaces/1": {
            "@odata.id": f"{s}/EthernetInterfaces/1",
            "Id": "1",
            "MACAddress": "B8:CE:F6:00:00:02",
        },
        c: {
            "@odata.id": c,
            "Id": "1U",
            "Name": "1U",
            "ChassisType": "RackMount",
            "Thermal": _ref(f"{c}/Thermal"),
            "Power": _ref(f"{c}/Power"),
        },
        f"{c}/Thermal": {
            "@odata.id": f"{c}/Thermal",
            "Id": "Thermal",
            "Name": "Thermal",
            "Temperatures": [
                {
                    "MemberId": "0",
                    "Name": "CPU1 Temp",
                    "ReadingCelsius": 52,
                    "Status": {"State": "Enabled", "Health": "OK"},
                }
            ],
            "Fans": [
                {
                    "MemberId": "0",
                    "Name": "Fan1",
                    "Reading": 7200,
                    "ReadingUnits": "RPM",
                    "Status": {"State": "Enabled", "Health": "OK"},
                }
            ],
        },
        f"{c}/Power": {
            "@odata.id": f"{c}/Power",
            "Id": "Power",
            "Name": "Power",
            "PowerSupplies": [{"MemberId": "0", "Name": "PSU1", "LastPowerOutputWatts": 231}],
            "Voltages": [{"MemberId": "0", "Name": "12V", "ReadingVolts": 12.1}],
        },
    }
