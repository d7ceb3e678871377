"""``alertmesh_consumer_lag_records{group,topic,partition}``: how many records of each partition a consumer has
assigned are not yet committed, computed at scrape time.

Lag = the partition's end offset (high watermark, asked from the broker with ListOffsets) minus the group's
committed offset (what a restart would resume from, so records fetched but not yet durable count as lag); before
the group committed anything, minus the consumer's position. Only the partitions this process is assigned are
reported: each replica of a consumer group reports its own share, and Prometheus sums them.

The embedded Tansu broker's end offsets are exact for records produced by aiokafka: measured at each scrape
against the number of records written (tests/shared/test_consumer_lag_integration.py), so its lag is a record
count too, not a batch count.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream.kafka import KafkaBroker
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from services.shared import metrics

log = logging.getLogger(__name__)
#: A scrape waits at most this long for the broker's answers; past it the partitions are left out of this scrape.
BROKER_TIMEOUT_S = 3.0
Lag = dict[tuple[str, str, int], int]


def lag_of(
    end_offsets: Mapping[TopicPartition, int],
    committed: Mapping[TopicPartition, int | None],
    positions: Mapping[TopicPartition, int | None],
    group: str,
) -> Lag:
    """Lag per (group, topic, partition): end offset minus committed offset (or position when nothing is
    committed); never negative (an end offset read just before a commit landed can be behind it)."""
    lag: Lag = {}
    for tp, end in end_offsets.items():
        done = committed.get(tp)
        if done is None:
            done = positions.get(tp)
        if done is None:
            continue
        lag[(group, tp.topic, tp.partition)] = max(end - done, 0)
    return lag


async def consumer_lag(consumer: AIOKafkaConsumer, group: str, timeout_s: float = BROKER_TIMEOUT_S) -> Lag:
    """Ask the broker for the end and committed offsets of ``consumer``'s assigned partitions."""
    assigned = sorted(consumer.assignment())
    if not assigned:
        return {}
    async with asyncio.timeout(timeout_s):
        ends = await consumer.end_offsets(assigned)
        committed = {tp: await consumer.committed(tp) for tp in assigned}
    positions = {tp: _position(consumer, tp) for tp in assigned}
    return lag_of(ends, committed, positions, group)


def _position(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int | None:
    """The consumer's fetch position without waiting for one (``consumer.position`` would block until reset)."""
    try:
        state = consumer._subscription.subscription.assignment.state_value(tp)
    except AttributeError:  # the assignment changed meanwhile
        return None
    return state.position if state is not None and state.has_valid_position else None


class ConsumerLagCollector(Collector):
    """Reports the last lag snapshot of every watched broker's subscribers; ``refresh`` takes a new one."""

    def __init__(self) -> None:
        self._brokers: dict[int, KafkaBroker] = {}
        self._snapshot: dict[int, Lag] = {}

    def watch(self, broker: KafkaBroker) -> None:
        self._brokers[id(broker)] = broker
        metrics.add_refresher(self.refresh)

    def unwatch(self, broker: KafkaBroker) -> None:
        self._brokers.pop(id(broker), None)
        self._snapshot.pop(id(broker), None)

    async def refresh(self) -> None:
        for key, broker in list(self._brokers.items()):
            lag: Lag = {}
            for consumer, group in _consumers(broker):
                try:
                    lag |= await consumer_lag(consumer, group)
                except Exception as error:  # timed out or the broker is away: leave these partitions out
                    log.debug("consumer lag of group %s unavailable: %r", group, error)
            self._snapshot[key] = lag

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "alertmesh_consumer_lag_records",
            "Records in each assigned partition past the group's committed offset, at scrape time.",
            labels=["group", "topic", "partition"],
        )
        for lag in list(self._snapshot.values()):
            for (group, topic, partition), records in sorted(lag.items()):
                family.add_metric([group, topic, str(partition)], records)
        yield family


def _consumers(broker: KafkaBroker) -> list[tuple[AIOKafkaConsumer, str]]:
    found: list[tuple[AIOKafkaConsumer, str]] = []
    for subscriber in broker.subscribers:
        consumer: Any = getattr(subscriber, "consumer", None)
        if isinstance(consumer, AIOKafkaConsumer) and consumer._group_id:
            found.append((consumer, str(consumer._group_id)))
    return found


#: The one collector of this process, in the default registry.
CONSUMER_LAG = ConsumerLagCollector()
REGISTRY.register(CONSUMER_LAG)
