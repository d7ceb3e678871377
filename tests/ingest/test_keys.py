from datetime import UTC, datetime, timedelta, timezone

from services.ingest.keys import MAX_KEY_LENGTH, alert_event_id, idempotency_key, trigger_event_id
from services.ingest.parsers import parse_alerts
from tests.ingest.factories import make_alert


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
    assert idempotency_key(make_alert(starts_at=None), "triage").endswith(":firing:nostart")


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
