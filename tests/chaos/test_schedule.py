"""The kill schedule depends on the seed alone, so a failing run can be repeated exactly."""

from __future__ import annotations

import itertools

from alertmesh.chaos.schedule import KILL_TARGETS, kill_schedule


def test_same_seed_same_schedule() -> None:
    assert kill_schedule(42, 25, 200.0) == kill_schedule(42, 25, 200.0)


def test_other_seed_other_schedule() -> None:
    assert kill_schedule(42, 25, 200.0) != kill_schedule(43, 25, 200.0)


def test_kills_are_ordered_inside_the_window_and_spread_over_every_target() -> None:
    schedule = kill_schedule(3, 10, 100.0)
    moments = [kill.at_s for kill in schedule]
    assert moments == sorted(moments)
    assert moments[0] >= 0 and moments[-1] < 100.0
    assert all(later - earlier > 0 for earlier, later in itertools.pairwise(moments))
    assert {kill.target for kill in schedule} == set(KILL_TARGETS)


def test_no_kills() -> None:
    assert kill_schedule(1, 0, 10.0) == []
