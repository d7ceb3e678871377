"""How long a consumer group takes to serve every partition again after one of its members was SIGKILLed: the
"partitions are reassigned within the consumer-group timeouts" check of the ``replicas`` scenario.

Two moments per group, both counted from the kill:

- **reassigned**: every partition of the group is assigned to a live replica again. Each replica reports the
  partitions it is assigned in its own ``/metrics`` (``alertmesh_consumer_lag_records{group,topic,partition}``:
  only assigned partitions have a series), so the union over the service's replicas covers the group once the
  dead member's partitions have moved. This is what Kafka's timeouts bound: the dead member's session timeout,
  then the rebalance timeout. The check compares it with their sum.
- **served**: every partition that received records since the kill was committed past the offset the group had
  committed right before it (offsets read as the group's coordinator has them, without joining the group). This
  includes working off what piled up on the dead member's partitions meanwhile (the orchestrator starts a
  workflow per record, under its back-pressure), which no Kafka timeout bounds; it is reported, and must happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from services.shared.kafka import KafkaSettings

log = logging.getLogger("alertmesh.chaos")

#: How often the committed offsets are read while waiting.
POLL_S = 0.25


def reassign_limit_s(kafka: KafkaSettings) -> float:
    """The longest a group may take to give every partition of a killed replica to a live one: the dead member's
    session expires (session timeout), and the rebalance that starts then may run once more when the killed
    replica's restart joins the group, each run bounded by the rebalance timeout."""
    return (kafka.session_timeout_ms + 2 * kafka.rebalance_timeout_ms) / 1000


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
    #: Seconds from the kill until every partition of the group was assigned to a live replica; None: not within
    #: the wait.
    reassigned_after_s: float | None = None

    @property
    def within_limit(self) -> bool:
        """Whether every partition was reassigned within ``limit_s`` and every busy one served again."""
        reassigned = self.reassigned_after_s
        return reassigned is not None and reassigned <= self.limit_s and self.served_after_s is not None

    def describe(self) -> str:
        """One line for the report and the progress output."""
        moved = "never" if self.reassigned_after_s is None else f"after {self.reassigned_after_s:.1f}s"
        after = "not within the wait" if self.served_after_s is None else f"after {self.served_after_s:.1f}s"
        return (
            f"{self.group} (after killing {self.target}): every partition reassigned {moved} (limit "
            f"{self.limit_s:g}s); its {self.busy} busy partitions all served again {after}"
        )


#: ``(group, topic, partition)`` as a replica's ``/metrics`` names an assigned partition.
Assigned = set[tuple[str, str, int]]
AssignedNow = Callable[[], Awaitable[Assigned]]
LAG_METRIC = "alertmesh_consumer_lag_records"


async def assigned_partitions(metrics_urls: list[str]) -> Assigned:
    """The partitions the replicas at ``metrics_urls`` say they are assigned now (a replica that does not answer,
    being dead or starting, has none)."""
    found: Assigned = set()
    async with httpx.AsyncClient(timeout=4) as http:
        # At once: the moment of the answer is the moment the figure is taken at.
        answers = await asyncio.gather(*(http.get(url) for url in metrics_urls), return_exceptions=True)
    for response in answers:
        if not isinstance(response, httpx.Response) or response.status_code != 200:
            continue  # dead, starting, or not answering: it holds nothing
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.name == LAG_METRIC:
                    labels = sample.labels
                    found.add((labels["group"], labels["topic"], int(labels["partition"])))
    return found


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

    @property
    def partitions(self) -> list[TopicPartition]:
        """The partitions of the topics the group has committed on."""
        return list(self._partitions)

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
                  limit_s: float, wait_s: float, assigned: AssignedNow) -> Reassignment:  # fmt: skip
    """Poll ``watch``'s group and its replicas' assignments (``assigned``) from the kill moment ``at``
    (``time.monotonic``) until every partition is assigned again and every one committed past ``before``, or
    ``wait_s`` passed (then a partition that received no record since the kill had nothing to serve)."""
    state = _Progress(set(watch.partitions) | set(before))
    deadline = at + wait_s
    while time.monotonic() < deadline and not state.complete():
        try:
            held = await assigned()
            # Taken when the replicas answered, before the (slower) offset reads: an upper bound on the moment.
            state.saw_assigned(watch.group, held, time.monotonic() - at)
            await state.poll(watch, before, at)
        except Exception as error:
            log.debug("reading %s: %r", watch.group, error)
        await asyncio.sleep(POLL_S)
    return Reassignment(target, watch.group, len(state.busy), state.served_after_s(), limit_s, state.reassigned)


class _Progress:
    """What has been seen of one group since the kill."""

    def __init__(self, partitions: set[TopicPartition]) -> None:
        self.partitions = partitions
        self.busy: set[TopicPartition] = set()
        self.served: dict[TopicPartition, float] = {}
        self.reassigned: float | None = None

    def saw_assigned(self, group: str, assigned: Assigned, now: float) -> None:
        """Which partitions live replicas hold ``now`` seconds after the kill."""
        wanted = {(group, tp.topic, tp.partition) for tp in self.partitions}
        if self.reassigned is None and wanted and wanted <= assigned:
            self.reassigned = round(now, 2)

    async def poll(self, watch: GroupWatch, before: dict[TopicPartition, int], at: float) -> None:
        """One reading of the group's committed and end offsets."""
        committed = await watch.committed()
        self.partitions |= set(committed)
        ends = await watch.ends(sorted(self.partitions))
        now = time.monotonic() - at
        for tp in self.partitions:
            start = before.get(tp, -1)
            if ends.get(tp, 0) > max(start, 0):
                self.busy.add(tp)
            if tp not in self.served and committed.get(tp, -1) > start:
                self.served[tp] = now

    def complete(self) -> bool:
        """Every partition is assigned again and committed past its reading."""
        return self.reassigned is not None and bool(self.partitions) and self.partitions <= set(self.served)

    def served_after_s(self) -> float | None:
        """When the last busy partition was served again (0 with none busy); None while one is not."""
        if not self.busy:
            return 0.0
        done = [self.served[tp] for tp in self.busy if tp in self.served]
        return round(max(done), 2) if len(done) == len(self.busy) else None
