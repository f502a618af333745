"""Power status of many IPMI BMCs at once: an asyncio RMCP+ client for the power-state sync.

Why not pyghmi here: pyghmi runs one synchronous call per thread around one shared IO thread,
and every wake-up scans all its sessions. Measured on a 2-core machine against 400 emulated
BMCs it read about 40 power states a second and, in one run, lost every BMC of one emulator
process for a whole cycle. The sync of a 10,000-node fleet needs hundreds of requests in
flight from one thread, so this module speaks just what the sync needs, for many BMCs on one
event loop: RMCP+ session set-up (open session, RAKP 1-4; IPMI 2.0 section 13) with cipher
suite 17 (HMAC-SHA256, AES-CBC-128) or 3 (HMAC-SHA1, AES-CBC-128), then "Get Chassis Status"
(netfn chassis, command 0x01) for the power sync, and for the sensor cycle the SDR, sensor
readings and the system event log (`ipmi_health.py`, which decodes them with pyghmi's tables).
Everything else (power changes, boot device, one node's sensors on request) stays with pyghmi in
`ipmi.py`.

Sessions are kept between cycles and reused while younger than `SESSION_IDLE` seconds of
idleness (BMCs drop a session after 60 s of silence, IPMI 2.0 section 6.12.15), so a sync that
runs at least every 50 s sends one request per BMC; an older or broken session is replaced by
a new log-in within the same budget. This costs one of the BMC's session slots for as long as
the node is synced, besides the one pyghmi opens for operations.

Per BMC: the node's ipmi_timeout for everything, split into ipmi_retries + 1 tries of equal
waits (as `retry.call` does for pyghmi calls). A dead BMC holds one of the `concurrency` slots for its budget and nothing else,
so it cannot slow the others. Errors are the driver's: BMCAuthFailed (credentials refused,
never retried), BMCUnreachable (no answer), DriverError (the BMC answered with an error).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import socket
import struct
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ironworks.common.errors import (
    BMCAuthFailed,
    BMCUnreachable,
    DriverError,
    IronworksError,
    NotSupported,
)
from ironworks.domain.power import POWER_OFF, POWER_ON
from ironworks.domain.sensors import Health
from ironworks.drivers import ipmi_health
from ironworks.drivers.base import Task
from ironworks.drivers.ipmi_info import IPMIInfo

T = TypeVar("T")

SESSION_IDLE = 50.0  # seconds a kept session is trusted without traffic

_RMCP = b"\x06\x00\xff\x07"  # RMCP v1.0, no ACK, class IPMI
_FORMAT_RMCPP = 0x06
_OPEN_REQ, _OPEN_RSP, _RAKP1, _RAKP2, _RAKP3, _RAKP4 = 0x10, 0x11, 0x12, 0x13, 0x14, 0x15
_ENCRYPTED, _AUTHENTICATED = 0x80, 0x40
_BMC_ADDR, _OUR_SWID = 0x20, 0x81
_NAME_ONLY_LOOKUP = 0x10
_NO_CIPHER_MATCH = (0x11, 0x12, 0x05)  # invalid integrity / confidentiality alg., unsupported role


@dataclass(frozen=True)
class Suite:
    number: int
    auth_alg: int  # RAKP-HMAC-SHA1 = 1, RAKP-HMAC-SHA256 = 3
    integrity_alg: int  # HMAC-SHA1-96 = 1, HMAC-SHA256-128 = 4
    hash: Callable[..., Any]
    icv_len: int  # bytes of the integrity check value and of the RAKP4 check

    def mac(self, key: bytes, data: bytes) -> bytes:
        return hmac.new(key, data, self.hash).digest()


SUITES = {
    17: Suite(17, 3, 4, hashlib.sha256, 16),
    3: Suite(3, 1, 1, hashlib.sha1, 12),
}
STATUS = {
    0x01: "insufficient resources to create a session",
    0x02: "invalid session ID",
    0x04: "invalid role",
    0x09: "invalid name length",
    0x0D: "unauthorized name",
    0x0E: "unauthorized GUID",
    0x0F: "invalid integrity check value",
    0x11: "no cipher suite match with proposed security algorithms",
    0x12: "illegal or unrecognized parameter",
}


@dataclass(frozen=True)
class Target:
    """One BMC to ask, as the node's driver_info names it."""

    address: str
    port: int
    username: str
    password: str
    priv: int = 4
    suite: int | None = None  # pinned by ipmi_cipher_suite; None: 17, then 3
    timeout: float = 10.0  # seconds for the whole read, every try included
    tries: int = 3  # the budget split in this many equal waits (ipmi_retries + 1)

    @property
    def bmc(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.address, self.port, self.username, self.password, self.priv, self.suite)


class _NoAnswer(Exception):
    pass


class _Refused(Exception):
    """The BMC answered with a status that ends this attempt (carries the driver's error)."""

    def __init__(self, error: IronworksError, try_other_suite: bool = False) -> None:
        super().__init__(error.message)
        self.error = error
        self.try_other_suite = try_other_suite


@dataclass
class _Session:
    target: Target
    sockaddr: tuple[Any, ...]
    suite: Suite
    our_sid: int
    bmc_sid: int = 0
    k1: bytes = b""
    aes: bytes = b""
    seq: int = 0
    rq_seq: int = 0
    used: float = 0.0
    inbox: asyncio.Future[bytes] | None = field(default=None, repr=False)


@dataclass
class _Handshake:
    """One log-in attempt: the session it fills in, the tag that marks its answers, its time,
    and what the RAKP messages learn on the way."""

    session: _Session
    tag: int
    wait: float
    deadline: float
    rm: bytes = b""  # our random number (RAKP 1)
    rc: bytes = b""  # the BMC's random number (RAKP 2)
    guid: bytes = b""  # the BMC's GUID (RAKP 2)
    who: bytes = b""  # role, name length, user name: in the RAKP 2/3 HMACs and the session key
    kuid: bytes = b""  # the user's key (the password)
    sik: bytes = b""  # the session integrity key

    def tagged(self, payload: bytes) -> bool:  # an answer to this attempt, not a late one
        return len(payload) >= 2 and payload[0] == self.tag


def _checksum(data: bytes) -> int:
    return -sum(data) & 0xFF


def _header(ptype: int, sid: int, seq: int, length: int) -> bytes:
    return struct.pack("<BBIIH", _FORMAT_RMCPP, ptype, sid, seq, length)


def _aes(key: bytes, iv: bytes) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(key), modes.CBC(iv))


class Poller:
    """One event loop thread, one UDP socket per address family, sessions kept per BMC."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ipmi-poll", daemon=True)
        self._transports: dict[int, asyncio.DatagramTransport] = {}
        self._by_addr: dict[tuple[Any, ...], _Session] = {}
        self._sessions: dict[tuple[Any, ...], _Session] = {}
        self._suite_of: dict[tuple[Any, ...], int] = {}  # what a BMC agreed to last time
        # per BMC: its SDR and where its event log was read up to (ipmi_health.read)
        self._records: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._silent: set[tuple[Any, ...]] = set()  # BMCs that did not answer the last call
        # One conversation per BMC address at a time, across calls (the power sync and the
        # sensor cycle share the loop and the sessions) and across targets naming one BMC with
        # other credentials: a session has one inbox, replies are told apart by address alone.
        self._turns: dict[tuple[str, int], asyncio.Lock] = {}
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._ready.set()
        self._loop.run_forever()

    # --- the public call, from any thread --------------------------------------------------------

    def power_states(
        self, targets: Sequence[Target], concurrency: int
    ) -> list[str | IronworksError]:
        """Each target's power state ("power on"/"power off") or the error that stopped it."""
        return self._run_all(targets, concurrency, "reading the power state", self._power)

    def health(self, targets: Sequence[Target], concurrency: int) -> list[Health | IronworksError]:
        """Each target's sensor readings and the event log entries added since the last call
        (all of them the first time), or the error that stopped it (`ipmi_health.py`)."""
        return self._run_all(
            targets, concurrency, "reading sensors and the event log", self._health
        )

    def _run_all(
        self,
        targets: Sequence[Target],
        concurrency: int,
        what: str,
        work: Callable[[Target], Awaitable[T]],
    ) -> list[T | IronworksError]:
        future = asyncio.run_coroutine_threadsafe(
            self._all(list(targets), concurrency, what, work), self._loop
        )
        return future.result()

    async def _all(
        self,
        targets: list[Target],
        concurrency: int,
        what: str,
        work: Callable[[Target], Awaitable[T]],
    ) -> list[T | IronworksError]:
        self._forget_idle()
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(t: Target) -> T | IronworksError:
            async with gate, self._turns.setdefault((t.address, t.port), asyncio.Lock()):
                try:
                    return await work(t)
                except IronworksError as e:
                    return e
                except Exception as e:  # a bug here must not stop the other BMCs' answers
                    return DriverError(f"{what} of BMC {t.bmc} failed: {e!r}")

        # Nodes enrolled twice on one BMC share its session: ask once. BMCs that did not answer
        # last time go first: a dead one then waits out its timeout while the others are asked,
        # instead of taking a slot only when most are done and making the cycle that much longer.
        unique = sorted(
            {t.key: t for t in targets}.values(), key=lambda t: t.key not in self._silent
        )
        got = await asyncio.gather(*map(one, unique))
        for t, answer in zip(unique, got, strict=True):
            if isinstance(answer, BMCUnreachable):
                self._silent.add(t.key)
            else:
                self._silent.discard(t.key)
        answers = dict(zip([t.key for t in unique], got, strict=True))
        return [answers[t.key] for t in targets]

    def _forget_idle(self) -> None:
        now = time.monotonic()
        for key, s in list(self._sessions.items()):
            if now - s.used > 2 * SESSION_IDLE:
                self._drop(key)

    def _drop(self, key: tuple[Any, ...]) -> None:
        s = self._sessions.pop(key, None)
        if s is not None and self._by_addr.get(s.sockaddr) is s:
            del self._by_addr[s.sockaddr]

    # --- one BMC ---------------------------------------------------------------------------------

    async def _power(self, t: Target) -> str:
        return await self._on_session(t, "a power status request", self._chassis_status)

    async def _health(self, t: Target) -> Health:
        return await self._on_session(t, "a sensor reading", self._read_health)

    async def _on_session(
        self, t: Target, what: str, work: Callable[[_Session, float], Awaitable[T]]
    ) -> T:
        """`work(session, until)` on the BMC's kept session, or on a new one: the target's
        timeout for everything, split into `tries` equal waits; `until` ends the try."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + t.timeout
        tries = max(1, t.tries)
        attempt = 0

        def share() -> float:  # each try an equal part of what is left (as retry.call does)
            return max(0.05, (deadline - loop.time()) / (tries - attempt))

        s = self._sessions.get(t.key)
        if s is not None and time.monotonic() - s.used < SESSION_IDLE:
            wait = share()
            attempt += 1
            try:
                return await work(s, loop.time() + wait)
            except _NoAnswer:
                pass  # the BMC may have dropped the session: log in again (if tries are left)
            except _Refused as e:
                raise e.error from None
        self._drop(t.key)
        suites = [t.suite] if t.suite is not None else [self._suite_of.get(t.key, 17), 3]
        while attempt < tries and deadline - loop.time() > 0.05:
            wait = share()
            attempt += 1
            try:
                s = await self._login(t, SUITES[suites[0]], wait, deadline)
                self._sessions[t.key] = s
                self._suite_of[t.key] = s.suite.number
                return await work(s, min(loop.time() + wait, deadline))
            except _NoAnswer:
                self._drop(t.key)
            except _Refused as e:
                self._drop(t.key)
                if e.try_other_suite and len(suites) > 1:
                    suites.pop(0)
                    attempt -= 1  # an answer, not a lost try
                    continue
                raise e.error from None
        raise BMCUnreachable(
            f"no answer from BMC {t.bmc} within {t.timeout:g} s ({attempt} "
            f"{'try' if attempt == 1 else 'tries'}) to {what}; check the "
            "address, the port and that the BMC is powered and on the network"
        )

    async def _login(self, t: Target, suite: Suite, wait: float, deadline: float) -> _Session:
        """Open an RMCP+ session with the BMC: open session, then RAKP 1-4 (IPMI 2.0 sec. 13)."""
        s = await self._claim_session(t, suite)
        h = _Handshake(s, tag=os.urandom(1)[0], wait=wait, deadline=deadline)
        await self._open_session(h)
        await self._rakp_1_2(h)
        await self._rakp_3_4(h)
        s.used = time.monotonic()
        return s

    async def _claim_session(self, t: Target, suite: Suite) -> _Session:
        """A new session for the BMC's address, which from now on receives its packets."""
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(t.address, t.port, type=socket.SOCK_DGRAM)
        family, _, _, _, sockaddr = infos[0]
        await self._endpoint(family)
        s = _Session(t, tuple(sockaddr), suite, our_sid=struct.unpack("<I", os.urandom(4))[0] | 1)
        old = self._by_addr.get(s.sockaddr)
        if old is not None and old.inbox is not None and not old.inbox.done():
            old.inbox.set_exception(_NoAnswer())
        self._by_addr[s.sockaddr] = s
        return s

    async def _ask(self, h: _Handshake, ptype: int, body: bytes, want: int) -> bytes:
        """Send one set-up message (the attempt's tag, then `body`); return its answer."""
        return await self._exchange(
            h.session,
            _RMCP + self._plain(ptype, bytes([h.tag]) + body),
            want,
            h.wait,
            h.deadline,
            accept=h.tagged,
        )

    async def _open_session(self, h: _Handshake) -> None:
        """Open session: ask for the suite's algorithms; learn the BMC's session id."""
        s, t, suite = h.session, h.session.target, h.session.suite
        algs = (
            bytes([0, 0, 0, 8, suite.auth_alg, 0, 0, 0])
            + bytes([1, 0, 0, 8, suite.integrity_alg, 0, 0, 0])
            + bytes([2, 0, 0, 8, 1, 0, 0, 0])
        )
        # Open session: tag, requested max privilege, reserved, our session id, algorithms.
        rsp = await self._ask(
            h, _OPEN_REQ, bytes([t.priv, 0, 0]) + struct.pack("<I", s.our_sid) + algs, _OPEN_RSP
        )
        if rsp[1]:
            raise _Refused(
                DriverError(
                    f"BMC {t.bmc} refused an RMCP+ session with cipher suite "
                    f"{suite.number}: {STATUS.get(rsp[1], hex(rsp[1]))}"
                ),
                try_other_suite=rsp[1] in _NO_CIPHER_MATCH,
            )
        if len(rsp) < 12:
            raise _Refused(self._malformed(t, "open session response"))
        s.bmc_sid = struct.unpack("<I", rsp[8:12])[0]

    async def _rakp_1_2(self, h: _Handshake) -> None:
        """RAKP 1 and 2: exchange random numbers, check the BMC knows the user's key, derive
        the session keys."""
        s, t, suite = h.session, h.session.target, h.session.suite
        # RAKP 1: our random number, the role we ask for (name-only lookup) and the user name.
        h.rm = os.urandom(16)
        user = t.username.encode()
        role = (t.priv & 0x0F) | _NAME_ONLY_LOOKUP
        rsp = await self._ask(
            h,
            _RAKP1,
            bytes([0, 0, 0])
            + struct.pack("<I", s.bmc_sid)
            + h.rm
            + bytes([role, 0, 0, len(user)])
            + user,
            _RAKP2,
        )
        if rsp[1]:
            if rsp[1] == 0x0D:
                raise _Refused(self._bad_credentials(t))
            raise _Refused(
                DriverError(
                    f"BMC {t.bmc} refused the log-in (RAKP 2): {STATUS.get(rsp[1], hex(rsp[1]))}"
                )
            )
        if len(rsp) < 40 + suite.hash().digest_size:
            raise _Refused(self._malformed(t, "RAKP 2"))
        h.rc, h.guid, code = rsp[8:24], rsp[24:40], rsp[40:]
        sids = struct.pack("<II", s.our_sid, s.bmc_sid)
        h.who = bytes([role, len(user)]) + user
        h.kuid = t.password.encode()
        if not hmac.compare_digest(code, suite.mac(h.kuid, sids + h.rm + h.rc + h.guid + h.who)):
            raise _Refused(self._bad_credentials(t))
        h.sik = suite.mac(h.kuid, h.rm + h.rc + h.who)  # no BMC key (Kg): the user's key stands in
        size = suite.hash().digest_size
        s.k1 = suite.mac(h.sik, b"\x01" * size)
        s.aes = suite.mac(h.sik, b"\x02" * size)[:16]

    async def _rakp_3_4(self, h: _Handshake) -> None:
        """RAKP 3: prove we hold the key too; RAKP 4 proves the BMC derived the same session key."""
        s, t, suite = h.session, h.session.target, h.session.suite
        proof = suite.mac(h.kuid, h.rc + struct.pack("<I", s.our_sid) + h.who)
        rsp = await self._ask(
            h, _RAKP3, bytes([0, 0, 0]) + struct.pack("<I", s.bmc_sid) + proof, _RAKP4
        )
        if rsp[1]:
            raise _Refused(
                DriverError(
                    f"BMC {t.bmc} refused the log-in (RAKP 4): {STATUS.get(rsp[1], hex(rsp[1]))}"
                )
            )
        check = suite.mac(h.sik, h.rm + struct.pack("<I", s.bmc_sid) + h.guid)[: suite.icv_len]
        if not hmac.compare_digest(rsp[8 : 8 + suite.icv_len], check):
            raise _Refused(
                DriverError(
                    f"BMC {t.bmc} sent a session check that does not match; "
                    "the BMC may require a BMC key (Kg)"
                )
            )

    @staticmethod
    def _malformed(t: Target, what: str) -> DriverError:
        return DriverError(
            f"BMC {t.bmc} sent a malformed {what}; it may not speak RMCP+ (IPMI 2.0)"
        )

    @staticmethod
    def _bad_credentials(t: Target) -> BMCAuthFailed:
        return BMCAuthFailed(
            f"BMC {t.bmc} rejected the credentials for user {t.username or '(null user)'}; "
            "fix driver_info ipmi_username and ipmi_password"
        )

    async def _command(
        self, s: _Session, netfn: int, command: int, data: bytes, until: float
    ) -> tuple[int, bytes]:
        """One IPMI request on an open session, answered by the loop time `until`:
        (completion code, response data)."""
        s.rq_seq = (s.rq_seq + 1) & 0x3F
        seq = s.rq_seq
        head = bytes([_BMC_ADDR, netfn << 2])  # the BMC, the network function
        body = bytes([_OUR_SWID, seq << 2, command]) + data  # us, our sequence, the command
        msg = head + bytes([_checksum(head)]) + body + bytes([_checksum(body)])

        def ours(answer: bytes) -> bool:
            # rqAddr, netFn/LUN, cks, rsAddr, rqSeq/LUN, cmd, completion code, data..., cks
            return len(answer) >= 8 and answer[5] == command and answer[4] >> 2 == seq

        loop = asyncio.get_running_loop()
        answer = await self._exchange(
            s, self._sealed(s, msg), 0x00, until - loop.time(), until, accept=ours
        )
        s.used = time.monotonic()
        return answer[6], answer[7:-1]

    async def _chassis_status(self, s: _Session, until: float) -> str:
        """Get Chassis Status on an open session; answer by the loop time `until`."""
        code, data = await self._command(s, 0x00, 0x01, b"", until)
        if code or not data:
            raise _Refused(
                DriverError(
                    f"BMC {s.target.bmc} failed a power status request "
                    f"(completion code 0x{code:02x})"
                )
            )
        return POWER_ON if data[0] & 0x01 else POWER_OFF

    async def _read_health(self, s: _Session, until: float) -> Health:
        """The sensors of the BMC's SDR (kept for `SDR_TTL`) and its new SEL entries; each
        request within the try's wait (`until` is when the first must have answered)."""
        loop = asyncio.get_running_loop()
        per_request = max(0.05, until - loop.time())

        async def ask(netfn: int, command: int, data: bytes = b"") -> tuple[int, bytes]:
            return await self._command(s, netfn, command, data, loop.time() + per_request)

        return await ipmi_health.read(ask, self._records.setdefault(s.target.key, {}))

    # --- packets ---------------------------------------------------------------------------------

    @staticmethod
    def _plain(ptype: int, payload: bytes) -> bytes:
        return _header(ptype, 0, 0, len(payload)) + payload

    def _sealed(self, s: _Session, message: bytes) -> bytes:
        s.seq = (s.seq + 1) & 0xFFFFFFFF or 1
        iv = os.urandom(16)
        pad = (16 - (len(message) + 1) % 16) % 16
        enc = _aes(s.aes, iv).encryptor()
        payload = (
            iv + enc.update(message + bytes(range(1, pad + 1)) + bytes([pad])) + enc.finalize()
        )
        body = _header(_ENCRYPTED | _AUTHENTICATED, s.bmc_sid, s.seq, len(payload)) + payload
        fill = (4 - (len(body) + 2) % 4) % 4
        body += b"\xff" * fill + bytes([fill, 0x07])
        return _RMCP + body + s.suite.mac(s.k1, body)[: s.suite.icv_len]

    def _open(self, s: _Session, data: bytes) -> tuple[int, bytes] | None:
        """(payload type, payload) of a packet for session s, or None if it is not valid."""
        if len(data) < 16 or data[:4] != _RMCP or data[4] != _FORMAT_RMCPP:
            return None
        ptype = data[5]
        (length,) = struct.unpack("<H", data[14:16])
        payload = data[16 : 16 + length]
        if len(payload) != length:
            return None
        if ptype & _AUTHENTICATED:
            if not s.k1:
                return None
            n = s.suite.icv_len
            if not hmac.compare_digest(data[-n:], s.suite.mac(s.k1, data[4:-n])[:n]):
                return None
            if struct.unpack("<I", data[6:10])[0] != s.our_sid:
                return None
        if ptype & _ENCRYPTED:
            if not s.aes or len(payload) < 32 or len(payload) % 16:
                return None
            dec = _aes(s.aes, payload[:16]).decryptor()
            clear = dec.update(payload[16:]) + dec.finalize()
            payload = clear[: -(clear[-1] + 1)]
        return ptype & 0x3F, payload

    async def _exchange(
        self,
        s: _Session,
        packet: bytes,
        want: int,
        wait: float,
        deadline: float,
        accept: Callable[[bytes], bool] | None = None,
    ) -> bytes:
        """Send `packet`; return the payload of the first valid answer of type `want`."""
        loop = asyncio.get_running_loop()
        until = min(loop.time() + wait, deadline)
        family = socket.AF_INET6 if len(s.sockaddr) == 4 else socket.AF_INET
        self._transports[family].sendto(packet, s.sockaddr)
        while True:
            left = until - loop.time()
            if left <= 0:
                raise _NoAnswer()
            fut: asyncio.Future[bytes] = loop.create_future()
            s.inbox = fut
            timer = loop.call_later(left, _expire, fut)
            try:
                data = await fut
            finally:
                timer.cancel()
                s.inbox = None
            opened = self._open(s, data)
            if opened is not None and opened[0] == want and (accept is None or accept(opened[1])):
                return opened[1]

    async def _endpoint(self, family: int) -> None:
        if family in self._transports:
            return
        loop = asyncio.get_running_loop()
        any_addr = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind(any_addr)
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
        self._transports[family] = transport

    def deliver(self, data: bytes, addr: tuple[Any, ...]) -> None:
        s = self._by_addr.get(tuple(addr))
        if s is not None and s.inbox is not None and not s.inbox.done():
            s.inbox.set_result(data)


def _expire(fut: asyncio.Future[bytes]) -> None:
    if not fut.done():
        fut.set_exception(_NoAnswer())


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, poller: Poller) -> None:
        self.poller = poller

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.poller.deliver(data, addr)


def targets_of(tasks: Sequence[Task], out: list[Any]) -> tuple[list[tuple[int, Target]], list[int]]:
    """The tasks the poller asks ((index, target)) and those it does not speak to (bridged
    BMCs: indexes); a task whose driver_info is wrong gets its error in `out`."""
    direct: list[int] = []
    polled: list[tuple[int, Target]] = []
    for i, task in enumerate(tasks):
        try:
            info = IPMIInfo.from_task(task)
        except IronworksError as e:
            out[i] = e
            continue
        if info.bridging != "no":
            direct.append(i)
            continue
        suite = info.cipher_suite if info.cipher_suite in SUITES else None
        polled.append(
            (
                i,
                Target(
                    info.address,
                    info.port,
                    info.username,
                    info.password,
                    info.priv_number or 4,
                    suite,
                    info.timeout,
                    info.retries + 1,
                ),
            )
        )
    return polled, direct


def healths(tasks: Sequence[Task], concurrency: int) -> list[Health | IronworksError]:
    """The sensor cycle of IPMI nodes, whichever management interface (ipmi, ipmitool) they
    use: every BMC from the poller on its kept session; bridged BMCs are not read
    (NotSupported)."""
    out: list[Health | IronworksError | None] = [None] * len(tasks)
    polled, direct = targets_of(tasks, out)
    if polled:
        answers = poller().health([t for _, t in polled], concurrency)
        for (i, _), answer in zip(polled, answers, strict=True):
            out[i] = answer
    for i in direct:
        out[i] = NotSupported("the sensor cycle does not read bridged IPMI BMCs")
    return [a if a is not None else DriverError("no answer computed") for a in out]


_POLLER: Poller | None = None
_POLLER_LOCK = threading.Lock()


def poller() -> Poller:
    """The process's poller, started on first use (conductors only)."""
    global _POLLER
    with _POLLER_LOCK:
        if _POLLER is None:
            _POLLER = Poller()
        return _POLLER
