"""The commands the server can give, by name: each checks its args, does its work, returns a dict.

A handler gets the `Context` (where the machine's files are, how to report progress, what this
boot has done so far) and the command's `args`; it returns the `result` of the contract or raises.
`CommandError` and `disks.DiskError` carry the one sentence the operator reads; anything else is
a bug, reported with its type.

Power commands cannot report after they act, so they set `ctx.after`: the agent runs it
`POWER_DELAY_SECONDS` after the heartbeat that carried the result got through.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ironworks_agent import disks, inventory, protocol

log = logging.getLogger("ironworks_agent.commands")

Handler = Callable[["Context", dict[str, Any]], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}


class CommandError(Exception):
    """The command cannot run as asked; the message is one sentence for the operator."""


EXPECTED_ERRORS = (CommandError, disks.DiskError)


def power_action(name: str) -> None:
    """Power off or reboot this machine now: busybox first, the magic SysRq key if that fails."""
    os.sync()
    verb = "poweroff" if name == protocol.POWER_OFF else "reboot"
    try:
        subprocess.run(["/bin/busybox", verb, "-f"], check=True, timeout=10)
        return
    except (OSError, subprocess.SubprocessError) as e:
        log.warning("busybox %s failed (%s); using /proc/sysrq-trigger", verb, e)
    with open("/proc/sysrq-trigger", "w") as f:
        f.write("o" if name == protocol.POWER_OFF else "b")


def pretend_power(name: str) -> None:
    """The power action of an agent running under a test root: logged, never done."""
    log.warning("not running on the machine it describes: %s is only logged", name)


def _no_progress(done: int, total: int | None) -> None:
    pass


@dataclass
class Context:
    root: Path = Path("/")
    pxe_mac: str | None = None
    progress: Callable[[int, int | None], None] = _no_progress
    power: Callable[[str], None] = power_action
    ipv4: dict[str, str] | None = None  # tests give it; None asks the machine
    root_device: str | None = None  # what write_image wrote in this boot
    after: Callable[[], None] | None = field(default=None, repr=False)


def command(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        assert name in protocol.COMMANDS, name
        HANDLERS[name] = fn
        return fn

    return register


def execute(ctx: Context, name: str, args: dict[str, Any]) -> dict[str, Any]:
    handler = HANDLERS.get(name)
    if handler is None:
        raise CommandError(f"this agent has no command {name!r}")
    if not isinstance(args, dict):
        raise CommandError(f"the args of {name} must be an object")
    return handler(ctx, args)


def _text(args: dict[str, Any], key: str, name: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value:
        raise CommandError(f"{name} needs {key!r} as a non-empty string")
    return value


def _size(args: dict[str, Any], name: str) -> int | None:
    value = args.get("size")
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise CommandError(f"{name} needs 'size' as a number of bytes or null, not {value!r}")
    return value


@command(protocol.INVENTORY)
def run_inventory(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    wait = args.get("lldp_wait") or 0.0
    if not isinstance(wait, int | float) or wait < 0:
        raise CommandError(f"inventory needs 'lldp_wait' as seconds, not {wait!r}")
    return {"inventory": inventory.collect(ctx.root, float(wait), ctx.pxe_mac, ctx.ipv4)}


@command(protocol.WRITE_IMAGE)
def run_write_image(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    name = protocol.WRITE_IMAGE
    hints = args.get("root_device")
    if hints is not None and not isinstance(hints, dict):
        raise CommandError("write_image needs 'root_device' as an object of hints or null")
    result = disks.write_image(
        ctx.root,
        inventory.disks(ctx.root),
        _text(args, "url", name),
        _text(args, "sha256", name),
        _size(args, name),
        hints,
        ctx.progress,
    )
    ctx.root_device = result["device"]
    return dict(result)


@command(protocol.WRITE_CONFIGDRIVE)
def run_write_configdrive(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    name = protocol.WRITE_CONFIGDRIVE
    device = args.get("device") or ctx.root_device
    if device is None:
        device = disks.choose_root_disk(inventory.disks(ctx.root), None)["name"]
        log.warning("write_configdrive: no device given and no image written; using %s", device)
    if not isinstance(device, str):
        raise CommandError(f"write_configdrive needs 'device' as a string, not {device!r}")
    device = "/dev/" + device.removeprefix("/dev/")
    result = disks.write_configdrive(
        ctx.root,
        device,
        _text(args, "url", name),
        _text(args, "sha256", name),
        _size(args, name),
        ctx.progress,
    )
    return dict(result)


@command(protocol.ERASE_DISKS)
def run_erase_disks(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    mode = args.get("mode", protocol.ERASE_METADATA)
    if mode not in protocol.ERASE_MODES:
        raise CommandError(
            f"erase_disks needs 'mode' to be one of {', '.join(protocol.ERASE_MODES)}, not {mode!r}"
        )
    plans = []
    for disk in inventory.disks(ctx.root):
        short = disk["name"].removeprefix("/dev/")
        if inventory.read_attr(ctx.root / "sys/block" / short / "ro") == "1":
            log.info("erase_disks: %s is read-only; skipped", disk["name"])
            continue
        plans.append((disk["name"], disks.erase_plan(ctx.root, disk["name"], mode)))
    total = sum(end - start for _, ranges in plans for start, end in ranges)
    before, erased = 0, []
    for name, ranges in plans:
        log.info("erase_disks: zeroing %s (%s)", name, mode)
        path = disks.device_path(ctx.root, name)
        done = disks.zero(path, ranges, lambda n, b=before: ctx.progress(b + n, total))
        disks.reread_partitions(path)
        before += done
        erased.append({"device": name, "mode": mode, "bytes": done})
    return {"disks": erased}


def _power(name: str) -> Handler:
    def run(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
        power = ctx.power
        ctx.after = lambda: power(name)
        log.info("%s: reporting first, then acting", name)
        return {}

    return run


command(protocol.POWER_OFF)(_power(protocol.POWER_OFF))
command(protocol.REBOOT)(_power(protocol.REBOOT))
