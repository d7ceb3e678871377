"""The webhook service's settings (``WEBHOOK_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.sources import SOURCE_PATTERN
from services.shared.kafka import KafkaSettings
from services.shared.topics import TopicSettings


class WebhookSettings(BaseSettings):
    """The HTTP bridge: ``POST /v1/alerts/{source}`` writes the body to the raw topic."""

    model_config = SettingsConfigDict(env_prefix="WEBHOOK_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    # /metrics (and a second /healthz) are served here, not on the public port: the alert port is for senders only.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(8084, ge=0, le=65535)
    # FastAPI's /docs, /redoc and /openapi.json on the public port: off, so the port tells strangers nothing.
    api_docs: bool = False
    max_body_bytes: int = Field(1_048_576, gt=0)
    # The whole body must arrive within this many seconds (408 otherwise): a sender trickling bytes holds a
    # connection and a task for as long as it likes without it.
    body_read_timeout_s: float = Field(30.0, gt=0, le=3600)
    # Lines an NDJSON batch may hold (each becomes a raw record and a line in the answer).
    ndjson_max_lines: int = Field(1000, ge=1, le=100_000)
    # Alerts one request may carry, counted over a batch's lines and the lists inside each document (an
    # Alertmanager `alerts` list, a field map's `each` list): each alert can start a run, so one 1 MiB POST of
    # tiny alerts must not start tens of thousands (413 past it).
    max_alerts_per_request: int = Field(1000, ge=1, le=1_000_000)
    # How long a request may wait for Kafka's acknowledgement before answering 503...
    publish_timeout_s: float = Field(10.0, gt=0)
    # ...and the Retry-After (seconds) that 503 carries.
    retry_after_s: int = Field(5, ge=1)
    # Who may post (see webhook_credentials). Without a file the bridge refuses to start, unless
    # allow_unauthenticated says on purpose that anyone who can reach the port may write alerts.
    credentials_file: Path | None = None
    allow_unauthenticated: bool = False
    # How often the credentials file is checked for changes: a revoked key stops working, a new one starts, within
    # this many seconds, without a restart. A changed file that is invalid (or unsafe) is refused and logged; the
    # credentials loaded before stay in force.
    credentials_reload_s: float = Field(5.0, gt=0, le=3600)
    # A signed timestamp (e.g. Grafana's) may differ from this server's clock by at most this much, either way.
    signature_max_age_s: float = Field(300.0, gt=0, le=3600)
    # The Alertmanager API v2 (/api/v2/..., /-/healthy, /-/ready) on this port: what Prometheus posts alerts to
    # and amtool talks to. Its silences and alerts tables are read whole from their compacted topics.
    alertmanager_api: bool = True
    # The source the API's requests are from: its credentials (API keys) authenticate them and ingest sees posted
    # alerts under its name. A Basic-auth user name that is another source in the credentials file selects that
    # source instead (Prometheus's basic_auth, amtool's --http.config.file), so each sender can have its own key.
    alertmanager_source: str = Field("prometheus", pattern=SOURCE_PATTERN.pattern)
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
