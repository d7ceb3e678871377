"""The cap on alerts per record: a record over ``INGEST_MAX_ALERTS_PER_RECORD`` is one parse dead letter naming the
cap, refused before any alert is normalized; a batch hands the event loop back between records."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from services.ingest.config import IngestSettings
from services.ingest.parsers import TooManyAlerts, parse_alerts, parsers_for
from services.ingest.parsers.field_maps import FieldMap
from services.ingest.parsers.generic import GenericParser
from services.ingest.pipeline import process, process_all
from services.ingest.routing import RoutingTable
from services.shared import metrics
from services.shared.alert_limits import DEFAULT_MAX_ALERTS_PER_RECORD, too_many_alerts
from services.shared.deadletter import ConsumedRecord

ROUTING = RoutingTable.model_validate({"routes": [{"name": "all", "match": {}, "workflow": "triage"}]})
EDR = {"alertmesh-source": "edr"}
FIELD_MAPS = {"edr": FieldMap.model_validate({"each": "$.detections", "title": "$.title"})}


def alertmanager(count: int) -> bytes:
    alerts = [{"status": "firing", "labels": {"alertname": f"A{index}"}} for index in range(count)]
    return orjson.dumps({"version": "4", "status": "firing", "alerts": alerts})


def grafana(count: int) -> bytes:
    alerts = [{"status": "firing", "labels": {"alertname": f"G{index}"}} for index in range(count)]
    return orjson.dumps({"version": "1", "status": "firing", "alerts": alerts})


def field_map(count: int) -> bytes:
    return orjson.dumps({"detections": [{"title": f"D{index}"} for index in range(count)]})


def record(value: bytes, headers: dict[str, str] | None = None) -> ConsumedRecord:
    return ConsumedRecord(value, headers or {}, "alerts.raw", datetime(2026, 1, 1, tzinfo=UTC), 0, 1)


def over_limit_count() -> float:
    return metrics.RECORDS_OVER_ALERT_LIMIT.labels("ingest")._value.get()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("body", "headers"),
    [(alertmanager, {}), (grafana, {}), (field_map, EDR)],
    ids=["alertmanager", "grafana", "field-map"],
)
@pytest.mark.parametrize("limit", [1, 7, 1000])
def test_a_record_over_the_limit_is_one_parse_failure_naming_it(body: Any, headers: dict[str, str], limit: int) -> None:
    parsers = parsers_for(FIELD_MAPS)
    before = over_limit_count()
    outcome = process(record(body(limit + 1), headers), ROUTING, 1_048_576, parsers, max_alerts=limit)
    [failure] = outcome.failures
    assert failure.stage == "parse" and not outcome.triggers
    assert f"carries {limit + 1} alerts, over the limit of {limit}" in failure.reason
    assert "INGEST_MAX_ALERTS_PER_RECORD" in failure.reason
    assert over_limit_count() == before + 1
    at_limit = process(record(body(limit), headers), ROUTING, 1_048_576, parsers, max_alerts=limit)
    assert not at_limit.failures and len(at_limit.triggers) == limit


def test_a_flood_is_refused_before_any_alert_is_normalized(monkeypatch: pytest.MonkeyPatch) -> None:
    normalized = 0
    alert = GenericParser._alert

    def counting(self: GenericParser, *args: Any) -> Any:
        nonlocal normalized
        normalized += 1
        return alert(self, *args)

    monkeypatch.setattr(GenericParser, "_alert", counting)
    with pytest.raises(TooManyAlerts, match="30000 alerts"):
        parse_alerts(field_map(30_000), EDR, parsers_for(FIELD_MAPS))
    assert normalized == 0


def test_the_default_limit_is_the_setting_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert IngestSettings().max_alerts_per_record == DEFAULT_MAX_ALERTS_PER_RECORD == 1000
    monkeypatch.setenv("INGEST_MAX_ALERTS_PER_RECORD", "5")
    assert IngestSettings().max_alerts_per_record == 5
    outcome = process(record(alertmanager(DEFAULT_MAX_ALERTS_PER_RECORD + 1)), ROUTING, 1_048_576)
    assert outcome.failures and "over the limit of 1000" in outcome.failures[0].reason


def test_the_shared_check() -> None:
    assert too_many_alerts(10, 10) is None
    reason = too_many_alerts(11, 10, "WEBHOOK_X")
    assert reason is not None and "11 alerts" in reason and "limit of 10" in reason and "WEBHOOK_X" in reason


async def test_a_batch_hands_the_event_loop_back_between_records() -> None:
    """Each record of a large batch is processed between other tasks' turns: a concurrent task runs after every
    record, not once the whole batch is done."""
    turns = 0

    async def other_task() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    records = [record(alertmanager(50)) for _ in range(6)]
    ticker = asyncio.create_task(other_task())
    await asyncio.sleep(0)
    assert turns == 1
    outcomes = await process_all(records, ROUTING, 1_048_576)
    ticker.cancel()
    assert [len(outcome.triggers) for outcome in outcomes] == [50] * len(records)
    assert turns >= 1 + len(records)  # the other task ran after each record


async def test_a_large_allowed_record_does_not_hold_the_event_loop() -> None:
    """A record of thousands of alerts (allowed by a raised limit) is seconds of parsing and routing: the event
    loop keeps running meanwhile (heartbeats, the flush timer, health). Asserted as behaviour, not time: another
    task gets many turns while the one record is processed (held, it would get at most the one at the end)."""
    turns = 0

    async def other_task() -> None:
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    big = record(alertmanager(8000))
    ticker = asyncio.create_task(other_task())
    await asyncio.sleep(0)
    before = turns
    [outcome] = await process_all([big], ROUTING, 1_048_576, max_alerts=8000)
    during = turns - before
    ticker.cancel()
    assert len(outcome.triggers) == 8000
    assert during > 10, f"the event loop was held: another task got {during} turns while the record was processed"
