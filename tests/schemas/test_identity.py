import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import identity as keys
from schemas.identity import MAX_KEY_LENGTH, alert_event_id, idempotency_key, time_text, trigger_event_id
from services.ingest.parsers import ParseError, parse_alerts
from tests.ingest.conftest import sample
from tests.ingest.factories import make_alert


@pytest.fixture
def alertmanager_bytes() -> bytes:
    return sample("alertmanager-v4-firing.json")


def test_sample_key_is_readable(alertmanager_bytes: bytes) -> None:
    [alert] = parse_alerts(alertmanager_bytes, {})
    assert idempotency_key(alert, "triage") == "triage:alertmanager:1a30ba71cca2921f:firing:20230206T130845.828Z"


def test_key_changes_with_each_part() -> None:
    base = idempotency_key(make_alert(), "triage")
    assert idempotency_key(make_alert(), "enrich") != base
    assert idempotency_key(make_alert(status="resolved"), "triage") != base
    assert idempotency_key(make_alert(source="other"), "triage") != base
    assert idempotency_key(make_alert(fingerprint="ff"), "triage") != base
    later = datetime(2023, 2, 6, 13, 9, tzinfo=UTC)
    assert idempotency_key(make_alert(starts_at=later), "triage") != base


def test_same_instant_in_another_zone_gives_the_same_key() -> None:
    plus_two = datetime(2023, 2, 6, 15, 8, 45, 828000, timezone(timedelta(hours=2)))
    assert idempotency_key(make_alert(starts_at=plus_two), "t") == idempotency_key(make_alert(), "t")


def test_unsafe_characters_are_replaced_and_hashed_to_stay_distinct() -> None:
    slash = idempotency_key(make_alert(source="/edr/sensor"), "triage")
    underscore = idempotency_key(make_alert(source="_edr_sensor"), "triage")
    assert slash.startswith("triage:_edr_sensor:1a30ba71cca2921f:firing:20230206T130845.828Z~")
    assert slash != underscore


def test_long_keys_are_capped_deterministically() -> None:
    long_alert = make_alert(fingerprint="f" * 500)
    key = idempotency_key(long_alert, "triage")
    assert len(key) == MAX_KEY_LENGTH
    assert key == idempotency_key(long_alert, "triage")
    assert key != idempotency_key(make_alert(fingerprint="f" * 499), "triage")


def test_event_ids_are_deterministic_uuids() -> None:
    assert alert_event_id(make_alert()) == alert_event_id(make_alert(name="renamed"))  # name is not identity
    assert alert_event_id(make_alert()) != alert_event_id(make_alert(status="resolved"))
    key = idempotency_key(make_alert(), "triage")
    assert trigger_event_id(key) == trigger_event_id(key) != trigger_event_id(key + "x")
    assert len(trigger_event_id(key)) == 36


def _cloudevent(event_id: str, **attributes: object) -> bytes:
    """Same source, type and subject every time: only the id (and whatever is passed) differs."""
    event = {"specversion": "1.0", "id": event_id, "source": "/edr/sensor/host-42", "type": "com.example.edr"}
    return orjson.dumps(event | {"subject": "host-42", "data": {"title": "Cradle"}} | attributes)


def _key(body: bytes, headers: dict[str, str] | None = None) -> str:
    [alert] = parse_alerts(body, headers or {})
    return idempotency_key(alert, "triage")


def test_distinct_cloudevents_with_the_same_subject_and_type_get_distinct_keys() -> None:
    # No time: before, both keyed ...:nostart and the second event started nothing.
    assert _key(_cloudevent("evt-1")) != _key(_cloudevent("evt-2"))
    # With the same time too: the id, not the time, is what identifies a CloudEvent.
    same_time = {"time": "2026-11-20T08:15:02Z"}
    assert _key(_cloudevent("evt-1", **same_time)) != _key(_cloudevent("evt-2", **same_time))


def test_a_resent_cloudevent_keeps_its_key_and_ids() -> None:
    first, again = parse_alerts(_cloudevent("evt-1"), {}), parse_alerts(_cloudevent("evt-1"), {})
    assert idempotency_key(first[0], "triage") == idempotency_key(again[0], "triage")
    assert alert_event_id(first[0]) == alert_event_id(again[0])
    assert alert_event_id(first[0]) != alert_event_id(parse_alerts(_cloudevent("evt-2"), {})[0])
    # Per the spec, identical source and id are the same event even if the sender resent it with a new time.
    assert _key(_cloudevent("evt-1", time="2026-11-20T08:15:02Z")) == _key(_cloudevent("evt-1"))


def test_binary_and_structured_mode_of_one_event_share_a_key() -> None:
    headers = {
        "ce_specversion": "1.0", "ce_id": "evt-1", "ce_source": "/edr/sensor/host-42",
        "ce_type": "com.example.edr", "ce_subject": "host-42", "content-type": "application/json",
    }  # fmt: skip
    binary = _key(orjson.dumps({"title": "Cradle"}), headers)
    assert binary == _key(_cloudevent("evt-1"))
    assert binary != _key(orjson.dumps({"title": "Cradle"}), headers | {"ce_id": "evt-2"})


def test_cloudevent_key_names_its_id_and_keeps_the_senders_source_when_renamed() -> None:
    key = _key(_cloudevent("evt-1"))
    assert key.startswith("triage:_edr_sensor_host-42:") and ":firing:id.evt-1~" in key
    # Two senders posting the same id to one webhook path (same overridden source) stay distinct.
    renamed = _key(_cloudevent("evt-1"), {"alertmesh-source": "edr"})
    other_sender = _key(_cloudevent("evt-1", source="/edr/sensor/host-43"), {"alertmesh-source": "edr"})
    assert renamed.startswith("triage:edr:") and ":id.evt-1:src._edr_sensor_host-42~" in renamed
    assert renamed != other_sender


def test_alerts_without_start_are_keyed_by_content() -> None:
    one = make_alert(starts_at=None, annotations={"summary": "disk 91%"})
    other = make_alert(starts_at=None, annotations={"summary": "disk 97%"})
    assert idempotency_key(one, "t") != idempotency_key(other, "t")
    same = make_alert(starts_at=None, annotations={"summary": "disk 91%"})
    assert idempotency_key(one, "t") == idempotency_key(same, "t")
    assert ":firing:content." in idempotency_key(one, "t")
    assert alert_event_id(one) != alert_event_id(other)


def test_alertmanager_without_starts_at_redelivered_keeps_its_key(alertmanager_bytes: bytes) -> None:
    document = orjson.loads(alertmanager_bytes)
    for alert in document["alerts"]:
        alert.pop("startsAt", None)
    body = orjson.dumps(document)
    assert _key(body) == _key(body)
    document["alerts"][0]["annotations"]["description"] = "another outage"
    assert _key(orjson.dumps(document)) != _key(body)


def test_alertmanager_repeat_notification_keeps_its_key(alertmanager_bytes: bytes) -> None:
    """Alertmanager resends a firing alert every group interval with the same startsAt: one event, one run."""
    document = orjson.loads(alertmanager_bytes)
    document["alerts"][0]["annotations"]["description"] = "still down, 10m now"
    document["groupKey"] = '{}:{alertname="ProbeFailure"}/resend'
    assert _key(orjson.dumps(document)) == _key(alertmanager_bytes)


def test_tilde_in_a_part_cannot_forge_a_hashed_key() -> None:
    """``~`` only ever introduces the hash: a part spelling out another alert's hashed key is hashed itself."""
    victim = idempotency_key(make_alert(starts_at=None, source="a/b"), "t")
    prefix, _, last = victim.rpartition(":")
    forger = make_alert(starts_at=None, source="a_b").model_copy(update={"fingerprint": last})
    assert idempotency_key(forger, "t") != victim
    assert idempotency_key(forger, "t").count("~") == 1 and prefix.startswith("t:a_b:")


@pytest.mark.parametrize(
    "text",
    ["héllo", "☃" * 300, "x" * 5000, "a\x00b", "a\x1fb", "with:colon", "emoji 🚨", "\ud800"],
)
def test_any_text_gives_a_bounded_ascii_key(text: str) -> None:
    key = idempotency_key(make_alert(source=text, fingerprint=text), "triage")
    assert len(key) <= MAX_KEY_LENGTH and key.isascii() and "~" in key
    assert key == idempotency_key(make_alert(source=text, fingerprint=text), "triage")


def test_separator_inside_parts_does_not_merge_distinct_alerts() -> None:
    left = make_alert(source="a\x1fb", fingerprint="c")
    right = make_alert(source="a", fingerprint="b\x1fc")
    assert idempotency_key(left, "t") != idempotency_key(right, "t")
    assert alert_event_id(left) != alert_event_id(right)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), "00010101T000000.000Z"),
        (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "99991231T235959.999999Z"),
        (datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-1))), "99991231T235959.000-0100"),
        (datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), "00010101T003000.000+0100"),
        (datetime(2023, 2, 6, 13, 8, 45, 828001, tzinfo=UTC), "20230206T130845.828001Z"),
        (datetime(2023, 2, 6, 13, 8, 45), "20230206T130845.000Z"),  # no zone: read as UTC, never local time
    ],
)
def test_time_text_never_raises_at_the_edges(moment: datetime, text: str) -> None:
    assert time_text(moment) == text
    key = idempotency_key(make_alert(starts_at=moment), "t")
    assert key == idempotency_key(make_alert(starts_at=moment), "t") and len(key) <= MAX_KEY_LENGTH


def test_sub_millisecond_starts_stay_distinct() -> None:
    early = make_alert(starts_at=datetime(2023, 2, 6, 13, 8, 45, 828000, UTC))
    late = make_alert(starts_at=datetime(2023, 2, 6, 13, 8, 45, 828001, UTC))
    assert idempotency_key(early, "t") != idempotency_key(late, "t")


def test_a_payload_nested_past_what_serializers_write_still_has_a_key() -> None:
    deep: dict[str, object] = {}
    for _ in range(300):
        deep = {"a": deep}
    assert ":firing:content." in idempotency_key(make_alert(starts_at=None, payload=deep), "t")


def test_far_future_offsets_key_without_raising() -> None:
    # The parsers dead-letter such a start time, but a key never raises whatever an Alert holds.
    moment = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-1)))
    assert idempotency_key(make_alert(starts_at=moment), "triage").endswith(":firing:99991231T235959.000-0100")


def test_far_future_offsets_are_a_parse_error(alertmanager_bytes: bytes) -> None:
    document = orjson.loads(alertmanager_bytes)
    document["alerts"][0]["startsAt"] = "9999-12-31T23:59:59-01:00"
    with pytest.raises(ParseError, match="past the year 9999"):
        parse_alerts(orjson.dumps(document), {})


@given(st.text())
def test_fast_uuid5_is_uuid5(name: str) -> None:
    for namespace in (keys.ALERT_ID_NAMESPACE, keys.TRIGGER_ID_NAMESPACE):
        try:
            expected = str(uuid.uuid5(namespace, name))
        except UnicodeEncodeError:  # a lone surrogate: neither can hash it (keys never hold one, see _exact)
            continue
        assert keys._uuid5(namespace, name) == expected


@given(st.lists(st.text() | st.sampled_from(["a\x7fb", 'q"', "b\\s", "\x1f", "é", "plain-text.1"]), max_size=5))
def test_exact_is_json_escaped_to_ascii(parts: list[str]) -> None:
    assert keys._exact(parts) == json.dumps(parts, ensure_ascii=True, separators=(",", ":"))


def _sanitized_key(parts: list[str]) -> str:
    """The key as the sanitizer writes it, without the fast path."""
    safe = ":".join(keys._UNSAFE.sub("_", part) for part in parts)
    if safe == ":".join(parts) and len(safe) <= MAX_KEY_LENGTH:
        return safe
    return f"{safe[: MAX_KEY_LENGTH - 17]}~{keys._sha256(keys._exact(parts))[:16]}"


@given(st.text(max_size=30) | st.sampled_from(["a:b", "ok-1.2_x", "~h", "x" * 190]), st.text(min_size=1, max_size=9))
def test_the_fast_path_keys_exactly_as_the_sanitizer(source: str, fingerprint: str) -> None:
    alert = make_alert(source=source, fingerprint=fingerprint)
    parts = ["w", alert.source, alert.fingerprint, alert.status, *keys.occurrence(alert)]
    assert idempotency_key(alert, "w") == _sanitized_key(parts)
