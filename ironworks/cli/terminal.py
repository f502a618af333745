"""Attach this terminal to a serial console WebSocket (`ironworks host console`, `node console`).

The terminal goes to raw mode, so every key reaches the node (Ctrl-C included); `~.` at the
start of a line leaves, `~~` sends one `~`, as with ssh and ipmitool. Console bytes go to stdout
unchanged; the server's sentences (read-only, why the session ended) go to stderr. The protocol
is the one of `api/native/consoles.py`.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import sys
import termios
import threading
import tty
from collections.abc import Iterator
from typing import Any

from ironworks.cli.i18n import _

ESCAPE, LEAVE = b"~", b"."


class Escape:
    """Finds `~.` at the start of a line in what is typed; what remains goes to the node."""

    def __init__(self) -> None:
        self.line_start = True
        self.tilde = False

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to send, whether to leave)."""
        out = bytearray()
        for i in range(len(data)):
            b = data[i : i + 1]
            if self.tilde:
                self.tilde = False
                if b == LEAVE:
                    return bytes(out), True
                out += b if b == ESCAPE else ESCAPE + b
            elif self.line_start and b == ESCAPE:
                self.tilde = True
                continue
            else:
                out += b
            self.line_start = b in (b"\r", b"\n")
        return bytes(out), False


@contextlib.contextmanager
def raw_mode(fd: int) -> Iterator[None]:
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _note(text: str) -> None:
    """A line of ours on stderr, readable in raw mode too (CR LF)."""
    sys.stderr.write(f"\r\n[{text}]\r\n")
    sys.stderr.flush()


def attach(url: str) -> int:
    """Run the session until the node's side ends it or `~.`; the exit status."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    done = threading.Event()
    status = {"code": 0}

    def show(ws: Any) -> None:
        try:
            for frame in ws:
                if isinstance(frame, bytes):
                    os.write(stdout, frame)
                    continue
                message = json.loads(frame)
                if message.get("type") == "error":
                    status["code"] = 1
                    _note(message.get("message", ""))
                elif message.get("type") == "closed":
                    _note(_("console closed: {reason}").format(reason=message.get("reason", "")))
                elif message.get("message"):
                    _note(message["message"] + (" " + _("(~. to leave)")))
        except (ConnectionClosed, OSError):
            pass
        finally:
            done.set()

    with connect(url, open_timeout=30, max_size=2**20) as ws:
        reader = threading.Thread(target=show, args=(ws,), daemon=True)
        reader.start()
        escape = Escape()
        with raw_mode(stdin):
            while not done.is_set():
                ready, _w, _x = select.select([stdin], [], [], 0.2)
                if not ready:
                    continue
                data = os.read(stdin, 4096)
                if not data:  # stdin closed: leave
                    break
                send, leave = escape.feed(data)
                if send:
                    try:
                        ws.send(send)
                    except ConnectionClosed:
                        break
                if leave:
                    _note(_("leaving the console"))
                    break
        ws.close()
        reader.join(5)
    return status["code"]
