"""The internal console server of an `ironworks conductor` process.

With the API and conductors split, the API relays each console WebSocket to the conductor that
owns the node (docs/operations.md, "Serial console"). This serves that conductor's end: uvicorn
in a thread of its own, on `console.internal_host`:`internal_port` (loopback by default), the
Starlette app of `api/native/consoles.internal_app`. Its address (`console_url`) is what the
conductor registers in the conductors table, where the API processes look it up.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Any

from ironworks.api.native.consoles import end_sessions, internal_app
from ironworks.common.errors import ConfigError
from ironworks.services.context import Services

log = logging.getLogger(__name__)


class ConsoleServer:
    def __init__(self, svc: Services) -> None:
        import uvicorn

        cfg = svc.settings.console
        family = socket.AF_INET6 if ":" in cfg.internal_host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((cfg.internal_host, cfg.internal_port))
        except OSError as e:
            self.sock.close()
            raise ConfigError(
                f"cannot serve the internal console WebSocket on {cfg.internal_host}:"
                f"{cfg.internal_port} ({e.strerror or e}); set console.internal_host and "
                "console.internal_port (IRONWORKS_CONSOLE__INTERNAL_PORT)"
            ) from None
        self.sock.listen(128)
        port = self.sock.getsockname()[1]
        host = cfg.internal_advertise or cfg.internal_host
        self.url = f"ws://{f'[{host}]' if ':' in host else host}:{port}"
        self.app = internal_app(svc)
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                access_log=False,
                log_config=None,
                timeout_graceful_shutdown=5,
                ws_max_size=1 << 20,
            )
        )
        self.thread = threading.Thread(target=self._serve, name="console-server", daemon=True)
        self.loop: asyncio.AbstractEventLoop | None = None

    def _serve(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve(sockets=[self.sock]))

    def start(self) -> None:
        self.thread.start()
        log.info("internal console WebSocket on %s", self.url)

    def stop(self) -> None:
        """End the sessions ("the conductor is stopping", each recorded), then the server."""
        if self.loop is not None and self.loop.is_running():
            done: Any = asyncio.run_coroutine_threadsafe(
                end_sessions(self.app, "the conductor is stopping"), self.loop
            )
            try:
                done.result(timeout=25)
            except Exception:
                log.warning("console sessions did not end in time", exc_info=True)
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()
