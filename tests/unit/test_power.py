"""The power words (domain/power.py): what a request may ask and what it ends in."""

from __future__ import annotations

from typing import get_args

from ironworks.domain import power


def test_every_target_ends_on_or_off() -> None:
    assert {power.goal_of(t) for t in power.TARGETS} == {power.POWER_ON, power.POWER_OFF}
    assert power.goal_of(power.SOFT_POWER_OFF) == power.POWER_OFF
    assert power.goal_of(power.REBOOT) == power.goal_of(power.SOFT_REBOOT) == power.POWER_ON


def test_the_literal_type_names_every_target() -> None:
    assert set(get_args(power.PowerTarget)) == set(power.TARGETS)
    assert set(power.HARD_TARGETS) | power.SOFT_TARGETS == set(power.TARGETS)
