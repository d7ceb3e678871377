"""The built-in vendor formats end to end through the real (embedded Tansu) broker: a sample of each sender posted
to the webhook bridge becomes its trigger, and an event that is not an alert (PagerDuty's ``pagey.ping``) becomes a
dead letter beside them without holding them up."""

from __future__ import annotations

import pytest

from alertmesh.samples import DIRECTORY
from tests.ingest.kafka_io import end_offset
from tests.ingest.test_formats_integration import JSON, Mesh, _summary, mesh

pytestmark = pytest.mark.integration
__all__ = ["mesh"]  # the fixture, imported to be used here

POSTS = [
    ("datadog", "extended-triggered.json", ("datadog", "datadog", "[Checkout error rate]", "critical")),
    (
        "pagerduty",
        "v3-incident-triggered.json",
        ("pagerduty", "pagerduty.v3", "Replication lag on orders-db above 30s", "critical"),
    ),
    ("pagerduty", "v3-pagey-ping.json", None),
    (
        "pagerduty",
        "events-v2-trigger.json",
        ("pagerduty", "pagerduty.events.v2", "Disk /var/lib/postgresql on db-7 is 96% full", "critical"),
    ),
    ("opsgenie", "create.json", ("opsgenie", "opsgenie", "Kafka consumer lag above 100k on orders-events", "high")),
    ("sentry", "metric-alert-critical.json", ("sentry", "sentry", "Too many errors in checkout", "critical")),
    ("splunk", "scheduled-search.json", ("splunk", "splunk", "Brute force SSH logins", "high")),
    ("elastic", "metric-threshold-warning.json", ("elastic", "elastic", "Host CPU", "medium")),
]


async def test_each_vendor_sample_posted_to_the_webhook_becomes_its_trigger(mesh: Mesh) -> None:
    for source, name, _ in POSTS:
        body = (DIRECTORY / source / name).read_bytes()
        response = await mesh.bridge.post(f"/v1/alerts/{source}", content=body, headers=JSON)
        assert response.status_code == 202, response.text
    expected = [summary for _, _, summary in POSTS if summary is not None]
    triggers = await mesh.triggers(len(expected))
    assert [_summary(trigger) for trigger in triggers] == expected
    assert await end_offset(mesh.bootstrap, mesh.settings.topics.dlq) == 1  # the ping, with its reason
