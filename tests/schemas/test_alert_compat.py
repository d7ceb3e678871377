"""Alerts written before the severity scale and ``urls`` existed still decode."""

from schemas.alert import SEVERITY_SCALE, Alert, severity_rank


def test_an_alert_without_the_new_fields_decodes() -> None:
    old = b'{"source":"s","format":"alertmanager.v4","status":"firing","name":"A","severity":"high","fingerprint":"f"}'
    alert = Alert.model_validate_json(old)
    assert (alert.severity, alert.severity_original, alert.urls) == ("high", None, {})
    assert alert.group is None


def test_an_alert_with_a_partial_group_context_decodes_with_the_rest_defaulted() -> None:
    new = b'{"source":"s","format":"grafana.v1","status":"firing","name":"A","fingerprint":"f","group":{"title":"T"}}'
    group = Alert.model_validate_json(new).group
    assert group is not None and (group.title, group.truncated_alerts, group.labels, group.receiver) == (
        "T",
        0,
        {},
        None,
    )


def test_the_scale_orders_severities() -> None:
    assert [severity_rank(s) for s in ("unknown", "info", "low", "medium", "high", "critical")] == list(range(6))
    assert SEVERITY_SCALE[-1] == "critical"
