"""The alert POST's span: opened once the request is authenticated, so a later refusal is on it like any answer and
an unauthenticated request leaves none; its context is on the raw record; it continues the sender's
``traceparent``."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from fastapi import Depends, HTTPException
from faststream.kafka import TestKafkaBroker
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from services.shared import tracing
from services.shared.topics import TopicSettings
from services.webhook import app as webhook_app
from services.webhook.app import create_app
from services.webhook.config import WebhookSettings
from tests.shared.strategies import FUZZ
from tests.webhook.credentials import GITHUB_SECRET, GRAFANA_SECRET, KEY, hmac_hex, write_credentials
from tests.webhook.strategies import CREDENTIALS
from tests.webhook.strategies import SOURCES as SOURCE_NAMES
from tests.webhook.test_webhook import JSON, SETTINGS, RawTopic, serving
from tests.webhook.test_webhook_hardening import Served

SENDER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SENDER_TRACEPARENT = f"00-{SENDER_TRACE}-00f067aa0ba902b7-01"


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    # A provider of the test's own: the process's global one may be set only once.
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "_tracer", provider.get_tracer("test"))
    return exporter


def alert_span(exported: InMemorySpanExporter) -> ReadableSpan:
    [span] = exported.get_finished_spans()
    assert span.attributes is not None and span.attributes["http.route"] == "/v1/alerts/{source}"
    return span


def ids(span: ReadableSpan) -> tuple[str, str]:
    """The span's trace and span id as ``traceparent`` spells them."""
    context = span.get_span_context()
    assert context is not None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


async def test_the_raw_record_carries_the_accepted_alerts_span(exported: InMemorySpanExporter) -> None:
    async with serving(SETTINGS) as (client, raw):
        assert (await client.post("/v1/alerts/prom", content=b"{}", headers=JSON)).status_code == 202
    span = alert_span(exported)
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 202
    assert span.attributes["alertmesh.source"] == "prom"
    assert span.status.status_code is StatusCode.UNSET
    [(_, _, headers)] = raw.messages
    trace_id, span_id = ids(span)
    assert headers["traceparent"].startswith(f"00-{trace_id}-{span_id}-")


async def test_the_span_continues_the_senders_trace(exported: InMemorySpanExporter) -> None:
    async with serving(SETTINGS) as (client, raw):
        sent = JSON | {"traceparent": SENDER_TRACEPARENT}
        assert (await client.post("/v1/alerts/prom", content=b"{}", headers=sent)).status_code == 202
    span = alert_span(exported)
    assert ids(span)[0] == SENDER_TRACE
    [(_, _, headers)] = raw.messages
    assert headers["traceparent"].startswith(f"00-{SENDER_TRACE}-")


@pytest.mark.parametrize(("source", "body", "status"), [("prom", b"1", 400), ("prom", b"{}\n" * 1001, 413)])
async def test_a_refusal_is_the_spans_failed_answer_and_is_logged_in_it(
    exported: InMemorySpanExporter, caplog: pytest.LogCaptureFixture, source: str, body: bytes, status: int
) -> None:
    async with serving(SETTINGS) as (client, raw):
        with caplog.at_level(logging.INFO, "services.webhook"):
            content_type = {"content-type": "application/x-ndjson"} if body.count(b"\n") > 1 else JSON
            response = await client.post(f"/v1/alerts/{source}", content=body, headers=content_type)
    assert response.status_code == status
    span = alert_span(exported)
    assert span.attributes is not None and span.attributes["http.response.status_code"] == status
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == f"answered {status}: {response.text}"
    assert not span.events  # a refusal is an answer, not an exception on the span
    assert raw.messages == []
    [refusal] = [record for record in caplog.records if record.getMessage().startswith("refused POST")]
    assert f": {status} " in refusal.getMessage()


async def test_a_guards_refusal_comes_before_the_span_and_admission(exported: InMemorySpanExporter) -> None:
    async def over_quota() -> None:
        raise HTTPException(status_code=429, detail="over quota")

    app = create_app(SETTINGS, guards=[Depends(over_quota)])
    raw = RawTopic()
    async with (
        TestKafkaBroker(app.state.bridge.broker),
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bridge") as client,
    ):
        # Even a body admission would refuse is answered by the guard: it runs first.
        response = await client.post("/v1/alerts/bad source!", content=b"[1]", headers=JSON)
    assert response.status_code == 429
    assert exported.get_finished_spans() == ()
    assert raw.messages == []


# No span and no trace continuation before authentication.


@pytest.fixture
def exported_everywhere(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    """Spans of the bridge's own tracer and of FastAPI's native telemetry alike, into one in-memory exporter."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "_tracer", provider.get_tracer("test"))
    monkeypatch.setattr(webhook_app, "TELEMETRY", dict(webhook_app.TELEMETRY) | {"tracer_provider": provider})
    return exporter


@pytest.fixture
def signed_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WebhookSettings:
    monkeypatch.setenv("TEST_GRAFANA_WEBHOOK_SECRET", GRAFANA_SECRET)
    return WebhookSettings(
        max_body_bytes=4096, topics=TopicSettings(raw="w.raw"), credentials_file=write_credentials(tmp_path / "c.yaml")
    )


BAD_SIGNATURE = {"x-hub-signature-256": "sha256=" + "0" * 64}


@pytest.mark.parametrize(
    ("source", "headers", "body", "status"),
    [
        ("prometheus", {}, b"{}", 401),
        ("prometheus", {"x-api-key": "guess"}, b"{}", 401),
        ("stranger", {"x-api-key": KEY}, b"{}", 401),
        ("github", BAD_SIGNATURE, b"{}", 401),
        ("stranger", BAD_SIGNATURE, b"{}", 401),
        ("github", BAD_SIGNATURE, b"x" * 5000, 413),  # too large before its signature could be checked
        ("bad source!", {"x-api-key": KEY}, b"{}", 400),
    ],
)
async def test_an_unauthenticated_request_writes_no_span_and_joins_no_trace(
    exported_everywhere: InMemorySpanExporter,
    signed_settings: WebhookSettings,
    source: str,
    headers: dict[str, str],
    body: bytes,
    status: int,
) -> None:
    sent = JSON | headers | {"traceparent": SENDER_TRACEPARENT}
    async with serving(signed_settings) as (client, raw):
        response = await client.post(f"/v1/alerts/{source}", content=body, headers=sent)
    assert response.status_code == status
    assert exported_everywhere.get_finished_spans() == ()
    assert raw.messages == []


async def test_an_authenticated_request_gets_its_span_and_continues_the_senders_trace(
    exported_everywhere: InMemorySpanExporter, signed_settings: WebhookSettings
) -> None:
    body = b'{"action": "opened"}'
    signed = JSON | {
        "x-hub-signature-256": "sha256=" + hmac_hex(GITHUB_SECRET, body),
        "traceparent": SENDER_TRACEPARENT,
    }
    async with serving(signed_settings) as (client, raw):
        assert (await client.post("/v1/alerts/github", content=body, headers=signed)).status_code == 202
        keyed = JSON | {"x-api-key": KEY, "traceparent": SENDER_TRACEPARENT}
        # Authenticated, then refused: the refusal is on the span.
        assert (await client.post("/v1/alerts/prometheus", content=b"1", headers=keyed)).status_code == 400
    spans = exported_everywhere.get_finished_spans()
    assert [span.attributes and span.attributes["http.response.status_code"] for span in spans] == [202, 400]
    assert all(ids(span)[0] == SENDER_TRACE for span in spans)
    [(_, _, headers)] = raw.messages
    assert headers["traceparent"].startswith(f"00-{SENDER_TRACE}-")


def test_fuzz_only_authenticated_requests_leave_spans(
    exported_everywhere: InMemorySpanExporter, signed_settings: WebhookSettings
) -> None:
    served = Served(signed_settings)

    @given(source=SOURCE_NAMES, credentials=CREDENTIALS, body=st.sampled_from([b"{}", b"x" * 5000]))
    @FUZZ
    def check(source: str, credentials: dict[str, str], body: bytes) -> None:
        exported_everywhere.clear()
        response = served.post(source, body, JSON | credentials | {"traceparent": SENDER_TRACEPARENT})
        assert response.status_code in (400, 401, 413)
        assert exported_everywhere.get_finished_spans() == ()

    try:
        check()
    finally:
        served.close()
