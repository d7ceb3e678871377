"""Routing inside the pipeline and the emitter: fan-out triggers, the no-match default, hot reload of the file."""

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.ingest.pipeline import process
from services.ingest.routing import RoutingFileError, RoutingReloader, RoutingTable
from services.shared.backoff import Backoff
from services.shared.consuming import DeadLetters
from services.shared.deadletter import ConsumedRecord
from tests.ingest.test_emitter import RecordingPublisher

LIMIT = 1_048_576
AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
FAN_OUT = RoutingTable.model_validate(
    {
        "routes": [
            {"name": "audit", "workflow": "audit", "continue": True, "inputs": {"log": True}},
            {"name": "crit", "match": {"severity": ">= high"}, "workflow": "triage"},
        ]
    }
)


def _record(value: bytes) -> ConsumedRecord:
    return ConsumedRecord(value=value, headers={}, topic="raw", received_at=AT, partition=0, offset=1, key=None)


def test_continue_gives_one_trigger_per_matched_rule_each_with_its_own_key(alertmanager_bytes: bytes) -> None:
    outcome = process(_record(alertmanager_bytes), FAN_OUT, LIMIT)
    assert outcome.failures == []
    assert [(t.event.data.route, t.event.data.workflow, t.event.data.inputs) for t in outcome.triggers] == [
        ("audit", "audit", {"log": True}),
        ("crit", "triage", {}),
    ]
    assert [t.key for t in outcome.triggers] == [
        b"audit:alertmanager:1a30ba71cca2921f:firing:20230206T130845.828Z",
        b"triage:alertmanager:1a30ba71cca2921f:firing:20230206T130845.828Z",
    ]
    assert len({t.event.id for t in outcome.triggers}) == 2
    assert len({t.event.correlationid for t in outcome.triggers}) == 1  # one alert


@pytest.mark.parametrize("default", ["dead-letter", "drop"])
def test_no_match_follows_the_files_default(cloudevent_bytes: bytes, default: str) -> None:
    table = RoutingTable.model_validate({"default": default, "routes": [{"name": "x", "match": {"name": "X"},
                                                                         "workflow": "w"}]})  # fmt: skip
    outcome = process(_record(cloudevent_bytes), table, LIMIT)
    assert outcome.triggers == []
    assert len(outcome.failures if default == "dead-letter" else outcome.dropped) == 1
    assert outcome.failures if default == "dead-letter" else not outcome.failures
    [reason] = [failure.reason for failure in outcome.failures + outcome.dropped]
    assert reason.startswith("no route matches alert 'Suspicious PowerShell download cradle'")


async def test_dropped_alerts_are_counted_and_logged_not_dead_lettered(
    cloudevent_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    from services.ingest.emitter import Emitter

    table = RoutingTable.model_validate({"default": "drop", "routes": [{"name": "x", "match": {"name": "X"},
                                                                        "workflow": "w"}]})  # fmt: skip
    fast = Backoff(initial_s=0.001, max_s=0.002, budget_s=0.05)
    triggers, dlq = RecordingPublisher(), RecordingPublisher()
    emitter = Emitter(triggers, DeadLetters(dlq, source="t", max_bytes=LIMIT, backoff=fast), fast)
    batch = [(record, process(record, table, LIMIT)) for record in [_record(cloudevent_bytes)] * 3]
    with caplog.at_level(logging.INFO, logger="services.ingest"):
        await emitter.emit_batch(batch[:2])
        await emitter.emit_batch(batch[2:])
    assert (triggers.sent, dlq.sent, emitter.dropped) == ([], [], 3)
    lines = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert lines[0].startswith("2 alerts dropped (2 since start; no route matched")
    assert lines[1].startswith("1 alerts dropped (3 since start;")
    assert "no route matches alert 'Suspicious PowerShell download cradle'" in lines[1]


GOOD = "routes:\n  - {name: a, workflow: one}\n"
OTHER = "default: drop\nroutes:\n  - {name: b, workflow: two}\n"
BROKEN = "routes:\n  - {name: c, workflow: three, match: {severity: '>= urgent'}}\n"


def test_reload_takes_a_valid_change_and_refuses_a_broken_one(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(GOOD)
    reloader = RoutingReloader.load(path)
    assert [r.name for r in reloader.table.routes] == ["a"]
    assert reloader.check() is False  # unchanged
    path.write_text(GOOD)  # rewritten with the same bytes: nothing to do
    assert reloader.check() is False
    path.write_text(OTHER)
    with caplog.at_level(logging.INFO, logger="services.ingest.routing"):
        assert reloader.check() is True
    assert ([r.name for r in reloader.table.routes], reloader.table.default) == (["b"], "drop")
    assert f"routing file {path} reloaded: 1 rule, default drop" in caplog.messages
    caplog.clear()
    path.write_text(BROKEN)
    with caplog.at_level(logging.INFO, logger="services.ingest.routing"):
        assert reloader.check() is False
        assert reloader.check() is False  # the same broken content is reported once
    assert [r.name for r in reloader.table.routes] == ["b"]  # the old rules stay in force
    [refused] = caplog.records
    assert refused.levelno == logging.ERROR
    assert "changed but is refused; the rules loaded before stay in force" in refused.getMessage()
    assert f"{path}:2:50: routes.0.match: severity: 'urgent' is not on the severity scale" in refused.getMessage()
    path.unlink()
    assert reloader.check() is False
    assert [r.name for r in reloader.table.routes] == ["b"]
    path.write_text(GOOD)
    assert reloader.check() is True
    assert [r.name for r in reloader.table.routes] == ["a"]


def test_a_broken_file_at_start_up_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_bytes(b"routes: \xff\n")
    with pytest.raises(RoutingFileError, match="not UTF-8"):
        RoutingReloader.load(path)
    path.write_text(BROKEN)
    with pytest.raises(RoutingFileError, match=":2:50: "):
        RoutingReloader.load(path)


async def test_polling_picks_up_a_change_in_the_background(tmp_path: Path) -> None:
    import asyncio

    path = tmp_path / "routing.yaml"
    path.write_text(GOOD)
    reloader = RoutingReloader.load(path)
    reloader.start(0.01)
    try:
        path.write_text(OTHER)
        async with asyncio.timeout(10):
            while reloader.table.routes[0].name != "b":
                await asyncio.sleep(0.01)
    finally:
        await reloader.stop()
