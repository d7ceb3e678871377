"""Property-based fuzzing of each parser: Grafana, generic field maps, CloudEvents (structured, Kafka and HTTP
binary mode) and Alertmanager. Whatever the body and headers, a parser returns valid alerts or raises
``ParseError`` (which the pipeline dead-letters at ``ingest.parse``); no other exception escapes. The pipeline
test then checks that such input ends as triggers or a dead-letter failure, never an "unexpected error".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from schemas.alert import SEVERITY_SCALE, Alert
from services.ingest.parsers import ParseError, parse_alerts, parsers_for
from services.ingest.parsers.field_maps import FieldMap
from services.ingest.pipeline import PARSE_STAGE, ROUTE_STAGE, VALIDATE_STAGE, process
from services.shared.deadletter import ConsumedRecord
from services.webhook.headers import raw_record_headers
from tests.ingest.test_poison_fuzz import ROUTING, alertmanager_alert, cloudevent
from tests.shared.strategies import DEEP, EDGE_TIMES, FUZZ, HUGE_TEXT, JSON, JSON_LEAF, TEXT, dumps

STRINGS = st.dictionaries(TEXT, TEXT, max_size=3)
WRONG = JSON | EDGE_TIMES | DEEP | HUGE_TEXT
MAP = FieldMap.model_validate(
    {
        "each": "$.items",
        "title": "$.rule.name",
        "severity": "$.score",
        "severity_map": {"90": "critical"},
        "fingerprint": "$.id",
        "status": "$.state",
        "status_map": {"open": "firing", "closed": "resolved"},
        "labels": "$.tags",
        "starts_at": "$.at",
        "ends_at": "$.end",
        "summary": "$.rule.summary",
        "urls": {"console": "$.links[0]"},
    }
)
FLAT_MAP = FieldMap.model_validate({"title": "$.t", "labels": {"host": "$.h", "n": "$.n[1]"}, "status": "$.s"})
PARSERS = parsers_for({"edr": MAP, "siem": FLAT_MAP})


def _spoil(draw: st.DrawFn, target: dict[str, Any], fields: list[str]) -> None:
    """At most one field gone wrong (so valid alerts are reached as well)."""
    if draw(st.integers(0, 2)) == 0:
        target[draw(st.sampled_from(fields))] = draw(WRONG)


@st.composite
def grafana(draw: st.DrawFn) -> dict[str, Any]:
    alerts = []
    for _ in range(draw(st.integers(1, 3))):
        alert = draw(alertmanager_alert())
        alert.update(
            values=draw(st.dictionaries(TEXT, JSON_LEAF, max_size=3)),
            dashboardURL=draw(st.sampled_from(["", "https://g/d/1"]) | TEXT),
            panelURL="",
            silenceURL=draw(TEXT),
        )
        _spoil(draw, alert, ["values", "dashboardURL", "panelURL", "silenceURL", "status", "valueString"])
        alerts.append(alert)
    document: dict[str, Any] = {
        "version": "1",
        "alerts": alerts,
        "orgId": draw(st.integers(0, 5)),
        "state": draw(st.sampled_from(["alerting", "ok", "no_data"]) | TEXT),
        "title": draw(TEXT),
        "message": draw(TEXT | HUGE_TEXT),
        "externalURL": "https://g/",
    }
    _spoil(draw, document, ["alerts", "orgId", "state", "title", "message", "externalURL", "status"])
    return document


@st.composite
def edr(draw: st.DrawFn) -> dict[str, Any]:
    items = []
    for _ in range(draw(st.integers(1, 3))):
        item: dict[str, Any] = {
            "id": draw(st.integers() | TEXT),
            "rule": {"name": draw(st.sampled_from(["Credential dumping"]) | TEXT), "summary": draw(TEXT)},
            "score": draw(st.sampled_from([90, 40, "high"]) | JSON_LEAF),
            "state": draw(st.sampled_from(["open", "closed", "firing", "other"])),
            "tags": draw(st.dictionaries(TEXT, JSON, max_size=3)),
            "at": draw(EDGE_TIMES | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)),
            "links": draw(st.lists(TEXT, max_size=2)),
        }
        _spoil(draw, item, ["id", "rule", "score", "state", "tags", "at", "end", "links"])
        items.append(item)
    document: dict[str, Any] = {"items": items}
    _spoil(draw, document, ["items"])
    return document


@st.composite
def any_document(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    """A body and its headers, close to one of the formats; the source header picks the field maps."""
    kind = draw(st.sampled_from(["grafana", "edr", "siem", "cloudevent", "binary", "alertmanager", "junk"]))
    if kind == "grafana":
        return dumps(draw(grafana())), {"alertmesh-source": "grafana"}
    if kind == "edr":
        return dumps(draw(edr())), {"alertmesh-source": "edr"}
    if kind == "siem":
        flat = {"t": draw(TEXT | JSON_LEAF), "h": draw(JSON_LEAF), "n": draw(JSON), "s": draw(JSON_LEAF)}
        return dumps(flat), {"alertmesh-source": "siem"}
    if kind == "cloudevent":
        return dumps(draw(cloudevent())), {}
    if kind == "binary":  # HTTP binary mode, through the webhook's header mapping
        event = draw(cloudevent())
        http = {f"ce-{name}": value for name, value in event.items() if name != "data" and isinstance(value, str)}
        headers = raw_record_headers(draw(st.sampled_from(["edr", "http"])), "application/json", http)
        return dumps(event.get("data")), headers
    if kind == "alertmanager":
        alerts = draw(st.lists(alertmanager_alert(), min_size=1, max_size=3))
        return dumps({"version": "4", "status": "firing", "alerts": alerts}), {}
    return dumps(draw(JSON)), {"alertmesh-source": draw(st.sampled_from(["edr", "siem", "grafana"]))}


@FUZZ
@given(document=any_document())
def test_every_parser_returns_alerts_or_a_parse_error(document: tuple[bytes, dict[str, str]]) -> None:
    body, headers = document
    try:
        alerts = parse_alerts(body, headers, PARSERS)
    except ParseError as error:
        assert error.reason
        return
    assert alerts and all(isinstance(alert, Alert) for alert in alerts)
    for alert in alerts:
        # Serializing is the pipeline's step (a payload nested past ~200 levels is dead-lettered there, see below).
        assert alert.severity in SEVERITY_SCALE
        assert all(isinstance(link, str) and link.strip() for link in alert.urls.values())


@FUZZ
@given(document=any_document())
def test_bad_input_ends_as_a_dead_letter_failure_not_an_exception(document: tuple[bytes, dict[str, str]]) -> None:
    body, headers = document
    record = ConsumedRecord(value=body, headers=headers, topic="alerts.raw", received_at=datetime.now(UTC))
    outcome = process(record, ROUTING, 65_536, PARSERS)
    assert outcome.triggers or outcome.failures
    for failure in outcome.failures:
        assert failure.stage in {PARSE_STAGE, VALIDATE_STAGE, ROUTE_STAGE}
        assert "unexpected error" not in failure.reason, failure.reason
