"""The alerts table's row: one alert as last seen, with what muted it, under key ``[source, fingerprint]`` in the
compacted alerts topic (``ALERTMESH_TOPIC_ALERTS``). Ingest writes a row for every alert it reads; inhibition reads
the firing ones (``services.ingest.noise``), and the webhook's Alertmanager API lists them (``GET /api/v2/alerts``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson
from pydantic import BaseModel, ConfigDict, Field

from schemas.alert import Alert, AlertStatus, Severity

#: The label a matcher reads an alert's name from when the alert has no such label of its own (Alertmanager's).
NAME_LABEL = "alertname"
#: A firing alert without an end time of its own fires until this long after it was last seen, as Alertmanager's
#: default ``resolve_timeout`` says: a sender that sends an alert once (a detection) does not mute or list it
#: forever, and a sender that repeats it (Prometheus, every minute) keeps it firing.
RESOLVE_TIMEOUT = timedelta(minutes=5)


def matchable_labels(alert: Alert) -> dict[str, str]:
    """The labels silences and inhibition rules match: the alert's own, and its name as ``alertname`` when it has no
    such label (alerts of formats without labels are matched by name too)."""
    if NAME_LABEL in alert.labels:
        return alert.labels
    return {**alert.labels, NAME_LABEL: alert.name}


def table_key(source: str, fingerprint: str) -> bytes:
    """An alert's key in the alerts table."""
    return orjson.dumps([source, fingerprint])


class AlertState(BaseModel):
    """An alert as last seen by ingest, and what muted it then."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    source: str
    fingerprint: str
    name: str
    severity: Severity
    status: AlertStatus
    labels: dict[str, str] = Field(description="The labels matchers read (``matchable_labels``).")
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime
    ends_at: datetime | None = None
    generator_url: str | None = None
    #: When ingest read it (the record's time): the row's ``updatedAt``.
    updated_at: datetime
    #: The routes (Alertmanager's receivers) it matched.
    routes: list[str] = Field(default_factory=list)
    #: Ids of the silences that muted it when it was read.
    silenced_by: list[str] = Field(default_factory=list)
    #: Fingerprints of the firing alerts that inhibited it when it was read.
    inhibited_by: list[str] = Field(default_factory=list)

    @property
    def fires_until(self) -> datetime:
        """When it stops firing unless seen again: its ``ends_at``, else ``RESOLVE_TIMEOUT`` after it was last seen."""
        return self.ends_at if self.ends_at is not None else self.updated_at + RESOLVE_TIMEOUT

    def firing_at(self, at: datetime) -> bool:
        """Whether it fires at ``at``: not resolved, and ``fires_until`` not passed."""
        return self.status == "firing" and self.fires_until > at
