"""The ceiling baseline's workflow: the smallest Temporal app that does the triage workflow's work, two activities
one after the other. Workflow code only, run in Temporal's default sandbox (``bench.ceiling`` hosts it); it imports
nothing but the SDK, as a first Temporal app would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

TASK_QUEUE = "bench-ceiling"
#: The activities' names, as ``bench.raw_activities`` registers them (the same action functions the mesh runs).
EXTRACT_URLS = "bench.extract_urls"
RESHAPE = "bench.reshape"
_TIMEOUT = timedelta(seconds=300)


@workflow.defn(name="BenchCeilingTriage")
class CeilingTriage:
    """Extract the alert's URLs, then shape its summary: two sequential activities, default retry policy."""

    @workflow.run
    async def run(self, alert: dict[str, Any]) -> dict[str, Any]:
        """The summary of ``alert`` (an Alertmanager alert element): the second activity's output."""
        labels, annotations = alert.get("labels", {}), alert.get("annotations", {})
        texts = [annotations.get("description", ""), annotations.get("summary", ""), annotations]
        texts.append(alert.get("generatorURL", ""))
        urls = await workflow.execute_activity(EXTRACT_URLS, texts, result_type=list, start_to_close_timeout=_TIMEOUT)
        value = {
            "alert": labels.get("alertname"),
            "severity": labels.get("severity"),
            "status": alert.get("status"),
            "headline": f"{labels.get('severity')}: {annotations.get('summary')}",
            "urls": urls,
            "team": "on-call",
        }
        summary: dict[str, Any] = await workflow.execute_activity(
            RESHAPE, value, result_type=dict, start_to_close_timeout=_TIMEOUT
        )
        return summary
