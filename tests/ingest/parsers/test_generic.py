from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from schemas.alert import Alert
from services.ingest.defaults import FIELD_MAPS_FILE
from services.ingest.parsers import ParseError, parse_alerts, parsers_for
from services.ingest.parsers.field_maps import FieldMap, FieldMapFileError, load_field_maps
from services.ingest.parsers.jsonpath import PathError, compile_path, read
from tests.ingest.conftest import sample

EDR = {"alertmesh-source": "edr"}


def _parse(body: object, headers: dict[str, str] = EDR, **field_map: object) -> list[Alert]:
    parsers = parsers_for({"edr": FieldMap.model_validate({"title": "$.title"} | field_map)})
    return parse_alerts(orjson.dumps(body), headers, parsers)


def test_the_example_map_reads_the_edr_sample() -> None:
    parsers = parsers_for(load_field_maps(FIELD_MAPS_FILE))
    first, second = parse_alerts(sample("generic-edr-detections.json"), EDR, parsers)
    assert (first.source, first.format, first.status) == ("edr", "generic", "firing")
    assert first.name == "Credential dumping via LSASS access"
    assert first.description == "procdump.exe read lsass.exe memory"
    assert (first.severity, first.severity_original) == ("critical", "90")
    assert first.fingerprint == "812734"
    assert first.labels == {"tactic": "credential-access", "technique": "T1003.001", "confidence": "80"}
    assert first.starts_at == datetime(2026, 11, 25, 8, 15, 2, tzinfo=UTC)
    assert first.urls == {"console": "https://edr.example.com/detections/812734"}  # the empty playbook link is left out
    assert first.payload["device"] == {"hostname": "ws-0142", "os": "windows"}
    assert (second.status, second.severity, second.starts_at) == (
        "resolved",
        "medium",
        datetime(2026, 11, 26, 7, 40, 11, tzinfo=UTC),
    )


def test_a_source_without_a_map_still_goes_to_the_built_in_parsers(alertmanager_bytes: bytes) -> None:
    parsers = parsers_for(load_field_maps(FIELD_MAPS_FILE))
    [alert] = parse_alerts(alertmanager_bytes, {"alertmesh-source": "prometheus"}, parsers)
    assert alert.format == "alertmanager.v4"


def test_named_labels_defaults_and_severity_words() -> None:
    body = {"title": "T", "sev": "Warning", "host": {"name": "h1"}, "n": 3, "nested": {"x": 1}}
    [alert] = _parse(body, severity="$.sev", labels={"host": "$.host.name", "n": "$.n", "gone": "$.nope"})
    assert (alert.status, alert.severity, alert.severity_original) == ("firing", "medium", "Warning")
    assert alert.labels == {"host": "h1", "n": "3"}
    assert alert.fingerprint == _parse(body, labels={"host": "$.host.name", "n": "$.n"})[0].fingerprint


@pytest.mark.parametrize(
    ("body", "field_map", "reason"),
    [
        ({"nope": 1}, {}, r"generic \(edr\): no title at \$.title"),
        ({"title": "T", "s": "maybe"}, {"status": "$.s"}, "status must be 'firing' or 'resolved'"),
        ({"title": "T", "at": "yesterday"}, {"starts_at": "$.at"}, "invalid timestamp"),
        ({"title": "T", "at": 1e300}, {"starts_at": "$.at"}, "not a usable Unix time"),
        ({"title": "T", "l": [1]}, {"labels": "$.l"}, "labels .* must lead to an object"),
        ({"list": {}}, {"each": "$.list"}, "must lead to a non-empty list"),
        ({"list": [1]}, {"each": "$.list"}, r"\$.list\[0\] must be an object"),
    ],
)
def test_bad_bodies_give_precise_reasons(body: object, field_map: dict[str, object], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        _parse(body, **field_map)


def test_paths() -> None:
    assert compile_path("$.a['b c'][0][-1].d") == ("a", "b c", 0, -1, "d")
    assert compile_path("$") == ()
    document = {"a": {"b c": [[1, {"d": "x"}]]}}
    assert read(document, compile_path("$.a['b c'][0][-1].d")) == "x"
    assert read(document, compile_path("$.a.missing.deeper")) is None
    assert read(document, compile_path("$.a['b c'][5]")) is None
    assert read(document, compile_path("$.a['b c'][0][0].d")) is None
    for bad in ("a.b", "$.a[*]", "$..a", "$.a[", "$.a b"):
        with pytest.raises(PathError):
            compile_path(bad)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources: {edr: {severity: $.s}}", "sources.edr: 'title' is required"),
        ("sources: {edr: {title: 'a.b'}}", "must start with '\\$'"),
        ("sources: {edr: {title: $.t, colour: $.c}}", "sources.edr.colour: Extra inputs are not permitted"),
        ("sources: {edr: {title: $.t, severity_map: {x: urgent}}}", "sources.edr.severity_map.x"),
        ("sources: {'bad source': {title: $.t}}", "must match"),
        ("sources: [", r":1:11: invalid YAML"),
    ],
)
def test_bad_field_map_files_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "maps.yaml"
    path.write_text(text)
    with pytest.raises(FieldMapFileError, match=message) as caught:
        load_field_maps(path)
    assert str(path) in str(caught.value)
