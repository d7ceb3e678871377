"""How big a bench run is: ``--quick`` proves the harness in under three minutes, the full run measures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alertmesh.checkout import output_root

#: The fixed offered loads (alerts per second) every end-to-end system is driven at.
OFFERED_LOADS = (10.0, 25.0, 50.0)
#: The offered load whose latencies the summary line reports.
HEADLINE_LOAD = 25.0


@dataclass(frozen=True)
class Sizes:
    """How many alerts, runs and seconds each phase of a bench run takes (``QUICK`` or ``FULL``)."""

    #: Alerts preloaded for the ingest phase: enough for its rate to be timed over seconds, not milliseconds.
    ingest_alerts: int
    #: Alerts in each end-to-end burst.
    burst: int
    #: Seconds each offered load lasts at most...
    load_s: float
    #: ...for it stops once this many alerts wait for their result (the system is saturated).
    max_outstanding: int
    #: Longest wait for a phase's results after its last send.
    drain_s: float
    #: Sequential runs of the 1-action workflow (dispatch) and of the fan-out workflow.
    dispatch_runs: int
    fanout_runs: int
    #: Bare Ray round trips timed.
    ray_round_trips: int
    #: Warm-up alerts per workflow before anything is timed (first runs start Ray workers, load code).
    warmup: int
    #: Workflows the Temporal ceiling app starts at once (``bench.ceiling``).
    ceiling_burst: int


QUICK = Sizes(
    ingest_alerts=1000,
    burst=5,
    load_s=0.3,
    max_outstanding=10,
    drain_s=20.0,
    dispatch_runs=2,
    fanout_runs=1,
    ray_round_trips=10,
    warmup=1,
    ceiling_burst=20,
)
# Sized to end within about 12 minutes on a busy 2-core machine.
FULL = Sizes(
    ingest_alerts=20000,
    burst=200,
    load_s=10.0,
    max_outstanding=50,
    drain_s=60.0,
    dispatch_runs=10,
    fanout_runs=5,
    ray_round_trips=200,
    warmup=3,
    ceiling_burst=200,
)


#: Where BENCHMARKS.md and the plots go by default: the repository's root, beside the README that links them (an
#: installed copy writes to the working directory).
DEFAULT_OUT = output_root()


@dataclass(frozen=True)
class BenchOptions:
    """The settings of one bench run (``alertmesh bench`` options); ``state_dir`` None means a temporary one."""

    quick: bool = False
    out: Path = DEFAULT_OUT
    state_dir: Path | None = None

    @property
    def sizes(self) -> Sizes:
        """``QUICK`` for ``--quick``, else ``FULL``."""
        return QUICK if self.quick else FULL

    def command(self) -> str:
        """The command line that repeats this run."""
        out = "" if self.out.resolve() == DEFAULT_OUT else f" --out {self.out}"  # the default needs no mention
        return "alertmesh bench" + (" --quick" if self.quick else "") + out
