"""How a phase's figures are derived from send and result times."""

from __future__ import annotations

import pytest

from bench.e2e import Phase
from bench.machine import describe
from bench.record import Record
from bench.report import KEPT_MARKER, kept_part, markdown


def test_a_burst_rate_runs_from_the_send_to_the_last_result() -> None:
    # Results clustered at the end do not pass for a high rate: the wait before the first one counts.
    phase = Phase("mesh", "triage", None, sent_at=[0.0] * 5, done_at=[2.0, 2.5, 3.0, 3.5, None])
    assert phase.completed == 4
    assert phase.throughput() == pytest.approx(4 / 3.5)


def test_the_sustained_rate_is_a_systems_best_phase() -> None:
    record = Record(describe(), "alertmesh bench")
    record.phases = [
        Phase("mesh", "triage", None, sent_at=[0.0] * 4, done_at=[1.0, 1.0, 2.0, 4.0]),  # 1/s
        Phase("mesh", "triage", 10.0, sent_at=[0.0, 0.1], done_at=[0.5, 0.5]),  # 4/s
        Phase("raw", "triage", 10.0, sent_at=[0.0, 0.1], done_at=[1.0, 1.0]),  # 2/s
    ]
    assert record.sustained_rate("mesh", "triage") == pytest.approx(4.0)
    assert record.summary()["e2e_vs_raw_temporal"] == pytest.approx(2.0)


def test_offered_load_rate_runs_from_first_send_and_latency_is_send_to_result() -> None:
    phase = Phase("raw", "single", 10.0, sent_at=[0.0, 0.1, 0.2, 0.3], done_at=[0.5, 0.6, 0.9, 1.3])
    assert phase.throughput() == pytest.approx(4 / 1.3)
    assert phase.latencies_ms() == pytest.approx([500.0, 500.0, 700.0, 1000.0])
    assert phase.percentile_ms(50) == pytest.approx(600.0)
    assert phase.percentile_ms(99) == pytest.approx(991.0)


def test_nothing_completed_gives_no_figures() -> None:
    phase = Phase("mesh", "single", 25.0, sent_at=[0.0], done_at=[None])
    assert phase.throughput() == 0.0
    assert phase.percentile_ms(50) is None


def test_the_mesh_is_read_against_the_temporal_ceiling_as_well() -> None:
    # The ceiling (Temporal alone) above the bare baseline beside the mesh: the report must show the mesh under it.
    record = Record(describe(), "alertmesh bench")
    record.phases = [
        Phase("ceiling", "triage", None, sent_at=[0.0] * 4, done_at=[0.05, 0.05, 0.05, 0.1]),  # 40/s
        Phase("mesh", "triage", None, sent_at=[0.0] * 2, done_at=[0.1, 0.1]),  # 20/s
        Phase("raw", "triage", None, sent_at=[0.0] * 3, done_at=[0.2, 0.2, 0.2]),  # 15/s
    ]
    record.durations, record.loads = {"Temporal ceiling": 5.0}, {"Temporal ceiling": 0.5}
    summary = record.summary()
    assert summary["temporal_ceiling_alerts_per_s"] == pytest.approx(40.0)
    assert summary["e2e_vs_temporal_ceiling"] == pytest.approx(0.5)
    assert summary["e2e_vs_raw_temporal"] == pytest.approx(1.333, abs=1e-3)
    text = markdown(record)
    assert "| Temporal ceiling, alone (burst) | 40.0 | 0.50 (mesh burst) |" in text
    assert "| end to end, triage burst, vs the Temporal ceiling's burst | 0.50 |" in text
    assert "| Temporal ceiling, alone, 2 activities | burst | 4/4 | 40.0 |" in text
    assert "| Temporal ceiling | 5.0 | 0.50 |" in text  # the load it ran under


def test_a_run_keeps_what_was_written_by_hand_below_the_marker() -> None:
    previous = f"# Benchmarks\nold figures\n\n{KEPT_MARKER}\n\n## Ingest per record\n| step | us |\n"
    text = markdown(Record(describe(), "alertmesh bench"), kept_part(previous))
    assert "old figures" not in text
    assert text.endswith(f"\n\n{KEPT_MARKER}\n\n## Ingest per record\n| step | us |\n")
    assert kept_part("# Benchmarks\nno marker\n") == ""
