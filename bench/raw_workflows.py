"""The naive raw design the mesh is compared with: a bare Temporal workflow calling one activity per action, the
bench's client starting it directly. Workflow code only (it runs in Temporal's sandbox); the activities are in
``bench.raw_activities``, hosted by another process on their own task queue (``bench.raw_worker``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from temporalio import workflow
from temporalio.common import RetryPolicy

WORKFLOW_QUEUE = "bench-raw-workflows"
ACTIVITY_QUEUE = "bench-raw-activities"
#: The activities' names (as ``bench.raw_activities`` registers them).
EXTRACT_URLS = "bench.extract_urls"
RESHAPE = "bench.reshape"

# As the mesh's DSL workflow calls an action: the DSL's default timeout and attempts, the same backoff.
_OPTIONS: dict[str, Any] = {
    "task_queue": ACTIVITY_QUEUE,
    "start_to_close_timeout": timedelta(seconds=300),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=5,
    ),
}


class RawInput(BaseModel):
    """One Alertmanager alert, as it is in the payload."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alert: dict[str, Any]


@workflow.defn(name="BenchRawTriage")
class RawTriage:
    """The triage workflow's two actions, written by hand: extract the URLs, then shape a summary."""

    @workflow.run
    async def run(self, given: RawInput) -> dict[str, Any]:
        """The alert's URLs, then its summary (two activities, one after the other); the summary is the result."""
        alert = given.alert
        labels, annotations = alert.get("labels", {}), alert.get("annotations", {})
        texts = [annotations.get("description", ""), annotations.get("summary", ""), annotations]
        texts.append(alert.get("generatorURL", ""))
        urls = await workflow.execute_activity(EXTRACT_URLS, texts, result_type=list, **_OPTIONS)
        value = {
            "alert": labels.get("alertname"),
            "severity": labels.get("severity"),
            "status": alert.get("status"),
            "headline": f"{labels.get('severity')}: {annotations.get('summary')}",
            "urls": urls,
            "team": "on-call",
        }
        summary: dict[str, Any] = await workflow.execute_activity(RESHAPE, value, result_type=dict, **_OPTIONS)
        return summary


@workflow.defn(name="BenchRawSingle")
class RawSingle:
    """The 1-action workflow written by hand: one reshape of the alert's name."""

    @workflow.run
    async def run(self, given: RawInput) -> dict[str, Any]:
        """One reshape activity of the alert's name; its output is the result."""
        value = {"alert": given.alert.get("labels", {}).get("alertname")}
        result: dict[str, Any] = await workflow.execute_activity(RESHAPE, value, result_type=dict, **_OPTIONS)
        return result
