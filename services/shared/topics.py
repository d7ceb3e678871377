"""Topic names (``ALERTMESH_TOPIC_*``), shared so producer and consumer of a topic always agree."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class TopicSettings(BaseSettings):
    """The topic names (``ALERTMESH_TOPIC_*``); every producer and consumer of a topic reads its name here."""

    model_config = SettingsConfigDict(env_prefix="ALERTMESH_TOPIC_", extra="ignore")

    raw: str = "alerts.raw"
    triggers: str = "alertmesh.triggers"
    results: str = "alertmesh.results"
    dlq: str = "alertmesh.dlq"
    #: Ingest's dedup and grouping state (compacted; ingest creates it, see services.ingest.noise.state_log).
    ingest_state: str = "alertmesh.ingest-state"

    def all(self) -> list[str]:
        """The topics events travel on, to create before the services start; not ``ingest_state``, which ingest creates
        itself (compacted)."""
        return [self.raw, self.triggers, self.results, self.dlq]
