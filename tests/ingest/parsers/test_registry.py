import pytest

from services.ingest.parsers import PARSERS, ParseError, parse_alerts


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not JSON: the message body is empty"),
        (b"{not json", "not JSON"),
        (b"\xff\xfe{}", r"not valid UTF-8 \(byte 0xff at position 0\)"),
        (b"[1, 2]", "unsupported payload: a JSON array of 2 items of no known format"),
        (b'"text"', "not a JSON object or array: got a JSON str"),
        (b'{"hello": "world"}', r"unsupported payload: .*top-level keys: hello"),
    ],
)
def test_unusable_bodies_give_precise_reasons(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_alerts(body, {})


def test_grafana_is_not_misread_as_alertmanager(grafana_bytes: bytes) -> None:
    assert [alert.format for alert in parse_alerts(grafana_bytes, {})] == ["grafana.v1"]


def test_an_unknown_webhook_version_names_the_known_ones() -> None:
    with pytest.raises(ParseError) as caught:
        parse_alerts(b'{"version": "3", "alerts": []}', {})
    assert caught.value.reason.startswith("unsupported payload: Alertmanager-style webhook with version '3'")
    assert "alertmanager.v4" in caught.value.reason and "grafana.v1" in caught.value.reason


def test_source_header_overrides_parser_source(alertmanager_bytes: bytes) -> None:
    [alert] = parse_alerts(alertmanager_bytes, {"alertmesh-source": "prom-eu"})
    assert alert.source == "prom-eu"


def test_registry_lists_each_format_once() -> None:
    formats = [parser.format for parser in PARSERS]
    assert len(formats) == len(set(formats))
    assert formats[:3] == ["cloudevents", "alertmanager.v4", "grafana.v1"]
    assert {
        "prometheus.v2",
        "aws.sns.cloudwatch",
        "azure.monitor.common",
        "gcp.monitoring",
        "grafana.legacy",
        "falco",
    } <= set(formats)
    vendors = {
        "datadog",
        "pagerduty.v3",
        "pagerduty.events.v2",
        "opsgenie",
        "sentry",
        "sentry.plugin",
        "splunk",
        "elastic",
    }
    assert vendors <= set(formats)
