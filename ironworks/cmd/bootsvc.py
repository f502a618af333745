"""The boot services of `ironworks serve`: dnsmasq, its hosts directory, the boot listener.

* dnsmasq serves DHCP and TFTP on the provisioning network (boot/dnsmasq.py);
* a reconciler writes every enrolled node's MACs into dnsmasq's hosts directory every
  `SYNC_INTERVAL` seconds (only what changed; SIGHUP when a node went away);
* the boot listener serves iPXE scripts, ramdisks, images and the agent API (api/boot.py) on
  `boot.http_address:http_port`, inside `boot.netns` when set (the lab).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from ironworks.boot import netns
from ironworks.boot.dnsmasq import Dnsmasq
from ironworks.common.settings import Settings
from ironworks.services import agent
from ironworks.services.context import Services

log = logging.getLogger(__name__)
SYNC_INTERVAL = 2.0


class BootServices:
    def __init__(self, svc: Services, settings: Settings) -> None:
        self.svc = svc
        self.cfg = settings.boot
        self.dnsmasq = Dnsmasq(self.cfg, settings.home / "boot", settings.ramdisk_path)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: Any = None

    def start(self) -> None:

        import uvicorn

        from ironworks.api.boot import boot_app
        from ironworks.api.native.images import boot_router

        self.sync_hosts()
        if self.cfg.netns:
            sock = netns.listen_in(self.cfg.netns, self.cfg.http_address, self.cfg.http_port)
        else:
            sock = netns.listen_here(self.cfg.http_address, self.cfg.http_port)
        self.dnsmasq.start()
        app = boot_app(self.svc, (boot_router,))
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                loop="asyncio",
                http="h11",
                access_log=False,
                log_config=None,
                timeout_graceful_shutdown=2,
            )
        )
        serve = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[sock])),
            name="boot-http",
            daemon=True,
        )
        sync = threading.Thread(target=self._sync_loop, name="boot-hosts", daemon=True)
        for t in (serve, sync):
            t.start()
            self._threads.append(t)
        where = f" in namespace {self.cfg.netns}" if self.cfg.netns else ""
        log.info(
            "boot services on http://%s:%d%s", self.cfg.http_address, self.cfg.http_port, where
        )

    def sync_hosts(self) -> None:
        written, removed = self.dnsmasq.hosts.sync(agent.known_macs(self.svc))
        if removed:
            self.dnsmasq.reload_hosts()
        if written or removed:
            log.info("dnsmasq hosts: %d written, %d removed", written, removed)

    def _sync_loop(self) -> None:
        while not self._stop.wait(SYNC_INTERVAL):
            try:
                self.sync_hosts()
            except Exception:
                log.exception("syncing dnsmasq's hosts failed; retrying")

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.should_exit = True
        self.dnsmasq.stop()
