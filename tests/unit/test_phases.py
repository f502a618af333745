"""A node's timeline of phases (domain/phases.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from ironworks.domain import phases


def test_a_phase_opens_once_and_ends_once() -> None:
    line: phases.Timeline = []
    phases.start(line, phases.WRITE_IMAGE, "t0")
    phases.start(line, phases.WRITE_IMAGE, "t1")  # a resumed step: still the one phase
    assert line == [{"phase": phases.WRITE_IMAGE, "started": "t0", "finished": None}]
    assert phases.open_phases(line) == [phases.WRITE_IMAGE]
    assert phases.end(line, phases.WRITE_IMAGE, "t2") is True
    assert phases.end(line, phases.WRITE_IMAGE, "t3") is False
    assert line[0]["finished"] == "t2" and phases.open_phases(line) == []


def test_names_and_stamps() -> None:
    assert phases.erase_disks("full") == "erase disks (full)"
    assert phases.is_erase_disks(phases.erase_disks("metadata"))
    assert not phases.is_erase_disks(phases.WRITE_IMAGE)
    assert len(set(phases.DEPLOY)) == len(phases.DEPLOY)
    at = datetime(2026, 1, 2, 5, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    assert phases.stamp(at) == "2026-01-02T03:04:05.678+00:00"
    assert phases.stamp(at.astimezone(UTC)) == phases.stamp(at)
