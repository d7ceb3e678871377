"""``alertmesh.alert.v1``: one normalized alert, whatever format it arrived in."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from schemas.cloudevent import CloudEvent, Model

AlertStatus = Literal["firing", "resolved"]
Severity = Literal["critical", "high", "medium", "low", "info", "unknown"]


class Alert(Model):
    """The vendor-neutral shape routing and workflows see."""

    source: str = Field(description="Who sent it, e.g. 'alertmanager' or the webhook path's {source}.")
    format: str = Field(description="The parser that read it, e.g. 'alertmanager.v4' or 'cloudevents'.")
    status: AlertStatus
    name: str = Field(description="Alert name (Alertmanager alertname, CloudEvent title or type).")
    severity: Severity = "unknown"
    summary: str = ""
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    fingerprint: str = Field(description="Stable identity of the alert across notifications.")
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str | None = None
    external_url: str | None = None
    payload: dict[str, Any] = Field(
        default_factory=dict, description="The vendor's own JSON for this alert, untouched."
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
