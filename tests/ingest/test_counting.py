"""Counting occurrences for thresholds ("page only after 3 in 10 minutes"): the window's edge, bounded memory,
record time only, replays (from scratch and after a crash) deciding as the live run did, and the route's
``threshold`` in the routing file."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.noise.counting import Occurrences, occurrence_key
from services.ingest.routing import RoutingFileError, RoutingTable, load_routing
from services.ingest.routing.thresholds import MAX_OCCURRENCES, Threshold
from services.shared import metrics
from tests.shared.strategies import FUZZ

MINUTE = 60_000.0
KEY = ("page", "prom", "fp1")


def test_three_in_ten_minutes() -> None:
    counts = Occurrences()
    assert [counts.record(KEY, at, 600, occurrences=3) for at in (0, MINUTE, 2 * MINUTE)] == [1, 2, 3]
    assert counts.record(KEY, 3 * MINUTE, 600, occurrences=3) == 3  # further ones keep the threshold reached
    other = Occurrences()
    assert [other.record(KEY, at * MINUTE, 600, occurrences=3) for at in (0, 6, 12, 18)] == [1, 2, 2, 2]


def test_an_occurrence_exactly_the_window_earlier_is_out_one_millisecond_less_is_in() -> None:
    edge = Occurrences()
    edge.record(KEY, 0, 600)
    assert edge.record(KEY, 600_000, 600) == 1  # the first is exactly 10 minutes earlier: out
    inside = Occurrences()
    inside.record(KEY, 1, 600)
    assert inside.record(KEY, 600_000, 600) == 2
    assert inside.count(KEY, 600_000, 600) == 2 and inside.count(KEY, 600_001, 600) == 1


def test_keys_are_counted_apart_and_bounded_parts() -> None:
    counts = Occurrences()
    assert counts.record(("page", "prom", "a"), 0, 60) == 1
    assert counts.record(("page", "prom", "b"), 0, 60) == 1
    assert counts.record(("ticket", "prom", "a"), 0, 60) == 1
    long_key = occurrence_key("page", "prom", "x" * 100_000)
    assert len(long_key[2]) < 64 and long_key[2].startswith("sha256:")
    assert occurrence_key("page", "prom", "fp") == ("page", "prom", "fp")


def test_at_most_occurrences_entries_are_kept_per_key() -> None:
    counts = Occurrences()
    assert [counts.record(KEY, at, 3600, occurrences=3) for at in range(1000)][-1] == 3
    state = counts.state(KEY)
    assert state is not None and state["times"] == [997.0, 998.0, 999.0]
    assert MAX_OCCURRENCES == 10_000  # the most a threshold may ask, hence the default bound


def test_a_timestamp_ahead_of_the_current_one_counts_as_already_seen() -> None:
    counts = Occurrences()
    counts.record(KEY, 5 * MINUTE, 600)  # a producer whose clock is ahead
    assert counts.record(KEY, 4 * MINUTE, 600) == 2
    assert counts.record(KEY, 4 * MINUTE, 600) == 3  # the same millisecond: distinct occurrences


def test_past_max_keys_the_least_recently_recorded_key_is_evicted_and_counted() -> None:
    evictions = metrics.NOISE_EVICTIONS.labels("threshold")
    before = evictions._value.get()
    counts = Occurrences(max_keys=2)
    counts.record(("a",), 0, 60)
    counts.record(("b",), 0, 60)
    counts.record(("a",), 1, 60)  # a is now the most recent
    counts.record(("c",), 2, 60)
    assert counts.take_evicted() == [("b",)] and counts.take_evicted() == []
    assert len(counts) == 2 and counts.state(("b",)) is None
    assert evictions._value.get() == before + 1
    assert counts.record(("b",), 3, 60) == 1  # an evicted key counts from 1 again


def test_forget_older_than_drops_entries_and_names_the_keys_left_empty() -> None:
    counts = Occurrences()
    counts.record(("old",), 0, 600)
    counts.record(("mixed",), 0, 600)
    counts.record(("mixed",), 9 * MINUTE, 600)
    assert counts.forget_older_than(MINUTE) == [("old",)]
    assert counts.state(("old",)) is None
    assert counts.state(("mixed",)) == {"times": [9 * MINUTE], "offsets": [None], "counts": [2], "last_offset": -1}


def test_a_record_read_again_after_a_crash_is_not_counted_twice() -> None:
    batch = [(offset, offset * 1000.0) for offset in range(5)]
    live = Occurrences()
    decided = [live.record(KEY, at, 600, occurrences=3, offset=offset) for offset, at in batch]
    assert decided == [1, 2, 3, 3, 3]
    saved = orjson.loads(orjson.dumps(live.state(KEY)))  # the state topic's JSON
    restarted = Occurrences()
    restarted.restore(KEY, saved)
    replayed = [restarted.record(KEY, at, 600, occurrences=3, offset=offset) for offset, at in batch]
    assert replayed[2:] == decided[2:]  # the entries held: each replayed record gets its count again
    assert restarted.state(KEY) == saved  # nothing counted twice
    assert restarted.record(KEY, 5000.0, 600, occurrences=3, offset=5) == 3  # and counting goes on


def test_without_offsets_every_record_counts() -> None:
    counts = Occurrences()
    assert [counts.record(KEY, 0, 600) for _ in range(3)] == [1, 2, 3]


def test_restore_ignores_what_is_not_its_own_shape() -> None:
    counts = Occurrences()
    good = {"times": [1], "offsets": [None], "counts": [1], "last_offset": -1}
    for wrong in ({"times": [1, 2]}, {"times": ["x"]}, {"times": [float("nan")]}, {"offsets": [-3]}, {"offsets": ["a"]},
                  {"counts": [True]}, {"counts": [0]}, {"last_offset": "7"}, {"offsets": None}):  # fmt: skip
        counts.restore(KEY, {**good, **wrong})
        assert counts.state(KEY) is None, wrong
    counts.restore(KEY, [])  # type: ignore[arg-type]
    assert counts.state(KEY) is None
    counts.restore(KEY, {"times": [2, 1], "offsets": [8, 7], "counts": [2, 1], "last_offset": 8})
    assert counts.state(KEY) == {"times": [1.0, 2.0], "offsets": [7, 8], "counts": [1, 2], "last_offset": 8}


# --- properties ------------------------------------------------------------------------------------------------------

#: Gaps between records (ms), often whole minutes so that occurrences fall exactly on a window's edge.
GAPS = st.lists(st.integers(0, 400_000) | st.integers(0, 6).map(lambda minutes: minutes * 60_000), min_size=1,
                max_size=40)  # fmt: skip


@given(gaps=GAPS, within_s=st.sampled_from([60, 120, 300]) | st.integers(1, 900), occurrences=st.integers(2, 6))
@FUZZ
def test_property_in_order_the_count_is_the_occurrences_within_the_window(
    gaps: list[int], within_s: int, occurrences: int
) -> None:
    counts = Occurrences()
    times: list[float] = []
    at = 0.0
    for gap in gaps:
        at += gap
        times.append(at)
        expected = min(occurrences, sum(1 for seen in times if seen > at - within_s * 1000))
        assert counts.record(KEY, at, within_s, occurrences=occurrences) == expected


@given(
    times=st.lists(st.integers(0, 2_000_000), min_size=1, max_size=40),
    saved_after=st.integers(0, 40),
    batch=st.integers(1, 40),
    occurrences=st.integers(2, 5),
)
@FUZZ
def test_property_a_replay_decides_as_the_live_run_did(
    times: list[int], saved_after: int, batch: int, occurrences: int
) -> None:
    """From scratch, the same records give the same counts. After a crash (state saved after ``saved_after`` records,
    the last ``batch`` of them read again), nothing is counted twice: every record after the replay gets the live
    run's count, and a replayed record whose entry is held gets its own."""
    records = list(enumerate(float(at) for at in times))
    live = Occurrences()
    decided = [live.record(KEY, at, 600, occurrences=occurrences, offset=offset) for offset, at in records]
    again = Occurrences()
    assert [again.record(KEY, at, 600, occurrences=occurrences, offset=offset) for offset, at in records] == decided
    saved_after = min(saved_after, len(records))
    before = Occurrences()
    for offset, at in records[:saved_after]:
        before.record(KEY, at, 600, occurrences=occurrences, offset=offset)
    state = before.state(KEY)
    restarted = Occurrences()
    if state is not None:
        restarted.restore(KEY, orjson.loads(orjson.dumps(state)))
    held = {offset for offset in (state or {}).get("offsets", [])}
    first = max(saved_after - batch, 0)
    for offset, at in records[first:]:
        count = restarted.record(KEY, at, 600, occurrences=occurrences, offset=offset)
        if offset >= saved_after or offset in held:
            assert count == decided[offset], (offset, held)


# --- the route's threshold -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("within", "seconds"),
    [(600, 600.0), (0.5, 0.5), ("10m", 600.0), ("1h30m", 5400.0), ("1d", 86400.0), ("90s", 90.0),
     ("1500ms", 1.5), ("1w", 604800.0)],
)  # fmt: skip
def test_within_is_seconds_or_a_prometheus_duration(within: object, seconds: float) -> None:
    assert Threshold.model_validate({"occurrences": 3, "within": within}).within == seconds


@pytest.mark.parametrize(
    ("threshold", "message"),
    [
        ({"occurrences": 1, "within": 60}, "greater than or equal to 2"),
        ({"occurrences": 10_001, "within": 60}, "less than or equal to 10000"),
        ({"occurrences": "3", "within": 60}, "valid integer"),
        ({"occurrences": 3, "within": 0}, "greater than 0"),
        ({"occurrences": 3, "within": "10x"}, "'10x' is not a duration"),
        ({"occurrences": 3, "within": "m"}, "'m' is not a duration"),
        ({"occurrences": 3, "within": ".inf"}, "not a duration"),
        ({"occurrences": 3, "within": float("inf")}, "finite"),
        ({"occurrences": 3, "within": "2y"}, "at most 31622400 seconds"),
        ({"occurrences": 3, "within": 60, "per": "source"}, "'fingerprint' or 'group'"),
        ({"occurrences": 3}, "Field required"),
    ],
)
def test_bad_thresholds_are_refused(threshold: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Threshold.model_validate(threshold)


def test_per_group_needs_group_by_and_is_placed_at_per(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(
        "routes:\n"
        "  - name: grouped\n    workflow: w\n    group_by: [cluster]\n"
        "    threshold: {occurrences: 5, within: 5m, per: group}\n"
        "  - name: single\n    workflow: w\n"
        "    threshold: {occurrences: 5, within: 5m, per: group}\n"
    )
    with pytest.raises(RoutingFileError) as raised:
        load_routing(path)
    assert [line.removeprefix(str(path)) for line in raised.value.lines] == [
        ":8:50: routes.1.threshold: per: group counts a group's alerts, and needs group_by (which says what a group is)"
    ]
    table = RoutingTable.model_validate(
        {"routes": [{"name": "r", "workflow": "w", "threshold": {"occurrences": 3, "within": "10m"}}]}
    )
    threshold = table.routes[0].threshold
    assert threshold is not None and threshold.describe() == "3 occurrences within 600s per fingerprint"
    assert threshold.within_ms == 600_000
