"""What the executor hands to actions besides their args: the Kafka broker ``core.kafka.publish`` writes to.

A context variable, set around each action run (as the egress policy is), because the settings live in the
executor process and travel to Ray workers inside ``ActionLimits``; actions must not read them from their own
environment, which on a Ray cluster is another machine's. They travel as a plain dict of producer options, not
as ``KafkaSettings``: unpickling that class would import FastStream in every fresh Ray worker (about 0.7 s) before
its first action, publishing or not.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.shared.kafka import KafkaSettings

_kafka: ContextVar[Mapping[str, Any] | None] = ContextVar("kafka_producer_config", default=None)


def producer_config(settings: KafkaSettings) -> dict[str, Any]:
    """The producer options ``core.kafka.publish`` needs from ``settings`` (plain, picklable values)."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
        "request_timeout_ms": settings.request_timeout_ms,
        "max_request_size": settings.max_message_bytes,
    }
    if "SSL" in settings.security_protocol:
        config["ssl_cafile"] = settings.ssl_cafile
    if settings.security_protocol.startswith("SASL"):
        assert settings.sasl_password is not None  # KafkaSettings refuses SASL without one
        config |= {
            "sasl_mechanism": settings.sasl_mechanism,
            "sasl_plain_username": settings.sasl_username,
            "sasl_plain_password": settings.sasl_password.get_secret_value(),
        }
    return config


def current_kafka() -> dict[str, Any]:
    """Producer options for this action run: the executor's, or from KAFKA_* of this process if none were given."""
    given = _kafka.get()
    if given is not None:
        return dict(given)
    from services.shared.kafka import KafkaSettings

    return producer_config(KafkaSettings())


@contextmanager
def using_kafka(config: Mapping[str, Any] | None) -> Iterator[None]:
    """Run the block with ``config`` (see ``producer_config``) as the actions' Kafka producer options."""
    token = _kafka.set(config)
    try:
        yield
    finally:
        _kafka.reset(token)
