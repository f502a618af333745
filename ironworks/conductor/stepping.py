"""Run a list of declared steps (drivers/declared_steps.py) in order, resumably.

The list a request brought (manual `clean_steps`, a runbook's steps, `deploy_steps` and the
deploy templates' steps) is kept in the node's `driver_internal_info` under `<kind>_steps`, with
the index of the next step under `<kind>_step_index`: a `resume` job (the agent called back)
carries no arguments, so the node itself says where the work stands. After each finished step
the index is saved (the conductor's `save_progress` option, under the node lock), so a crash
re-runs only the step that was running; steps are written to be safe to repeat.
"""

from __future__ import annotations

from typing import Any

from ironworks.drivers.base import Interface, StepResult, Task
from ironworks.drivers.declared_steps import StepKind, find


def _keys(kind: StepKind) -> tuple[str, str]:
    return f"{kind}_steps", f"{kind}_step_index"


def _waiting_key(kind: StepKind) -> str:
    return f"{kind}_step_waiting"  # the step at the index answered "wait": resume it


def plan(task: Task, kind: StepKind, requested: list[dict[str, Any]] | None) -> bool:
    """On a fresh request, keep `requested` (or forget an earlier plan when None); on a resume,
    or when the same request runs again after a crash (its `step_plan` id is the saved one),
    keep what is saved. True when a plan of `kind` steps is there to run."""
    steps_key, index_key = _keys(kind)
    plan_id = task.args.get("step_plan")
    same = plan_id is not None and task.internal.get(f"{kind}_step_plan") == plan_id
    if not task.args.get("resume") and not same:
        if requested:
            task.internal[steps_key] = [dict(s) for s in requested]
            task.internal[index_key] = 0
            task.internal[f"{kind}_step_plan"] = plan_id
        else:
            forget(task, kind)
    return bool(task.internal.get(steps_key))


def forget(task: Task, kind: StepKind) -> None:
    for key in (*_keys(kind), _waiting_key(kind), f"{kind}_step_plan"):
        task.internal.pop(key, None)


def current(task: Task, kind: StepKind) -> dict[str, Any]:
    """The step that runs now (or waits), as the node's clean_step / deploy_step shows it."""
    steps_key, index_key = _keys(kind)
    steps = task.internal.get(steps_key) or []
    i = task.internal.get(index_key, 0)
    return dict(steps[i]) if 0 <= i < len(steps) else {}


def run(
    task: Task, ifaces: dict[str, Interface], kind: StepKind, upto: int | None = None
) -> StepResult:
    """Run the planned steps from the saved index (the first `upto` of them at most): "wait"
    when one waits (the index stays on it, and its resume re-enters it with `resume`), else
    "done". An undeclared step fails here too: a driver may have changed since the request."""
    steps_key, index_key = _keys(kind)
    steps: list[dict[str, Any]] = task.internal.get(steps_key) or []
    end = len(steps) if upto is None else min(upto, len(steps))
    while task.internal.get(index_key, 0) < end:
        i = task.internal.get(index_key, 0)
        st = steps[i]
        fn = find(ifaces, kind, st["interface"], st["step"], where=f"{kind}_steps/{i}")
        # only the step that answered "wait" is resumed; any other starts afresh
        resumed = bool(task.internal.pop(_waiting_key(kind), False)) and bool(
            task.args.get("resume")
        )
        save = task.options.get("save_progress")
        if save is not None:
            save({f"{kind}_step": dict(st), "driver_internal_info": task.internal})
        saved_args = task.args
        task.args = {**task.args, "resume": resumed}
        try:
            result = fn(task, **(st.get("args") or {}))
        finally:
            task.args = saved_args
        if result == "wait":
            task.internal[_waiting_key(kind)] = True
            return "wait"
        task.internal[index_key] = i + 1
    return "done"


def finished(task: Task, kind: StepKind) -> bool:
    steps_key, index_key = _keys(kind)
    return task.internal.get(index_key, 0) >= len(task.internal.get(steps_key) or [])
