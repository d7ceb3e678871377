"""Vitals of a FastStream Kafka subscriber: its consume task runs, and its aiokafka consumer is in its group.

FastStream 0.7 runs each subscriber's loop as an asyncio task in ``subscriber.tasks`` and restarts it when it
raises; a loop that *returns* (its consumer was stopped underneath it) or was cancelled is not restarted, and the
subscriber then silently consumes nothing. aiokafka's ``GroupCoordinator`` keeps membership in a background task;
if that task ends, or the consumer stays out of its group (no member id) past a rebalance's worth of time, no
partition is being read by this process.
"""

from __future__ import annotations

from typing import Any

from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.protocol.group import JoinGroupRequest
from faststream.kafka import KafkaBroker

from services.shared.watchdog import Vital, task_outcome

#: Out of the group longer than this (rebalances and reconnects to a restarted broker take seconds) is dead.
MEMBERSHIP_GRACE_S = 60.0


def consumer_vitals(broker: KafkaBroker, membership_grace_s: float = MEMBERSHIP_GRACE_S) -> list[Vital]:
    """Two vitals per subscriber that has a handler: its consume task, and its group membership."""
    vitals: list[Vital] = []
    for subscriber in broker.subscribers:
        if not getattr(subscriber, "calls", None):
            continue
        topics = ",".join(getattr(subscriber, "topic_names", []) or []) or "?"
        vitals.append(Vital(f"Kafka consumer of {topics}", _ConsumeTask(subscriber)))
        vitals.append(Vital(f"group membership for {topics}", _Membership(subscriber), grace_s=membership_grace_s))
    return vitals


class _ConsumeTask:
    """Alive while a consume task runs over an open consumer whose group coordination still runs."""

    def __init__(self, subscriber: Any) -> None:
        self._subscriber = subscriber

    async def __call__(self) -> str | None:
        subscriber = self._subscriber
        tasks = list(subscriber.tasks)
        if not any(not task.done() for task in tasks):
            return "its consume task ended" + (task_outcome(tasks[-1]) if tasks else "")
        consumer = subscriber.consumer
        if consumer is None or consumer._closed:
            return "its Kafka consumer was closed"
        coordinator = consumer._coordinator
        if isinstance(coordinator, GroupCoordinator) and coordinator._coordination_task.done():
            return "its group coordination ended" + task_outcome(coordinator._coordination_task)
        return None


class _Membership:
    """Alive while the consumer holds a member id in its group (empty while it left, or before it joined)."""

    def __init__(self, subscriber: Any) -> None:
        self._subscriber = subscriber

    async def __call__(self) -> str | None:
        consumer = self._subscriber.consumer
        coordinator = consumer._coordinator if consumer is not None else None
        if isinstance(coordinator, GroupCoordinator) and coordinator.member_id == JoinGroupRequest.UNKNOWN_MEMBER_ID:
            return f"not a member of consumer group {coordinator.group_id!r}"
        return None
