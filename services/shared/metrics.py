"""Prometheus metrics of every alertmesh service, served at ``GET /metrics`` on its health port.

The names and labels are a contract (dashboards, alert rules and ``alertmesh status`` read them): add metrics,
never rename one. Every label value is bounded: no ids, and names that come from outside (an alert's source, a
parser's format) pass through ``BoundedLabel``, which keeps the first ``limit`` distinct values and reports the
rest as ``other``, so a sender inventing a new source per request cannot grow the series without end.

One process-wide registry (prometheus_client's default, which also carries the process and Python collectors):
a service is one process, and a test running several in one process sees their metrics side by side, told apart
by the ``service`` label or by the metric itself.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import REGISTRY, Counter, Histogram, generate_latest

log = logging.getLogger(__name__)
#: The Content-Type of ``render``'s body: the text format every Prometheus version reads (prometheus_client's
#: latest says 1.0.0, which only Prometheus 3 knows; our names need nothing newer than 0.0.4).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: What a label value beyond a ``BoundedLabel``'s limit is reported as.
OTHER = "other"
#: What an empty or missing label value is reported as.
UNKNOWN = "unknown"
#: Longest label value kept; longer ones are cut (a value is a name, not a payload).
MAX_VALUE_CHARS = 64


class BoundedLabel:
    """Keeps at most ``limit`` distinct values of one label; later new values become ``other``.

    Values seen once stay themselves for the life of the process, so a series never changes its label midway.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()  # the executor counts from Temporal's activity threads too

    def __call__(self, value: str | None) -> str:
        """The label value to use for ``value``: itself while within the bound, else ``other``."""
        value = (value or "").strip()[:MAX_VALUE_CHARS] or UNKNOWN
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) >= self._limit:
                return OTHER
            self._seen.add(value)
        return value


#: Alert sources and formats come from senders: bounded. Routes, workflows and actions come from the operator's
#: own files, bounded all the same (a reloaded routing file may add names).
source_label = BoundedLabel(100)
format_label = BoundedLabel(50)
name_label = BoundedLabel(500)

ALERTS_RECEIVED = Counter(
    "alertmesh_alerts_received_total",
    "Alerts ingest parsed from raw records, by the alert's source and the format that read it.",
    ["source", "format"],
)
TRIGGERS = Counter(
    "alertmesh_triggers_total",
    "Triggers ingest wrote (acknowledged by Kafka), by route and workflow.",
    ["route", "workflow"],
)
DEAD_LETTERS = Counter(
    "alertmesh_dead_letters_total",
    "Dead letters written (acknowledged by Kafka), by the service that wrote them and the stage that failed.",
    ["service", "stage"],
)
WORKFLOW_STARTS = Counter(
    "alertmesh_workflow_starts_total", "Workflow runs the orchestrator started, by workflow.", ["workflow"]
)
WORKFLOW_START_DUPLICATES = Counter(
    "alertmesh_workflow_start_duplicates_total",
    "Triggers whose run was already started (redelivery, a replayed trigger), by workflow.",
    ["workflow"],
)
WORKFLOW_RESULTS = Counter(
    "alertmesh_workflow_results_total",
    "Workflow results published to the results topic, by workflow and status (completed, failed).",
    ["workflow", "status"],
)
#: Seconds buckets from a few milliseconds (an in-process transform) to the DSL's default action limit (300 s).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
WORKFLOW_DURATION = Histogram(
    "alertmesh_workflow_duration_seconds",
    "From a run's start to its result, by workflow and status.",
    ["workflow", "status"],
    buckets=LATENCY_BUCKETS,
)
ALERT_TO_START = Histogram(
    "alertmesh_alert_to_start_seconds",
    "From the raw alert's arrival in Kafka (the trigger's time) to its workflow start accepted by Temporal.",
    ["workflow"],
    buckets=LATENCY_BUCKETS,
)
ACTION_DURATION = Histogram(
    "alertmesh_action_duration_seconds",
    "One attempt of one action in the executor, by action and status (succeeded, failed).",
    ["action", "status"],
    buckets=LATENCY_BUCKETS,
)
WEBHOOK_REQUESTS = Counter(
    "alertmesh_webhook_requests_total",
    "Requests to the webhook's alert endpoint, by source (a configured one, else unknown) and HTTP status code.",
    ["source", "code"],
)
FOR_EACH_CAPPED = Counter(
    "alertmesh_for_each_capped_total",
    "for_each actions refused for more items than ORCHESTRATOR_MAX_FOR_EACH_ITEMS (in published results), by workflow.",
    ["workflow"],
)
RECORDS_OVER_ALERT_LIMIT = Counter(
    "alertmesh_records_over_alert_limit_total",
    "Messages refused (dead-lettered) for carrying more alerts than the per-message limit, by service.",
    ["service"],
)
TRUNCATED_ALERTS = Counter(
    "alertmesh_truncated_alerts_total",
    "Alerts a sender left out of a group notification (Alertmanager's and Grafana's truncatedAlerts, past their "
    "max_alerts): they never reached ingest, by the group's source and format.",
    ["source", "format"],
)
NOISE_EVICTIONS = Counter(
    "alertmesh_noise_evictions_total",
    "Noise-control state dropped before its time to keep it bounded, by kind: dedup (a repeat of the alert may "
    "pass as new), group (a pending group flushed early, or an empty one forgotten before its interval), muted (a "
    "held alert that will not start its workflow when its mute ends), threshold (a count started again).",
    ["kind"],
)
PUBLISH_RETRIES = Counter(
    "alertmesh_publish_retries_total",
    "Kafka writes sent again after a transient failure, by service and topic.",
    ["service", "topic"],
)
#: Triggers a route's time window, a silence or an inhibiting alert kept from starting their workflow.
ALERTS_MUTED = Counter(
    "alertmesh_alerts_muted_total",
    "Triggers kept from starting their workflow, by what muted them (time_window, silenced, inhibited)",
    ["kind"],
)

#: Async steps run before each scrape (the consumer-lag snapshot asks the broker).
_refreshers: list[Callable[[], Awaitable[None]]] = []


def add_refresher(refresh: Callable[[], Awaitable[None]]) -> None:
    """Run ``refresh`` before each ``render`` (idempotent: the same one is added once)."""
    if refresh not in _refreshers:
        _refreshers.append(refresh)


async def render() -> bytes:
    """Every metric in Prometheus text format, after the refreshers ran (a failing one is skipped: the scrape
    still answers, with that part's last values)."""
    for refresh in list(_refreshers):
        try:
            await refresh()
        except Exception:  # a broker that does not answer must not fail the whole scrape
            log.debug("a metrics refresh failed; this scrape has its last values", exc_info=True)
    return generate_latest(REGISTRY)


def service_of(event_source: str) -> str:
    """The ``service`` label of an event source such as ``alertmesh/ingest``."""
    return event_source.removeprefix("alertmesh/") or UNKNOWN


#: Raw label values already resolved to their series: counting on the hot path (an alert, a trigger) is then a
#: dict lookup and an increment, not prometheus_client's locked ``labels()`` lookup (measured: about 1 us instead of
#: about 4 us). Bounded like the labels themselves: raw values past the cache's size are resolved again.
_CACHE_SIZE = 4096


def count_alerts(alerts: Iterable[tuple[str, str]]) -> None:
    """Count parsed alerts, given as (source, format) pairs."""
    for source, fmt in alerts:
        _alert_series(source, fmt).inc()


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _alert_series(source: str, fmt: str) -> Counter:
    series: Counter = ALERTS_RECEIVED.labels(source_label(source), format_label(fmt))
    return series


def count_trigger(route: str, workflow: str) -> None:
    """Count a trigger published for ``route``, starting ``workflow``."""
    _named(TRIGGERS, route, workflow).inc()


def count_dead_letter(service: str, stage: str) -> None:
    """Count a dead letter written by ``service`` at ``stage``."""
    DEAD_LETTERS.labels(service, stage).inc()


def count_record_over_alert_limit(service: str) -> None:
    """Count a message ``service`` refused for carrying too many alerts."""
    RECORDS_OVER_ALERT_LIMIT.labels(service).inc()


def count_truncated_alerts(source: str, fmt: str, count: int) -> None:
    """Count ``count`` alerts the sender cut from a group notification of ``source`` read as ``fmt``."""
    TRUNCATED_ALERTS.labels(source_label(source), format_label(fmt)).inc(count)


def count_noise_evictions(kind: str, evicted: int = 1) -> None:
    """Count ``evicted`` noise-control entries of ``kind`` (dedup, group, muted, threshold) dropped to keep the
    state bounded."""
    if evicted:
        NOISE_EVICTIONS.labels(kind).inc(evicted)


def count_muted(kind: str) -> None:
    """Count a trigger muted by ``kind`` (time_window, silenced, inhibited)."""
    ALERTS_MUTED.labels(kind).inc()


def count_start(workflow: str, duplicate: bool) -> None:
    """Count a workflow start, or a start refused as a duplicate (the run already existed)."""
    _named(WORKFLOW_START_DUPLICATES if duplicate else WORKFLOW_STARTS, workflow).inc()


def count_publish_retry(service: str, topic: str) -> None:
    """Count one retried publish of ``service`` to ``topic``."""
    PUBLISH_RETRIES.labels(service, name_label(topic)).inc()


def observe_alert_to_start(workflow: str, alert_time: datetime) -> None:
    """A run just started for an alert that reached Kafka at ``alert_time``."""
    _named(ALERT_TO_START, workflow).observe(max((datetime.now(UTC) - alert_time).total_seconds(), 0.0))


def count_result(workflow: str, status: str, started_at: datetime, finished_at: datetime) -> None:
    """A run's result was published."""
    _named(WORKFLOW_RESULTS, workflow, status).inc()
    seconds = max((finished_at - started_at).total_seconds(), 0.0)
    _named(WORKFLOW_DURATION, workflow, status).observe(seconds)


def count_capped_loops(workflow: str, count: int) -> None:
    """``count`` for_each actions of a published result of ``workflow`` had more items than the cap."""
    if count:
        _named(FOR_EACH_CAPPED, workflow).inc(count)


def observe_action(action: str, status: str, seconds: float) -> None:
    """One attempt of ``action`` ended with ``status`` after ``seconds``."""
    _named(ACTION_DURATION, action, status).observe(seconds)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _named(metric: Any, *values: str) -> Any:
    """The series of ``metric`` for these names (route, workflow, action, status), each bounded."""
    return metric.labels(*(name_label(value) for value in values))


MESSAGES_NOT_ALERTS = Counter(
    "alertmesh_messages_not_alerts_total",
    "Messages a field map's drop shape said are not alerts (no dead letter), by source and shape.",
    ["source", "shape"],
)


def count_not_alert(source: str, shape: str) -> None:
    """Count a message of ``source`` that the field map's ``drop`` shape ``shape`` took as no alert."""
    MESSAGES_NOT_ALERTS.labels(source, shape).inc()
