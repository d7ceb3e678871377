"""The span a Ray task makes for its action: a child of the action's span, and never a holder of what the step
read (its error message may carry a secret; masking happens in the executor, after the task)."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from services.executor import ray_spans
from services.executor.outcome import Outcome
from services.shared import tracing

SECRET = "hunter2-very-secret"


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    # A provider of the test's own: the process's global one may be set only once.
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "_tracer", provider.get_tracer("test"))
    monkeypatch.setattr(tracing, "setup", lambda *args, **kwargs: None)
    return exporter


def test_a_failed_task_names_the_error_type_but_never_its_message(exported: InMemorySpanExporter) -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with ray_spans.ray_task_span("core.http_request", {"traceparent": parent}) as report:
        report(Outcome.failure(RuntimeError(f"401 for Authorization: Bearer {SECRET}")))
    [span] = exported.get_finished_spans()
    assert span.parent is not None and format(span.parent.span_id, "016x") == "b7ad6b7169203331"
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "RuntimeError"
    assert (span.attributes or {})[tracing.ACTION_STATUS] == "failed"
    everything = repr((span.status, span.attributes, span.events))
    assert SECRET not in everything
