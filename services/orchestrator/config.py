"""Orchestrator settings (``ORCHESTRATOR_*``, plus shared ``KAFKA_*``, ``TEMPORAL_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.shared.kafka import KafkaSettings
from services.shared.temporal import TemporalSettings
from services.shared.topics import TopicSettings


class OrchestratorSettings(BaseSettings):
    """Consumes triggers, starts DSLWorkflow runs, and hosts the workflow worker."""

    model_config = SettingsConfigDict(env_prefix="ORCHESTRATOR_", extra="ignore")

    group_id: str = "alertmesh-orchestrator"
    workflows_dir: Path = Path("workflows")
    # Workspace variables (VARS.*), a YAML or JSON mapping read at start-up; none when unset.
    vars_file: Path | None = None
    health_host: str = "127.0.0.1"
    health_port: int = Field(8082, ge=0, le=65535)
    log_level: str = "INFO"
    # Triggers fetched and handled per batch (committed together once every start is accepted)...
    batch_max_records: int = Field(100, ge=1, le=5_000)
    # ...of which this many workflow starts are in flight at once (each is one Temporal RPC).
    start_concurrency: int = Field(32, ge=1, le=1_000)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
