"""How long a consumer group takes to serve every partition again after one of its members was SIGKILLed: the
"partitions are reassigned within the consumer-group timeouts" check of the ``replicas`` scenario.

The group's committed offsets are read right before the kill. A partition counts as served again once its
committed offset moved past that reading; a partition that received no record after the kill had nothing to
serve and is left out. The figure is the time to the last served partition, compared with the longest a
rebalance may take by the Kafka settings (the dead member's session timeout, then the rebalance timeout).
Offsets are read as the group's coordinator has them, without joining the group (no rebalance caused by this).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.shared.kafka import KafkaSettings

log = logging.getLogger("alertmesh.chaos")

#: How often the committed offsets are read while waiting.
POLL_S = 0.25


@dataclass
class Reassignment:
    """What one group did after one kill."""

    target: str
    group: str
    #: Partitions that received records after the kill (those the group had to serve).
    busy: int
    #: Seconds from the kill until the last of them was committed past its reading; None: not within the wait.
    served_after_s: float | None
    #: The consumer-group timeouts: session timeout + rebalance timeout.
    limit_s: float

    @property
    def within_limit(self) -> bool:
        """Whether every busy partition was served again within ``limit_s``."""
        return self.served_after_s is not None and self.served_after_s <= self.limit_s

    def describe(self) -> str:
        """One line for the report and the progress output."""
        after = "not within the wait" if self.served_after_s is None else f"after {self.served_after_s:.1f}s"
        return (
            f"{self.group} (after killing {self.target}): {self.busy} busy partitions all served again {after} "
            f"(limit {self.limit_s:g}s)"
        )


async def groups_of(kafka: KafkaSettings, prefix: str) -> list[str]:
    """The broker's consumer groups named ``prefix`` or ``prefix-...`` (a service may read with more than one
    group, e.g. ingest's stages); ``[prefix]`` when the broker cannot list them."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    try:
        await admin.start()
        listed = await asyncio.wait_for(admin.list_consumer_groups(), timeout=10)
        found = sorted({str(g[0]) for g in listed if g[0] == prefix or str(g[0]).startswith(prefix + "-")})
    except Exception as error:
        log.debug("could not list consumer groups: %r", error)
        found = []
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
    return found or [prefix]


class GroupWatch:
    """Reads one group's committed offsets (and its partitions' end offsets) over its whole lifetime, through a
    consumer of the group's id that is assigned partitions by hand: it never joins the group, so its members
    see no rebalance (the embedded broker also refuses the admin client's offset fetch; this one it answers)."""

    def __init__(self, kafka: KafkaSettings, group: str) -> None:
        self.group = group
        self._consumer = AIOKafkaConsumer(**kafka.client_kwargs(), group_id=group, enable_auto_commit=False)
        self._partitions: list[TopicPartition] = []

    async def open(self) -> GroupWatch:
        """Connect, and find the topics the group has committed on (its partitions are then read each time)."""
        await self._consumer.start()
        every = []
        for topic in sorted(await self._consumer.topics()):
            if not topic.startswith("__"):
                every += [TopicPartition(topic, p) for p in sorted(self._consumer.partitions_for_topic(topic) or ())]
        self._consumer.assign(every)
        self._partitions = every
        topics = {tp.topic for tp in await self.committed()}
        self._partitions = [tp for tp in every if tp.topic in topics]
        return self

    async def close(self) -> None:
        """Disconnect (never raises)."""
        with contextlib.suppress(Exception):
            await self._consumer.stop()

    async def committed(self) -> dict[TopicPartition, int]:
        """The group's committed offset per partition of its topics (those it committed nothing on left out)."""
        found = {}
        for tp in self._partitions:
            offset = await asyncio.wait_for(self._consumer.committed(tp), timeout=5)
            if offset is not None and offset >= 0:
                found[tp] = offset
        return found

    async def ends(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        """The partitions' end offsets as the broker lists them (on Tansu the last batch's base offset + 1: a
        record written after a reading still moves it past that reading, which is all this needs)."""
        if not partitions:
            return {}
        return dict(await asyncio.wait_for(self._consumer.end_offsets(partitions), timeout=5))


async def measure(watch: GroupWatch, before: dict[TopicPartition, int], target: str, at: float,
                  limit_s: float, wait_s: float) -> Reassignment:  # fmt: skip
    """Poll ``watch``'s group from the kill moment ``at`` (``time.monotonic``) until every partition that
    received records since ``before`` was committed past it, or ``wait_s`` passed."""
    busy: set[TopicPartition] = set()
    served: dict[TopicPartition, float] = {}
    deadline = at + wait_s
    while time.monotonic() < deadline:
        try:
            committed = await watch.committed()
            partitions = sorted(set(committed) | set(before))
            ends = await watch.ends(partitions)
        except Exception as error:
            log.debug("reading %s: %r", watch.group, error)
            await asyncio.sleep(POLL_S)
            continue
        now = time.monotonic()
        for tp in partitions:
            start = before.get(tp, -1)
            if ends.get(tp, 0) > max(start, 0):
                busy.add(tp)
            if tp not in served and committed.get(tp, -1) > start:
                served[tp] = now - at
        if busy and busy <= set(served):
            break
        await asyncio.sleep(POLL_S)
    done = [served[tp] for tp in busy if tp in served]
    after = round(max(done), 2) if busy and len(done) == len(busy) else (0.0 if not busy else None)
    return Reassignment(target, watch.group, len(busy), after, limit_s)
