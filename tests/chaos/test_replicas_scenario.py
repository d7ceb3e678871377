"""The ``replicas`` scenario's parts without servers: its kills, the reassignment measurement and its checks."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import TopicPartition

from alertmesh.chaos import partitions
from alertmesh.chaos.checks import replica_checks
from alertmesh.chaos.killer import Fault
from alertmesh.chaos.partitions import Reassignment, measure
from alertmesh.chaos.schedule import replica_kills
from alertmesh.stack.replicas import service_of

P0, P1, P2 = (TopicPartition("alerts.raw", n) for n in range(3))


def test_one_replica_of_each_service_and_the_ray_worker_node_are_killed_in_turn() -> None:
    kills = replica_kills(seed=3, window_s=50)
    assert [service_of(k.target) for k in kills] == ["ingest", "orchestrator", "executor", "ray-node-2"]
    assert [k.at_s for k in kills] == [10.0, 20.0, 30.0, 40.0]
    assert kills == replica_kills(seed=3, window_s=50), "the seed alone decides"
    picked = {k.target for seed in range(20) for k in replica_kills(seed, 50)}
    assert {"ingest", "ingest-2", "executor", "executor-2"} <= picked, "either replica may be the one"
    assert "ray-head" not in picked


class FakeWatch:
    """A group whose committed offsets move, and whose partitions are assigned again, at given moments after the
    kill."""

    group = "alertmesh-ingest"

    def __init__(
        self, moves: dict[TopicPartition, tuple[float, int]], ends: dict[TopicPartition, int], held_at: float = 0.0
    ) -> None:
        self.moves, self.end, self.held_at = moves, ends, held_at
        self.at = time.monotonic()

    @property
    def partitions(self) -> list[TopicPartition]:
        return list(self.moves)

    def elapsed(self) -> float:
        return time.monotonic() - self.at

    async def committed(self) -> dict[TopicPartition, int]:
        return {tp: 10 + (step if self.elapsed() >= moment else 0) for tp, (moment, step) in self.moves.items()}

    async def ends(self, found: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.end[tp] for tp in found}

    async def assigned(self) -> set[tuple[str, str, int]]:
        """The survivor holds P0 throughout; the dead member's partitions are held again from ``held_at`` on."""
        held = self.moves if self.elapsed() >= self.held_at else [P0]
        return {(self.group, tp.topic, tp.partition) for tp in held}


def run(watch: FakeWatch, limit_s: float = 12, wait_s: float = 2) -> Reassignment:
    before = {tp: 10 for tp in watch.moves}
    found: Reassignment = asyncio.run(
        measure(watch, before, "ingest", watch.at, limit_s, wait_s, watch.assigned)  # type: ignore[arg-type]
    )
    return found


def test_reassignment_and_service_are_timed_to_the_last_partition(monkeypatch: Any) -> None:
    monkeypatch.setattr(partitions, "POLL_S", 0.02)
    # P0 moves at once (the survivor's), P1 is held again after 0.3 s and served after 0.5 s; P2 got no record.
    found = run(FakeWatch({P0: (0.0, 3), P1: (0.5, 2), P2: (0.0, 0)}, {P0: 13, P1: 12, P2: 10}, held_at=0.3))
    assert found.busy == 2
    assert found.reassigned_after_s is not None and 0.3 <= found.reassigned_after_s < 0.5
    assert found.served_after_s is not None and 0.5 <= found.served_after_s < 1.0
    assert found.within_limit


def test_a_partition_that_gets_a_record_late_is_still_waited_for(monkeypatch: Any) -> None:
    monkeypatch.setattr(partitions, "POLL_S", 0.02)
    watch = FakeWatch({P0: (0.0, 1), P1: (0.4, 1)}, {P0: 11, P1: 10})

    async def ends(found: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {P0: 11, P1: 11 if watch.elapsed() >= 0.2 else 10}  # P1's first record after the kill comes late

    watch.ends = ends  # type: ignore[method-assign]
    found = run(watch)
    assert found.busy == 2 and found.served_after_s is not None and found.served_after_s >= 0.4


def test_never_reassigned_never_served_or_too_slow_all_fail(monkeypatch: Any) -> None:
    monkeypatch.setattr(partitions, "POLL_S", 0.02)
    stuck = run(FakeWatch({P0: (0.0, 3), P1: (99.0, 2)}, {P0: 13, P1: 12}), wait_s=0.5)
    assert stuck.busy == 2 and stuck.served_after_s is None and not stuck.within_limit
    orphaned = run(FakeWatch({P0: (0.0, 1), P1: (0.1, 1)}, {P0: 11, P1: 11}, held_at=99.0), wait_s=0.5)
    assert orphaned.reassigned_after_s is None and not orphaned.within_limit
    slow = run(FakeWatch({P0: (0.0, 1), P1: (0.3, 1)}, {P0: 11, P1: 11}, held_at=0.3), limit_s=0.1)
    assert slow.reassigned_after_s is not None and slow.reassigned_after_s >= 0.3 and not slow.within_limit
    assert "limit 0.1s" in slow.describe()


def fault(target: str) -> Fault:
    return Fault(target, "SIGKILL", 1.0, 0.0, 1, healthy_after_s=1.0, recovered_after_s=2.0)


def test_the_checks_want_every_kill_and_every_group_within_its_limit() -> None:
    faults = [fault(t) for t in ("ingest-2", "orchestrator", "executor", "ray-node-2")]
    good = [
        Reassignment("ingest-2", "alertmesh-ingest", 3, 9.0, 12, 7.0),
        Reassignment("orchestrator", "o", 3, 15, 12, 9),
    ]
    assert all(check.passed for check in replica_checks(faults, good))
    kills, measured = replica_checks(faults[:3], good)
    assert not kills.passed and "ray-node-2" in kills.detail and measured.passed
    late = [*good[:1], Reassignment("orchestrator", "o", 3, 14.0, 12, 12.5)]
    assert not replica_checks(faults, late)[1].passed
    assert not replica_checks(faults, good[:1])[1].passed, "a group not measured is not a pass"
    never_served = [*good[:1], Reassignment("orchestrator", "o", 3, None, 12, 9.0)]
    assert not replica_checks(faults, never_served)[1].passed, "reassigned but never served is stuck"


def test_the_summary_line_carries_the_reassignment_figures_when_measured() -> None:
    from alertmesh.chaos.checks import evaluate
    from alertmesh.chaos.report import RunRecord, markdown, summary_line

    record = RunRecord("replicas", "alertmesh chaos", 1, 10.0, evaluate([], [], [], [], {}, []), [], [], {})
    assert "reassign" not in summary_line(record)
    record.reassignments = [
        Reassignment("ingest", "g", 3, 7.5, 12, 6.5),
        Reassignment("orchestrator", "o", 3, 14, 12, 9.25),
    ]
    assert summary_line(record).endswith(" max_reassign_s=9.2 max_served_s=14.0 reassign_limit_s=12")
    record.reassignments.append(Reassignment("orchestrator", "o2", 3, None, 12, None))
    line = summary_line(record)
    assert line.endswith(" max_reassign_s=-1.0 max_served_s=-1.0 reassign_limit_s=12"), "unmeasured is not hidden"
    assert "o2 (after killing orchestrator): every partition reassigned never" in markdown(record)


def test_the_reassignment_limit_is_the_session_and_two_rebalances() -> None:
    from alertmesh.chaos.partitions import reassign_limit_s
    from services.shared.kafka import KafkaSettings

    # The dead member's session expires, then a rebalance, which the killed replica's restart may start once more.
    kafka = KafkaSettings(session_timeout_ms=6_000, heartbeat_interval_ms=2_000, rebalance_timeout_ms=6_000)
    assert reassign_limit_s(kafka) == 18.0
