"""Emulated IPMI BMCs: pyghmi's server side, fixed, in front of a `Machine`.

One `EmulatedBmc` per UDP port speaks real RMCP+ (IPMI 2.0 over LAN), so pyghmi's client,
ipmitool and OpenStack Ironic talk to it as to a server's BMC. It answers chassis status and
control, boot options (persistent or once, UEFI or legacy: pyghmi's own `Bmc` ignores both),
device id, the SDR repository and sensor readings (with thresholds), the system event log, and
platform event messages, which it logs (how `ironworks lab sel inject` adds an event).

Two fixes to pyghmi 1.6.19's server, made here by subclassing (site-packages stays untouched;
see docs/lab.md, "BMC emulation"):
1. The server answers every RMCP+ open-session request as cipher suite 3 (SHA1) whatever the
   client proposed; pyghmi's client proposes 17 (SHA256) first and then fails to log in
   (`struct.error: pack expected 32 items`). `_Session.create_open_session_response` refuses
   any proposal other than SHA1 with status 0x11 ("no cipher suite match"); the client then
   falls back to suite 3.
2. A packet queued for a session that has been closed meanwhile calls `sessionless_data` on
   the session, which only the server has: the AttributeError kills the serving loop.
   `_Session.sessionless_data` hands the packet to the BMC, which treats it as new.
Also: an unknown user name gets RAKP2 status 0x0D ("unauthorized name") as on real BMCs,
instead of silence that a client would read as a dead BMC; a closed session is forgotten; and
every command is answered after a few milliseconds of think time (`BmcSpec.think`): an instant
answer on loopback can beat pyghmi's client to its own wait, which then sits out a 0.5-1 s
retransmit timer (seen on about one call in ten without it).

Faults per BMC (`BmcSpec`): dead (answers nothing), slow (every command answered `slow` seconds
late, without blocking the other BMCs of the process), a password other than the one enrolled,
and a flapping power supply (in the machine). A shard process serves its BMCs from one thread
with epoll (`_serve`), not through pyghmi's IO thread, which loses whole shards under load
(`_without_io_thread`); `fleet.py` keeps shards of at most 200 BMCs per process.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import selectors
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from pyghmi.ipmi import bmc as pyghmi_bmc
from pyghmi.ipmi import console as pyghmi_console
from pyghmi.ipmi.private import serversession
from pyghmi.ipmi.private import session as pyghmi_session

from ironworks.lab.errors import LabError
from ironworks.lab.machine import ON, BootDevice, Event, Machine, MemoryMachine
from ironworks.lab.spec import BmcSpec

log = logging.getLogger(__name__)

_SHA1 = 1  # RAKP-HMAC-SHA1 authentication and HMAC-SHA1-96 integrity algorithm numbers
_NO_CIPHER_MATCH = 0x11
_UNAUTHORIZED_NAME = 0x0D
# Boot flags device selector (IPMI 2.0 table 28-14, bits 5:2 of data 2) ↔ our names.
_DEVICE_CODES = {1: "pxe", 2: "disk", 3: "safe", 5: "cdrom", 6: "bios"}
_DEVICE_NUMBERS = {v: k for k, v in _DEVICE_CODES.items()}
_ENTITY = {0x01: 0x03, 0x02: 0x07, 0x04: 0x1D}  # sensor type → entity: processor, board, fan


class Scheduler:
    """Calls to run later on the serving loop's thread (pyghmi is not thread-safe)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()

    def later(self, delay: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), fn))

    def timeout(self, idle: float) -> float:
        if not self._heap:
            return idle
        return max(0.0, min(idle, self._heap[0][0] - time.monotonic()))

    def run_due(self) -> None:
        now = time.monotonic()
        while self._heap and self._heap[0][0] <= now:
            _, _, fn = heapq.heappop(self._heap)
            try:
                fn()
            except Exception:
                log.exception("delayed BMC answer failed")


class _Session(serversession.ServerSession):
    """pyghmi's server session with fixes 1 and 2 (module docstring)."""

    def create_open_session_response(self, request: bytearray) -> bytearray:
        # pyghmi keeps one session object per client address: a new session from the same
        # client (after the old one broke) must start from scratch, or the set-up replies go
        # out sealed with the old keys and the new session's packets are dropped as replays.
        self.remseqnumber = None
        self.integrityalgo = self.confalgo = 0
        self.sessionid = self.sequencenumber = 0
        self.k1 = None
        # Request: tag, role, 2 reserved, console session id (4), then three 8-byte algorithm
        # payloads (auth, integrity, confidentiality) with the algorithm number at byte 4.
        if len(request) >= 32 and (request[12] != _SHA1 or request[20] != _SHA1):
            self.clientsessionid = request[4:8]
            return bytearray([request[0], _NO_CIPHER_MATCH, 0, 0]) + request[4:8]
        return super().create_open_session_response(request)

    def sessionless_data(self, data: bytes, sockaddr: Any) -> None:
        self.bmc.sessionless_data(data, sockaddr)

    def _got_rakp1(self, data: Any) -> None:
        self.bmc.logins += 1
        namelen = data[27] if len(data) > 27 else 0
        name = bytes(data[28 : 28 + namelen]).decode("utf-8", "replace")
        if self.authdata.get(name) is None:
            reply = bytearray([data[0], _UNAUTHORIZED_NAME, 0, 0]) + self.clientsessionid
            self.send_payload(reply, 0x13, retry=False)  # payload type 0x13: RAKP message 2
            return
        super()._got_rakp1(data)

    def close_server_session(self) -> None:
        if self.bmc.sol_session is self:
            self.bmc.end_sol()
        if self.bmc.sessions.get(self.sockaddr) is self:
            del self.bmc.sessions[self.sockaddr]
        handlers = pyghmi_session.Session.bmc_handlers.get(self.sockaddr, {})
        if handlers.get(self.bmc.port) is self:
            del handlers[self.bmc.port]
            if not handlers:
                pyghmi_session.Session.bmc_handlers.pop(self.sockaddr, None)


class _SolConsole(pyghmi_console.ServerConsole):
    """pyghmi's server side of a SOL session, without waits on pyghmi's IO thread.

    `ServerConsole.__init__` ends with `Session.wait_for_rsp(0)`, and `_sendoutput` waits for
    the client's acknowledgement in `wait_for_rsp(0.5)`: both wait for pyghmi's IO thread to
    wake them, and the lab runs none (`_without_io_thread`), so they would never return and
    would stop every BMC of the process. Here sending returns at once and the retransmits
    (5, a second apart, as pyghmi's client does) run on the serving loop's scheduler.
    """

    RETRIES = 5

    def __init__(
        self, session: Any, iohandler: Callable[[Any], None], scheduler: Scheduler
    ) -> None:
        self.scheduler = scheduler
        self.tries = 0
        self.outputlock = threading.RLock()
        self.keepaliveid = None
        self.connected = True
        self.broken = False
        self.out_handler = iohandler
        self.remseq = self.myseq = self.lastsize = self.retriedpayload = 0
        self.pendingoutput: list[Any] = []
        self.awaitingack = False
        self.activated = True
        self.force_session = False
        self.ipmi_session = session
        session.sol_handler = self._got_sol_payload
        self.maxoutcount = 256
        self.poweredon = True

    def _sendoutput(self, output: Any, sendbreak: bool = False) -> None:
        self.myseq = (self.myseq + 1) & 0x0F or 1
        if isinstance(output, str):
            output = output.encode("utf-8")
        self.lastpayload = bytearray((self.myseq, 0, 0, 0x10 if sendbreak else 0)) + output
        self.awaitingack = True
        self.tries = 0
        self._transmit(self.myseq)

    def _transmit(self, seq: int) -> None:
        if not self.awaitingack or seq != self.myseq or self.ipmi_session is None:
            return  # acknowledged meanwhile, superseded, or the session is gone
        if self.tries >= self.RETRIES:
            self._print_error("Connection lost")
            return
        self.tries += 1
        self.ipmi_session.send_payload(self.lastpayload, payload_type=1, retry=False)
        self.scheduler.later(1.0, lambda: self._transmit(seq))


def _listen_unix(path: str) -> socket.socket:
    """A listening Unix socket at `path` (a stale one from an earlier run is replaced)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.listen(4)
    sock.setblocking(False)
    return sock


def _sdr_record(record_id: int, sensor: Any) -> bytes:
    """A full sensor record (type 01h, IPMI 2.0 table 43-1): linear, unsigned, y = x·10^exp,
    with the sensor's readable thresholds."""
    name = sensor.name.encode()
    body = bytearray(43)
    body[0] = 0x20  # owned by the BMC
    body[2] = sensor.number
    body[3] = _ENTITY.get(sensor.sensor_type, 0x07)
    body[4] = 1
    body[5] = 0x03  # scanning and events enabled by default
    body[7] = sensor.sensor_type
    body[8] = 0x01  # threshold-based reading
    body[16] = sensor.unit
    body[19] = 1  # M = 1, B = 0
    body[24] = (sensor.exponent & 0x0F) << 4
    body[29] = 0xFF  # sensor maximum
    # readable thresholds: mask (bit 1 lower critical, 3 upper non-critical, 4 upper critical)
    # and values (offsets 37-41 of the record: upper critical, upper non-critical, ...)
    mask = 0
    for bit, index, value in (
        (4, 32, sensor.upper_critical),
        (3, 33, sensor.upper_noncritical),
        (1, 35, sensor.lower_critical),
    ):
        if value is not None:
            mask |= 1 << bit
            body[index] = _raw(sensor, value)
    if mask:
        body[6] = 0x04  # threshold access: readable (pyghmi then decodes threshold states)
        body[13] = mask
    body[42] = 0xC0 | len(name)  # 8-bit ASCII id string
    body += name
    return struct.pack("<HBBB", record_id, 0x51, 0x01, len(body)) + bytes(body)


def _raw(sensor: Any, value: float) -> int:
    return max(0, min(255, round(value / 10**sensor.exponent)))


class EmulatedBmc(pyghmi_bmc.Bmc):
    def __init__(self, spec: BmcSpec, machine: Machine, scheduler: Scheduler) -> None:
        self.spec = spec
        self.machine = machine
        self.scheduler = scheduler
        super().__init__(
            {spec.username: spec.password},
            port=spec.port,
            address=spec.address,
            bmcuuid=uuid.uuid5(uuid.NAMESPACE_URL, f"ironworks-lab:{spec.name}"),
        )
        self.additionaldevices = 0x07  # sensor device, SDR repository, SEL device
        self.logins = 0  # RAKP1 messages received: log-in attempts, for tests and the lab
        # Our own table of sessions by client address: pyghmi's (Session.bmc_handlers) is
        # keyed by client address and BMC *port*, so BMCs sharing a port on different
        # addresses (one address per BMC, as in a datacenter) would take each other's sessions.
        self.sessions: dict[Any, Any] = {}
        self._sdr = [_sdr_record(i + 1, s) for i, (s, _) in enumerate(machine.sensors())]
        # SOL: the BMC owns the machine's UART. It listens on `spec.serial`; the machine
        # (QEMU's `-chardev socket,server=off`) connects when it starts, before its firmware
        # prints a byte, and the connection is `serial`. What the machine prints while no SOL
        # session is active is read and dropped, as a UART nobody watches. `sol_session` owns
        # SOL; `selector` is the serving loop's (set by `_serve`).
        self.serial: socket.socket | None = None
        self.sol_session: Any = None
        self.selector: selectors.BaseSelector | None = None
        self.iohandler = self._to_serial if spec.serial else None
        self.uart: socket.socket | None = None
        if spec.serial:
            self.uart = _listen_unix(spec.serial)

    # --- sessions and faults ---------------------------------------------------------------------

    def sessionless_data(self, data: bytes, sockaddr: Any) -> None:
        if self.spec.dead:
            return
        raw = bytearray(data)
        if len(raw) >= 22 and raw[0] == 6 and raw[2:4] == b"\xff\x07" and raw[4:6] == b"\x06\x10":
            # an RMCP+ open session request: our session class instead of pyghmi's
            self.sessions[sockaddr] = _Session(
                self.authdata, self.kg, sockaddr, self.serversocket, raw[16:], self.uuid, bmc=self
            )
            return
        super().sessionless_data(data, sockaddr)

    def handle_raw_request(self, request: dict[str, Any], session: Any) -> None:
        delay = self.spec.slow or self.spec.think
        if delay > 0:
            self.scheduler.later(delay, lambda: self._answer(request, session))
        else:
            self._answer(request, session)

    def _answer(self, request: dict[str, Any], session: Any) -> None:
        netfn, command = request["netfn"], request["command"]
        data = request["data"]
        try:
            if netfn == 0x0A:
                return self._storage(command, data, session)
            if netfn == 0x04 and command == 0x2D:
                return self._sensor_reading(data, session)
            if netfn == 0x04 and command == 0x02:  # Platform Event Message
                return self._platform_event(data, session)
            if netfn == 0x0C and command == 0x22:
                return self._sol_parameter(data, session)
            if netfn == 0x06 and command == 0x4B:
                return self._payload_instance_info(data, session)
        except Exception:
            log.exception("BMC %s: answering netfn %#x command %#x", self.spec.name, netfn, command)
            return session.send_ipmi_response(code=0xFF)
        super().handle_raw_request(request, session)

    # --- chassis ---------------------------------------------------------------------------------

    def get_power_state(self) -> str:
        return self.machine.power_state()

    def power_on(self) -> None:
        self.machine.power_on()

    def power_off(self) -> None:
        self.machine.power_off()

    def power_shutdown(self) -> None:
        self.machine.shutdown()

    def power_reset(self) -> None:
        self.machine.reset()

    def power_cycle(self) -> None:
        self.machine.power_off()
        self.machine.power_on()

    def pulse_diag(self) -> None:
        self.machine.pulse_nmi()

    def get_system_guid(self) -> uuid.UUID:
        return self.uuid

    def cold_reset(self) -> int:
        return 0

    def get_system_boot_options(self, request: dict[str, Any], session: Any) -> None:
        if (request["data"][0] & 0x7F) != 5:
            return session.send_ipmi_response(code=0x80)  # parameter not supported
        boot = self.machine.boot_device()
        if boot.device is None:
            flags, device = 0, 0
        else:
            flags = 0x80 | (0x40 if boot.persistent else 0) | (0x20 if boot.uefi else 0)
            device = _DEVICE_NUMBERS[boot.device] << 2
        session.send_ipmi_response(data=[1, 5, flags, device, 0, 0, 0])

    def set_system_boot_options(self, request: dict[str, Any], session: Any) -> None:
        data = request["data"]
        param = data[0] & 0x7F
        if param != 5:
            return session.send_ipmi_response()  # set-in-progress, acks, info: accepted
        if len(data) < 3:
            return session.send_ipmi_response(code=0xC7)  # request data length invalid
        flags, code = data[1], (data[2] >> 2) & 0x0F
        if not flags & 0x80 or code == 0:
            self.machine.set_boot_device(BootDevice())
            return session.send_ipmi_response()
        device = _DEVICE_CODES.get(code)
        if device is None:
            return session.send_ipmi_response(code=0xCC)  # invalid data field
        self.machine.set_boot_device(BootDevice(device, bool(flags & 0x40), bool(flags & 0x20)))
        session.send_ipmi_response()

    # --- serial over LAN ---------------------------------------------------------------------

    def is_active(self) -> bool:
        return self.spec.serial is not None

    def activate_payload(self, request: dict[str, Any], session: Any) -> None:
        """Activate Payload (SOL, instance 1): from now on the UART's bytes go to `session`.

        As on a real BMC, a second activation while one is active gets 0x80 ("already
        active"); the client deactivates first (ipmitool `sol deactivate`, pyghmi's
        `force`). Also as on a real BMC, the session outlives the machine's power: while the
        machine is off nothing is connected to the UART, and the session shows the next boot
        from its first byte. A BMC without a serial port gets 0x81 ("payload disabled").
        """
        data = request["data"]
        if not self.spec.serial or not data or (data[0] & 0x3F) != 1:
            return session.send_ipmi_response(code=0x81)
        if self.activated:
            return session.send_ipmi_response(code=0x80)
        self.sol_session, self.activated = session, True
        port = list(struct.pack("<H", self.port))
        # auxiliary data (4), inbound and outbound payload size (2 + 2, little-endian), the
        # UDP port SOL runs on (the session's), VLAN none
        session.send_ipmi_response(data=[0, 0, 0, 0, 0, 1, 0, 1, *port, 0xFF, 0xFF])
        self.sol = _SolConsole(session, self.iohandler, self.scheduler)  # type: ignore[arg-type]

    def deactivate_payload(self, request: dict[str, Any], session: Any) -> None:
        if not self.activated:
            return session.send_ipmi_response(code=0x80)  # payload already deactivated
        session.send_ipmi_response()
        self.end_sol()

    def end_sol(self) -> None:
        """Close the SOL session (the machine stays connected to its UART)."""
        if self.sol is not None:
            self.sol.close()
            if getattr(self.sol_session, "sol_handler", None) is not None:
                self.sol_session.sol_handler = None
        self.sol = self.sol_session = None
        self.activated = False

    def uart_connected(self) -> None:
        """The machine connects to its UART (it starts): the newest connection wins."""
        assert self.uart is not None
        try:
            conn, _ = self.uart.accept()
        except OSError:
            return
        self._drop_serial()
        conn.setblocking(False)
        self.serial = conn
        if self.selector is not None:
            self.selector.register(conn, selectors.EVENT_READ, (self, "serial"))

    def _drop_serial(self) -> None:
        if self.serial is None:
            return
        if self.selector is not None:
            try:
                self.selector.unregister(self.serial)
            except (KeyError, ValueError):
                pass
        self.serial.close()
        self.serial = None

    def _to_serial(self, data: Any) -> None:
        """Bytes the SOL client typed, for the machine's UART (lost while it is off)."""
        if self.serial is None or isinstance(data, dict):
            return
        try:
            self.serial.setblocking(True)
            self.serial.sendall(data if isinstance(data, bytes) else bytes(data, "utf-8"))
            self.serial.setblocking(False)
        except OSError as e:
            log.info("BMC %s: writing to the serial port: %s", self.spec.name, e)
            self._drop_serial()

    def from_serial(self) -> None:
        """The UART has bytes: to the SOL client if a session is active, else dropped."""
        if self.serial is None:
            return
        try:
            data = self.serial.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the machine went away (QEMU stopped)
            self._drop_serial()
            return
        if self.sol is not None:
            self.sol.send_data(data)

    def _sol_parameter(self, data: Any, session: Any) -> None:
        """Get SOL Configuration Parameters (IPMI 2.0 table 26-5), what ipmitool asks."""
        if len(data) < 2:
            return session.send_ipmi_response(code=0xC7)
        param = data[1]
        values = {
            0: [0],  # set complete
            1: [1 if self.spec.serial else 0],  # SOL enable
            2: [0x02],  # privilege: user
            3: [12, 60],  # character accumulate interval (5 ms units), send threshold
            4: [7, 50],  # retry count, interval (10 ms units)
            5: [0x0A],  # non-volatile bit rate: 115200
            6: [0x0A],  # volatile bit rate: 115200
            7: [1],  # payload channel
            8: list(struct.pack("<H", self.port)),  # payload port
        }
        if param not in values:
            return session.send_ipmi_response(code=0x80)  # parameter not supported
        session.send_ipmi_response(data=[0x11, *values[param]])

    def _payload_instance_info(self, data: Any, session: Any) -> None:
        """Get Payload Instance Info: which session owns SOL (pyghmi's client keepalive)."""
        owner = self.sol_session
        sid = list(owner.managedsessionid) if owner is not None else [0, 0, 0, 0]
        session.send_ipmi_response(data=[*sid, 0, 0, 0, 0, 0, 0, 0, 0])

    # --- sensors, SDR, SEL -----------------------------------------------------------------------

    def _sensor_reading(self, data: Any, session: Any) -> None:
        on = self.machine.power_state() == ON
        for sensor, value in self.machine.sensors():
            if sensor.number == data[0]:
                status = sensor.status(value) if on else 0  # thresholds only while running
                return session.send_ipmi_response(data=[_raw(sensor, value), 0xC0, status])
        session.send_ipmi_response(code=0xCB)  # requested sensor not present

    def _platform_event(self, data: Any, session: Any) -> None:
        """Log the event (as `ipmitool event` or `ironworks lab sel inject` sends it) in the SEL;
        a lab event (machine.LAB_EVENTS) also sets or clears its fault condition."""
        if len(data) < 5:
            return session.send_ipmi_response(code=0xC7)
        # EvMRev, sensor type, sensor number, event dir | type, event data 1 (2, 3)
        self.machine.add_event(
            Event(
                int(time.time()),
                data[1],
                data[2],
                data[4] & 0x0F,
                deassertion=bool(data[3] & 0x80),
                event_type=data[3] & 0x7F,
            )
        )
        session.send_ipmi_response()

    def _storage(self, command: int, data: Any, session: Any) -> None:
        reply = session.send_ipmi_response
        if command == 0x20:  # Get SDR Repository Info
            n = len(self._sdr)
            return reply(data=[0x51, n & 0xFF, n >> 8, 0xFF, 0xFF] + [0] * 8 + [0x02])
        if command in (0x22, 0x42):  # Reserve SDR Repository / Reserve SEL
            return reply(data=[1, 0])
        if command == 0x23:  # Get SDR
            return self._get_record(self._sdr, data, reply)
        events = self.machine.events()
        if command == 0x40:  # Get SEL Info
            n = len(events)
            last = events[-1].timestamp if events else 0
            stamps = list(struct.pack("<II", last, 0))  # last addition, last erase
            return reply(data=[0x51, n & 0xFF, n >> 8, 0x00, 0x04, *stamps, 0x02])
        if command == 0x43:  # Get SEL Entry
            return self._get_record([_sel_record(e) for e in events], data, reply)
        if command == 0x47:  # Clear SEL
            if len(data) >= 6 and data[5] == 0xAA:
                self.machine.clear_events()
            return reply(data=[0x01])  # erasure completed
        if command == 0x48:  # Get SEL Time
            return reply(data=list(struct.pack("<I", int(time.time()))))
        reply(code=0xC1)

    @staticmethod
    def _get_record(records: list[bytes], data: Any, reply: Callable[..., None]) -> None:
        """Get SDR / Get SEL Entry: each record starts with its id; 0 is the first, 0xFFFF the
        last; the answer names the next record's id (0xFFFF after the last)."""
        if len(data) < 6:
            return reply(code=0xC7)
        record_id, offset, count = data[2] | data[3] << 8, data[4], data[5]
        if not records:
            return reply(code=0xCB)
        ids = [r[0] | r[1] << 8 for r in records]
        if record_id == 0:
            index = 0
        elif record_id == 0xFFFF:
            index = len(records) - 1
        elif record_id in ids:
            index = ids.index(record_id)
        else:
            return reply(code=0xCB)
        next_id = ids[index + 1] if index + 1 < len(records) else 0xFFFF
        record = records[index]
        chunk = record[offset:] if count == 0xFF else record[offset : offset + count]
        reply(data=list(struct.pack("<H", next_id)) + list(chunk))


def _sel_record(e: Any) -> bytes:
    """A system event record (type 02h, IPMI 2.0 table 32-1) from the BMC itself."""
    kind = (0x80 if e.deassertion else 0) | e.event_type
    return struct.pack(
        "<HBIBBBBBBBBB",
        e.record_id,
        0x02,
        e.timestamp,
        0x20,
        0x00,
        0x04,
        e.sensor_type,
        e.sensor_number,
        kind,
        e.offset,
        0xFF,
        0xFF,
    )


def machine_for(spec: BmcSpec) -> MemoryMachine:
    return MemoryMachine(
        power_delay=spec.power_delay,
        shutdown_delay=spec.shutdown_delay,
        flap_interval=spec.flap_interval,
    )


def serve_shard(specs: list[BmcSpec], conn: Connection) -> None:
    """Process entry point: serve these BMCs until the parent goes away.

    Tells the parent ("ready", n) or ("error", sentence) on `conn`, then answers control
    requests on it from a thread: ("snapshot", name) → the machine's state, ("power", name,
    "on"|"off") → set it at once. When the parent's end closes, the process exits.
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s lab-bmc %(message)s")
    _without_io_thread()
    scheduler = Scheduler()
    bmcs: dict[str, EmulatedBmc] = {}
    for spec in specs:
        try:
            bmcs[spec.name] = EmulatedBmc(spec, machine_for(spec), scheduler)
        except OSError as e:
            conn.send(
                (
                    "error",
                    f"cannot listen on {spec.address}:{spec.port} for {spec.name}: "
                    f"{e.strerror or e}",
                )
            )
            return
    conn.send(("ready", len(bmcs)))
    threading.Thread(target=_control, args=(conn, bmcs), daemon=True, name="control").start()
    _serve(list(bmcs.values()), scheduler)


def open_bmcs(pairs: list[tuple[BmcSpec, Machine]]) -> tuple[list[EmulatedBmc], Scheduler]:
    """Listen as one BMC per (spec, machine), for a process that then calls `serve_forever`.

    For machines other than MemoryMachine (the lab's QEMU VMs). Raises LabError naming the
    address that could not be bound.
    """
    _without_io_thread()
    scheduler = Scheduler()
    bmcs = []
    for spec, machine in pairs:
        try:
            bmcs.append(EmulatedBmc(spec, machine, scheduler))
        except OSError as e:
            raise LabError(
                f"cannot listen on {spec.address}:{spec.port} for {spec.name}: {e.strerror or e}"
            ) from None
    return bmcs, scheduler


def serve_forever(bmcs: list[EmulatedBmc], scheduler: Scheduler) -> None:
    """Answer the BMCs of `open_bmcs` on this thread until the process ends."""
    _serve(bmcs, scheduler)


def _without_io_thread() -> None:
    """Keep pyghmi from starting its IO thread in this process: `_serve` reads the sockets.

    pyghmi's IO thread and the thread that answers share each socket and flip its blocking
    mode around every send and receive; under a burst of requests the IO thread ends up in a
    blocking recvfrom() on a socket that gets no more packets, and every BMC of the process
    falls silent (seen: a whole shard of 200 lost during a 1,000-BMC power sync).
    """
    pyghmi_session.iothread = threading.current_thread()  # "already started": none is
    pyghmi_session.iothreadready = True


def _serve(bmcs: list[EmulatedBmc], scheduler: Scheduler) -> None:
    """One thread, epoll over every BMC's socket, packets handed to pyghmi's session objects."""
    selector = selectors.DefaultSelector()
    for bmc in bmcs:
        selector.register(bmc.serversocket, selectors.EVENT_READ, bmc)
        bmc.selector = selector
        if bmc.uart is not None:
            selector.register(bmc.uart, selectors.EVENT_READ, (bmc, "uart"))
    while True:
        for key, _ in selector.select(scheduler.timeout(1.0)):
            if isinstance(key.data, tuple):  # (bmc, "uart" | "serial"): a machine's serial port
                owner, what = key.data
                try:
                    owner.uart_connected() if what == "uart" else owner.from_serial()
                except Exception:
                    log.exception("BMC %s: serial port", owner.spec.name)
                continue
            sock, bmc = key.fileobj, key.data
            while True:
                try:
                    data, addr = sock.recvfrom(3000, socket.MSG_DONTWAIT)  # type: ignore[union-attr]
                except OSError:  # nothing more queued (EAGAIN) or a transient error
                    break
                if len(data) < 4:
                    continue
                try:
                    session = bmc.sessions.get(addr)
                    if session is not None:
                        if data[0] == 6 and data[2:4] == b"\xff\x07":  # RMCP, class IPMI
                            session._handle_ipmi_packet(
                                bytearray(data), sockaddr=addr, qent=(data, addr, sock, True)
                            )
                    else:
                        bmc.sessionless_data(data, addr)
                except Exception:  # one bad packet must not take the other BMCs down
                    log.exception("BMC %s: handling a packet from %s", bmc.spec.name, addr)
        scheduler.run_due()


def _control(conn: Connection, bmcs: dict[str, EmulatedBmc]) -> None:
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            os._exit(0)  # the parent is gone: so are we
        try:
            bmc = bmcs[msg[1]]
            machine = bmc.machine
            if msg[0] == "power" and isinstance(machine, MemoryMachine):
                machine.force_power(msg[2])
            elif msg[0] != "snapshot":
                conn.send({"error": f"unknown request {msg[0]!r}"})
                continue
            conn.send({**machine.snapshot(), "logins": bmc.logins})
        except KeyError as e:
            conn.send({"error": f"no BMC named {e}"})
