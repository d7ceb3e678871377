"""The ``publish_result`` local activity: writes a run's WorkflowResult to the results topic."""

from __future__ import annotations

from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError
from faststream.kafka.publisher.usecase import DefaultPublisher as KafkaPublisher
from temporalio import activity
from temporalio.exceptions import ApplicationError

from schemas import WorkflowResult
from services.orchestrator.contracts import PUBLISH_RESULT, RESULT_TOO_LARGE
from services.shared import metrics


class ResultPublisher:
    """Holds the service broker's results publisher; its bound method is registered on the workflow worker."""

    def __init__(self, publisher: KafkaPublisher) -> None:
        self._publisher = publisher

    @activity.defn(name=PUBLISH_RESULT)
    async def publish_result(self, result: WorkflowResult) -> None:
        """Publish keyed by workflow id; returns once the broker acknowledged (acks=all).

        A record too large for the producer or broker fails for good (``RESULT_TOO_LARGE``, not retried): the
        workflow cut it to ``KAFKA_MAX_MESSAGE_BYTES``, so the broker's own limit is lower than configured.
        """
        try:
            await self._publisher.publish(
                result.to_json(), key=result.data.workflow_id.encode(), headers=result.kafka_headers()
            )
        except (MessageSizeTooLargeError, RecordTooLargeError) as error:
            raise ApplicationError(
                f"result {result.id} ({len(result.to_json())} bytes) refused as too large: {error}",
                type=RESULT_TOO_LARGE,
                non_retryable=True,
            ) from error
        metrics.count_result(result.data.workflow, result.data.status, result.data.started_at, result.data.finished_at)
        activity.logger.debug("published result %s for %s", result.id, result.data.workflow_id)
