"""What the load generator sends: Alertmanager v4 payloads with one alert each (distinct fingerprint and start),
exact re-sends of some of them, and malformed payloads of several kinds that must end on the dead-letter topic."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import orjson

Kind = Literal["alert", "duplicate", "malformed"]
#: Every malformed kind ingest must dead-letter (not JSON, a JSON array, Alertmanager without an alertname, an
#: unparseable startsAt, an object no parser recognizes).
MALFORMED_KINDS = ("not-json", "json-array", "missing-alertname", "bad-timestamp", "unknown-shape")

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Message:
    """One payload to publish. ``fingerprint`` is set for alerts and their duplicates; ``label`` names a
    malformed payload's kind."""

    index: int
    kind: Kind
    payload: bytes
    fingerprint: str | None = None
    label: str = ""


def _alert(run_tag: str, index: int, alertname: str | None = "ChaosProbe", starts_at: str | None = None) -> bytes:
    fingerprint = f"{run_tag}{index:06x}"
    labels = {"instance": f"host-{index}.example.org", "job": "chaos", "severity": "warning"}
    if alertname is not None:
        labels["alertname"] = alertname
    alert = {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": f"chaos alert {index}", "description": f"https://host-{index}.example.org down"},
        "startsAt": starts_at or (_EPOCH + timedelta(seconds=index)).isoformat().replace("+00:00", "Z"),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.org:9090/graph",
        "fingerprint": fingerprint,
    }
    return orjson.dumps(
        {
            "receiver": "alertmesh-chaos",
            "status": "firing",
            "alerts": [alert],
            "groupLabels": {"alertname": alertname or ""},
            "commonLabels": labels,
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.example.org:9093",
            "version": "4",
            "groupKey": f"chaos:{run_tag}:{index}",
            "truncatedAlerts": 0,
        }
    )


def fingerprint_of(run_tag: str, index: int) -> str:
    """The fingerprint the ``index``-th alert of a run carries, so results can be matched to what was sent."""
    return f"{run_tag}{index:06x}"


def malformed(kind: str, run_tag: str, index: int) -> bytes:
    """A payload of ``kind`` made unique by ``index`` (dead letters are matched to what was sent by their bytes)."""
    if kind == "not-json":
        return f"chaos {run_tag} #{index}: this is not JSON {{".encode()
    if kind == "json-array":
        return orjson.dumps([run_tag, index])
    if kind == "missing-alertname":
        return _alert(run_tag, index, alertname=None)
    if kind == "bad-timestamp":
        return _alert(run_tag, index, starts_at=f"yesterday-{index}")
    return orjson.dumps({"chaos": run_tag, "index": index})


def build_load(
    alerts: int, seed: int, run_tag: str, duplicate_share: float = 0.05, malformed_share: float = 0.05
) -> list[Message]:
    """``alerts`` distinct alerts in order, with seeded duplicates (each a little after its original) and
    malformed payloads (cycling through every kind) mixed in."""
    rng = random.Random(seed)
    messages = [Message(i, "alert", _alert(run_tag, i), fingerprint=fingerprint_of(run_tag, i)) for i in range(alerts)]
    for n, original in enumerate(rng.sample(messages, k=round(alerts * duplicate_share))):
        duplicate = Message(alerts + n, "duplicate", original.payload, original.fingerprint)
        messages.insert(min(len(messages), messages.index(original) + rng.randint(1, 20)), duplicate)
    for n in range(round(alerts * malformed_share)):
        kind = MALFORMED_KINDS[n % len(MALFORMED_KINDS)]
        index = 10 * alerts + n  # outside the alerts' index range: a malformed alert never shares a fingerprint
        messages.insert(
            rng.randint(0, len(messages)), Message(index, "malformed", malformed(kind, run_tag, index), label=kind)
        )
    return messages
