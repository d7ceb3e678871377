"""BENCHMARKS.md and its plots from one run's record."""

from __future__ import annotations

from pathlib import Path

from bench.e2e import Phase
from bench.options import HEADLINE_LOAD, OFFERED_LOADS
from bench.record import Record, median

#: BENCHMARKS.md below this line is written by hand (figures of other commands, such as the ingest micro-benchmark's
#: per-step costs): a bench run writes its own sections above it and keeps what follows it.
KEPT_MARKER = "<!-- Written by hand below this line: alertmesh bench keeps it. -->"
THROUGHPUT_PNG = "bench-throughput.png"
LATENCY_PNG = "bench-latency-cdf.png"
SERIES = [("mesh", "triage"), ("raw", "triage"), ("mesh", "single"), ("raw", "single")]
LABELS = {
    ("mesh", "triage"): "mesh, triage (2 actions)",
    ("raw", "triage"): "bare Temporal, 2 activities",
    ("mesh", "single"): "mesh, 1 action",
    ("raw", "single"): "bare Temporal, 1 activity",
    ("ceiling", "triage"): "Temporal ceiling, alone, 2 activities",
}


def _n(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _phase_row(phase: Phase) -> list[str]:
    offered = "burst" if phase.offered is None else f"{phase.offered:g}/s"
    if phase.saturated_at is not None:
        offered += " (saturated)"
    return [
        LABELS[(phase.system, phase.workflow)],
        offered,
        f"{phase.completed}/{phase.sent}",
        _n(phase.throughput()),
        _n(phase.percentile_ms(50), 0),
        _n(phase.percentile_ms(95), 0),
        _n(phase.percentile_ms(99), 0),
    ]


def _ceiling_text(s: dict[str, float | None]) -> list[str]:
    """How the two Temporal baselines were measured, and what the mesh's rate is against each."""
    return [
        "Two Temporal baselines, measured differently; read the mesh against the first.",
        "",
        "- **The Temporal ceiling** (`python -m bench.ceiling`): the smallest Temporal app doing the triage work,",
        "  client and worker in one process, the default data converter, workflow sandbox and worker limits, two",
        "  sequential activities calling the same action functions as the executor. It runs first, on a Temporal dev",
        "  server of its own started exactly as the mesh starts its (same dynamic config, same SQLite pragmas",
        "  `journal_mode=wal`, `synchronous=normal`), while nothing else of the run exists: no broker, no service,",
        "  no Ray. Warm-up runs, then a burst of workflows started at once (as many as the mesh's burst), timed",
        "  from the first start to the last result, as the mesh's burst is. This is what Temporal alone gives on",
        "  this machine: the ceiling the mesh works under. The mesh is compared with it burst to burst.",
        "- **Bare Temporal beside the mesh** (the `bare Temporal` rows below): the same work written as a Temporal",
        "  workflow (unsandboxed, pydantic converter, workflows and activities in two processes as the mesh splits",
        "  orchestrator and executor), on the mesh's own dev server while the mesh's broker, services and Ray are",
        "  running around it: it shares the machine, and the dev server, with them. A mesh rate above it does not",
        "  mean the mesh beats a bare Temporal app; the ceiling says what one does with the machine to itself.",
        "",
        *_table(
            ["", "results/s", "mesh vs it"],
            [
                [
                    "Temporal ceiling, alone (burst)",
                    _n(s["temporal_ceiling_alerts_per_s"]),
                    f"{_n(s['e2e_vs_temporal_ceiling'], 2)} (mesh burst)",
                ],
                [
                    "bare Temporal beside the mesh (best phase)",
                    _n(s["raw_temporal_alerts_per_s"]),
                    f"{_n(s['e2e_vs_raw_temporal'], 2)} (mesh best phase)",
                ],
                ["mesh end to end, triage, burst", _n(s["e2e_burst_alerts_per_s"]), ""],
                ["mesh end to end, triage, best phase", _n(s["e2e_alerts_per_s"]), ""],
            ],
        ),
    ]


def kept_part(previous: str) -> str:
    """What a run keeps of the ``previous`` BENCHMARKS.md: the marker and everything after it ("" when it has
    none)."""
    at = previous.find(KEPT_MARKER)
    return "" if at < 0 else previous[at:]


def markdown(record: Record, kept: str = "") -> str:
    """``BENCHMARKS.md``: the run's command, machine, summary figures and every section's tables, then ``kept``
    (``kept_part`` of the file it replaces)."""
    s = record.summary()
    lines = [
        "# Benchmarks",
        "",
        "Measured by `alertmesh bench`: the mesh and, in the same run on the same machine, the raw ceilings it",
        "stands on (bare aiokafka, a Temporal app alone, a bare Temporal workflow, a bare Ray task). Compare the",
        "ratios; absolute figures depend on the machine and on what else ran on it (see the load averages).",
        "",
        "```",
        record.command,
        "```",
        "",
        "## Machine",
        "",
        *_table(["", ""], [[a, b] for a, b in record.machine.rows()]),
        "",
        "## Summary",
        "",
        *_table(
            ["figure", "value"],
            [
                ["ingest (alerts/s)", _n(s["ingest_alerts_per_s"])],
                ["raw aiokafka consume-and-reproduce (records/s)", _n(s["raw_copy_per_s"])],
                ["ingest vs raw", _n(s["ingest_vs_raw"], 2)],
                ["end to end, triage, sustained (results/s)", _n(s["e2e_alerts_per_s"])],
                [
                    "Temporal ceiling: minimal app with the machine to itself, 2 activities (results/s)",
                    _n(s["temporal_ceiling_alerts_per_s"]),
                ],
                ["end to end, triage burst, vs the Temporal ceiling's burst", _n(s["e2e_vs_temporal_ceiling"], 2)],
                [
                    "bare Temporal beside the mesh (machine shared), 2 activities, sustained (results/s)",
                    _n(s["raw_temporal_alerts_per_s"]),
                ],
                ["end to end vs bare Temporal beside the mesh", _n(s["e2e_vs_raw_temporal"], 2)],
                [
                    f"triage latency p50 / p95 / p99 at {HEADLINE_LOAD:g}/s (ms)",
                    f"{_n(s['p50_ms'], 0)} / {_n(s['p95_ms'], 0)} / {_n(s['p99_ms'], 0)}",
                ],
                ["32-way fan-out vs 1 action (wall time)", _n(s["fanout32_vs_single"], 2)],
                ["stack RSS idle / under load (MiB)", f"{_n(s['idle_rss_mb'], 0)} / {_n(s['load_rss_mb'], 0)}"],
                ["start to ready (s)", _n(s["ready_s"])],
            ],
        ),
        "",
        "## Ingest",
        "",
        f"{record.ingest.target if record.ingest else 0} Alertmanager payloads (one alert each, distinct",
        "fingerprints) preloaded on `alerts.raw` while ingest was stopped; then the time for ingest to parse,",
        "route and publish their triggers (`alertmesh.triggers` read as it grows, from the first trigger to the",
        "last). The raw loop is the ceiling under it: it consumes the same records and produces each value to",
        "another topic as ingest moves records, minus parsing and routing: a batch at a time, every record produced",
        "without awaiting its acknowledgement, then all acknowledgements awaited (acks=all), then the batch's",
        "offsets committed. Ingest runs as deployed, its dedup window on (`INGEST_DEDUP_WINDOW_S`, 300 s): after a",
        "batch's triggers are acknowledged it writes the batch's dedup state, one more acknowledged write per batch",
        "before the commit (`python -m bench.ingest_noise` measures ingest with noise control off and on). Tracing",
        "is on, as `alertmesh up` runs it: a span per record, kept in the local span store (`python -m",
        "bench.pipeline_micro --steps` measures what each step costs per record, the span included).",
        "",
        *_table(
            ["", "records/s"],
            [["ingest service", _n(s["ingest_alerts_per_s"])], ["raw aiokafka loop", _n(s["raw_copy_per_s"])]],
        ),
        "",
        "## Against Temporal alone",
        "",
        *_ceiling_text(s),
        "",
        "## End to end",
        "",
        "Mesh: publish to `alerts.raw` (acks=all) until the result is on `alertmesh.results` (matched by its",
        "correlation id). Bare Temporal: `start_workflow` on the same dev server (id reuse rejected, as the",
        "orchestrator starts), one activity per action calling the same action functions in another process on",
        "their own task queue, its workflows unsandboxed as the orchestrator's are, until `result()` returns",
        "(a long poll per workflow on the server, where the mesh learns its results from Kafka). Burst: every",
        "alert at once. Every phase's results/s is counted from its first send to its last result; the",
        "sustained rate in the summary is a system's highest over its phases. Latency is send to result.",
        "An offered load stops sending once too many alerts wait for their result (saturated): the system",
        "could not keep up, and a backlog would outlast the run.",
        "",
        *_table(
            ["system", "offered", "results", "results/s", "p50 ms", "p95 ms", "p99 ms"],
            [_phase_row(phase) for phase in record.phases],
        ),
        "",
        f"![throughput against offered load]({THROUGHPUT_PNG})",
        "",
        f"![latency CDF at {HEADLINE_LOAD:g}/s]({LATENCY_PNG})",
        "",
        "## Dispatch: one action",
        "",
        "Medians of sequential runs. Temporal's activity time is from the workflow history (scheduled to",
        "completed); the executor's action time is its report's `duration_ms` (around the Ray call).",
        "",
        *_table(
            ["", "ms"],
            [
                ["mesh: activity (executor + Ray), scheduled to completed", _n(s["mesh_action_activity_ms"], 2)],
                ["mesh: the action as the executor timed it (Ray task)", _n(s["mesh_action_ms"], 2)],
                ["bare Temporal activity, scheduled to completed", _n(s["raw_activity_ms"], 2)],
                ["bare Ray task round trip", _n(s["ray_round_trip_ms"], 2)],
            ],
        ),
        "",
        "## Fan-out",
        "",
        *_table(
            ["workflow", "runs", "median wall time ms"],
            [
                ["1 action", str(len(record.single_wall_ms)), _n(median(record.single_wall_ms), 0)],
                ["32 independent actions", str(len(record.fanout_wall_ms)), _n(median(record.fanout_wall_ms), 0)],
            ],
        ),
        "",
        f"Ratio: {_n(s['fanout32_vs_single'], 2)} (wall time from the results' `started_at`/`finished_at`).",
        "",
        "## Footprint",
        "",
        "RSS of every supervisor child and all its descendants (Tansu, Temporal, the four services, Ray).",
        "",
        *_table(
            ["", "value"],
            [
                ["idle (MiB)", _n(s["idle_rss_mb"], 0)],
                ["under load, peak (MiB)", _n(s["load_rss_mb"], 0)],
                ["start to ready (s)", _n(s["ready_s"])],
            ],
        ),
        "",
        "## Run",
        "",
        *_table(
            ["phase", "seconds", "load average (1 min) at its start"],
            [[name, _n(seconds), _n(record.loads.get(name), 2)] for name, seconds in record.durations.items()],
        ),
    ]
    if record.notes:
        lines += ["", "Notes:", "", *(f"- {note}" for note in record.notes)]
    text = "\n".join(lines) + "\n"
    return text + "\n" + kept if kept else text


def plots(record: Record, out: Path) -> list[Path]:
    """Throughput against offered load, and the latency CDF at the headline load, as PNG files."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    from matplotlib import pyplot

    throughput = out / THROUGHPUT_PNG
    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    axes.plot(OFFERED_LOADS, OFFERED_LOADS, ":", color="grey", label="offered")
    for system, workflow in SERIES:
        points = [(load, record.phase(system, workflow, load)) for load in OFFERED_LOADS]
        xs = [load for load, phase in points if phase is not None]
        ys = [phase.throughput() for _, phase in points if phase is not None]
        axes.plot(xs, ys, "o-" if system == "mesh" else "s--", label=LABELS[(system, workflow)])
    axes.set(xlabel="offered load (alerts/s)", ylabel="results/s", title="Throughput against offered load")
    axes.legend()
    figure.tight_layout()
    figure.savefig(throughput, dpi=100)
    pyplot.close(figure)

    latency = out / LATENCY_PNG
    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    for system, workflow in SERIES:
        phase = record.phase(system, workflow, HEADLINE_LOAD)
        values = phase.latencies_ms() if phase else []
        if values:
            axes.plot(values, [(i + 1) / len(values) for i in range(len(values))], label=LABELS[(system, workflow)])
    axes.set(xlabel="latency, send to result (ms)", ylabel="fraction", title=f"Latency CDF at {HEADLINE_LOAD:g}/s")
    axes.set_xscale("log")
    axes.legend()
    figure.tight_layout()
    figure.savefig(latency, dpi=100)
    pyplot.close(figure)
    return [throughput, latency]
