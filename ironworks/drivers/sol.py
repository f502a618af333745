"""Serial over LAN: a node's serial console through its BMC's IPMI SOL payload.

`IPMISolConsole` is the console interface of the `ipmi` hardware type and of `redfish` (most
Redfish BMCs also answer IPMI: set driver_info `ipmi_address` and the other `ipmi_*` keys; a
Redfish node without them has no console). The interface only checks that the keys are there:
the session itself is a `SolStream`, opened by whoever bridges it to a viewer
(`services/consoles.py`).

`SolStream` runs `ipmitool -I lanplus ... sol activate` in a pseudo-terminal, the alternative the
issue allowed next to pyghmi's console client: pyghmi's client needs its IO loop pumped and
shares module-wide session state with the power calls of the same process, while a child
process holds the session on its own and dies with its file descriptors. The password goes in
the child's environment (`-E`), never on its command line. A SOL payload left active by a
session that died (a crashed bridge, an operator's ipmitool) is deactivated first, as pyghmi's
`force` does: Ironworks decides who may type (one writer per node), the BMC admits one session.
Bytes typed pass through unchanged except ipmitool's own escape sequences (`~.` at the start
of a line ends the session, as with ipmitool).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import signal
import subprocess
import termios
import tty
from collections.abc import Callable
from dataclasses import replace

from ironworks.common.errors import BMCUnreachable, Conflict, DriverError
from ironworks.drivers import base
from ironworks.drivers.base import Task
from ironworks.drivers.ipmi_info import IPMI_PROPERTIES, IPMIInfo
from ironworks.drivers.ipmitool import IPMITool

_OPERATIONAL = b"SOL Session operational"
# The console's copies of the IPMI keys are optional: a Redfish node needs them only for SOL.
SOL_PROPERTIES = tuple(replace(p, required=False) for p in IPMI_PROPERTIES)


def has_sol(task: Task) -> bool:
    """Does this node's driver_info say where its BMC answers IPMI?"""
    return bool(str(task.driver_info.get("ipmi_address") or "").strip())


class IPMISolConsole(base.ConsoleInterface):
    name = "ipmi-sol"
    properties = SOL_PROPERTIES

    def _check(self, task: Task) -> None:
        if not has_sol(task):
            from ironworks.common.errors import InvalidInput

            raise InvalidInput(
                f"node {task.uuid}: the serial console is IPMI serial-over-LAN and driver_info "
                "has no ipmi_address; set ipmi_address, ipmi_username and ipmi_password (a "
                "Redfish BMC usually answers IPMI too) or console_interface=no-console",
                field="driver_info/ipmi_address",
            )
        IPMIInfo.from_task(task)  # the formats

    def start_console(self, task: Task) -> None:
        self._check(task)

    def stop_console(self, task: Task) -> None:
        """Sessions end by themselves (the viewer leaves, a timeout); nothing to stop here."""

    def get_console(self, task: Task) -> dict[str, str]:
        self._check(task)
        return {"type": "websocket"}


class SolStream:
    """One SOL session: ipmitool in a pseudo-terminal, read on the running event loop.

    `on_data(bytes)` gets what the node prints; `on_close(sentence)` once, when the session
    ends for any reason (ipmitool exited: the BMC closed it, it was unreachable, `close()`).
    """

    def __init__(
        self,
        task: Task,
        on_data: Callable[[bytes], None],
        on_close: Callable[[str], None],
    ) -> None:
        self.tool = IPMITool(task)
        self.on_data, self.on_close = on_data, on_close
        self.proc: asyncio.subprocess.Process | None = None
        self.fd: int | None = None
        self.closed = False
        self.closing = ""  # why `close` was called, once it was
        self._said = b""  # ipmitool's words before the session is up (the banner, or why not)
        self._up: asyncio.Future[bool] | None = None

    @property
    def bmc(self) -> str:
        return self.tool.info.bmc

    def _argv(self, *cmd: str) -> list[str]:
        return [*self.tool.argv(self.tool.info.timeout), *cmd]

    def _env(self) -> dict[str, str]:
        return {**os.environ, "IPMI_PASSWORD": self.tool.info.password}

    async def _deactivate(self) -> None:
        done = await asyncio.create_subprocess_exec(
            *self._argv("sol", "deactivate"),
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await done.wait()

    async def open(self) -> None:
        """Deactivate a stale payload, then activate; returns once the SOL session is up
        (ipmitool said "SOL Session operational"), or raises with what ipmitool said."""
        await self._deactivate()
        main, child = pty.openpty()
        tty.setraw(child)
        attrs = termios.tcgetattr(child)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(child, termios.TCSANOW, attrs)
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self._argv("sol", "activate"),
                env=self._env(),
                stdin=child,
                stdout=child,
                stderr=child,
                start_new_session=True,
            )
        except OSError as e:
            os.close(main)
            raise DriverError(f"cannot run ipmitool for the console of BMC {self.bmc}: {e}") from e
        finally:
            os.close(child)
        os.set_blocking(main, False)
        self.fd = main
        loop = asyncio.get_running_loop()
        self._up = loop.create_future()
        loop.add_reader(main, self._readable)
        wait = self.tool.info.timeout * (self.tool.info.retries + 1) + 5
        try:
            up = await asyncio.wait_for(asyncio.shield(self._up), wait)
        except TimeoutError:
            await self.close("no SOL session within the BMC's timeout")
            raise BMCUnreachable(
                f"no SOL session with BMC {self.bmc} within {wait:g} s; check the address, the "
                "port and that the BMC is powered and on the network"
            ) from None
        if not up:
            words = self._said.decode("utf-8", "replace").strip().splitlines()
            said = words[-1].strip() if words else "nothing"
            if "already active" in said.lower():
                raise Conflict(f"BMC {self.bmc} keeps another SOL session active: {said}")
            raise DriverError(f"BMC {self.bmc} did not open a SOL session: ipmitool said {said!r}")

    def _readable(self) -> None:
        assert self.fd is not None and self._up is not None
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: ipmitool exited, its end of the terminal is gone
            data = b""
        if not data:
            if not self._up.done():
                self._up.set_result(False)
            asyncio.get_running_loop().create_task(self._ended())
            self._stop_reading()
            return
        if not self._up.done():  # ipmitool's own words until the session is up: not the node's
            self._said = (self._said + data)[-2048:]
            mark = self._said.find(_OPERATIONAL)
            if mark < 0:
                return
            self._up.set_result(True)
            end = self._said.find(b"\n", mark)
            data = self._said[end + 1 :] if end >= 0 else b""
            if not data:
                return
        self.on_data(data)

    def _stop_reading(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self.fd)

    async def _ended(self) -> None:
        code = await self.proc.wait() if self.proc is not None else None
        if self.closing:
            self._finish(self.closing)
            return
        words = self._said.decode("utf-8", "replace").strip().splitlines()
        said = words[-1] if words else ""
        if code == 0 or (self._up is not None and self._up.done() and self._up.result()):
            why = f"the SOL session with BMC {self.bmc} ended"
        else:
            why = f"the SOL session with BMC {self.bmc} failed: ipmitool said {said!r}"
        self._finish(why)

    def write(self, data: bytes) -> None:
        if self.fd is None or self.closed:
            return
        try:
            os.write(self.fd, data)
        except BlockingIOError:
            pass  # the terminal's buffer is full: a flood of typing loses its tail, like a UART
        except OSError:
            pass  # ipmitool is gone; `_readable` sees the end

    async def close(self, why: str) -> None:
        """End the session: the BMC is told to deactivate the payload (ipmitool then exits
        by itself; typing its `~.` would first send the node a carriage return), then ipmitool
        is stopped if it still runs."""
        if self.closed:
            return
        self.closing = why
        proc = self.proc
        if proc is not None and proc.returncode is None:
            await self._deactivate()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                await proc.wait()
        self._finish(why)

    def kill(self) -> None:
        """Stop ipmitool now, without waiting (the process is stopping); no `on_close`."""
        self.closed = True
        self._stop_reading()
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None

    def _finish(self, why: str) -> None:
        if self.closed:
            return
        self.closed = True
        self._stop_reading()
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
        self.on_close(why)
