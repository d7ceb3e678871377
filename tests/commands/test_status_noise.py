"""The noise-control block of ``alertmesh status``: silences in force and muted firing alerts, escaped; and,
through the real embedded broker, read from the two global tables (marker ``integration``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from alertmesh.status.noise import SHOWN, NoiseReader, NoiseStatus, as_json, text
from alertmesh.status.sources import Target
from schemas.alert_state import AlertState
from schemas.silence import Silence
from services.shared.alert_table import AlertTable
from services.shared.kafka import KafkaSettings
from services.shared.matchers import parse_matchers
from services.shared.silences import Silences
from services.shared.temporal import TemporalSettings
from services.shared.topics import TopicSettings

NOW = datetime.now(UTC).replace(microsecond=0)
HOUR = timedelta(hours=1)


def silence(id_: str, text_: str = 'alertname="Disk"', comment: str = "swap") -> Silence:
    return Silence(id=id_, matchers=parse_matchers(text_), starts_at=NOW - HOUR, ends_at=NOW + HOUR,
                   created_by="ann", comment=comment, updated_at=NOW - HOUR)  # fmt: skip


def test_text_counts_and_lists_the_active_silences() -> None:
    shown = text(NoiseStatus(active=[silence("s1")], pending=2, firing=5, silenced=1, inhibited=2))
    assert "1 active, 2 pending" in shown and "5 (1 silenced, 2 inhibited)" in shown
    assert 's1  {alertname="Disk"}  until' in shown and "by ann: swap" in shown


def test_text_says_how_many_more() -> None:
    shown = text(NoiseStatus(active=[silence(f"s{i}") for i in range(SHOWN + 3)]))
    assert "and 3 more" in shown


def test_text_escapes_operator_input() -> None:
    shown = text(NoiseStatus(active=[silence("s1", 'a="\x1b[2J"', comment="ok\r\u202eevil")]))
    assert "\x1b" not in shown and "\r" not in shown and "\u202e" not in shown


def test_text_names_each_muted_alert_and_what_mutes_it() -> None:
    muted = [("prom", "Disk", "silenced by s1"), ("prom", "Latency\x1b[2J", "inhibited by f1")]
    shown = text(NoiseStatus(active=[silence("s1")], firing=3, silenced=1, inhibited=1, muted=muted))
    assert "muted: Disk (prom) silenced by s1" in shown
    assert "inhibited by f1" in shown and "\x1b" not in shown
    assert as_json(NoiseStatus(muted=muted))["muted_alerts"][0] == {
        "source": "prom",
        "name": "Disk",
        "muted": "silenced by s1",
    }


def test_unreadable_tables() -> None:
    shown = text(NoiseStatus(error="no broker"))
    assert "cannot read: no broker" in shown
    assert as_json(NoiseStatus(error="no broker"))["error"] == "no broker"


def test_json() -> None:
    found = as_json(NoiseStatus(active=[silence("s1")], pending=1, firing=2, silenced=1, inhibited=0))
    assert found["silences_active"] == 1 and found["alerts_silenced"] == 1 and found["alerts_firing"] == 2
    assert found["active_silences"][0]["matchers"] == '{alertname="Disk"}'
    orjson.dumps(found)


@pytest.mark.integration
async def test_reads_the_tables(kafka_bootstrap: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    topics = TopicSettings(silences=f"silences-{suffix}", alerts=f"alerts-{suffix}")
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    silences, table = Silences(kafka, topics.silences), AlertTable(kafka, topics.alerts)
    await silences.start(30)
    await table.start(30)
    try:
        await silences.create(parse_matchers('alertname="Disk"'), NOW, NOW + HOUR, "ann", "swap", now=NOW)
        await silences.create(parse_matchers('alertname="Cpu"'), NOW + HOUR, NOW + 2 * HOUR, "ann", "later", now=NOW)
        rows = [
            AlertState(source="p", fingerprint=name, name=name, severity="high", status="firing",
                       labels={"alertname": name}, starts_at=NOW, updated_at=NOW, inhibited_by=inhibited)
            for name, inhibited in (("Disk", []), ("Mem", ["x"]), ("Net", []))
        ]  # fmt: skip
        await table.put_many(rows)
    finally:
        await silences.stop()
        await table.stop()
    target = Target([], kafka, TemporalSettings(), [], "results", "dlq")
    reader = NoiseReader(target, topics)
    try:
        found = await reader.read(datetime.now(UTC))
    finally:
        await reader.close()
    assert found.error is None
    assert (len(found.active), found.pending, found.firing, found.silenced, found.inhibited) == (1, 1, 3, 1, 1)
