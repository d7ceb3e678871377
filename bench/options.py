"""How big a bench run is: ``--quick`` proves the harness in under three minutes, the full run measures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: The fixed offered loads (alerts per second) every end-to-end system is driven at.
OFFERED_LOADS = (10.0, 25.0, 50.0)
#: The offered load whose latencies the summary line reports.
HEADLINE_LOAD = 25.0


@dataclass(frozen=True)
class Sizes:
    #: Alerts preloaded for the ingest phase.
    ingest_alerts: int
    #: Alerts in each end-to-end burst.
    burst: int
    #: Seconds each offered load lasts.
    load_s: float
    #: Longest wait for a phase's results after its last send.
    drain_s: float
    #: Sequential runs of the 1-action workflow (dispatch) and of the fan-out workflow.
    dispatch_runs: int
    fanout_runs: int
    #: Bare Ray round trips timed.
    ray_round_trips: int
    #: Warm-up alerts per workflow before anything is timed (first runs start Ray workers, load code).
    warmup: int


QUICK = Sizes(
    ingest_alerts=150,
    burst=15,
    load_s=1.0,
    drain_s=20.0,
    dispatch_runs=3,
    fanout_runs=2,
    ray_round_trips=20,
    warmup=2,
)
FULL = Sizes(
    ingest_alerts=2000,
    burst=200,
    load_s=15.0,
    drain_s=90.0,
    dispatch_runs=15,
    fanout_runs=5,
    ray_round_trips=200,
    warmup=5,
)


@dataclass(frozen=True)
class BenchOptions:
    quick: bool = False
    out: Path = Path(".")
    state_dir: Path | None = None

    @property
    def sizes(self) -> Sizes:
        return QUICK if self.quick else FULL

    def command(self) -> str:
        """The command line that repeats this run."""
        return "alertmesh bench" + (" --quick" if self.quick else "") + f" --out {self.out}"
