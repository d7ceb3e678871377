"""Bench alerts: the Alertmanager v4 sample (alertmesh.samples.DEMO_ALERT), one alert per payload, each
with its own fingerprint and start, and the label ``bench`` that routes it (see ``workspace.ROUTES``)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import orjson

from alertmesh.samples import DEMO_ALERT
from schemas.identity import alert_event_id
from services.ingest.parsers.registry import parse_alerts

SAMPLE = DEMO_ALERT
#: The record headers the bench publishes with (the raw consume-and-reproduce loop copies them too).
HEADERS = [("content-type", b"application/json")]
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class BenchAlert:
    """One payload and the correlation id its trigger and result will carry (the alert event's id)."""

    payload: bytes
    correlationid: str
    #: The alert as the raw-Temporal baseline receives it (the first and only alert of the payload).
    alert: dict[str, Any]


@cache
def _sample() -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(SAMPLE.read_bytes())
    return document


def bench_alert(run_tag: str, route: str, index: int) -> BenchAlert:
    """Alert ``index`` of the run tagged ``run_tag``, routed by ``route`` (a key of ``workspace.ROUTES``)."""
    document = copy.deepcopy(_sample())
    alert = document["alerts"][0]
    alert["fingerprint"] = f"{run_tag}{route[:2]}{index:07x}"
    alert["startsAt"] = (_EPOCH + timedelta(milliseconds=index)).isoformat().replace("+00:00", "Z")
    alert["labels"] = {**alert["labels"], "bench": route, "instance": f"https://server-{index}.example.org"}
    alert["annotations"] = {
        "summary": f"BlackBox Probe Failure #{index}",
        "description": f"https://server-{index}.example.org has been down for 5m",
    }
    document["commonLabels"] = {**document["commonLabels"], "bench": route}
    payload = orjson.dumps(document)
    # The id ingest will derive: parse exactly as ingest does, so the bench never guesses its rules.
    parsed = parse_alerts(payload, {name: value.decode() for name, value in HEADERS})[0]
    return BenchAlert(payload, alert_event_id(parsed), alert)


def bench_alerts(run_tag: str, route: str, count: int, start: int = 0) -> list[BenchAlert]:
    """Alerts ``start`` to ``start + count - 1`` of the run (see ``bench_alert``)."""
    return [bench_alert(run_tag, route, index) for index in range(start, start + count)]
