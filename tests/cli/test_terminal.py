"""`~.` and `~~` in what is typed on an attached console (cli/terminal.py)."""

from __future__ import annotations

from ironworks.cli.terminal import Escape


def test_tilde_dot_at_the_start_of_a_line_leaves() -> None:
    e = Escape()
    assert e.feed(b"~.") == (b"", True)  # the session's first keys count as a line start
    e = Escape()
    assert e.feed(b"ls\r") == (b"ls\r", False)
    assert e.feed(b"~") == (b"", False)  # held back: it may start an escape
    assert e.feed(b".") == (b"", True)


def test_other_tildes_are_typed() -> None:
    e = Escape()
    assert e.feed(b"echo ~x\r") == (b"echo ~x\r", False)  # inside a line
    assert e.feed(b"~~") == (b"~", False)  # doubled: one tilde
    assert e.feed(b"\r~a") == (b"\r~a", False)  # not an escape: both go
