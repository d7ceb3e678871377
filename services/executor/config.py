"""Executor settings (``EXECUTOR_*``, plus shared ``TEMPORAL_*`` and Ray's own ``RAY_ADDRESS``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.executor.actions.context import producer_config
from services.executor.actions.kafka import with_protected_topics
from services.executor.batch import StepServices
from services.executor.outcome import DEFAULT_MAX_RESULT_BYTES, ActionLimits
from services.executor.secrets import default_backend, parse_secrets_file
from services.shared.blobs import BlobSettings
from services.shared.egress import EgressPolicy
from services.shared.kafka import KafkaSettings
from services.shared.temporal import TemporalSettings
from services.shared.topics import TopicSettings

#: Temporal refuses a payload over 2 MiB; a result kept in history this close to it leaves no room for the rest of
#: the report, so larger results must go to the blob store (EXECUTOR_BLOB_THRESHOLD_BYTES at most this).
MAX_IN_HISTORY_BYTES = 2 * 1024 * 1024 - 64 * 1024
#: Largest result an action may return at all (it travels from its Ray worker and is stored as one blob).
MAX_RESULT_BYTES_CEILING = 64 * 1024 * 1024
#: Default for EXECUTOR_BLOB_THRESHOLD_BYTES: results over 128 KiB of JSON are kept outside the history.
DEFAULT_BLOB_THRESHOLD_BYTES = 128 * 1024


class ExecutorSettings(BaseSettings):
    """Everything the executor reads at start (``EXECUTOR_*``, ``RAY_ADDRESS``, and the ``TEMPORAL_*`` and ``KAFKA_*``
    settings it connects with); each field's comment says what it sets."""

    model_config = SettingsConfigDict(env_prefix="EXECUTOR_", extra="ignore")

    # Ray's own variable name, so a Ray cluster is configured the way Ray users expect. Empty: start local Ray.
    ray_address: str | None = Field(None, validation_alias="RAY_ADDRESS")
    # CPUs a local Ray may use; ignored when joining a cluster.
    ray_num_cpus: int | None = Field(None, ge=1)
    # Actions running at once in this worker (bounds in-flight Ray tasks).
    max_concurrent_actions: int = Field(64, ge=1)
    # Forward Ray workers' stdout/stderr (actions' prints and logs) to this process's output.
    ray_log_to_driver: bool = True
    # On SIGTERM, seconds running actions get to finish before they are cancelled (Temporal retries them).
    graceful_shutdown_s: float = Field(10.0, ge=0)
    # Hosts and networks actions may reach besides public addresses, comma-separated: "10.1.0.0/16,vault.internal"
    # (a list opening more than 1/64 of the public IPv4 or IPv6 addresses, however split, is refused).
    egress_allow: str = ""
    # Largest action result (bytes of JSON); a larger one fails the action with ResultTooLarge.
    max_result_bytes: int = Field(DEFAULT_MAX_RESULT_BYTES, ge=1024, le=MAX_RESULT_BYTES_CEILING)
    # Results whose JSON is larger go to the blob store (EXECUTOR_BLOB_*); the report carries {"$stored": ...}.
    blob_threshold_bytes: int = Field(DEFAULT_BLOB_THRESHOLD_BYTES, ge=1024, le=MAX_IN_HISTORY_BYTES)
    blob: BlobSettings = Field(default_factory=BlobSettings)
    # A YAML or JSON file of secrets {name: {KEY: value}} (besides ALERTMESH_SECRET_<NAME>__<KEY> variables).
    secrets_file: Path | None = None
    health_host: str = "127.0.0.1"
    health_port: int = Field(8083, ge=0, le=65535)
    log_level: str = "INFO"
    # Extra modules whose @action registrations this executor offers besides core.* (comma-separated, e.g.
    # ``mycompany.actions,alertmesh.chaos.actions``); imported at start and in every Ray worker before an action.
    action_modules: Annotated[list[str], NoDecode] = Field(default_factory=list)
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    # The broker core.kafka.publish writes to (the mesh's own KAFKA_* settings).
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    # The mesh's topic names (ALERTMESH_TOPIC_*), which core.kafka.publish refuses to write.
    topics: TopicSettings = Field(default_factory=TopicSettings)
    # Let core.kafka.publish write the mesh's own topics (triggers, results, dead letters...): off, since a workflow
    # could then forge triggers or results from alert data.
    kafka_publish_allow_mesh_topics: bool = False

    @field_validator("egress_allow")
    @classmethod
    def _valid_egress_allow(cls, value: str) -> str:
        EgressPolicy.parse(value)  # refuse a malformed entry at startup, not at the first action
        return value

    def action_limits(self) -> ActionLimits:
        """What every action this executor runs is held to."""
        return ActionLimits(
            max_result_bytes=self.max_result_bytes,
            egress=EgressPolicy.parse(self.egress_allow),
            kafka=with_protected_topics(
                producer_config(self.kafka), self.topics, allow_mesh_topics=self.kafka_publish_allow_mesh_topics
            ),
        )

    def step_services(self) -> StepServices:
        """Where this executor's steps get secrets and keep results over the blob threshold."""
        return StepServices(
            secrets=default_backend(self.secrets_file),
            blobs=self.blob.store(),
            blob_threshold_bytes=self.blob_threshold_bytes,
        )

    @field_validator("secrets_file")
    @classmethod
    def _readable_secrets_file(cls, value: Path | None) -> Path | None:
        if value is not None:
            parse_secrets_file(value)  # refuse a missing or malformed file at startup, not at the first secret
        return value

    @field_validator("action_modules", mode="before")
    @classmethod
    def _split_modules(cls, value: object) -> object:
        return [name.strip() for name in value.split(",") if name.strip()] if isinstance(value, str) else value
