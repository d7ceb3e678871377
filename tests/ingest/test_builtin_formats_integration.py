"""The built-in formats end to end through the real (embedded Tansu) broker: a sample of each sender posted to the
webhook bridge (SNS's signed, as text/plain) becomes its triggers, and a malformed element of a Prometheus array
is one dead letter beside its neighbour's trigger."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from alertmesh.samples import DIRECTORY
from schemas import WorkflowTrigger
from services.webhook import sns
from tests.ingest.kafka_io import end_offset
from tests.ingest.test_formats_integration import JSON, Mesh, mesh
from tests.webhook.test_webhook_sns import CERT_URL, PEM, SNS_HEADERS, signed

pytestmark = pytest.mark.integration
__all__ = ["mesh"]

SIGNATURE_FIELDS = ("Signature", "SigningCertURL", "SignatureVersion", "UnsubscribeURL")


@pytest.fixture(autouse=True)
async def sns_certificate(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    async def fetch(url: str) -> bytes:
        assert url == CERT_URL
        return PEM

    monkeypatch.setattr(sns, "fetch_through_egress", fetch)
    yield


def _sample(folder: str, name: str) -> bytes:
    return (DIRECTORY / folder / name).read_bytes()


def _signed_sns(name: str) -> bytes:
    # The sample's signature is a placeholder: signed again with the test key that stands in for SNS's.
    message = {
        key: value for key, value in orjson.loads(_sample("aws-sns", name)).items() if key not in SIGNATURE_FIELDS
    }
    return orjson.dumps(signed(message))


async def test_each_senders_sample_posted_to_the_webhook_becomes_its_triggers(mesh: Mesh) -> None:
    posts = [
        ("prometheus", _sample("prometheus", "rule-group-firing.json"), JSON),
        ("aws-sns", _signed_sns("cloudwatch-alarm.json"), SNS_HEADERS),
        ("azure-monitor", _sample("azure-monitor", "metric-alert-fired.json"), JSON),
        ("gcp-monitoring", _sample("gcp-monitoring", "incident-open.json"), JSON),
        ("grafana-legacy", _sample("grafana-legacy", "alerting.json"), JSON),
        ("prometheus", _sample("prometheus", "batch-one-without-alertname.json"), JSON),
    ]
    for source, body, headers in posts:
        response = await mesh.bridge.post(f"/v1/alerts/{source}", content=body, headers=headers)
        assert response.status_code == 202, (source, response.text)
    triggers: list[WorkflowTrigger] = await mesh.triggers(7)
    summary = sorted(
        (t.data.alert.source, t.data.alert.format, t.data.alert.name, t.data.alert.status) for t in triggers
    )
    assert summary == [
        ("aws-sns", "aws.sns.cloudwatch", "checkout-5xx-rate", "firing"),
        ("azure-monitor", "azure.monitor.common", "checkout-vm-cpu-high", "firing"),
        ("gcp-monitoring", "gcp.monitoring", "VM CPU above 90%", "firing"),
        ("grafana-legacy", "grafana.legacy", "API 5xx rate", "firing"),
        ("prometheus", "prometheus.v2", "HighRequestLatency", "firing"),
        ("prometheus", "prometheus.v2", "HighRequestLatency", "firing"),
        ("prometheus", "prometheus.v2", "NodeFilesystemAlmostOutOfSpace", "firing"),
    ]
    assert await end_offset(mesh.bootstrap, mesh.settings.topics.dlq) == 1
