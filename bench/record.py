"""Everything one bench run measured, and the summary figures derived from it."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from bench.e2e import Phase
from bench.kafka_io import Progress
from bench.machine import Machine
from bench.options import HEADLINE_LOAD


def median(values: list[float]) -> float | None:
    """The median of ``values``; None when there are none (a section that measured nothing)."""
    return statistics.median(values) if values else None


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``; None when either is unknown or ``b`` is 0."""
    return a / b if a is not None and b else None


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


@dataclass
class Record:
    """Everything one bench run measured (times in milliseconds, memory in MiB), filled in section by section."""

    machine: Machine
    command: str
    ready_s: float = 0.0
    idle_rss_mb: float = 0.0
    load_rss_mb: list[float] = field(default_factory=list)
    ingest: Progress | None = None
    raw_copy: Progress | None = None
    phases: list[Phase] = field(default_factory=list)
    #: Dispatch: the mesh's 1-action workflow (executor's timing, Temporal's activity time) and the bare ones.
    mesh_action_ms: list[float] = field(default_factory=list)
    mesh_activity_ms: list[float] = field(default_factory=list)
    raw_activity_ms: list[float] = field(default_factory=list)
    ray_round_trip_ms: list[float] = field(default_factory=list)
    #: Workflow wall times (result's finished_at - started_at) of sequential runs.
    single_wall_ms: list[float] = field(default_factory=list)
    fanout_wall_ms: list[float] = field(default_factory=list)
    durations: dict[str, float] = field(default_factory=dict)
    #: The 1-minute load average as each timed phase started.
    loads: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def phase(self, system: str, workflow: str, offered: float | None) -> Phase | None:
        """The phase of ``system`` running ``workflow`` at ``offered`` alerts per second (None: the burst), if it
        ran."""
        return next((p for p in self.phases if (p.system, p.workflow, p.offered) == (system, workflow, offered)), None)

    def sustained_rate(self, system: str, workflow: str) -> float | None:
        """The highest rate ``system`` kept up with over a whole phase (the burst or an offered load)."""
        rates = [p.throughput() for p in self.phases if (p.system, p.workflow) == (system, workflow)]
        return max(rates) if rates else None

    def summary(self) -> dict[str, Any]:
        """The figures of the JSON line (the last line ``alertmesh bench`` prints)."""
        headline = self.phase("mesh", "triage", HEADLINE_LOAD)
        raw_headline = self.phase("raw", "triage", HEADLINE_LOAD)
        ingest = self.ingest.rate() if self.ingest else None
        raw_copy = self.raw_copy.rate() if self.raw_copy else None
        mesh_e2e, raw_e2e = self.sustained_rate("mesh", "triage"), self.sustained_rate("raw", "triage")
        single, raw_single = self.sustained_rate("mesh", "single"), self.sustained_rate("raw", "single")
        # The ceiling is a burst (every workflow started at once): the mesh is compared on its own triage burst.
        ceiling = self.sustained_rate("ceiling", "triage")
        mesh_burst_phase = self.phase("mesh", "triage", None)
        mesh_burst = mesh_burst_phase.throughput() if mesh_burst_phase else None
        figures: dict[str, float | None] = {
            "ingest_alerts_per_s": ingest,
            "raw_copy_per_s": raw_copy,
            "ingest_vs_raw": ratio(ingest, raw_copy),
            "e2e_alerts_per_s": mesh_e2e,
            "raw_temporal_alerts_per_s": raw_e2e,
            "e2e_vs_raw_temporal": ratio(mesh_e2e, raw_e2e),
            "temporal_ceiling_alerts_per_s": ceiling,
            "e2e_burst_alerts_per_s": mesh_burst,
            "e2e_vs_temporal_ceiling": ratio(mesh_burst, ceiling),
            "e2e_single_alerts_per_s": single,
            "e2e_single_vs_raw_temporal": ratio(single, raw_single),
            "p50_ms": headline.percentile_ms(50) if headline else None,
            "p95_ms": headline.percentile_ms(95) if headline else None,
            "p99_ms": headline.percentile_ms(99) if headline else None,
            "raw_p50_ms": raw_headline.percentile_ms(50) if raw_headline else None,
            "raw_p99_ms": raw_headline.percentile_ms(99) if raw_headline else None,
            "mesh_action_activity_ms": median(self.mesh_activity_ms),
            "mesh_action_ms": median(self.mesh_action_ms),
            "raw_activity_ms": median(self.raw_activity_ms),
            "ray_round_trip_ms": median(self.ray_round_trip_ms),
            "fanout32_vs_single": ratio(median(self.fanout_wall_ms), median(self.single_wall_ms)),
            "idle_rss_mb": self.idle_rss_mb,
            "load_rss_mb": max(self.load_rss_mb) if self.load_rss_mb else None,
            "ready_s": self.ready_s,
            "load_average_1m": self.machine.load_average[0],
        }
        return {name: _round(value) for name, value in figures.items()}
