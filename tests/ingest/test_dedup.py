"""The dedup window as a pure function of record times (its Kafka side: test_noise_integration.py)."""

from __future__ import annotations

from services.ingest.noise.dedup import DedupWindow, entry_key, entry_value
from tests.ingest.factories import make_alert

WINDOW_MS = 300_000


def test_a_repeat_within_the_window_is_dropped_and_one_after_it_passes() -> None:
    window = DedupWindow(300)
    alert = make_alert()
    assert window.admit(0, "r", alert, 1_000) is not None
    assert window.admit(0, "r", alert, 1_000 + WINDOW_MS - 1) is None
    # Anchored at the trigger that passed, not the last repeat: a steady flood still gives one per window.
    assert window.admit(0, "r", alert, 1_000 + WINDOW_MS) is not None


def test_a_status_change_always_passes_and_opens_its_own_window() -> None:
    window = DedupWindow(300)
    assert window.admit(0, "r", make_alert(status="firing"), 0) is not None
    assert window.admit(0, "r", make_alert(status="resolved"), 10) is not None
    assert window.admit(0, "r", make_alert(status="resolved"), 20) is None
    assert window.admit(0, "r", make_alert(status="firing"), 30) is not None


def test_routes_sources_fingerprints_and_partitions_are_apart() -> None:
    window = DedupWindow(300)
    alert = make_alert()
    assert window.admit(0, "r", alert, 0) is not None
    assert window.admit(0, "other-route", alert, 0) is not None  # fan-out: each route gets its trigger
    assert window.admit(0, "r", make_alert(source="grafana"), 0) is not None
    assert window.admit(0, "r", make_alert(fingerprint="ffff"), 0) is not None
    assert window.admit(1, "r", alert, 0) is not None  # another partition's state


def test_restored_state_drops_repeats_and_leaves_closed_windows_out() -> None:
    window = DedupWindow(300)
    open_, closed = make_alert(fingerprint="open"), make_alert(fingerprint="closed")
    entries = {
        entry_key("r", open_): entry_value(window.admit(0, "r", open_, 500_000) or _fail()),
        entry_key("r", closed): entry_value(window.admit(0, "r", closed, 0) or _fail()),
    }
    restored = DedupWindow(300)
    restored.restore(0, dict(entries), now_ms=600_000)
    assert restored.admit(0, "r", open_, 600_000) is None
    assert restored.admit(0, "r", closed, 600_000) is not None


def test_forgetting_a_partition_forgets_its_state() -> None:
    window = DedupWindow(300)
    window.admit(0, "r", make_alert(), 0)
    window.forget(0)
    assert window.admit(0, "r", make_alert(), 1) is not None


def test_zero_disables() -> None:
    assert not DedupWindow(0).enabled


def _fail() -> None:
    raise AssertionError("admitted expected")
