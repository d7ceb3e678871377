"""Which parser reads a message: the first in ``PARSERS`` that accepts it. A new format is one module here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.alert import Alert
from schemas.sources import SOURCE_HEADER
from services.ingest.parsers.alertmanager import AlertmanagerParser
from services.ingest.parsers.aws_sns import AwsSnsParser
from services.ingest.parsers.azure_monitor import AzureMonitorParser
from services.ingest.parsers.base import Parser
from services.ingest.parsers.cloudevents import CloudEventsParser
from services.ingest.parsers.datadog import DatadogParser
from services.ingest.parsers.elastic import ElasticParser
from services.ingest.parsers.errors import InvalidAlert, ParseError, RefusedAlert, TooManyAlerts
from services.ingest.parsers.falco import FalcoParser
from services.ingest.parsers.field_maps import FieldMap
from services.ingest.parsers.gcp_monitoring import GcpMonitoringParser
from services.ingest.parsers.generic import GenericParser
from services.ingest.parsers.grafana import GrafanaParser
from services.ingest.parsers.grafana_legacy import GrafanaLegacyParser
from services.ingest.parsers.opsgenie import OpsgenieParser
from services.ingest.parsers.pagerduty import PagerDutyEventsParser, PagerDutyWebhookParser
from services.ingest.parsers.prometheus import PrometheusParser
from services.ingest.parsers.sentry import SentryParser, SentryPluginParser
from services.ingest.parsers.severity_maps import SeverityMapped
from services.ingest.parsers.splunk import SplunkParser
from services.shared.alert_limits import DEFAULT_MAX_ALERTS_PER_RECORD, too_many_alerts

#: Tried in order; CloudEvents first because binary mode is recognized by headers whatever the body is. The
#: formats after Grafana's each check a shape no other has (a Prometheus array of objects with labels, an SNS
#: envelope or CloudWatch alarm, Azure's schemaId, Cloud Monitoring's incident, a legacy Grafana ruleName without
#: alerts, Falco's rule/priority/output, and each vendor's documented webhook body), so their order among
#: themselves does not matter.
PARSERS: tuple[Parser, ...] = (
    CloudEventsParser(),
    AlertmanagerParser(),
    GrafanaParser(),
    PrometheusParser(),
    AwsSnsParser(),
    AzureMonitorParser(),
    GcpMonitoringParser(),
    GrafanaLegacyParser(),
    FalcoParser(),
    DatadogParser(),
    PagerDutyWebhookParser(),
    PagerDutyEventsParser(),
    OpsgenieParser(),
    SentryParser(),
    SentryPluginParser(),
    SplunkParser(),
    ElasticParser(),
)


def parsers_for(field_maps: Mapping[str, FieldMap], parsers: Sequence[Parser] | None = None) -> tuple[Parser, ...]:
    """The parsers ingest uses: a source's field map first (configured on purpose), then the built-in formats
    (``parsers``, default ``PARSERS``). A map's ``format: <name>`` forces the built-in parser of that
    ``Parser.format`` for its source; an entry's ``severity_map`` applies to whatever parser reads the source."""
    built_in = tuple(PARSERS if parsers is None else parsers)
    if not field_maps:
        return built_in
    by_format = {parser.format: parser for parser in built_in}
    mapped = {source: entry for source, entry in field_maps.items() if entry.severity_only}
    readers: tuple[Parser, ...] = (GenericParser(field_maps, by_format),) if len(mapped) < len(field_maps) else ()
    # Only when some entry holds only a severity_map: the wrapper costs a call per message.
    return (*readers, *(SeverityMapped(parser, mapped) for parser in built_in)) if mapped else (*readers, *built_in)


def read_alerts(
    body: bytes,
    headers: Mapping[str, str],
    parsers: Sequence[Parser] = PARSERS,
    max_alerts: int = DEFAULT_MAX_ALERTS_PER_RECORD,
) -> list[Alert | RefusedAlert]:
    """Decode ``body`` and let the first accepting parser normalize it: one entry per alert it carries, each an
    ``Alert`` or, for an element that cannot be one, a ``RefusedAlert`` (its neighbours still count). Raises
    ``ParseError`` with a reason when the message itself is unusable, and ``TooManyAlerts`` (before normalizing
    any) when it carries more than ``max_alerts``."""
    document = decode_document(body)
    for parser in parsers:
        if parser.accepts(document, headers):
            refusal = too_many_alerts(parser.count(document, headers), max_alerts)
            if refusal is not None:
                raise TooManyAlerts(f"{parser.format}: {refusal}")
            try:
                parsed = parser.parse(document, headers)
            except ValidationError as error:  # a field the parser passed through is out of the contract
                raise InvalidAlert(f"{parser.format}: invalid alert: {error}") from None
            return _with_source(parsed, headers.get(SOURCE_HEADER, "").strip())
    raise ParseError(explain_unsupported(document, parsers))


def parse_alerts(
    body: bytes,
    headers: Mapping[str, str],
    parsers: Sequence[Parser] = PARSERS,
    max_alerts: int = DEFAULT_MAX_ALERTS_PER_RECORD,
) -> list[Alert]:
    """``read_alerts``, all or nothing: the alerts, or the first refused one's ``ParseError`` (``InvalidAlert`` when
    it broke the contract). For callers that want a message whole (tools, benchmarks); ingest uses ``read_alerts``."""
    alerts = []
    for entry in read_alerts(body, headers, parsers, max_alerts):
        if isinstance(entry, RefusedAlert):
            raise (InvalidAlert if entry.stage == "validate" else ParseError)(entry.reason)
        alerts.append(entry)
    return alerts


def _with_source(parsed: list[Alert | RefusedAlert], source: str) -> list[Alert | RefusedAlert]:
    # Parsers build their alerts with this source already (``fields.source_of``); a copy only when one did not.
    if not source or all(isinstance(entry, RefusedAlert) or entry.source == source for entry in parsed):
        return parsed
    return [
        entry
        if isinstance(entry, RefusedAlert) or entry.source == source
        else entry.model_copy(update={"source": source})
        for entry in parsed
    ]


def decode_document(body: bytes) -> dict[str, Any] | list[Any]:
    """The body as a JSON object or array, or a ``ParseError`` saying why it is neither."""
    if not body.strip():
        raise ParseError("not JSON: the message body is empty")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ParseError(
            f"not JSON: body is not valid UTF-8 (byte {body[error.start]:#04x} at position {error.start})"
        ) from None
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ParseError(f"not JSON: {error}") from None
    if not isinstance(document, dict | list):
        raise ParseError(f"not a JSON object or array: got a JSON {type(document).__name__}")
    return document


def explain_unsupported(document: dict[str, Any] | list[Any], parsers: Sequence[Parser]) -> str:
    """Why no parser took the document, phrased so the sender knows what to change."""
    known = ", ".join(parser.format for parser in parsers)
    if isinstance(document, list):
        detail = f"a JSON array of {len(document)} items of no known format"
    elif "alerts" in document and "version" in document:
        detail = (
            f"Alertmanager-style webhook with version {document['version']!r} (Alertmanager sends '4', Grafana '1')"
        )
    else:
        keys = ", ".join(sorted(document)[:12]) or "none"
        detail = f"a JSON object of no known format (top-level keys: {keys})"
    return f"unsupported payload: {detail}; supported formats: {known}"
