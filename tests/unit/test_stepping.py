"""conductor/stepping.py: declared steps run in order, the index and the running step are
saved as each starts, only the step that waited is resumed, and a request run again after a
crash carries on where its saved progress stands."""

from __future__ import annotations

from typing import Any

import pytest

from ironworks.common.errors import InvalidInput
from ironworks.conductor import stepping
from ironworks.drivers.base import Task
from ironworks.drivers.declared_steps import step


class _Mgmt:
    kind = "management"

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    @step("clean", argsinfo={"n": {"description": "which", "required": True}})
    def tick(self, task: Task, n: int) -> str:
        self.calls.append((f"tick{n}", bool(task.args.get("resume"))))
        return "done"

    @step("clean")
    def slow(self, task: Task) -> str:
        resumed = bool(task.args.get("resume"))
        self.calls.append(("slow", resumed))
        return "done" if resumed else "wait"


def _task(args: dict[str, Any], internal: dict[str, Any] | None = None) -> tuple[Task, list]:
    saved: list[dict[str, Any]] = []
    task = Task(node={"uuid": "n1"}, purpose="test", conductor="c1", options={})
    task.args = args
    task.internal = internal if internal is not None else {}
    task.options["save_progress"] = lambda values: saved.append(
        {
            "step": values["clean_step"],
            "index": values["driver_internal_info"].get("clean_step_index"),
        }
    )
    return task, saved


def _tick(n: int) -> dict[str, Any]:
    return {"interface": "management", "step": "tick", "args": {"n": n}}


SLOW = {"interface": "management", "step": "slow", "args": {}}


def test_steps_run_in_order_and_each_is_saved_as_it_starts() -> None:
    mgmt = _Mgmt()
    task, saved = _task({"step_plan": "p1"})
    assert stepping.plan(task, "clean", [_tick(1), _tick(2)])
    assert stepping.run(task, {"management": mgmt}, "clean") == "done"
    assert mgmt.calls == [("tick1", False), ("tick2", False)]
    assert [s["step"]["args"]["n"] for s in saved] == [1, 2]
    assert [s["index"] for s in saved] == [0, 1]
    assert stepping.finished(task, "clean")
    stepping.forget(task, "clean")
    assert task.internal == {}


def test_only_the_step_that_waited_is_resumed() -> None:
    mgmt = _Mgmt()
    ifaces = {"management": mgmt}
    task, _ = _task({"step_plan": "p1"})
    stepping.plan(task, "clean", [_tick(1), SLOW, _tick(2)])
    assert stepping.run(task, ifaces, "clean") == "wait"
    assert stepping.current(task, "clean") == SLOW
    internal = task.internal
    # the agent called back: a resume job, which carries no steps
    task, _ = _task({"resume": True}, internal)
    assert stepping.plan(task, "clean", None)
    assert stepping.run(task, ifaces, "clean") == "done"
    assert mgmt.calls == [("tick1", False), ("slow", False), ("slow", True), ("tick2", False)]


def test_the_same_request_after_a_crash_carries_on_from_its_saved_index() -> None:
    mgmt = _Mgmt()
    # what save_progress wrote before the crash: the second step had started
    internal = {
        "clean_steps": [_tick(1), _tick(2)],
        "clean_step_index": 1,
        "clean_step_plan": "p1",
    }
    task, _ = _task({"step_plan": "p1", "clean_steps": [_tick(1), _tick(2)]}, internal)
    stepping.plan(task, "clean", task.args["clean_steps"])
    assert stepping.run(task, {"management": mgmt}, "clean") == "done"
    assert mgmt.calls == [("tick2", False)]
    # a new request starts its own plan from the first step
    task, _ = _task({"step_plan": "p2"}, {**internal, "clean_step_index": 2})
    stepping.plan(task, "clean", [_tick(3)])
    stepping.run(task, {"management": mgmt}, "clean")
    assert mgmt.calls[-1] == ("tick3", False)


def test_a_step_no_longer_declared_fails_naming_it() -> None:
    task, _ = _task({})
    stepping.plan(task, "clean", [{"interface": "management", "step": "gone", "args": {}}])
    with pytest.raises(InvalidInput) as e:
        stepping.run(task, {"management": _Mgmt()}, "clean")
    assert "management.gone" in e.value.message and e.value.field == "clean_steps/0"


def test_upto_stops_before_the_core_step() -> None:
    mgmt = _Mgmt()
    task, _ = _task({})
    stepping.plan(task, "clean", [_tick(1), _tick(2)])
    assert stepping.run(task, {"management": mgmt}, "clean", upto=1) == "done"
    assert mgmt.calls == [("tick1", False)] and not stepping.finished(task, "clean")
