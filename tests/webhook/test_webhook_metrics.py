"""The webhook's request counter, against the in-memory test broker. Its /metrics page is on the metrics port, not
the public one (``test_webhook_process``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from services.shared import metrics
from services.shared.topics import TopicSettings
from services.webhook.auth import WebhookAuth
from services.webhook.config import WebhookSettings
from services.webhook.credentials import load_credentials
from services.webhook.metrics import source_label
from tests.webhook.credentials import GRAFANA_SECRET, KEY, write_credentials
from tests.webhook.test_webhook import JSON, SETTINGS, serving


def requests(source: str, code: str) -> float:
    return REGISTRY.get_sample_value("alertmesh_webhook_requests_total", {"source": source, "code": code}) or 0.0


@pytest.fixture(autouse=True)
def grafana_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test credentials file reads one signature secret from the environment."""
    monkeypatch.setenv("TEST_GRAFANA_WEBHOOK_SECRET", GRAFANA_SECRET)


async def test_requests_are_counted_by_configured_source_and_code(tmp_path: Path) -> None:
    settings = WebhookSettings(
        max_body_bytes=4096, topics=TopicSettings(raw="w.raw"), credentials_file=write_credentials(tmp_path / "c.yaml")
    )
    accepted, unauthorized, unknown = (
        requests("prometheus", "202"),
        requests("prometheus", "401"),
        requests("unknown", "401"),
    )
    async with serving(settings) as (client, _):
        assert (
            await client.post("/v1/alerts/prometheus", content=b"{}", headers=JSON | {"x-api-key": KEY})
        ).status_code == 202
        assert (await client.post("/v1/alerts/prometheus", content=b"{}", headers=JSON)).status_code == 401
        for stranger in ("stranger-1", "stranger-2", "stranger-3"):
            # Was 404: an unknown source is now answered like bad credentials (401), and counted as "unknown".
            assert (await client.post(f"/v1/alerts/{stranger}", content=b"{}", headers=JSON)).status_code == 401
    page = (await metrics.render()).decode()
    assert requests("prometheus", "202") == accepted + 1
    assert requests("prometheus", "401") == unauthorized + 1
    assert requests("unknown", "401") == unknown + 3
    families = {family.name: family for family in text_string_to_metric_families(page)}
    sources = {s.labels["source"] for s in families["alertmesh_webhook_requests"].samples}
    assert not any(source.startswith("stranger") for source in sources)


async def test_alerts_posted_to_the_alertmanager_api_are_counted_under_its_source(tmp_path: Path) -> None:
    settings = WebhookSettings(
        max_body_bytes=4096, topics=TopicSettings(raw="w.raw"), credentials_file=write_credentials(tmp_path / "c.yaml")
    )
    accepted, refused = requests("prometheus", "200"), requests("prometheus", "401")
    async with serving(settings) as (client, _):
        posted = await client.post("/api/v2/alerts", content=b"[]", headers=JSON | {"authorization": f"Bearer {KEY}"})
        assert posted.status_code == 200, posted.text
        assert (await client.post("/api/v2/alerts", content=b"[]", headers=JSON)).status_code == 401
        await client.get("/api/v2/alerts", headers={"authorization": f"Bearer {KEY}"})  # a read posts nothing
    assert (requests("prometheus", "200"), requests("prometheus", "401")) == (accepted + 1, refused + 1)


async def test_the_health_page_is_not_counted_as_alert_requests() -> None:
    before = sum(s.value for m in REGISTRY.collect() if m.name == "alertmesh_webhook_requests" for s in m.samples)
    async with serving(SETTINGS) as (client, _):
        await client.get("/healthz")
    after = sum(s.value for m in REGISTRY.collect() if m.name == "alertmesh_webhook_requests" for s in m.samples)
    assert after == before


@pytest.mark.parametrize("source", ["bad source", "a/b", "-x", "x" * 65])
def test_a_malformed_source_is_unknown(source: str) -> None:
    assert source_label(WebhookAuth(None), source) == "unknown"


def test_without_credentials_a_well_formed_source_is_its_own_label_within_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(metrics, "source_label", metrics.BoundedLabel(2))
    labels = [source_label(WebhookAuth(None), source) for source in ("zabbix", "nagios", "icinga", "zabbix")]
    assert labels == ["zabbix", "nagios", "other", "zabbix"]


def test_with_credentials_only_configured_sources_are_labels(tmp_path: Path) -> None:
    auth = WebhookAuth(load_credentials(write_credentials(tmp_path / "c.yaml")))
    assert source_label(auth, "prometheus") == "prometheus"
    assert source_label(auth, "anything-else") == "unknown"
