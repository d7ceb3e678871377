"""The alert POST's span: opened before admission, so a refusal is on it like any answer; its context is on the
raw record; it continues the sender's ``traceparent``."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import Depends, HTTPException
from faststream.kafka import TestKafkaBroker
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from services.shared import tracing
from services.webhook.app import create_app
from tests.webhook.test_webhook import JSON, SETTINGS, RawTopic, serving

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


@pytest.mark.parametrize(("source", "body", "status"), [("prom", b"[1]", 400), ("prom", b"{}\n" * 1001, 413)])
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
