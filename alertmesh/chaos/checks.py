"""The checks a chaos run must pass, computed from what was sent, the topics and Temporal's visibility."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from alertmesh.chaos.killer import Fault
from alertmesh.chaos.load import Sent
from alertmesh.chaos.observer import SeenDeadLetter, SeenResult
from alertmesh.chaos.partitions import Reassignment
from alertmesh.chaos.schedule import RAY_WORKER_NODE, REPLICA_SERVICES
from alertmesh.chaos.visibility import Execution
from alertmesh.stack.replicas import service_of

#: The action with the side effect in the chaos workflow (see ``workspace``).
SIDE_EFFECT_REF = "record"


@dataclass
class Check:
    """One check of the run: its name in the report, whether it passed, and what was counted."""

    name: str
    passed: bool
    detail: str
    #: Up to a few offending items (workflow ids, payload kinds), for the report.
    examples: list[str] = field(default_factory=list)


@dataclass
class Findings:
    """The verdict of a run: the counts of the summary line and every check."""

    alerts: int
    lost: int
    duplicate_runs: int
    stuck: int
    malformed: int
    dead_letters_ok: int
    checks: list[Check]

    @property
    def passed(self) -> bool:
        """True only when every check passed (the run's exit code is 0 then)."""
        return all(check.passed for check in self.checks)


def fingerprint_of_workflow(workflow_id: str) -> str:
    """The alert fingerprint inside an idempotency key ``workflow:source:fingerprint:status:start``."""
    parts = workflow_id.split(":")
    return parts[2] if len(parts) >= 5 else workflow_id


def evaluate(
    sent: Sequence[Sent],
    results: Sequence[SeenResult],
    dead_letters: Sequence[SeenDeadLetter],
    executions: Sequence[Execution],
    side_effect_runs: dict[str, int],
    faults: Sequence[Fault],
    expect: set[str] | None = None,
) -> Findings:
    """``expect``: the fingerprints that must have a result (default: every distinct alert that was accepted)."""
    alerts = {s.message.fingerprint for s in sent if s.message.kind == "alert" and s.accepted_at is not None}
    expected = alerts if expect is None else expect
    runs: dict[str, set[str]] = defaultdict(set)
    for execution in executions:
        runs[fingerprint_of_workflow(execution.workflow_id)].add(execution.run_id)
    result_ids: dict[str, set[str]] = defaultdict(set)
    attempts: dict[str, int] = defaultdict(int)
    for result in results:
        result_ids[fingerprint_of_workflow(result.workflow_id)].add(result.event_id)
        attempts[result.workflow_id] = max(attempts[result.workflow_id], result.attempts.get(SIDE_EFFECT_REF, 0))

    lost = sorted(fp for fp in expected if fp is not None and not result_ids.get(fp))
    twice = sorted(
        fp for fp in set(runs) | set(result_ids) if len(runs.get(fp, ())) > 1 or len(result_ids.get(fp, ())) > 1
    )
    stuck = sorted(e.workflow_id for e in executions if e.status == "RUNNING")
    unexpected = sorted(fp for fp in set(runs) if fp not in alerts)
    over_run = sorted(
        f"{wf}: {n} runs, {attempts.get(wf, 0)} attempts"
        for wf, n in side_effect_runs.items()
        if wf in attempts and n > attempts[wf]  # a workflow without a result is counted as lost or stuck
    )
    failed = sorted(r.workflow_id for r in results if r.status != "completed")

    malformed = [s for s in sent if s.message.kind == "malformed" and s.accepted_at is not None]
    # The webhook may refuse a malformed payload at the edge with a 4xx and its reason: that is handled too.
    refused = [s for s in sent if s.message.kind == "malformed" and s.rejected is not None and s.rejected < 500]
    letters: dict[bytes, set[str]] = defaultdict(set)
    for letter in dead_letters:
        letters[letter.original].add(letter.event_id)
    dlq_ok = [s for s in malformed if len(letters.get(s.message.payload, ())) == 1]
    dlq_bad = [
        f"{s.message.label} #{s.message.index}: {len(letters.get(s.message.payload, ()))} dead letters"
        for s in malformed
        if s not in dlq_ok
    ]
    not_sent = [
        f"{s.message.kind} #{s.message.index} via {s.via}" for s in sent if s.accepted_at is None and s not in refused
    ]
    checks = [
        Check(
            "every payload was accepted by Kafka or the webhook (a malformed one: or refused with 4xx)",
            not not_sent,
            f"{len(not_sent)} not accepted",
            not_sent[:5],
        ),
        Check(
            "every distinct alert produced a result",
            not lost,
            f"{len(lost)} of {len(expected)} without a result",
            lost[:5],
        ),
        Check(
            "one workflow execution and one result per alert (duplicates start none)",
            not twice and not unexpected,
            f"{len(twice)} with more than one run or result; {len(unexpected)} runs for no alert sent",
            (twice + unexpected)[:5],
        ),
        Check("no workflow still running after the quiet period", not stuck, f"{len(stuck)} running", stuck[:5]),
        Check(
            "every workflow completed (none failed)",
            not failed,
            f"{len(failed)} results with status failed",
            failed[:5],
        ),
        Check(
            "side-effect action ran at most once per attempt Temporal recorded",
            not over_run,
            f"{len(over_run)} workflows with more runs than attempts",
            over_run[:5],
        ),
        Check(
            "every malformed payload is on the dead-letter topic exactly once",
            not dlq_bad,
            f"{len(dlq_ok)} of {len(malformed)} ok"
            + (f"; {len(refused)} more refused by the webhook (4xx)" if refused else ""),
            dlq_bad[:5],
        ),
    ]
    unrecovered = [f"{f.target} at t+{f.planned_s}s: {f.note}" for f in faults if f.recovered_after_s is None]
    if faults:
        checks.append(
            Check(
                "every part came back and results flowed again",
                not unrecovered,
                f"{len(unrecovered)} did not",
                unrecovered[:5],
            )
        )
    return Findings(
        alerts=len(alerts),
        lost=len(lost),
        duplicate_runs=len(twice) + len(unexpected) + len(over_run),
        stuck=len(stuck),
        malformed=len(malformed),
        dead_letters_ok=len(dlq_ok),
        checks=checks,
    )


def replica_checks(faults: Sequence[Fault], reassignments: Sequence[Reassignment]) -> list[Check]:
    """The ``replicas`` scenario's own checks: a replica of each service and a Ray worker node were killed, and
    every consumer group gave all its partitions to live replicas within its group timeouts (``reassign_limit_s``)
    and served them again."""
    killed = {service_of(fault.target) for fault in faults}
    wanted = {*REPLICA_SERVICES, RAY_WORKER_NODE}
    missing = sorted(wanted - killed)
    slow = [r.describe() for r in reassignments if not r.within_limit]
    groups = {service_of(r.target) for r in reassignments}
    unmeasured = sorted({"ingest", "orchestrator"} - groups)
    worst = max((r.reassigned_after_s or 0.0 for r in reassignments), default=0.0)
    served = max((r.served_after_s or 0.0 for r in reassignments), default=0.0)
    limit = max((r.limit_s for r in reassignments), default=0.0)
    return [
        Check(
            "one replica of each service and a Ray worker node were SIGKILLed under load",
            not missing,
            f"{len(faults)} kills" + (f"; not killed: {', '.join(missing)}" if missing else ""),
            missing,
        ),
        Check(
            "every partition of each consumer group was reassigned within the group timeouts, and served",
            not slow and not unmeasured and bool(reassignments),
            f"{len(reassignments)} groups measured, slowest reassigned after {worst:.1f}s (limit {limit:g}s), "
            f"served after {served:.1f}s"
            + (f"; not measured after killing {', '.join(unmeasured)}" if unmeasured else ""),
            (slow + unmeasured)[:5],
        ),
    ]
