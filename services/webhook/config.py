"""The webhook service's settings (``WEBHOOK_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.shared.kafka import KafkaSettings
from services.shared.topics import TopicSettings


class WebhookSettings(BaseSettings):
    """The HTTP bridge: ``POST /v1/alerts/{source}`` writes the body to the raw topic."""

    model_config = SettingsConfigDict(env_prefix="WEBHOOK_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    max_body_bytes: int = Field(1_048_576, gt=0)
    # Lines an NDJSON batch may hold (each becomes a raw record and a line in the answer).
    ndjson_max_lines: int = Field(1000, ge=1, le=100_000)
    # How long a request may wait for Kafka's acknowledgement before answering 503...
    publish_timeout_s: float = Field(10.0, gt=0)
    # ...and the Retry-After (seconds) that 503 carries.
    retry_after_s: int = Field(5, ge=1)
    # Who may post (see webhook_credentials). Without a file the bridge refuses to start, unless
    # allow_unauthenticated says on purpose that anyone who can reach the port may write alerts.
    credentials_file: Path | None = None
    allow_unauthenticated: bool = False
    # A signed timestamp (e.g. Grafana's) may differ from this server's clock by at most this much, either way.
    signature_max_age_s: float = Field(300.0, gt=0, le=3600)
    log_level: str = "INFO"
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)

    @model_validator(mode="after")
    def _refuse_open_by_accident(self) -> WebhookSettings:
        if self.credentials_file is None and not self.allow_unauthenticated:
            raise ValueError(
                "WEBHOOK_CREDENTIALS_FILE is not set: the webhook would accept alerts from anyone who can reach "
                "it. Set it (see docs/security.md, webhook authentication), or set WEBHOOK_ALLOW_UNAUTHENTICATED=true "
                "to run without authentication on purpose."
            )
        return self
