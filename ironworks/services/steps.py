"""Steps a request names (`clean_steps`, `deploy_steps`, a runbook's, a deploy template's),
checked against what the node's interfaces declare (drivers/declared_steps.py) before the
request is accepted: an unknown step, a missing required argument or an unexpected one is a
400 naming the field (`clean_steps/0`), never a failure later in the conductor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ironworks.common.errors import InvalidInput
from ironworks.drivers.base import Interface
from ironworks.drivers.declared_steps import StepKind, declared, find

# What a step of a request may carry besides interface, step and args.
_EXTRA_KEYS: dict[str, frozenset[str]] = {
    "clean": frozenset(),
    "service": frozenset(),
    "deploy": frozenset({"priority"}),
}


def shape(raw: Any, field: str, *, extra: frozenset[str]) -> dict[str, Any]:
    """One step's form: {"interface": str, "step": str, "args": {...}} plus `extra` keys."""
    if not isinstance(raw, dict):
        raise InvalidInput(f"{field} must be a JSON object", field=field)
    unknown = sorted(set(raw) - {"interface", "step", "args"} - extra)
    if unknown:
        raise InvalidInput(f"{field}: unexpected key {unknown[0]!r}", field=f"{field}/{unknown[0]}")
    for key in ("interface", "step"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise InvalidInput(f"{field} needs '{key}', a non-empty string", field=f"{field}/{key}")
    args = raw.get("args", {})
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise InvalidInput(f"{field}/args must be a JSON object", field=f"{field}/args")
    out = {"interface": raw["interface"], "step": raw["step"], "args": args}
    for key in extra:
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInput(
                    f"{field}/{key} must be a whole number, 0 or more", field=f"{field}/{key}"
                )
            out[key] = value
    return out


def check_args(spec: Mapping[str, Any], args: dict[str, Any], field: str) -> None:
    """`args` against a declared step's `argsinfo`: every required one given, none unknown."""
    info: Mapping[str, Any] = spec.get("argsinfo") or {}
    unexpected = sorted(set(args) - set(info))
    if unexpected:
        raise InvalidInput(
            f"{field}: step {spec['interface']}.{spec['step']} takes no argument "
            f"{unexpected[0]!r}; it takes: {', '.join(sorted(info)) or 'none'}",
            field=f"{field}/args/{unexpected[0]}",
        )
    missing = sorted(n for n, i in info.items() if (i or {}).get("required") and n not in args)
    if missing:
        raise InvalidInput(
            f"{field}: step {spec['interface']}.{spec['step']} needs argument {missing[0]!r}",
            field=f"{field}/args/{missing[0]}",
        )


def for_node(
    ifaces: Mapping[str, Interface],
    kind: StepKind,
    raw_steps: Any,
    where: str,
    *,
    disable_ramdisk: bool = False,
    need_priority: bool = False,
) -> list[dict[str, Any]]:
    """The steps of a request, each checked against the node's interfaces; `where` names the
    field (`clean_steps`) in errors. With `disable_ramdisk`, every step must run without the
    agent ramdisk (declared `requires_ramdisk=False`)."""
    if not isinstance(raw_steps, list) or not raw_steps:
        raise InvalidInput(f"{where} must be a non-empty list of steps", field=where)
    out = []
    for i, raw in enumerate(raw_steps):
        field = f"{where}/{i}"
        st = shape(raw, field, extra=_EXTRA_KEYS[kind])
        if need_priority and "priority" not in st:
            raise InvalidInput(f"{field} needs 'priority'", field=f"{field}/priority")
        find(ifaces, kind, st["interface"], st["step"], where=field)
        spec = next(s for s in declared(ifaces[st["interface"]], kind) if s["step"] == st["step"])
        check_args(spec, st["args"], field)
        if disable_ramdisk and spec["requires_ramdisk"]:
            raise InvalidInput(
                f"{field}: step {st['interface']}.{st['step']} needs the agent ramdisk, so it "
                "cannot run with disable_ramdisk",
                field="disable_ramdisk",
            )
        out.append(st)
    return out
