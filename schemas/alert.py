"""``alertmesh.alert.v1``: one normalized alert, whatever format it arrived in."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from schemas.cloudevent import CloudEvent, Model

AlertStatus = Literal["firing", "resolved"]
#: The fixed scale, lowest first; "unknown" (below "info") means the sender gave no severity or one no synonym maps.
Severity = Literal["critical", "high", "medium", "low", "info", "unknown"]
SEVERITY_SCALE: tuple[Severity, ...] = ("unknown", "info", "low", "medium", "high", "critical")


def severity_rank(severity: Severity) -> int:
    """Position on the scale (``unknown`` 0 ... ``critical`` 5), for comparisons such as ``severity >= high``."""
    return SEVERITY_SCALE.index(severity)


class AlertGroup(Model):
    """The notification a grouped alert arrived in (Alertmanager, Grafana): what the sender says of the whole group,
    kept beside each alert rather than copied into it (a group's title is not any one alert's summary)."""

    receiver: str | None = Field(default=None, description="The sender's receiver (contact point) that posted it.")
    key: str | None = Field(
        default=None, description="The sender's group key (`groupKey`): the same for every notification of one group."
    )
    status: AlertStatus | None = Field(
        default=None, description="The group's status: firing while any alert of it fires."
    )
    labels: dict[str, str] = Field(default_factory=dict, description="The labels the group is formed by.")
    common_labels: dict[str, str] = Field(default_factory=dict, description="Labels every alert of it shares.")
    common_annotations: dict[str, str] = Field(
        default_factory=dict, description="Annotations every alert of it shares."
    )
    title: str | None = Field(
        default=None, description="The notification's title (Grafana), e.g. '[FIRING:2] HighCPU'."
    )
    message: str | None = Field(default=None, description="The notification's message (Grafana).")
    truncated_alerts: int = Field(
        default=0,
        ge=0,
        description="Alerts of the group the sender left out of this notification (its `max_alerts`): they reach "
        "no workflow; ingest counts and logs them.",
    )


class Alert(Model):
    """The vendor-neutral shape routing and workflows see."""

    source: str = Field(description="Who sent it, e.g. 'alertmanager' or the webhook path's {source}.")
    format: str = Field(description="The parser that read it, e.g. 'alertmanager.v4' or 'cloudevents'.")
    status: AlertStatus
    name: str = Field(description="Alert name (Alertmanager alertname, CloudEvent title or type).")
    severity: Severity = Field(
        default="unknown",
        description=(
            "The sender's severity on the fixed scale critical, high, medium, low, info; 'unknown' when it gave "
            "none or a word no synonym maps (its own word is in `severity_original`)."
        ),
    )
    severity_original: str | None = Field(
        default=None, description="The severity exactly as the sender wrote it (None when it sent none)."
    )
    summary: str = ""
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    fingerprint: str = Field(description="Stable identity of the alert across notifications.")
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str | None = None
    urls: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Links the source gave, by name: 'generator', 'source' (the sender's UI), 'runbook', 'dashboard', "
            "'panel', 'silence', or a field-map's own names. Empty links are left out."
        ),
    )
    external_url: str | None = None
    payload: dict[str, Any] = Field(
        default_factory=dict, description="The vendor's own JSON for this alert, untouched."
    )
    group: AlertGroup | None = Field(
        default=None,
        description=(
            "The notification the alert arrived in, when the sender groups alerts (Alertmanager, Grafana): its "
            "receiver, group key and labels, common labels and annotations, title and message, and how many alerts "
            "it left out. Workflows read it as `TRIGGER.alert.group`; None for senders that send one alert."
        ),
    )
    event_source: str | None = Field(
        default=None,
        description=(
            "The sender's own `source` of the event this alert arrived in, when its format identifies events "
            "(CloudEvents `source`); kept even when `source` is overridden by the webhook path."
        ),
    )
    event_id: str | None = Field(
        default=None,
        description=(
            "The sender's id of that event (CloudEvents `id`, unique within `event_source`). When set, the "
            "idempotency key uses it: two events never share a key, and the same event sent again does."
        ),
    )

    @model_validator(mode="after")
    def _event_identity_is_whole(self) -> Alert:
        # An id alone is ambiguous: CloudEvents ids are only unique within their source.
        if (self.event_id is None) != (self.event_source is None):
            raise ValueError("event_id and event_source go together (an event is identified by both)")
        return self


class AlertEvent(CloudEvent):
    """Emitted by ingest for each alert it reads (one per alert in an Alertmanager group)."""

    TYPE = "alertmesh.alert.v1"
    type: Literal["alertmesh.alert.v1"] = "alertmesh.alert.v1"
    data: Alert
