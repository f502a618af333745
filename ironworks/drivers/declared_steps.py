"""The steps an interface declares: what `clean_steps`, `deploy_steps`, runbooks and deploy
templates may name.

An interface method becomes a step with `@step("clean", priority=..., argsinfo=...)` (the same
method may be declared for several kinds). `declared(iface, kind)` lists them the way Ironic's API
shows them (`interface`, `step`, `priority`, `argsinfo`, `abortable`, `requires_ramdisk`), and
`find(ifaces, kind, interface, name)` is the one lookup that refuses a step nobody declares.
Priority 0 means "run only when asked for" (manual cleaning, a template, a runbook); a step with
a higher priority also runs on its own, highest first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from ironworks.common.errors import InvalidInput

StepKind = Literal["clean", "deploy", "service"]
STEP_KINDS: tuple[StepKind, ...] = ("clean", "deploy", "service")
_ATTR = "_ironworks_steps"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class StepSpec:
    """One declaration: `argsinfo` maps an argument's name to
    `{"description": str, "required": bool}` as in Ironic."""

    kind: StepKind
    priority: int = 0
    argsinfo: Mapping[str, Mapping[str, Any]] | None = None
    abortable: bool = False
    requires_ramdisk: bool = True


def step(
    kind: StepKind,
    *,
    priority: int = 0,
    argsinfo: Mapping[str, Mapping[str, Any]] | None = None,
    abortable: bool = False,
    requires_ramdisk: bool = True,
) -> Callable[[F], F]:
    """Declare the decorated interface method a `kind` step. The method is called as
    `method(task, **args)` and returns "done" or "wait" (drivers/base.StepResult)."""
    if kind not in STEP_KINDS:
        raise ValueError(f"step kind {kind!r} is not one of {STEP_KINDS}")
    spec = StepSpec(kind, priority, argsinfo, abortable, requires_ramdisk)

    def mark(fn: F) -> F:
        specs: tuple[StepSpec, ...] = getattr(fn, _ATTR, ())
        setattr(fn, _ATTR, (*specs, spec))
        return fn

    return mark


def _specs(iface: object, kind: StepKind) -> list[tuple[str, StepSpec]]:
    found = []
    for name in dir(type(iface)):
        fn = getattr(type(iface), name, None)
        for spec in getattr(fn, _ATTR, ()):
            if spec.kind == kind:
                found.append((name, spec))
    return found


def declared(iface: Any, kind: StepKind) -> list[dict[str, Any]]:
    """The `kind` steps `iface` declares, as Ironic's API renders them."""
    return [
        {
            "interface": iface.kind,
            "step": name,
            "priority": spec.priority,
            "argsinfo": dict(spec.argsinfo) if spec.argsinfo is not None else None,
            "abortable": spec.abortable,
            "requires_ramdisk": spec.requires_ramdisk,
        }
        for name, spec in _specs(iface, kind)
    ]


def find(
    ifaces: Mapping[str, Any], kind: StepKind, interface: str, name: str, where: str = "steps"
) -> Callable[..., Any]:
    """The bound method for step `interface.name` of `kind`, or InvalidInput naming it."""
    iface = ifaces.get(interface)
    if iface is not None:
        for found, _spec in _specs(iface, kind):
            if found == name:
                return getattr(iface, name)
    offered = sorted(f"{i.kind}.{n}" for i in ifaces.values() for n, _ in _specs(i, kind))
    raise InvalidInput(
        f"{kind} step {interface}.{name} is not declared by this node's interfaces; "
        f"declared: {', '.join(offered) or 'none'}",
        field=where,
    )
