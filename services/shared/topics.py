"""Topic names (``ALERTMESH_TOPIC_*``), shared so producer and consumer of a topic always agree."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class TopicSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALERTMESH_TOPIC_", extra="ignore")

    raw: str = "alerts.raw"
    triggers: str = "alertmesh.triggers"
    results: str = "alertmesh.results"
    dlq: str = "alertmesh.dlq"
    #: Ingest's dedup and grouping state (compacted; ingest creates it, see services.ingest.noise.state_log).
    ingest_state: str = "alertmesh.ingest-state"

    def all(self) -> list[str]:
        return [self.raw, self.triggers, self.results, self.dlq]
