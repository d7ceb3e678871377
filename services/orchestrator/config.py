"""Orchestrator settings (``ORCHESTRATOR_*``, plus shared ``KAFKA_*``, ``TEMPORAL_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.orchestrator.defaults import WORKFLOWS_DIR
from services.orchestrator.loops import DEFAULT_MAX_ITEMS
from services.orchestrator.rate_limits import RateLimit, parse_rate_limits
from services.shared.kafka import KafkaSettings
from services.shared.temporal import TemporalSettings
from services.shared.topics import TopicSettings


class OrchestratorSettings(BaseSettings):
    """Consumes triggers, starts DSLWorkflow runs, and hosts the workflow worker."""

    model_config = SettingsConfigDict(env_prefix="ORCHESTRATOR_", extra="ignore")

    group_id: str = "alertmesh-orchestrator"
    # The workflow definitions. By default the demo workflows shipped in the package
    # (services.orchestrator.defaults), so the orchestrator finds them whatever its working directory.
    workflows_dir: Path = WORKFLOWS_DIR
    # Workspace variables (VARS.*), a YAML or JSON mapping read at start-up; none when unset.
    vars_file: Path | None = None
    health_host: str = "127.0.0.1"
    health_port: int = Field(8082, ge=0, le=65535)
    log_level: str = "INFO"
    # Triggers fetched and handled per batch (committed together once every start is accepted)...
    batch_max_records: int = Field(100, ge=1, le=5_000)
    # ...of which this many workflow starts are in flight at once (each is one Temporal RPC).
    start_concurrency: int = Field(32, ge=1, le=1_000)
    # Per-route limits on workflow starts, ``route=rate/burst,...`` (``*``: every other route); none when empty.
    rate_limits: str = ""
    # A batch still waiting after this long (rate limit, Temporal slow or down) pauses its partitions and polls the
    # consumer this often, so the group keeps it (max.poll.interval) while nothing more is fetched.
    backpressure_poll_s: float = Field(10.0, gt=0, le=30)
    # The most items one for_each action may have: the items come from alert data, and every item's args travel in
    # one activity input (Temporal refuses a payload over 2 MB). Past it the action fails, its error naming this.
    max_for_each_items: int = Field(DEFAULT_MAX_ITEMS, ge=1, le=100_000)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)

    @field_validator("rate_limits")
    @classmethod
    def _parseable(cls, value: str) -> str:
        parse_rate_limits(value)
        return value

    @model_validator(mode="after")
    def _batch_fits_the_poll_interval(self) -> Self:
        # The consumer waits for tokens inside a batch, its offsets uncommitted: a batch of the slowest route must
        # end well within max.poll.interval (see services.orchestrator.rate_limits).
        limits = self.route_limits()
        if limits:
            slowest = min(limit.rate for limit in limits.values())
            longest = self.batch_max_records / slowest
            allowed = self.kafka.max_poll_interval_ms / 1000 / 2
            if longest > allowed:
                raise ValueError(
                    f"ORCHESTRATOR_RATE_LIMITS: a batch of {self.batch_max_records} starts at {slowest:g}/s takes "
                    f"{longest:g} s, more than half of KAFKA_MAX_POLL_INTERVAL_MS ({allowed:g} s); raise the rate or "
                    "lower ORCHESTRATOR_BATCH_MAX_RECORDS"
                )
        return self

    def route_limits(self) -> dict[str, RateLimit]:
        """``rate_limits`` parsed: the limit of each route."""
        return parse_rate_limits(self.rate_limits)
