"""Ingest consumer and webhook bridge settings (``INGEST_*``, ``WEBHOOK_*``, plus shared ``KAFKA_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.shared.kafka import KafkaSettings
from services.shared.topics import TopicSettings


class IngestSettings(BaseSettings):
    """The consumer of the raw topic: parse, normalize, route, publish triggers or dead letters."""

    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore")

    group_id: str = "alertmesh-ingest"
    routing_file: Path = Path("routing.yaml")
    health_host: str = "127.0.0.1"
    health_port: int = Field(8081, ge=0, le=65535)
    log_level: str = "INFO"
    # A failed trigger/dead-letter publish is retried with exponential backoff capped at this delay...
    publish_backoff_max_s: float = Field(5.0, gt=0)
    # ...for this long; then the message is rewound (not committed) and read again, so nothing is skipped.
    publish_retry_budget_s: float = Field(60.0, gt=0)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)


class WebhookSettings(BaseSettings):
    """The HTTP bridge: ``POST /v1/alerts/{source}`` writes the body to the raw topic."""

    model_config = SettingsConfigDict(env_prefix="WEBHOOK_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    max_body_bytes: int = Field(1_048_576, gt=0)
    # How long a request may wait for Kafka's acknowledgement before answering 503.
    publish_timeout_s: float = Field(10.0, gt=0)
    log_level: str = "INFO"
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)
