"""OpenTelemetry tracing for every alertmesh process: one trace per alert, from the webhook or the raw Kafka record
to the result or the dead letter.

What carries the trace between hops (see ARCHITECTURE.md, "Tracing"):
- Kafka records: W3C ``traceparent`` (and ``tracestate``) headers, CloudEvents' distributed-tracing extension, and
  ``baggage`` with the alert's correlation id (``alertmesh.correlation_id``);
- Temporal: the SDK's ``TracingInterceptor`` on every client (so on every worker built from it), which puts the
  same context in the workflow's and each activity's headers;
- Ray: a carrier dict passed as an argument of the task, which makes and exports its own span.

Where spans go (``setup``): with ``ALERTMESH_TRACES_DIR`` set (``alertmesh up`` sets ``<state-dir>/traces``),
JSON lines in that directory, bounded by ``ALERTMESH_TRACES_MAX_BYTES`` (``span_store``); with the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` set, OTLP over HTTP; both may be on.
With neither, no tracer provider is installed: spans are OpenTelemetry's no-op ones, and a record's incoming
``traceparent`` is still passed on, so a trace stays whole across the processes that do record.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from opentelemetry import baggage, context, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagate import set_global_textmap
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.shared.span_store import DEFAULT_MAX_BYTES, JsonlSpanExporter

# Span attribute keys (every alertmesh-made span sets those it knows).
EVENT_ID = "alertmesh.event_id"
CORRELATION_ID = "alertmesh.correlation_id"
IDEMPOTENCY_KEY = "alertmesh.idempotency_key"
WORKFLOW_ID = "alertmesh.workflow_id"
ROUTE = "alertmesh.route"
WORKFLOW = "alertmesh.workflow"
ACTION = "alertmesh.action"
REF = "alertmesh.ref"
ATTEMPT = "alertmesh.attempt"
DEAD_LETTER_STAGE = "alertmesh.dead_letter.stage"
DEAD_LETTER_REASON = "alertmesh.dead_letter.reason"
RESULT_STATUS = "alertmesh.result.status"
ACTION_STATUS = "alertmesh.action.status"
RAY_WORKER = "alertmesh.ray.worker"
#: The baggage key the correlation id travels as.
CORRELATION_BAGGAGE = "alertmesh.correlation_id"
#: Kafka header names (CloudEvents distributed-tracing extension, W3C baggage).
TRACEPARENT, TRACESTATE, BAGGAGE = "traceparent", "tracestate", "baggage"

#: The one propagator: W3C trace context and baggage, on Kafka headers, Temporal headers and Ray carriers alike.
PROPAGATOR = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
_OTLP_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
#: How often spans are written out: ``alertmesh trace`` right after an alert should find them. One write a second
#: is nothing; OTEL_BSP_SCHEDULE_DELAY still overrides it.
SCHEDULE_DELAY_MS = 1000

_provider: TracerProvider | None = None
_tracer: trace.Tracer | None = None
_EMPTY = context.Context()


class TracingSettings(BaseSettings):
    """Where this process keeps its spans (``ALERTMESH_TRACES_*``); OTLP is configured by the standard
    ``OTEL_*`` variables the exporter reads itself."""

    model_config = SettingsConfigDict(env_prefix="ALERTMESH_TRACES_", extra="ignore")

    dir: Path | None = None
    # At least a few segments' worth: a smaller bound would delete spans as fast as they are written.
    max_bytes: int = Field(DEFAULT_MAX_BYTES, ge=1024 * 1024)

    @field_validator("dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # ALERTMESH_TRACES_DIR= (empty) turns the store off; as a path it would be the working directory.
        return None if isinstance(value, str) and not value.strip() else value


def otlp_configured(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the standard variables ask for OTLP export of traces."""
    return any(environ.get(name, "").strip() for name in _OTLP_ENDPOINTS)


#: The ``OTEL_*`` variables a Ray cluster's workers get (``forwarded_env``): where and how to export, what to
#: sample, the batching; none carries a credential. ``OTEL_EXPORTER_OTLP_HEADERS`` and ``..._TRACES_HEADERS``
#: (an ``Authorization`` token, an API key), the client key and certificate, and anything not listed stay here.
FORWARDED_OTEL = frozenset(
    {
        "OTEL_SDK_DISABLED",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_PROPAGATORS",
        "OTEL_TRACES_EXPORTER",
        "OTEL_TRACES_SAMPLER",
        "OTEL_TRACES_SAMPLER_ARG",
        "OTEL_LOG_LEVEL",
        "OTEL_BSP_SCHEDULE_DELAY",
        "OTEL_BSP_EXPORT_TIMEOUT",
        "OTEL_BSP_MAX_QUEUE_SIZE",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        "OTEL_ATTRIBUTE_COUNT_LIMIT",
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
        "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        "OTEL_SPAN_EVENT_COUNT_LIMIT",
        "OTEL_SPAN_LINK_COUNT_LIMIT",
        *(
            f"OTEL_EXPORTER_OTLP_{kind}{setting}"
            for kind in ("", "TRACES_")
            for setting in ("ENDPOINT", "PROTOCOL", "TIMEOUT", "COMPRESSION", "INSECURE", "CERTIFICATE")
        ),
    }
)


def forwarded_env(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The variables that configure tracing, for processes that do not inherit this one's environment (a Ray
    cluster's workers, through the job's runtime environment, which Ray keeps and shows in its job records):
    ``ALERTMESH_TRACES_*`` and the ``FORWARDED_OTEL`` variables, never a credential. An endpoint with a user or
    password in it is not forwarded either: give the workers' nodes their credentials themselves."""
    forwarded = {}
    for name, value in environ.items():
        if name.startswith("ALERTMESH_TRACES_") or (name in FORWARDED_OTEL and not _has_userinfo(value)):
            forwarded[name] = value
    return forwarded


#: The same function under the name the executor's runtime environment is described by (``tracing_environment``).
tracing_environment = forwarded_env


def _has_userinfo(value: str) -> bool:
    # ``scheme://user:password@host``: the part before the host holds an ``@``.
    authority = value.partition("://")[2].split("/", 1)[0]
    return "@" in authority


def exporters(service: str, settings: TracingSettings | None = None) -> list[SpanExporter]:
    """The exporters the environment asks for: the local span store, OTLP/HTTP, both, or none."""
    settings = settings or TracingSettings()
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    chosen: list[SpanExporter] = []
    if settings.dir is not None:
        chosen.append(JsonlSpanExporter(settings.dir, service, settings.max_bytes))
    if otlp_configured():
        # Imported only when used: it pulls in requests and protobuf.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        chosen.append(OTLPSpanExporter())
    return chosen


def setup(service: str, *, ray_worker: bool = False) -> TracerProvider | None:
    """Install the tracer provider of this process (once; later calls return the first one) and the W3C
    propagator. ``service`` is the resource's ``service.name`` (``alertmesh-ingest`` ...). None when nothing is
    configured: tracing stays a no-op."""
    global _provider, _tracer
    set_global_textmap(PROPAGATOR)
    if _provider is not None:
        return _provider
    chosen = exporters(service)
    if not chosen:
        return None
    attributes: dict[str, Any] = {"service.name": service}
    if ray_worker:
        attributes[RAY_WORKER] = True
    provider = TracerProvider(resource=Resource.create(attributes))
    delay = None if os.environ.get("OTEL_BSP_SCHEDULE_DELAY") else SCHEDULE_DELAY_MS
    for exporter in chosen:
        if ray_worker and isinstance(exporter, JsonlSpanExporter):
            # A Ray worker may be stopped or force-killed (a cancelled action) any time after its task returned:
            # its span goes to the local store as the task ends, one small append. OTLP stays batched, written
            # out at the worker's exit: a slow or absent collector must never hold an action's result.
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            continue
        # Batched, off the caller's thread: ingest makes a span per record at thousands of records a second.
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=delay))
    trace.set_tracer_provider(provider)
    _provider, _tracer = provider, None
    return provider


#: How long a stopping process waits for its last spans to be written (an absent collector must not hold it).
FLUSH_AT_EXIT_MS = 3000


def shutdown() -> None:
    """Write out the spans still queued. Needed at exit: the services end with ``os._exit`` (``watchdog``), which
    skips the tracer provider's own exit hook."""
    if _provider is not None:
        _provider.force_flush(FLUSH_AT_EXIT_MS)


def tracer() -> trace.Tracer:
    """alertmesh's tracer (the no-op one until ``setup`` installed a provider)."""
    global _tracer
    if _tracer is None:
        # Looked up once: ``get_tracer`` costs more than starting a span does.
        _tracer = trace.get_tracer("alertmesh")
    return _tracer


def extract(headers: Mapping[str, str]) -> context.Context:
    """The trace context and baggage a record's headers (or a carrier dict) carry; empty when none."""
    if TRACEPARENT not in headers:
        return context.Context()
    return PROPAGATOR.extract(headers, context.Context())


def parent_of(headers: Mapping[str, str]) -> context.Context | None:
    """The trace context a record's ``traceparent`` header names (baggage not read), or None when it has none or
    a malformed one: a new trace then starts. The hot-path version of ``extract`` (ingest reads one per record):
    a few string operations instead of the propagator's regular expressions."""
    value = headers.get(TRACEPARENT)
    if value is None or len(value) < 55:
        return None
    version, _, rest = value.strip().partition("-")
    trace_hex, _, rest = rest.partition("-")
    span_hex, _, flags_hex = rest.partition("-")
    if version == "ff" or len(version) != 2 or len(trace_hex) != 32 or len(span_hex) != 16 or len(flags_hex) < 2:
        return None
    try:
        trace_id, span_id, flags = int(trace_hex, 16), int(span_hex, 16), int(flags_hex[:2], 16)
    except ValueError:
        return None
    if not trace_id or not span_id or (version == "00" and len(flags_hex) != 2):
        return None
    state = headers.get(TRACESTATE)
    span_context = trace.SpanContext(
        trace_id,
        span_id,
        is_remote=True,
        trace_flags=trace.TraceFlags(flags),
        trace_state=trace.TraceState.from_header([state]) if state else None,
    )
    return trace.set_span_in_context(trace.NonRecordingSpan(span_context), _EMPTY)


def carrier(ctx: context.Context | None = None) -> dict[str, str]:
    """The W3C headers for ``ctx`` (default: the current context): traceparent, tracestate, baggage."""
    out: dict[str, str] = {}
    PROPAGATOR.inject(out, ctx)
    return out


def span_headers(span: Span, correlation_id: str | None = None) -> dict[str, str]:
    """The headers a record caused by ``span`` carries: its traceparent (tracestate when non-empty) and the
    correlation id as baggage. Written directly rather than through the propagator: ingest does this per trigger."""
    span_context = span.get_span_context()
    if not span_context.is_valid:
        return {}
    headers = {
        TRACEPARENT: f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{span_context.trace_flags:02x}"
    }
    if span_context.trace_state:
        headers[TRACESTATE] = span_context.trace_state.to_header()
    if correlation_id:
        headers[BAGGAGE] = correlation_baggage(correlation_id)
    return headers


def correlation_baggage(correlation_id: str) -> str:
    """The ``baggage`` header value carrying the correlation id."""
    return f"{CORRELATION_BAGGAGE}={quote(correlation_id, safe='')}"


def dead_letter_headers(trace: Mapping[str, str]) -> dict[str, str]:
    """The trace headers a dead letter carries: ``traceparent`` only. A dead letter is cut to fit the size limit
    with room for a few client headers (``services.shared.kafka.CLIENT_HEADER_ALLOWANCE``); a producer's long
    ``tracestate`` or baggage must not eat that room."""
    parent = trace.get(TRACEPARENT)
    return {TRACEPARENT: parent} if parent else {}


def with_correlation(ctx: context.Context, correlation_id: str | None) -> context.Context:
    """``ctx`` with the correlation id in its baggage (so Temporal's and Ray's carriers pass it on)."""
    if not correlation_id:
        return ctx
    return baggage.set_baggage(CORRELATION_BAGGAGE, correlation_id, ctx)


@contextlib.contextmanager
def handling(
    name: str,
    headers: Mapping[str, str] | None,
    attributes: Mapping[str, Any],
    *,
    kind: SpanKind = SpanKind.CONSUMER,
    correlation_id: str | None = None,
) -> Iterator[Span]:
    """A current span for handling one record, child of the trace its headers carry (a new trace when they carry
    none), with the record's baggage (and ``correlation_id``) in the current context for everything called.
    ``headers`` None: child of the current context instead."""
    ctx = with_correlation(context.get_current() if headers is None else extract(headers), correlation_id)
    token = context.attach(ctx)
    try:
        with tracer().start_as_current_span(name, kind=kind, attributes=dict(attributes)) as span:
            yield span
    finally:
        context.detach(token)


def failed(span: Span, description: str, attributes: Mapping[str, Any] | None = None) -> None:
    """Mark ``span`` failed (status ERROR) with ``description`` and more attributes."""
    if attributes:
        span.set_attributes(dict(attributes))
    span.set_status(Status(StatusCode.ERROR, description[:500]))


def dead_lettered(span: Span, stage: str, reason: str, attributes: Mapping[str, Any] | None = None) -> None:
    """Mark ``span`` as the hop whose record went to the dead-letter topic (with more ``attributes``, set in the
    same call)."""
    marks = {DEAD_LETTER_STAGE: stage, DEAD_LETTER_REASON: reason[:2000]}
    failed(span, f"dead letter ({stage}): {reason}", {**attributes, **marks} if attributes else marks)


def kafka_attributes(topic: str, partition: int | None, offset: int | None, key: bytes | None) -> dict[str, Any]:
    """OTel messaging attributes of one Kafka record."""
    attributes: dict[str, Any] = {"messaging.system": "kafka", "messaging.destination.name": topic}
    if partition is not None:
        attributes["messaging.destination.partition.id"] = str(partition)
    if offset is not None:
        attributes["messaging.kafka.offset"] = offset
    if key is not None:
        attributes["messaging.kafka.message.key"] = key.decode("utf-8", "replace")
    return attributes
