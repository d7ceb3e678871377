"""Executor settings (``EXECUTOR_*``, plus shared ``TEMPORAL_*`` and Ray's own ``RAY_ADDRESS``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.shared.temporal import TemporalSettings


class ExecutorSettings(BaseSettings):
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
    graceful_shutdown_seconds: float = Field(10.0, ge=0)
    health_host: str = "127.0.0.1"
    health_port: int = Field(8083, ge=0, le=65535)
    log_level: str = "INFO"
    # Extra modules whose @action registrations this executor offers besides core.* (comma-separated, e.g.
    # ``mycompany.actions,alertmesh.chaos.actions``); imported at start and in every Ray worker before an action.
    action_modules: Annotated[list[str], NoDecode] = Field(default_factory=list)
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)

    @field_validator("action_modules", mode="before")
    @classmethod
    def _split_modules(cls, value: object) -> object:
        return [name.strip() for name in value.split(",") if name.strip()] if isinstance(value, str) else value
