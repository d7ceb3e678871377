"""``alertmesh route`` runs ingest's configuration and code path: field maps, noise control (groups held, repeats
dropped, given earlier records), NDJSON split as the webhook splits it, HTTP ``ce-*`` headers mapped as the webhook
maps them, refused elements with their index; and its ``--json`` document."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from alertmesh.commands.route import JSON_SCHEMA, route
from alertmesh.samples import DIRECTORY, sample
from services.ingest.defaults import FIELD_MAPS_FILE

EDR = sample("generic-edr-detections.json")
FIRING = sample("alertmanager-v4-firing.json")
GROUPED = """\
routes:
  - name: by-job
    match: {status: firing}
    group_by: [job]
    group_wait: 30
    workflow: triage
"""


def preview(*paths: Path, **options: Any) -> tuple[int, dict[str, Any], str]:
    """The exit code, the --json document and stderr of one ``route`` run."""
    out, err = io.StringIO(), io.StringIO()
    code = route(list(paths), as_json=True, out=out, err=err, **options)
    return code, json.loads(out.getvalue()) if out.getvalue() else {}, err.getvalue()


def text(*paths: Path, **options: Any) -> tuple[int, str]:
    out = io.StringIO()
    code = route(list(paths), out=out, err=out, **options)
    return code, out.getvalue()


def triggers(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [made for record in document["records"] for alert in record["alerts"] for made in alert["triggers"]]


def test_a_field_mapped_source_is_read_by_its_field_map_and_names_the_file() -> None:
    code, document, err = preview(EDR, field_maps_file=FIELD_MAPS_FILE, source="edr")
    assert (code, err) == (0, "")
    assert document["field_maps_file"] == str(FIELD_MAPS_FILE)
    [record] = document["records"]
    assert [alert["alert"]["name"] for alert in record["alerts"]] == [
        "Credential dumping via LSASS access",
        "Unsigned driver loaded",
    ]
    first = record["alerts"][0]
    assert first["read_by"] == f"field map 'edr' of {FIELD_MAPS_FILE}"
    assert (first["alert"]["severity"], first["alert"]["fingerprint"]) == ("critical", "812734")
    assert first["alert"]["urls"] == {"console": "https://edr.example.com/detections/812734"}
    assert [made["idempotency_key"] for made in triggers(document)] == [
        "triage:edr:812734:firing:20261125T081502.000Z",
        "triage:edr:812735:resolved:20261126T074011.000Z",
    ]


def test_the_field_maps_default_to_ingest_s_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    code, document, _ = preview(EDR, source="edr")
    assert code == 1 and "unsupported payload" in document["records"][0]["dead_letter"][0]["reason"]
    monkeypatch.setenv("INGEST_FIELD_MAPS_FILE", str(FIELD_MAPS_FILE))
    code, document, _ = preview(EDR, source="edr")
    assert code == 0 and len(triggers(document)) == 2


def test_a_group_by_route_shows_the_alert_held_in_its_group_not_a_trigger(tmp_path: Path) -> None:
    rules = tmp_path / "routing.yaml"
    rules.write_text(GROUPED)
    code, document, _ = preview(FIRING, routing_file=rules)
    assert code == 0
    [made] = triggers(document)
    assert (made["rule_index"], made["rule"], made["noise"]) == (0, "by-job", "held")
    assert made["note"].startswith("held in group triage:group:by-job:") and " until " in made["note"]
    [group] = document["pending_groups"]
    assert (group["route"], group["alerts"], group["labels"]) == ("by-job", 1, {"job": "http_checks"})
    assert made["note"] == f"held in group {group['idempotency_key']} until {made['note'].rsplit(' ', 1)[1]}"
    code, shown = text(FIRING, routing_file=rules)
    assert "triggers (0):\nkept back by noise control (1):\n" in shown


def test_ndjson_is_one_record_a_line_and_a_bad_line_is_refused_with_its_number(tmp_path: Path) -> None:
    lines = tmp_path / "batch.txt"
    lines.write_text(FIRING.read_text().replace("\n", " ") + "\n\n[1, 2]\n" + EDR.read_text().replace("\n", " "))
    code, document, _ = preview(lines, ndjson=True)
    assert code == 1
    records = document["records"]
    assert [record["input"] for record in records] == [f"{lines}:1", f"{lines}:3", f"{lines}:4"]
    assert records[0]["alerts"][0]["alert"]["name"] == "ProbeFailure"
    assert records[1]["dead_letter"][0]["reason"].startswith("line 3: must be a JSON object")
    assert "unsupported payload" in records[2]["dead_letter"][0]["reason"]
    named = tmp_path / "batch.ndjson"
    named.write_bytes(lines.read_bytes())
    assert len(preview(named)[1]["records"]) == 3  # by its name
    by_type = preview(lines, header_args=["Content-Type: application/x-ndjson"])[1]
    assert len(by_type["records"]) == 3  # by its content type, as the webhook decides
    named.write_text("\n \n")
    code, document, _ = preview(named)
    assert code == 1 and document["records"][0]["dead_letter"][0]["reason"].startswith("the NDJSON body has no lines")


def test_http_ce_headers_are_a_binary_mode_cloudevent(tmp_path: Path) -> None:
    body = tmp_path / "data.json"
    body.write_text('{"title": "Ransomware note dropped", "severity": "critical", "host": "db-1"}')
    headers = ["ce-specversion: 1.0", "ce-type: com.example.edr.detection", "ce-source: /edr/x", "CE-Id: 42%2F1"]
    code, document, _ = preview(body, header_args=headers, source="edr")
    assert code == 0
    [alert] = document["records"][0]["alerts"]
    assert document["records"][0]["headers"]["ce_id"] == "42/1"  # percent-decoded, as the webhook does
    assert (alert["alert"]["format"], alert["alert"]["event_id"], alert["alert"]["source"]) == (
        "cloudevents",
        "42/1",
        "edr",
    )
    assert alert["read_by"] == "built-in parser cloudevents"


def test_a_repeat_in_a_later_file_or_after_the_state_is_dropped_by_the_dedup_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, document, _ = preview(FIRING, FIRING)
    assert code == 0
    first, second = triggers(document)
    assert (first["noise"], second["noise"]) == ("passes", "repeat")
    assert second["note"] == "a repeat within the dedup window of route critical"
    assert first["idempotency_key"] == second["idempotency_key"]
    code, document, _ = preview(FIRING, state_files=[FIRING])
    assert [made["noise"] for made in triggers(document)] == ["repeat"]
    assert len(document["records"]) == 1  # the state is fed, not shown
    assert document["state_inputs"] == [str(FIRING)]
    monkeypatch.setenv("INGEST_DEDUP_WINDOW_S", "0")  # ingest's setting: dedup off
    assert [made["noise"] for made in triggers(preview(FIRING, FIRING)[1])] == ["passes", "passes"]


def test_a_refused_element_is_shown_with_its_index_and_its_neighbour_still_routes() -> None:
    group = DIRECTORY / "alertmanager" / "falcosidekick-group-one-bad.json"
    code, document, _ = preview(group)
    assert code == 1
    [record] = document["records"]
    assert [(refused["index"], refused["stage"]) for refused in record["refused"]] == [(0, "parse")]
    assert "alertname" in record["refused"][0]["reason"]
    assert [alert["index"] for alert in record["alerts"]] == [1]
    assert [made["noise"] for made in triggers(document)] == ["passes"]
    _, shown = text(group)
    assert "\nelement 1/2 refused (parse): alertmanager.v4: alerts[0].labels.alertname is required\n" in shown
    assert "\nalert 2/2: 'Terminal shell in container' " in shown


def test_the_json_document_keeps_its_schema(tmp_path: Path) -> None:
    code, document, _ = preview(FIRING)
    assert code == document["exit_code"] == 0
    assert document["schema"] == JSON_SCHEMA
    assert set(document) == {
        "schema", "routing_file", "field_maps_file", "noise_control", "state_inputs", "records", "pending_groups",
        "exit_code",
    }  # fmt: skip
    [record] = document["records"]
    assert set(record) == {"input", "headers", "alerts", "refused", "dead_letter", "dropped"}
    [alert] = record["alerts"]
    assert set(alert) == {"index", "alert", "read_by", "routing_file", "rules", "unrouted", "triggers"}
    assert alert["rules"][2] == {"index": 2, "name": "critical", "matched": True, "reason": None}
    assert set(alert["triggers"][0]) == {
        "workflow", "rule_index", "rule", "idempotency_key", "inputs", "noise", "note",
    }  # fmt: skip
    assert "payload" not in alert["alert"]


def test_unusable_settings_or_files_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    maps = tmp_path / "maps.yaml"
    maps.write_text("sources: {edr: {each: $.x}}\n")
    code, _, err = preview(FIRING, field_maps_file=maps)
    assert code == 2 and str(maps) in err
    assert preview(tmp_path / "absent.json")[0] == 2
    code, _, err = preview(FIRING, source="no/slash")
    assert code == 2 and err.startswith("--source: the webhook would answer 400: invalid source 'no/slash'")
    monkeypatch.setenv("INGEST_MAX_ALERTS_PER_RECORD", "0")
    code, _, err = preview(FIRING)
    assert code == 2 and "max_alerts_per_record" in err
