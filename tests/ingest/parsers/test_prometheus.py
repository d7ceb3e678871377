from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.parsers import RefusedAlert, parse_alerts, read_alerts
from services.ingest.parsers.alertmanager import AlertmanagerParser
from services.ingest.parsers.prometheus import PrometheusParser, alertmanager_fingerprint
from tests.ingest.parsers.format_fuzz import reads_or_refuses, spoil
from tests.shared.strategies import EDGE_TIMES, FUZZ, TEXT

NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
LABELS = {"alertname": "HighLatency", "instance": "api-0:8080", "severity": "critical"}


def _alert(**fields: Any) -> dict[str, Any]:
    return {"labels": LABELS, "annotations": {"summary": "slow"}, "startsAt": "2026-03-02T10:00:00Z"} | fields


def _read(*alerts: dict[str, Any]) -> list[Any]:
    return PrometheusParser(clock=lambda: NOW).parse(list(alerts), {})


def test_labels_fingerprint_is_alertmanagers() -> None:
    # prometheus/common's own test vectors for LabelSet.Fingerprint (FNV-1a 64 of sorted names and values).
    assert alertmanager_fingerprint({}) == f"{14695981039346656037:016x}"
    assert alertmanager_fingerprint({"name": "garland, briggs", "fear": "love is not enough"}) == (
        f"{5799056148416392346:016x}"
    )


def test_the_same_alert_relayed_by_alertmanager_pairs_with_the_direct_one() -> None:
    [direct] = _read(_alert())
    relayed = {"version": "4", "status": "firing", "alerts": [{"labels": LABELS, "fingerprint": direct.fingerprint}]}
    [through_alertmanager] = AlertmanagerParser().parse(relayed, {})
    assert direct.fingerprint == through_alertmanager.fingerprint


def test_status_comes_from_ends_at_against_now() -> None:
    later = (NOW + timedelta(minutes=4)).isoformat()
    earlier = (NOW - timedelta(seconds=1)).isoformat()
    firing, resolved, no_end = _read(_alert(endsAt=later), _alert(endsAt=earlier), _alert())
    assert (firing.status, resolved.status, no_end.status) == ("firing", "resolved", "firing")
    assert firing.fingerprint == resolved.fingerprint == no_end.fingerprint
    assert resolved.ends_at == NOW - timedelta(seconds=1)


def test_label_order_does_not_change_the_fingerprint_and_another_label_does() -> None:
    reordered = dict(reversed(list(LABELS.items())))
    a, b, c = _read(_alert(), _alert(labels=reordered), _alert(labels=LABELS | {"instance": "api-1:8080"}))
    assert a.fingerprint == b.fingerprint != c.fingerprint


def test_fields_are_normalized() -> None:
    [alert] = _read(_alert(generatorURL="http://prom:9090/graph?g0.expr=up", annotations={"runbook_url": "https://r"}))
    assert (alert.source, alert.format, alert.name) == ("prometheus", "prometheus.v2", "HighLatency")
    assert (alert.severity, alert.severity_original) == ("critical", "critical")
    assert alert.starts_at == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert alert.urls == {"generator": "http://prom:9090/graph?g0.expr=up", "runbook": "https://r"}


def test_a_bad_element_is_refused_alone() -> None:
    entries = read_alerts(orjson.dumps([{"labels": {"job": "x"}}, _alert(), "text", _alert(startsAt="yesterday")]), {})
    assert [type(entry).__name__ for entry in entries] == ["RefusedAlert", "Alert", "RefusedAlert", "RefusedAlert"]
    refused = [entry for entry in entries if isinstance(entry, RefusedAlert)]
    assert "alertname" in refused[0].reason and "object" in refused[1].reason and "startsAt" in refused[2].reason


def test_only_arrays_of_labelled_objects_are_accepted() -> None:
    parser = PrometheusParser()
    assert parser.accepts([_alert()], {})
    # A first element that is not an alert does not hide the alerts after it: each is read, the bad one refused.
    assert parser.accepts(["text", {"labels": None}, _alert()], {})
    others = ([], [1], [{"specversion": "1.0", "labels": {}}], [_alert(), {"specversion": "1.0"}], {"labels": {}})
    for other in (*others, [{"labels": "x"}]):
        assert not parser.accepts(other, {})


def test_source_header_wins() -> None:
    [alert] = parse_alerts(orjson.dumps([_alert()]), {"alertmesh-source": "prom-eu"})
    assert alert.source == "prom-eu"


@st.composite
def postable_alerts(draw: st.DrawFn) -> list[Any]:
    alerts = []
    for _ in range(draw(st.integers(1, 3))):
        alert: dict[str, Any] = {
            "labels": draw(st.dictionaries(TEXT, TEXT, max_size=3)) | {"alertname": draw(TEXT)},
            "annotations": draw(st.dictionaries(TEXT, TEXT, max_size=2)),
            "startsAt": draw(EDGE_TIMES),
            "endsAt": draw(EDGE_TIMES),
            "generatorURL": draw(TEXT),
        }
        spoil(draw, alert, ["labels", "annotations", "startsAt", "endsAt", "generatorURL"])
        alerts.append(alert)
    return alerts


@FUZZ
@given(document=postable_alerts())
def test_never_raises_anything_but_a_parse_error(document: list[Any]) -> None:
    reads_or_refuses(document, {}, "prometheus.v2")
