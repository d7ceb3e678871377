"""Back-pressure without leaving the consumer group: while a batch waits (a route over its rate limit, Temporal
slow or down), the consumer's partitions are paused and the consumer keeps polling.

The trigger handler waits inside the batch, so nothing is dropped and nothing after it is started out of order;
but aiokafka counts a consumer that has not polled for ``max.poll.interval`` as dead and leaves the group (the
watchdog then restarts the service, and the batch is consumed again). So once a batch has taken ``every_s``, its
partitions are paused (no further records are fetched into this process) and the consumer is polled every
``every_s``: an empty poll of paused partitions keeps it a live member. They are resumed when the batch ends.
Records a poll returns anyway (a partition assigned by a rebalance between the pause and the poll) are not
consumed: the partition is seeked back to the first of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def paused_while_waiting(consumer: Any, every_s: float) -> AsyncIterator[None]:
    """Around a batch's handling: pause and keep polling ``consumer`` (an ``AIOKafkaConsumer``; anything else,
    e.g. a test broker's, is left alone) if the block takes longer than ``every_s``; resume after."""
    if not isinstance(consumer, AIOKafkaConsumer):
        yield
        return
    paused: set[TopicPartition] = set()
    keeper = asyncio.create_task(_keep_polling(consumer, every_s, paused), name="backpressure-poll")
    try:
        yield
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        if paused:
            assigned = consumer.assignment()
            consumer.resume(*(tp for tp in paused if tp in assigned))
            log.info("back-pressure over: resumed %s", _names(paused))


async def _keep_polling(consumer: AIOKafkaConsumer, every_s: float, paused: set[TopicPartition]) -> None:
    while True:
        await asyncio.sleep(every_s)
        # Against the consumer's own state each time: a rebalance hands partitions back unpaused.
        newly = consumer.assignment() - consumer.paused()
        if newly:
            consumer.pause(*newly)
            paused.update(newly)
            log.info("back-pressure: the batch is still waiting; paused %s", _names(newly))
        fetched = await consumer.getmany(timeout_ms=0)
        for partition, records in fetched.items():  # assigned after the pause: leave them to the next batch
            consumer.seek(partition, records[0].offset)


def _names(partitions: set[TopicPartition]) -> str:
    return ", ".join(sorted(f"{tp.topic}@{tp.partition}" for tp in partitions))
