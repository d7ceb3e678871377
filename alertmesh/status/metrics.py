"""A part's flow counters from its ``/metrics`` (Prometheus text format), for ``alertmesh status``'s rates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Quantity:
    """A sum of samples of one metric, optionally only those whose labels pass ``where``."""

    sample: str
    where: Callable[[dict[str, str]], bool] | None = None

    def admits(self, labels: dict[str, str]) -> bool:
        """Whether a sample with ``labels`` counts towards this quantity."""
        return self.where is None or self.where(labels)


def _succeeded(labels: dict[str, str]) -> bool:
    return labels.get("status") == "succeeded"


def _accepted(labels: dict[str, str]) -> bool:
    return labels.get("code", "").startswith("2")


#: What flows in and out of each part, from the metrics every service serves (services/shared/metrics.py).
#: ingest: alerts received -> triggers; webhook: requests -> accepted (2xx); orchestrator: triggers handled
#: (starts and duplicates) -> results published; executor: actions run -> actions succeeded.
FLOWS: dict[str, tuple[list[Quantity], list[Quantity]]] = {
    "ingest": ([Quantity("alertmesh_alerts_received_total")], [Quantity("alertmesh_triggers_total")]),
    "webhook": (
        [Quantity("alertmesh_webhook_requests_total")],
        [Quantity("alertmesh_webhook_requests_total", _accepted)],
    ),
    "orchestrator": (
        [Quantity("alertmesh_workflow_starts_total"), Quantity("alertmesh_workflow_start_duplicates_total")],
        [Quantity("alertmesh_workflow_results_total")],
    ),
    "executor": (
        [Quantity("alertmesh_action_duration_seconds_count")],
        [Quantity("alertmesh_action_duration_seconds_count", _succeeded)],
    ),
}
DEAD_LETTERS = [Quantity("alertmesh_dead_letters_total")]
FAILED_RESULTS = [Quantity("alertmesh_workflow_results_total", lambda labels: labels.get("status") == "failed")]


@dataclass(frozen=True)
class Counters:
    """A part's counters at one moment (``taken`` is ``time.monotonic()``); None where the part exports no such
    metric."""

    taken: float
    received: float | None
    sent: float | None
    dead_letters: float | None
    failed_results: float | None


_SUFFIXES = {"counter": ["_total"], "histogram": ["_count", "_sum"], "summary": ["_count", "_sum"]}


def declared_samples(text: str) -> set[str]:
    """Sample names the families in ``text`` declare, even those without samples yet (a labelled counter never
    incremented exports only its HELP and TYPE lines)."""
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in _SUFFIXES.get(family.type, [""])
    }


def parse_counters(text: str, part: str, taken: float) -> Counters:
    """The part's flow counters from its ``/metrics`` text (Prometheus exposition format)."""
    declared = declared_samples(text)
    samples = [sample for family in text_string_to_metric_families(text) for sample in family.samples]

    def total(quantities: list[Quantity]) -> float | None:
        if not any(q.sample in declared for q in quantities):
            return None
        return sum(s.value for q in quantities for s in samples if s.name == q.sample and q.admits(s.labels))

    inbound, outbound = FLOWS.get(part, ([], []))
    return Counters(taken, total(inbound), total(outbound), total(DEAD_LETTERS), total(FAILED_RESULTS))
