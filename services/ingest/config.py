"""Ingest consumer settings (``INGEST_*``, plus shared ``KAFKA_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.ingest.defaults import ROUTING_FILE
from services.shared.alert_limits import DEFAULT_MAX_ALERTS_PER_RECORD, MAX_ALERTS_PER_RECORD_CAP
from services.shared.kafka import KafkaSettings
from services.shared.topics import TopicSettings


class IngestSettings(BaseSettings):
    """The consumer of the raw topic: parse, normalize, route, publish triggers or dead letters."""

    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore")

    # Stage 1 (normalize: raw topic -> routed topic) and stage 2 (decide: routed topic -> triggers) are two
    # consumer groups of the same process (see services.ingest.app).
    group_id: str = "alertmesh-ingest"
    # Default: the group id with "-decide" appended.
    decide_group_id: str = ""
    # The routing rules. By default the demo rules shipped in the package (services.ingest.defaults), so ingest
    # finds them whatever its working directory.
    routing_file: Path = ROUTING_FILE
    # Optional: how to read sources that send their own JSON (see services.ingest.parsers.field_maps).
    field_maps_file: Path | None = None
    # How often the routing file is checked for changes (a valid new version takes over without a restart).
    routing_reload_s: float = Field(3.0, gt=0, le=3600)
    health_host: str = "127.0.0.1"
    health_port: int = Field(8081, ge=0, le=65535)
    log_level: str = "INFO"
    # A failed trigger/dead-letter publish is retried with exponential backoff capped at this delay...
    publish_backoff_max_s: float = Field(5.0, gt=0)
    # ...for this long; then the message is rewound (not committed) and read again, so nothing is skipped.
    publish_retry_budget_s: float = Field(60.0, gt=0)
    # Records handled per batch: parsed and routed together, their triggers written together, committed together.
    # Larger batches amortize the acks round trip; each batch holds the event loop while it is parsed (about
    # 50 us a record), so the bound keeps a batch well inside the consumer's heartbeat and poll deadlines.
    batch_max_records: int = Field(500, ge=1, le=10_000)
    # A record carrying more alerts than this is dead-lettered whole (stage parse, the reason names this setting)
    # before any is normalized: one 1 MiB record of tiny alerts would otherwise be 20,000 workflow runs and hold
    # the event loop for seconds. Alertmanager sends a group's alerts, typically a handful.
    max_alerts_per_record: int = Field(DEFAULT_MAX_ALERTS_PER_RECORD, ge=1, le=MAX_ALERTS_PER_RECORD_CAP)
    # Noise control (services.ingest.noise): the same (route, source, fingerprint, status) within this many seconds
    # of the trigger it last caused gives no new trigger; 0 turns dedup off.
    dedup_window_s: float = Field(300.0, ge=0, le=30 * 86_400)
    # A group (route group_by) is flushed as soon as it holds this many alerts, so its trigger stays small.
    group_max_alerts: int = Field(100, ge=1, le=10_000)
    # Dedup entries kept per raw partition (about 200 bytes each): past it the entry whose trigger passed longest
    # ago is evicted, and a repeat of that alert within its window then passes as new.
    dedup_max_entries: int = Field(100_000, ge=1, le=10_000_000)
    # Groups kept per raw partition (each up to group_max_alerts alerts): past it the oldest empty group (flushed,
    # waiting out its interval) is forgotten; when every group is pending, a new group's alert goes out alone.
    group_max_groups: int = Field(1000, ge=1, le=1_000_000)
    # Firing alerts held while silenced or inhibited, per routed partition (each about its trigger's size): held so
    # that they start their workflow when the silence ends or the inhibiting alert resolves while they still fire.
    # Past it the oldest hold is dropped (counted in alertmesh_noise_evictions_total{kind="muted"}, logged).
    muted_max_holds: int = Field(10_000, ge=1, le=1_000_000)
    # How often due groups are looked for, and held alerts whose silence or inhibition ended: the lateness of a
    # group's flush, or of a release, is at most about this.
    group_tick_s: float = Field(0.5, gt=0, le=60)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)

    @model_validator(mode="after")
    def _decide_group(self) -> IngestSettings:
        # Derived, so every ingest given its own group id (a test, a second mesh) gets its own stage-2 group too.
        if not self.decide_group_id:
            self.decide_group_id = f"{self.group_id}-decide"
        return self

    topics: TopicSettings = Field(default_factory=TopicSettings)
