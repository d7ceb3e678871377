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
    #: Routed alerts between ingest's two stages, keyed by their noise-state key (services.ingest).
    routed: str = "alertmesh.routed"
    #: Silences, one row per id (compacted global table: services.shared.silences).
    silences: str = "alertmesh.silences"
    #: Every alert as last seen, one row per source and fingerprint (compacted global table: schemas.alert_state).
    alerts: str = "alertmesh.alerts"

    @classmethod
    def tagged(cls, tag: str, prefix: str = "") -> TopicSettings:
        """Every topic named ``{prefix}{name}-{tag}``: a mesh whose topics no other shares on one broker (tests,
        benchmarks), the global tables included, so its silences and alerts are its own."""
        names = ("raw", "triggers", "results", "dlq", "ingest_state", "routed", "silences", "alerts")
        return cls.model_validate({name: f"{prefix}{name.replace('_', '-')}-{tag}" for name in names})

    def env(self) -> dict[str, str]:
        """Every topic as the ``ALERTMESH_TOPIC_*`` variable that sets it: for a process started with these topics."""
        return {f"ALERTMESH_TOPIC_{name.upper()}": value for name, value in self.model_dump().items()}

    def all(self) -> list[str]:
        """The topics events travel on, to create before the services start; not the compacted ones
        (``ingest_state``, ``silences``, ``alerts``), which their owners create with compaction on."""
        return [self.raw, self.routed, self.triggers, self.results, self.dlq]
