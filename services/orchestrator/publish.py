"""The ``publish_result`` local activity: writes a run's WorkflowResult to the results topic."""

from __future__ import annotations

from faststream.kafka.publisher.usecase import DefaultPublisher as KafkaPublisher
from temporalio import activity

from schemas import WorkflowResult
from services.orchestrator.contracts import PUBLISH_RESULT


class ResultPublisher:
    """Holds the service broker's results publisher; its bound method is registered on the workflow worker."""

    def __init__(self, publisher: KafkaPublisher) -> None:
        self._publisher = publisher

    @activity.defn(name=PUBLISH_RESULT)
    async def publish_result(self, result: WorkflowResult) -> None:
        """Publish keyed by workflow id; returns once the broker acknowledged (acks=all)."""
        await self._publisher.publish(
            result.to_json(), key=result.data.workflow_id.encode(), headers=result.kafka_headers()
        )
        activity.logger.debug("published result %s for %s", result.id, result.data.workflow_id)
