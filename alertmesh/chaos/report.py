"""The run's product: one summary line (printed last) and a Markdown report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from alertmesh.chaos.checks import Findings
from alertmesh.chaos.killer import Fault
from alertmesh.chaos.load import Sent
from alertmesh.chaos.partitions import Reassignment


@dataclass
class RunRecord:
    """Everything the report needs about one run."""

    scenario: str
    command: str
    seed: int
    rate: float
    findings: Findings
    faults: list[Fault]
    sent: list[Sent]
    durations: dict[str, float]
    #: Extra lines a scenario adds (what a broker kill lost, webhook 503s, SIGTERM exit codes).
    notes: list[str] = field(default_factory=list)
    #: How long each consumer group took to serve every partition again after a replica's kill (``replicas``).
    reassignments: list[Reassignment] = field(default_factory=list)


REASSIGN_HOW = (
    "From the SIGKILL to the moment every partition of the group was assigned to a live replica again (each "
    "replica's /metrics names the partitions it holds), checked against the session timeout plus twice the "
    "rebalance timeout (KAFKA_SESSION_TIMEOUT_MS + 2 x KAFKA_REBALANCE_TIMEOUT_MS: the dead member's session "
    "expires, and the rebalance may run once more when the restarted replica joins); and to the moment every "
    "partition that received records since was committed past the offset its group had committed right before "
    "the kill (this includes working off what piled up meanwhile, which no Kafka timeout bounds: reported, and it "
    "must happen)."
)


def max_recovery_s(faults: Sequence[Fault]) -> float:
    """The longest time to a new result after any fault, in seconds (0 when none was measured)."""
    return max((f.recovered_after_s or 0.0 for f in faults), default=0.0)


def summary_line(record: RunRecord) -> str:
    """The run in one line of ``name=value`` counts, printed last so scripts can read it."""
    f = record.findings
    line = (
        f"alerts={f.alerts} lost={f.lost} duplicate_runs={f.duplicate_runs} stuck={f.stuck} "
        f"dead_letters_ok={f.dead_letters_ok} kills={len(record.faults)} "
        f"max_recovery_s={max_recovery_s(record.faults):.1f}"
    )
    if record.reassignments:
        # The slowest group to have every partition assigned again, and to serve every busy one again, after a
        # kill (not seen within the wait: -1), and the limit the first is checked against.
        line += (
            f" max_reassign_s={_worst([r.reassigned_after_s for r in record.reassignments]):.1f}"
            f" max_served_s={_worst([r.served_after_s for r in record.reassignments]):.1f}"
            f" reassign_limit_s={record.reassignments[0].limit_s:g}"
        )
    return line


def _worst(times: Sequence[float | None]) -> float:
    return -1.0 if None in times else max((t or 0.0 for t in times), default=0.0)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def markdown(record: RunRecord) -> str:
    """The Markdown report: verdict, what was sent, every check, the faults with their recovery, notes and timings."""
    f = record.findings
    kinds = Counter(s.message.kind for s in record.sent)
    via = Counter(s.via for s in record.sent)
    lines = [
        f"# alertmesh chaos report: {record.scenario}",
        "",
        f"`{record.command}`",
        "",
        f"**{'PASS' if f.passed else 'FAIL'}** `{summary_line(record)}`",
        "",
        f"Seed {record.seed}, rate {record.rate:g}/s. Sent: {kinds['alert']} distinct alerts, "
        f"{kinds['duplicate']} exact duplicates, {kinds['malformed']} malformed payloads "
        f"({via['kafka']} to Kafka, {via['webhook']} through the webhook).",
        "",
        "## Checks",
        "",
        "| check | result | detail |",
        "|---|---|---|",
    ]
    for check in f.checks:
        detail = check.detail + (f" (e.g. {'; '.join(check.examples)})" if check.examples else "")
        lines.append(f"| {check.name} | {'pass' if check.passed else '**FAIL**'} | {detail} |")
    if record.faults:
        per_target = Counter(fault.target for fault in record.faults)
        lines += ["", "## Faults", "", "Per component: " + ", ".join(f"{t} {n}" for t, n in sorted(per_target.items()))]
        lines += [
            "",
            "Recovery: from the signal to the part answering its readiness probe again (a new process for a killed "
            "part), and to the first new result after that.",
            "",
            "| planned | sent | target | signal | pid | exit code | healthy after s | new result after s | note |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for fault in record.faults:
            planned = "-" if fault.planned_s is None else f"t+{fault.planned_s:.1f}s"
            sent = "-" if fault.moment_s is None else f"t+{fault.moment_s:.1f}s"
            code = "-" if fault.exit_code is None else str(fault.exit_code)
            lines.append(
                f"| {planned} | {sent} | {fault.target} | {fault.signal} | {fault.pid} | {code} | "
                f"{_seconds(fault.healthy_after_s)} | {_seconds(fault.recovered_after_s)} | {fault.note} |"
            )
    if record.reassignments:
        lines += ["", "## Consumer groups after a replica's kill", "", REASSIGN_HOW, ""]
        lines += [f"- {r.describe()}" for r in record.reassignments]
    if record.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in record.notes]
    lines += ["", "## Durations", ""] + [f"- {name}: {value:.1f} s" for name, value in record.durations.items()]
    return "\n".join(lines) + "\n"
