"""Tracing set-up and the trace headers records carry."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry import baggage, trace
from opentelemetry.sdk.trace import TracerProvider

from services.shared import tracing


def test_nothing_configured_means_no_exporter(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ALERTMESH_TRACES_DIR", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert tracing.exporters("alertmesh-test") == []


def test_the_store_and_otlp_are_chosen_by_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ALERTMESH_TRACES_DIR", str(tmp_path))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4318/v1/traces")
    chosen = tracing.exporters("alertmesh-test")
    assert [type(exporter).__name__ for exporter in chosen] == ["JsonlSpanExporter", "OTLPSpanExporter"]
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing.exporters("alertmesh-test") == []


def test_an_empty_store_directory_means_no_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTMESH_TRACES_DIR", "")
    assert tracing.TracingSettings().dir is None


def test_a_store_bound_below_a_mebibyte_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTMESH_TRACES_MAX_BYTES", "1000")
    with pytest.raises(ValueError, match="max_bytes"):
        tracing.TracingSettings()


def test_span_headers_carry_traceparent_and_the_correlation_id_as_baggage() -> None:
    span = TracerProvider().get_tracer("test").start_span("hop")
    context = span.get_span_context()
    headers = tracing.span_headers(span, "alert id/ü")
    assert headers["traceparent"].startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")
    # Written as the W3C propagator writes it.
    assert headers["traceparent"] == tracing.carrier(trace.set_span_in_context(span))["traceparent"]
    assert baggage.get_baggage(tracing.CORRELATION_BAGGAGE, tracing.extract(headers)) == "alert id/ü"
    # What the standard propagator reads from them is the same context and baggage.
    extracted = tracing.extract(headers)
    assert trace.get_current_span(extracted).get_span_context().trace_id == context.trace_id
    assert baggage.get_baggage(tracing.CORRELATION_BAGGAGE, extracted) == "alert id/ü"


def test_an_untraced_record_gives_no_headers_and_a_new_trace() -> None:
    assert tracing.span_headers(trace.INVALID_SPAN) == {}
    assert trace.get_current_span(tracing.extract({"content-type": "x"})) is trace.INVALID_SPAN
    assert tracing.dead_letter_headers({}) == {}


def test_a_dead_letter_carries_only_the_traceparent() -> None:
    headers = {
        "traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01",
        "tracestate": "x=" + "y" * 400,
        "baggage": "k=v",
    }
    assert tracing.dead_letter_headers(headers) == {"traceparent": headers["traceparent"]}


def test_tracing_variables_are_forwarded_to_ray_cluster_workers() -> None:
    environ = {"ALERTMESH_TRACES_DIR": "/t", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "KAFKA_X": "no"}
    assert tracing.forwarded_env(environ) == {
        "ALERTMESH_TRACES_DIR": "/t",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
    }


def test_handling_makes_a_child_of_the_records_trace_with_its_baggage_current() -> None:
    provider = TracerProvider()
    parent = provider.get_tracer("test").start_span("upstream")
    headers = tracing.span_headers(parent, "corr-1")
    with tracing.handling("process x", headers, {"a": 1}) as span:
        assert span.get_span_context().trace_id == parent.get_span_context().trace_id
        assert baggage.get_baggage(tracing.CORRELATION_BAGGAGE) == "corr-1"
        # What the current context injects (Temporal's interceptor, the Ray carrier) carries both on.
        carrier = tracing.carrier()
        assert baggage.get_baggage(tracing.CORRELATION_BAGGAGE, tracing.extract(carrier)) == "corr-1"
    assert baggage.get_baggage(tracing.CORRELATION_BAGGAGE) is None
