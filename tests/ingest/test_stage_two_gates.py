"""Stage 2's gates over fakes: silences and inhibition hold a firing alert and release it once they end, a
resolution ends a hold, holds are bounded and survive a restart; thresholds count per alert."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from schemas.alert_state import AlertState
from schemas.silence import Matcher
from services.ingest.noise.gates import MUTED_NOTE, THRESHOLD_NOTE
from tests.ingest.noise_fakes import Mesh

EVERYTHING = '{"routes": [{"name": "all", "match": {"status": ["firing", "resolved"]}, "workflow": "triage"}]}'


def am(name: str, fingerprint: str = "f1", status: str = "firing", **labels: str) -> dict[str, Any]:
    """One Alertmanager alert of a notification."""
    alert: dict[str, Any] = {
        "status": status, "labels": {"alertname": name, **labels}, "annotations": {},
        "startsAt": "2026-12-07T10:00:00Z", "fingerprint": fingerprint,
    }  # fmt: skip
    if status == "resolved":
        alert["endsAt"] = "2026-12-07T10:05:00Z"
    return alert


async def silence(mesh: Mesh, name: str) -> str:
    now = datetime.now(UTC)
    created = await mesh.silences.create(
        [Matcher(name="alertname", value=name, is_regex=False)], now, now + timedelta(hours=1), "op", "why", now=now
    )
    return created.id


async def test_a_silenced_alert_is_held_and_released_once_when_the_silence_ends() -> None:
    mesh = Mesh(EVERYTHING)
    silence_id = await silence(mesh, "Noisy")
    [(_, outcome)] = await mesh.send(mesh.record(am("Noisy")))
    assert outcome.triggers == []
    [(_, note)] = outcome.held
    assert note.startswith(MUTED_NOTE) and silence_id in note
    assert len(mesh.noise.holds) == 1
    await mesh.send(mesh.record(am("Noisy")))  # a repeat while silenced replaces the hold
    assert len(mesh.noise.holds) == 1 and mesh.sent() == []
    assert await mesh.noise.flush_due() == 0  # still silenced
    await mesh.silences.expire(silence_id, datetime.now(UTC))
    assert await mesh.noise.flush_due() == 1
    [trigger] = mesh.sent()
    assert trigger.data.alert.name == "Noisy"
    assert len(mesh.noise.holds) == 0 and await mesh.noise.flush_due() == 0
    assert any(key[2] == "muted" for key in mesh.state.tombstoned())  # the hold is deleted from the state topic


async def test_a_resolution_ends_the_hold_of_its_firing_alert() -> None:
    mesh = Mesh(EVERYTHING)
    silence_id = await silence(mesh, "Noisy")
    await mesh.send(mesh.record(am("Noisy")))
    [(_, outcome)] = await mesh.send(mesh.record(am("Noisy", status="resolved")))
    assert outcome.triggers == [] and "resolved, so dropped" in outcome.held[0][1]
    assert len(mesh.noise.holds) == 0
    await mesh.silences.expire(silence_id, datetime.now(UTC))
    assert await mesh.noise.flush_due() == 0 and mesh.sent() == []


async def test_a_held_alert_that_stopped_firing_is_not_released() -> None:
    mesh = Mesh(EVERYTHING)
    silence_id = await silence(mesh, "Noisy")
    # Prometheus's way: each notification says until when the alert fires unless renewed.
    await mesh.send(mesh.record(am("Noisy") | {"endsAt": (datetime.now(UTC) + timedelta(seconds=0.2)).isoformat()}))
    assert len(mesh.noise.holds) == 1
    await asyncio.sleep(0.3)
    await mesh.silences.expire(silence_id, datetime.now(UTC))
    assert await mesh.noise.flush_due() == 0 and mesh.sent() == []
    assert len(mesh.noise.holds) == 0


async def test_an_inhibited_alert_is_released_when_its_source_resolves() -> None:
    rules = orjson.loads(EVERYTHING) | {
        "inhibit_rules": [
            {"source_matchers": ['alertname="Down"'], "target_matchers": ['severity="warning"'], "equal": ["dc"]}
        ],
    }
    mesh = Mesh(orjson.dumps(rules).decode())
    now = datetime.now(UTC)
    source = AlertState(
        source="alertmanager", fingerprint="src", name="Down", severity="critical", status="firing",
        labels={"alertname": "Down", "dc": "eu"}, starts_at=now, updated_at=now,
    )  # fmt: skip
    await mesh.alerts.put_many([source])
    [(_, outcome)] = await mesh.send(mesh.record(am("Slow", "t1", severity="warning", dc="eu")))
    assert outcome.triggers == [] and "inhibited by firing alert src" in outcome.held[0][1]
    [(_, other)] = await mesh.send(mesh.record(am("Slow", "t2", severity="warning", dc="us")))
    assert len(other.triggers) == 1  # another dc
    await mesh.alerts.put_many([source.model_copy(update={"status": "resolved", "ends_at": now})])
    assert await mesh.noise.flush_due() == 1
    assert sorted(trigger.data.alert.fingerprint for trigger in mesh.sent()) == ["t1", "t2"]


async def test_holds_past_the_bound_drop_the_oldest() -> None:
    mesh = Mesh(EVERYTHING, max_holds=2)
    await silence(mesh, "Noisy")
    for fingerprint in ("a", "b", "c"):
        await mesh.send(mesh.record(am("Noisy", fingerprint)))
    assert [key[3] for _, key, _ in mesh.noise.holds.all()] == ["b", "c"]


async def test_holds_come_back_from_the_state_topic_after_a_restart() -> None:
    mesh = Mesh(EVERYTHING)
    await silence(mesh, "Noisy")
    await mesh.send(mesh.record(am("Noisy")))
    # What a restarted replica reads back from the state topic: the latest value per key.
    entries = {
        tuple(orjson.loads(key))[2:]: orjson.loads(
            entry.value if isinstance(entry.value, bytes) else orjson.dumps(entry.value)
        )
        for key, entry in mesh.state.latest.items()
        if entry.value is not None
    }
    restarted = Mesh(EVERYTHING)
    restarted.noise.holds.restore(0, entries)
    [(_, _, hold)] = restarted.noise.holds.all()
    [(_, _, original)] = mesh.noise.holds.all()
    assert hold.ready.event == original.ready.event and hold.at_ms == original.at_ms
    assert await restarted.noise.flush_due() == 1  # no silence in the restarted mesh: released at once
    assert [trigger.data.alert.name for trigger in restarted.sent()] == ["Noisy"]


async def test_a_threshold_lets_the_nth_occurrence_within_its_window_through() -> None:
    threshold = {"occurrences": 3, "within": "10m"}
    mesh = Mesh(orjson.dumps({"routes": [{"name": "all", "workflow": "triage", "threshold": threshold}]}).decode())
    notes = []
    # Three firings of one alert (each its own start), as a flapping check sends them.
    for minute in range(3):
        flap = am("Flaps") | {"startsAt": f"2026-12-07T10:0{minute}:00Z"}
        [(_, outcome)] = await mesh.send(mesh.record(flap))
        notes.extend(note for _, note in outcome.held)
    assert [note.split(":")[0] for note in notes] == [THRESHOLD_NOTE, THRESHOLD_NOTE]
    assert "occurrence 2 of the 3" in notes[1]
    assert len(mesh.sent()) == 1
