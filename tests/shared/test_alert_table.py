"""The alerts table: which rows fire, and how long resolved ones stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.alert_state import AlertState, table_key
from services.shared.alert_table import AlertTable

NOW = datetime.now(UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _now() -> None:
    """``NOW`` is each test's start: retention is measured against the clock, and a long session (the whole suite
    runs for many minutes) must not age rows made at import time."""
    global NOW
    NOW = datetime.now(UTC)


def row(
    fingerprint: str, status: str = "firing", ends_at: datetime | None = None, updated: datetime | None = None
) -> AlertState:
    return AlertState.model_validate(
        {
            "source": "prometheus", "fingerprint": fingerprint, "name": "Disk", "severity": "critical",
            "status": status, "labels": {"alertname": "Disk"}, "starts_at": NOW - 60 * MINUTE, "ends_at": ends_at,
            "updated_at": updated or NOW,
        }
    )  # fmt: skip


async def test_firing_leaves_out_resolved_and_ended_rows() -> None:
    table = AlertTable.in_memory()
    await table.put_many(
        [row("a"), row("b", "resolved", NOW - MINUTE), row("c", ends_at=NOW - MINUTE), row("d", ends_at=NOW + MINUTE)]
    )
    assert sorted(r.fingerprint for r in table.firing(NOW)) == ["a", "d"]
    assert sorted(r.fingerprint for r in table.rows()) == ["a", "b", "c", "d"]
    assert [r.fingerprint for r in table.firing(NOW + 2 * MINUTE)] == ["a"]


async def test_a_newer_row_replaces_the_older_one() -> None:
    table = AlertTable.in_memory([row("a")])
    await table.put_many([row("a", "resolved", NOW)])
    assert table.firing(NOW) == [] and len(table.rows()) == 1


async def test_resolved_rows_are_forgotten_after_the_retention() -> None:
    changes: list[tuple[bytes, AlertState | None]] = []
    table = AlertTable.in_memory(resolved_retention_s=600, on_change=lambda key, value: changes.append((key, value)))
    await table.put_many([row("old", "resolved", updated=NOW - 20 * MINUTE), row("new", "resolved", NOW - MINUTE)])
    assert [r.fingerprint for r in table.rows()] == ["new"]
    assert [key for key, _ in changes] == [table_key("prometheus", "new")]
    # resolved without ends_at: its updated_at counts
    await table.put_many([row("late", "resolved", None, updated=NOW - 30 * MINUTE)])
    assert [r.fingerprint for r in table.rows()] == ["new"]


def test_rows_older_than_the_retention_disappear_from_reads() -> None:
    table = AlertTable.in_memory([row("gone", "resolved", NOW - 20 * MINUTE)], resolved_retention_s=600)
    assert table.rows() == []


async def test_a_firing_alert_sent_once_stops_firing_after_the_resolve_timeout_and_is_then_forgotten() -> None:
    """A detection sent once (no end time, never resolved) must not inhibit, be listed, or be kept forever: it fires
    until ``RESOLVE_TIMEOUT`` after it was last seen, as in Alertmanager, and is forgotten after the retention."""
    table = AlertTable.in_memory(resolved_retention_s=600)
    await table.put_many([row("once", updated=NOW - 4 * MINUTE), row("stale", updated=NOW - 6 * MINUTE)])
    assert [r.fingerprint for r in table.firing(NOW)] == ["once"]
    await table.put_many([row("long-gone", updated=NOW - 16 * MINUTE)])  # 5 min firing + 10 min retention passed
    assert sorted(r.fingerprint for r in table.rows()) == ["once", "stale"]
