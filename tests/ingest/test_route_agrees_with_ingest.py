"""``alertmesh route`` and ingest agree on every sample payload shipped (``alertmesh/samples/**.json``): the same
alerts, each with the triggers of the same routes and the same idempotency keys, the same dead-letter reasons.

Ingest's side is ``pipeline.process`` on the record the webhook would write (headers from
``services.webhook.headers``), under the routing and field-map files ingest would load; the command's side is its
``--json`` document, so the whole command (its header mapping, its configuration, how it ties each trigger to its
alert and rule) is what is checked.
"""

from __future__ import annotations

import io
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from alertmesh.commands.route import route
from alertmesh.samples import DIRECTORY
from services.ingest.defaults import FIELD_MAPS_FILE, ROUTING_FILE
from services.ingest.parsers import SOURCE_HEADER, parsers_for
from services.ingest.parsers.field_maps import load_field_maps
from services.ingest.pipeline import process
from services.ingest.routing import load_routing
from services.shared.alert_limits import DEFAULT_MAX_ALERTS_PER_RECORD
from services.shared.deadletter import ConsumedRecord
from services.shared.kafka import KafkaSettings
from services.webhook.headers import raw_record_headers

#: Rules that fan out (``continue``), test labels and severities, and leave some alerts unrouted.
FAN_OUT = """\
routes:
  - {name: everything, workflow: audit, continue: true}
  - {name: firing-high, match: {status: firing, severity: ">= high"}, workflow: page, inputs: {team: sre}}
  - {name: resolved, match: {status: resolved}, workflow: close}
"""
SAMPLES = sorted(DIRECTORY.rglob("*.json"))


def ingest_side(path: Path, source: str | None, routing_file: Path, maps_file: Path) -> dict[str, Any]:
    headers = raw_record_headers(source or "", "application/json", {})
    if not source:
        del headers[SOURCE_HEADER]
    record = ConsumedRecord(path.read_bytes(), headers, "alerts.raw", datetime.now(UTC), 0, key=None)
    parsers = parsers_for(load_field_maps(maps_file))
    outcome = process(
        record, load_routing(routing_file), KafkaSettings().max_message_bytes, parsers, None,
        DEFAULT_MAX_ALERTS_PER_RECORD,
    )  # fmt: skip
    return {
        "triggers": [
            (
                ready.event.data.alert.model_dump(mode="json", exclude={"payload"}),
                ready.event.data.route,
                ready.event.data.idempotency_key,
            )
            for ready in outcome.triggers
        ],
        "failures": [(failure.stage, failure.reason) for failure in outcome.failures],
        "dropped": [failure.reason for failure in outcome.dropped],
    }


def route_side(path: Path, source: str | None, routing_file: Path, maps_file: Path) -> dict[str, Any]:
    out = io.StringIO()
    route([path], routing_file=routing_file, field_maps_file=maps_file, source=source, as_json=True, out=out)
    [record] = json.loads(out.getvalue())["records"]
    return {
        "triggers": [
            (alert["alert"], made["rule"], made["idempotency_key"])
            for alert in record["alerts"]
            for made in alert["triggers"]
        ],
        "failures": [(failure["stage"], failure["reason"]) for failure in record["dead_letter"]],
        "dropped": [dropped["reason"] for dropped in record["dropped"]],
    }


def sources_of(path: Path) -> list[str | None]:
    """No source (each parser names its own), and the sender's: its folder, or the field-mapped example's."""
    return [None, path.parent.name if path.parent != DIRECTORY else "edr"]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda path: str(path.relative_to(DIRECTORY)))
def test_route_gives_what_ingest_gives_for_every_sample(path: Path, tmp_path: Path) -> None:
    fan_out = tmp_path / "fan-out.yaml"
    fan_out.write_text(FAN_OUT)
    folder_maps = path.parent / "field-maps.yaml"
    maps_file = folder_maps if folder_maps.is_file() else FIELD_MAPS_FILE
    for source, routing_file in itertools.product(sources_of(path), (ROUTING_FILE, fan_out)):
        ingest = ingest_side(path, source, routing_file, maps_file)
        assert route_side(path, source, routing_file, maps_file) == ingest, (source, routing_file)


def test_the_samples_exercise_triggers_fan_out_and_refusals(tmp_path: Path) -> None:
    """The property above is not vacuous: the samples give triggers, several per alert, and refused elements."""
    fan_out = tmp_path / "fan-out.yaml"
    fan_out.write_text(FAN_OUT)
    results = [ingest_side(path, source, fan_out, FIELD_MAPS_FILE) for path in SAMPLES for source in sources_of(path)]
    assert sum(len(result["triggers"]) for result in results) > 2 * len(SAMPLES)
    assert any(result["failures"] for result in results)
    assert {route for result in results for _, route, _ in result["triggers"]} == {
        "everything",
        "firing-high",
        "resolved",
    }
