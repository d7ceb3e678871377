"""The checks find every kind of failure they are meant to find (built from plain records, no servers)."""

from __future__ import annotations

from alertmesh.chaos.checks import evaluate
from alertmesh.chaos.killer import Fault
from alertmesh.chaos.load import Sent
from alertmesh.chaos.observer import SeenDeadLetter, SeenResult
from alertmesh.chaos.payloads import Kind, Message
from alertmesh.chaos.visibility import Execution


def workflow_id(fingerprint: str) -> str:
    return f"chaos:alertmanager:{fingerprint}:firing:20260101T000000.000Z"


def sent(kind: Kind, fingerprint: str | None, payload: bytes) -> Sent:
    label = "not-json" if kind == "malformed" else ""
    return Sent(Message(0, kind, payload, fingerprint, label), "kafka", 1.0)


def result(fingerprint: str, event_id: str, attempts: int = 1) -> SeenResult:
    return SeenResult(event_id, workflow_id(fingerprint), "completed", {"record": attempts}, 2.0)


def test_a_clean_run_passes() -> None:
    findings = evaluate(
        [sent("alert", "a", b"A"), sent("duplicate", "a", b"A"), sent("malformed", None, b"bad")],
        [result("a", "r1"), result("a", "r1")],  # a redelivered result: same event id
        [SeenDeadLetter("d1", "ingest.parse", "not JSON", b"bad", 2.0)] * 2,  # a redelivered dead letter
        [Execution(workflow_id("a"), "run-1", "COMPLETED")],
        {workflow_id("a"): 1},
        [],
    )
    assert findings.passed, [c for c in findings.checks if not c.passed]
    assert (findings.alerts, findings.lost, findings.duplicate_runs, findings.dead_letters_ok) == (1, 0, 0, 1)


def test_every_failure_is_counted() -> None:
    findings = evaluate(
        [sent("alert", fp, fp.encode()) for fp in "abcd"] + [sent("malformed", None, b"bad")],
        [result("a", "r1"), result("a", "r2"), result("b", "r3", attempts=1)],
        [
            SeenDeadLetter("d1", "ingest.parse", "x", b"bad", 2.0),
            SeenDeadLetter("d2", "ingest.parse", "x", b"bad", 3.0),
        ],
        [
            Execution(workflow_id("a"), "run-1", "COMPLETED"),
            Execution(workflow_id("a"), "run-2", "COMPLETED"),
            Execution(workflow_id("b"), "run-3", "COMPLETED"),
            Execution(workflow_id("c"), "run-4", "RUNNING"),
        ],
        {workflow_id("b"): 2},  # two side-effect runs, one attempt recorded
        [Fault("executor", "SIGKILL", 1.0, 0.0, 123, note="not healthy within 1s")],
    )
    assert not findings.passed
    assert findings.lost == 2  # c (stuck) and d (nothing at all)
    assert findings.stuck == 1
    assert findings.duplicate_runs == 2  # a ran twice; b's side effect ran more often than attempted
    assert findings.dead_letters_ok == 0
    failed = {check.name for check in findings.checks if not check.passed}
    assert "every part came back and results flowed again" in failed
