"""Kafka connection settings (``KAFKA_*``), the one way services build a FastStream broker from them, and the one
way they publish with it (``ProducerPublisher``)."""

from __future__ import annotations

import logging
import random
import ssl
import struct
from typing import Any, Literal

from aiokafka import AIOKafkaProducer
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from faststream.exceptions import IncorrectState
from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.shared.consumer_health import MEMBERSHIP_GRACE_S

_MURMUR_SEED, _MURMUR_M, _MASK = 0x9747B28C, 0x5BD1E995, 0xFFFFFFFF
#: Room for the headers FastStream adds to every record it publishes (``correlation_id``, ``content-type``).
CLIENT_HEADER_ALLOWANCE = 256


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (``org.apache.kafka.common.utils.Utils.murmur2``), as ``aiokafka.partitioner.murmur2``
    computes it, reading four bytes at a time: aiokafka's byte-by-byte version took as long as building the
    trigger it placed."""
    length = len(data)
    h = (_MURMUR_SEED ^ length) & _MASK
    words = length // 4
    for k in struct.unpack_from(f"<{words}I", data):
        k = (k * _MURMUR_M) & _MASK
        k ^= k >> 24
        k = (k * _MURMUR_M) & _MASK
        h = ((h * _MURMUR_M) & _MASK) ^ k
    tail = data[words * 4 :]
    if tail:
        h ^= int.from_bytes(tail, "little")
        h = (h * _MURMUR_M) & _MASK
    h ^= h >> 13
    h = (h * _MURMUR_M) & _MASK
    h ^= h >> 15
    return h


def default_partition(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """aiokafka's ``DefaultPartitioner`` (the Java client's for keyed records) with the faster ``murmur2``: a key
    lands on the same partition as from any other Kafka client; a record without a key on a random one."""
    if key is None:
        return random.choice(available or all_partitions)  # spreading load, not security
    return all_partitions[(murmur2(key) & 0x7FFFFFFF) % len(all_partitions)]


def record_size(key: bytes | None, value: bytes, headers: dict[str, str]) -> int:
    """The size aiokafka's producer measures a record at (and refuses above ``max_request_size``), plus room for
    the headers FastStream adds: a record is writable when this is at most ``KafkaSettings.max_message_bytes``."""
    encoded = [(name, text.encode("utf-8")) for name, text in headers.items()]
    estimate: int = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, encoded)
    return estimate + CLIENT_HEADER_ALLOWANCE


class KafkaSettings(BaseSettings):
    """How to reach Kafka. Shared by every service so one set of env names configures them all."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    # Off by default: the embedded Tansu broker rejects InitProducerId. Results stay
    # at-least-once with deterministic ids either way; turn it on against Apache Kafka.
    enable_idempotence: bool = False
    request_timeout_ms: int = 30_000
    # Largest record value this mesh writes (Apache Kafka's default message.max.bytes is about 1 MiB). Events that
    # would be larger are cut or dead-lettered before they reach the producer, never retried forever.
    max_message_bytes: int = Field(1_048_576, ge=16_384)
    # Records the producer gathers per partition while a request is in flight. Consumers write a whole batch before
    # awaiting its acks: with aiokafka's 16 KiB default a batch of a few hundred triggers (1-2 KiB each) went out
    # as dozens of sequential round trips, and the raw consume-and-reproduce loop stayed near 3k records/s; at
    # 256 KiB it is several times faster. A record batch must fit the broker's limit, so the producer uses at most
    # KAFKA_MAX_MESSAGE_BYTES (see ``producer_batch_size``).
    producer_batch_bytes: int = Field(262_144, ge=16_384)
    # How long a consumer's fetch may wait for data. Apache Kafka answers a waiting fetch as soon as data arrives,
    # so this only bounds idle polling; through the embedded Tansu broker a hop took 120-170 ms with aiokafka's
    # 500 ms default, and a warm alert's publish-to-result median fell from 386 to 281 ms at 20 ms.
    fetch_max_wait_ms: int = Field(20, ge=1, le=500)
    # Consumer group timing. A restarted ingest or orchestrator gets its partitions only once the broker has given
    # up on the member it replaced: the embedded Tansu broker ignores LeaveGroup, so even after a clean stop that
    # takes the old member's session timeout plus the rebalance timeout (aiokafka's defaults, 10 s + 10 s, held
    # a restarted consumer 18-23 s without partitions). 6 s is the smallest session timeout Apache Kafka accepts
    # by default (group.min.session.timeout.ms); heartbeats every second keep a live member well inside it.
    session_timeout_ms: int = Field(6_000, ge=6_000, le=300_000)
    heartbeat_interval_ms: int = Field(1_000, ge=100)
    # How long a rebalance waits for the group's members to rejoin (aiokafka rejoins in the background, whatever
    # the handler is doing, so a busy member is not dropped by a short one).
    rebalance_timeout_ms: int = Field(6_000, ge=1_000, le=300_000)
    # A handler may take this long before the consumer leaves its group. A handler waiting out a Kafka or Temporal
    # outage is back-pressure, not death: keep this long (aiokafka's default, 5 min).
    max_poll_interval_ms: int = Field(300_000, ge=60_000)
    # Sending passwords in clear text is refused unless explicitly allowed (e.g. inside a private network).
    allow_plaintext_sasl: bool = False

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> KafkaSettings:
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:
            # Kafka's own rule of thumb: a member must get several heartbeats in before its session expires.
            raise ValueError("KAFKA_HEARTBEAT_INTERVAL_MS must be at most a third of KAFKA_SESSION_TIMEOUT_MS")
        if self.rejoin_s() * 2 > MEMBERSHIP_GRACE_S:
            raise ValueError(
                "KAFKA_SESSION_TIMEOUT_MS + KAFKA_REBALANCE_TIMEOUT_MS must be at most half the "
                f"{MEMBERSHIP_GRACE_S:g} s a service may stay out of its consumer group before it counts as dead"
            )
        if self.security_protocol.startswith("SASL"):
            if not self.sasl_username or self.sasl_password is None:
                raise ValueError("KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required with SASL")
            if self.security_protocol == "SASL_PLAINTEXT" and not self.allow_plaintext_sasl:
                raise ValueError(
                    "SASL_PLAINTEXT sends credentials unencrypted; use SASL_SSL or set KAFKA_ALLOW_PLAINTEXT_SASL=true"
                )
        return self

    def producer_batch_size(self) -> int:
        """Bytes a producer gathers per partition and request: ``producer_batch_bytes``, but never more than the
        broker takes in one record batch (``max_message_bytes``)."""
        return min(self.producer_batch_bytes, self.max_message_bytes)

    def rejoin_s(self) -> float:
        """About the longest a restarted consumer waits for its partitions (old session, then a rebalance)."""
        return (self.session_timeout_ms + self.rebalance_timeout_ms) / 1000

    def security(self) -> BaseSecurity | None:
        """FastStream security object for the configured protocol, or None for PLAINTEXT."""
        if self.security_protocol == "PLAINTEXT":
            return None
        context = ssl.create_default_context(cafile=self.ssl_cafile) if "SSL" in self.security_protocol else None
        if self.security_protocol == "SSL":
            return BaseSecurity(ssl_context=context, use_ssl=True)
        assert self.sasl_username is not None and self.sasl_password is not None  # checked by the validator
        sasl = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
        return sasl[self.sasl_mechanism](
            username=self.sasl_username,
            password=self.sasl_password.get_secret_value(),
            ssl_context=context,
            use_ssl=context is not None,
        )

    def client_kwargs(self) -> dict[str, Any]:
        """Connection keyword arguments for plain aiokafka clients (admin, ad-hoc consumers and producers)."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
            "request_timeout_ms": self.request_timeout_ms,
        }
        if "SSL" in self.security_protocol:
            kwargs["ssl_context"] = ssl.create_default_context(cafile=self.ssl_cafile)
        if self.security_protocol.startswith("SASL"):
            assert self.sasl_password is not None  # checked by the validator
            kwargs |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.sasl_password.get_secret_value(),
            }
        return kwargs

    def broker(self, client_id: str) -> KafkaBroker:
        """A broker whose publishes wait for acks=all: a publish returning means the write is durable."""
        return KafkaBroker(
            self.bootstrap_servers,
            client_id=client_id,
            acks="all",
            enable_idempotence=self.enable_idempotence,
            request_timeout_ms=self.request_timeout_ms,
            # The producer refuses what the mesh must not write (MessageSizeTooLargeError, a permanent error)
            # instead of sending it for the broker to refuse.
            max_request_size=self.max_message_bytes,
            max_batch_size=self.producer_batch_size(),
            partitioner=default_partition,
            security=self.security(),
            # Our handlers log what matters per message (routed, started, dead-lettered); FastStream's own
            # "Received"/"Processed" lines go to DEBUG, through the service's log format instead of its colours.
            logger=logging.getLogger(f"faststream.{client_id}"),
            log_level=logging.DEBUG,
        )


def running_producer(broker: KafkaBroker) -> AIOKafkaProducer | None:
    """The aiokafka producer a started FastStream broker publishes with; None before start, under FastStream's
    TestKafkaBroker, or if a FastStream release keeps it elsewhere (faststream 0.7: ``config.producer`` holds a
    ``RealProducer`` whose ``producer`` it is).

    The one place in alertmesh that reads FastStream's private attributes. FastStream's public publishing API
    (``broker.publisher(topic).publish`` or ``broker.publish``: faststream 0.7.8 has no public handle on the
    producer, and its ``publish_batch`` puts a whole batch on one partition) builds a publish command and runs
    the publisher middleware stack for every record: keyed 1.4 KiB records with three headers, no_confirm, cost
    22-25 us of CPU each through it and 12-13 us through the producer directly (faststream 0.7.8, aiokafka
    0.14, embedded Tansu broker). When ingest first went this way it measured about 50 us a trigger for the
    pipeline, as much as the send itself."""
    try:
        producer = getattr(getattr(broker.config.producer, "_producer", None), "producer", None)
    except IncorrectState:  # not connected (yet, or any more)
        return None
    return producer if isinstance(producer, AIOKafkaProducer) else None


class ProducerPublisher:
    """How every alertmesh service publishes to a topic: through the broker's own aiokafka producer (its
    connection and settings: acks=all, batch size, partitioner), past FastStream's per-message publish pipeline,
    which costs about as much again per record (see ``running_producer``). Same contract as
    ``broker.publisher(topic).publish`` for bytes (``services.shared.consuming.Publisher``): the record's key,
    value and headers as given, no headers added. Where ``running_producer`` finds none, the FastStream publisher
    is used: slower, never less correct. That publisher is created here in any case, so the broker still declares
    the topic it writes (its AsyncAPI document)."""

    def __init__(self, broker: KafkaBroker, topic: str) -> None:
        self._broker, self._topic = broker, topic
        self._fallback = broker.publisher(topic)

    @property
    def topic(self) -> str:
        """The topic every record goes to."""
        return self._topic

    async def publish(
        self,
        message: bytes,
        *,
        key: bytes | None = None,
        headers: dict[str, str] | None = None,
        no_confirm: bool = False,
    ) -> Any:
        """Write one record. Returns its ``RecordMetadata`` once Kafka acknowledged it; with ``no_confirm``, as soon
        as it is queued in the producer, a future that resolves to the metadata (or fails) on acknowledgement."""
        producer = running_producer(self._broker)
        if producer is None:
            return await self._fallback.publish(message, key=key, headers=headers, no_confirm=no_confirm)
        encoded = [(name, value.encode("utf-8")) for name, value in (headers or {}).items()]
        sent = await producer.send(self._topic, message, key=key, headers=encoded)
        return sent if no_confirm else await sent
