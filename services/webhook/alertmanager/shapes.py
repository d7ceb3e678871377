"""The API's JSON shapes, as Alertmanager's OpenAPI document defines them (every required field present, times
RFC 3339 in UTC with milliseconds, enums as listed): ``gettableAlert``, ``alertGroup``, ``gettableSilence``.

An alert without an end time of its own reports one ``RESOLVE_TIMEOUT`` after it was last seen, as Alertmanager
does with its ``resolve_timeout`` (the field is required); a resolved alert without one, the time it was resolved.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from schemas.alert_state import NAME_LABEL, RESOLVE_TIMEOUT, AlertState
from schemas.silence import Silence

__all__ = [
    "NO_RECEIVER", "RESOLVE_TIMEOUT", "alert_ends_at", "alert_groups", "gettable_alert", "gettable_silence",
    "silence_order", "timestamp",
]  # fmt: skip
#: The receiver an alert that matched no route is listed under (a group needs one).
NO_RECEIVER = "unrouted"


def timestamp(at: datetime) -> str:
    """RFC 3339 in UTC with milliseconds (``2026-01-02T03:04:05.678Z``), as Go's ``strfmt.DateTime`` writes."""
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


def alert_ends_at(row: AlertState) -> datetime:
    """The end time the API reports (see the module's docstring)."""
    if row.status == "resolved" and row.ends_at is None:
        return row.updated_at
    return row.fires_until


def gettable_alert(row: AlertState, silenced_by: list[str]) -> dict[str, Any]:
    """A row as a ``gettableAlert``: ``suppressed`` when silenced (by the silences in force now) or inhibited (as
    ingest decided when it read the alert), else ``active``; its receivers are the routes it matched."""
    suppressed = bool(silenced_by or row.inhibited_by)
    alert: dict[str, Any] = {
        "labels": row.labels,
        "annotations": row.annotations,
        "receivers": [{"name": route} for route in row.routes],
        "fingerprint": row.fingerprint,
        "startsAt": timestamp(row.starts_at),
        "updatedAt": timestamp(row.updated_at),
        "endsAt": timestamp(alert_ends_at(row)),
        "status": {
            "state": "suppressed" if suppressed else "active",
            "silencedBy": silenced_by,
            "inhibitedBy": list(row.inhibited_by),
        },
    }
    if row.generator_url:
        alert["generatorURL"] = row.generator_url
    return alert


def alert_groups(alerts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``alertGroup``s: the alerts grouped by receiver and ``alertname`` (an alert with several receivers is in a
    group of each; one with none under ``NO_RECEIVER``), sorted by receiver, then name."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for alert in alerts:
        name = alert["labels"].get(NAME_LABEL, "")
        for receiver in [r["name"] for r in alert["receivers"]] or [NO_RECEIVER]:
            groups.setdefault((receiver, name), []).append(alert)
    return [
        {"labels": {NAME_LABEL: name} if name else {}, "receiver": {"name": receiver}, "alerts": members}
        for (receiver, name), members in sorted(groups.items())
    ]


def gettable_silence(silence: Silence, now: datetime) -> dict[str, Any]:
    """A silence as a ``gettableSilence``, its state at ``now``."""
    return {
        "id": silence.id,
        "status": {"state": silence.state(now)},
        "updatedAt": timestamp(silence.updated_at),
        "matchers": [
            {"name": m.name, "value": m.value, "isRegex": m.is_regex, "isEqual": m.is_equal} for m in silence.matchers
        ],
        "startsAt": timestamp(silence.starts_at),
        "endsAt": timestamp(silence.ends_at),
        "createdBy": silence.created_by,
        "comment": silence.comment,
    }


def silence_order(silence: Silence, now: datetime) -> tuple[int, float]:
    """Alertmanager's order of a silence list: active ones by end (soonest first), then pending ones by start,
    then expired ones by end (latest first)."""
    state = silence.state(now)
    if state == "active":
        return 0, silence.ends_at.timestamp()
    if state == "pending":
        return 1, silence.starts_at.timestamp()
    return 2, -silence.ends_at.timestamp()
