"""Waiting for nodes to finish what they were asked, with a live table on a terminal.

One poll loop serves every node of a command: each round reads the nodes still pending
(`?fields=` of a few columns) and judges them with `client.watch`. Polls start quick (fake
hardware finishes in milliseconds) and slow down to one every two seconds (a real deploy takes
minutes). A server that does not answer for a while is not a failure: the work goes on there,
so the wait goes on until its timeout. Ctrl-C stops waiting, not the work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import typer
from rich.console import RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from ironworks.cli.i18n import _
from ironworks.cli.output import console, emit_json, show_table, title
from ironworks.cli.runtime import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_TIMEOUT, report
from ironworks.client import APIError, BaremetalClient, ServerUnreachable
from ironworks.client.watch import POLL_FIELDS, Verdict

FIRST_INTERVAL = 0.1
MAX_INTERVAL = 2.0


@dataclass
class Watch:
    """One node being waited for."""

    ident: str  # as the operator typed it
    uuid: str
    action: str  # "deploy", "power on", ...
    judge: Callable[[dict[str, Any]], Verdict]
    node: dict[str, Any]
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    verdict: Verdict = field(default_factory=lambda: Verdict("pending"))
    timed_out: bool = False
    note: str = ""  # e.g. "server unreachable" while it is
    spinner: Spinner = field(default_factory=lambda: Spinner("dots"))

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def result(self) -> str:
        if self.timed_out:
            return "timeout"
        return self.verdict.outcome

    def end(self, verdict: Verdict, timed_out: bool = False) -> None:
        self.verdict, self.timed_out, self.finished = verdict, timed_out, time.monotonic()


@dataclass(frozen=True)
class Columns:
    """Which node fields a wait shows: provision or power ones."""

    state: str
    target: str


PROVISION = Columns("provision_state", "target_provision_state")
POWER = Columns("power_state", "target_power_state")


def elapsed_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def _live_table(watches: list[Watch], cols: Columns) -> Table:
    t = Table(title=_("Waiting for {n} node(s)").format(n=len(watches)), title_justify="left")
    for name in (_("Node"), title(cols.state), title(cols.target), _("Elapsed"), _("Result")):
        t.add_column(name)
    for w in watches:
        result: RenderableType
        if w.verdict.pending and not w.timed_out:
            w.spinner.text = Text(w.note or _("waiting"))
            result = w.spinner
        else:
            result = Text(w.result, style="green" if w.result == "done" else "red")
        t.add_row(
            Text(w.ident),
            Text(str(w.node.get(cols.state) or "")),
            Text(str(w.node.get(cols.target) or "")),
            Text(elapsed_text(w.elapsed)),
            result,
        )
    return t


@contextmanager
def _display(watches: list[Watch], cols: Columns, enabled: bool) -> Iterator[None]:
    err = console(stderr=True)
    if not enabled or not err.is_terminal:
        yield
        return
    with Live(
        get_renderable=lambda: _live_table(watches, cols),
        console=err,
        refresh_per_second=8,
        transient=True,
    ):
        yield


def _poll(
    client: BaremetalClient, w: Watch, cols: Columns, deadline: float | None, now: float
) -> None:
    try:
        w.node = client.get_node(w.uuid, POLL_FIELDS)
        w.note = ""
    except ServerUnreachable:
        w.note = _("server unreachable, still waiting")
    except APIError as e:
        if e.status == 404:
            w.end(Verdict("failed", _("the node was deleted while we waited")))
            return
        if e.status < 500:
            w.end(Verdict("failed", e.message))
            return
        w.note = _("server error {status}, still waiting").format(status=e.status)
    else:
        verdict = w.judge(w.node)
        if not verdict.pending:
            w.end(verdict)
            return
    if deadline is not None and now >= deadline:
        state = w.node.get(cols.state)
        w.end(
            Verdict(
                "failed",
                _("still {state} after {seconds}").format(
                    state=f'"{state}"', seconds=elapsed_text(w.elapsed)
                ),
            ),
            timed_out=True,
        )


def wait(
    client: BaremetalClient,
    watches: list[Watch],
    *,
    timeout: float | None,
    cols: Columns,
    as_json: bool,
) -> int:
    """Poll until every node is done, failed or out of time; print the results.

    Returns the exit code: 0 all done, EXIT_FAILED if any failed, else EXIT_TIMEOUT if any
    ran out of time. Ctrl-C ends the command with EXIT_INTERRUPTED."""
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    interval = FIRST_INTERVAL
    try:
        with _display(watches, cols, enabled=not as_json):
            while pending := [w for w in watches if w.finished is None]:
                now = time.monotonic()
                for w in pending:
                    _poll(client, w, cols, deadline, now)
                if any(w.finished is None for w in watches):
                    time.sleep(interval)
                    interval = min(interval * 1.5, MAX_INTERVAL)
    except KeyboardInterrupt:
        report(
            _("stopped waiting; the nodes carry on: see `ironworks node show {node}`").format(
                node=watches[0].ident if len(watches) == 1 else "NODE"
            )
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    _results(watches, cols, as_json)
    for w in watches:
        if w.result != "done":
            report(
                _("node {node}: {action} did not complete: {why}").format(
                    node=w.ident, action=w.action, why=w.verdict.message
                )
            )
    if any(w.result == "failed" for w in watches):
        return EXIT_FAILED
    if any(w.timed_out for w in watches):
        return EXIT_TIMEOUT
    return 0


def _results(watches: list[Watch], cols: Columns, as_json: bool) -> None:
    rows = [
        {
            "node": w.ident,
            "uuid": w.uuid,
            "action": w.action,
            "result": w.result,
            "message": w.verdict.message or None,
            "elapsed": round(w.elapsed, 3),
            **{k: w.node.get(k) for k in POLL_FIELDS if k not in ("uuid", "name")},
        }
        for w in watches
    ]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        r["elapsed"] = elapsed_text(r["elapsed"])
    show_table(rows, ("node", cols.state, cols.target, "elapsed", "result"))
