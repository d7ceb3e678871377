"""What the executor hands to actions besides their args: the Kafka broker ``core.kafka.publish`` writes to.

A context variable, set around each action run (as the egress policy is), because the settings live in the
executor process and travel to Ray workers inside ``ActionLimits``; actions must not read them from their own
environment, which on a Ray cluster is another machine's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.shared.kafka import KafkaSettings

_kafka: ContextVar[KafkaSettings | None] = ContextVar("kafka_settings", default=None)


def current_kafka() -> KafkaSettings:
    """The broker settings for this action run: the executor's, or KAFKA_* of this process if none were given."""
    from services.shared.kafka import KafkaSettings

    return _kafka.get() or KafkaSettings()


@contextmanager
def using_kafka(settings: KafkaSettings | None) -> Iterator[None]:
    """Run the block with ``settings`` as the actions' Kafka broker."""
    token = _kafka.set(settings)
    try:
        yield
    finally:
        _kafka.reset(token)
