"""`python3 -m ironworks_agent`: read the kernel command line, set up logging, run the agent.

The iPXE script puts `ironworks.api=URL ironworks.node=UUID BOOTIF=01-aa-bb-cc-dd-ee-ff` (and
`ironworks.debug=1`) on the command line. Arguments override it, for tests and by hand:
`--api URL --root PATH --node UUID --log-file PATH`. With `--root`, /proc/cmdline, /sys, /dev and
the files under /run are read under PATH.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from types import FrameType

from ironworks_agent import protocol
from ironworks_agent.agent import LOG_FORMAT, Agent

log = logging.getLogger("ironworks_agent")


def parse_cmdline(text: str) -> dict[str, str]:
    """`key=value` words of a kernel command line (bare words map to "")."""
    found = {}
    for word in text.split():
        key, _, value = word.partition("=")
        found[key] = value
    return found


def bootif_mac(value: str | None) -> str | None:
    """`01-aa-bb-cc-dd-ee-ff` (hardware type 1, Ethernet, then the MAC) → `aa:bb:cc:dd:ee:ff`."""
    if not value:
        return None
    parts = value.lower().split("-")
    if len(parts) == 7:
        parts = parts[1:]
    return ":".join(parts) if len(parts) == 6 else None


def setup_logging(log_file: Path, debug: bool) -> None:
    log.setLevel(logging.DEBUG if debug else logging.INFO)
    formatter = logging.Formatter(LOG_FORMAT)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file))
    except OSError as e:
        print(f"ironworks-agent: cannot write {log_file}: {e}", file=sys.stderr)
    for h in handlers:
        h.setFormatter(formatter)
        log.addHandler(h)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ironworks-agent", description=__doc__.splitlines()[0])
    parser.add_argument("--api", help="the Ironworks boot listener, e.g. http://10.99.0.1:8080")
    parser.add_argument(
        "--root", type=Path, default=Path("/"), help="prefix for /proc, /sys, /dev, /run"
    )
    parser.add_argument("--node", help="this node's UUID")
    parser.add_argument("--log-file", type=Path)
    parser.add_argument(
        "--wait-network",
        action="store_true",
        help="wait for an IPv4 address before the first lookup (the ramdisk starts the agent "
        "while DHCP runs)",
    )
    opts = parser.parse_args(argv)
    root: Path = opts.root
    try:
        cmdline = parse_cmdline((root / "proc/cmdline").read_text())
    except OSError:
        cmdline = {}
    setup_logging(
        opts.log_file or root / protocol.LOG_FILE.lstrip("/"),
        cmdline.get(protocol.CMDLINE_DEBUG) == "1",
    )
    api = opts.api or cmdline.get(protocol.CMDLINE_API)
    if not api:
        log.error(
            "no %s= on the kernel command line and no --api; cannot reach the server",
            protocol.CMDLINE_API,
        )
        return 2
    boot_mac = bootif_mac(cmdline.get(protocol.CMDLINE_BOOTIF))
    node = opts.node or cmdline.get(protocol.CMDLINE_NODE) or None
    log.info(
        "ironworks agent %s: api %s, node %s, boot MAC %s", protocol.VERSION, api, node, boot_mac
    )
    boot_id = cmdline.get(protocol.CMDLINE_BOOT) or None
    agent = Agent(api, root=root, node_uuid=node, boot_mac=boot_mac, boot_id=boot_id)
    if opts.wait_network:
        agent.wait_for_address()

    def on_term(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        agent.stop()

    signal.signal(signal.SIGTERM, on_term)
    try:
        agent.run()
    except KeyboardInterrupt:
        agent.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
