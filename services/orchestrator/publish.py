"""The ``publish_result`` local activity: writes a run's WorkflowResult to the results topic."""

from __future__ import annotations

from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError
from opentelemetry.trace import SpanKind
from temporalio import activity
from temporalio.exceptions import ApplicationError

from schemas import WorkflowResult
from services.orchestrator.contracts import PUBLISH_RESULT, RESULT_TOO_LARGE
from services.orchestrator.loops import TOO_MANY_ITEMS
from services.shared import metrics, tracing
from services.shared.consuming import Publisher


class ResultPublisher:
    """Holds the service broker's results publisher; its bound method is registered on the workflow worker."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher
        # Named once, for the publish span; tracing must never be what fails a publish.
        self._topic = str(getattr(publisher, "topic", "") or "")

    @activity.defn(name=PUBLISH_RESULT)
    async def publish_result(self, result: WorkflowResult) -> None:
        """Publish keyed by workflow id; returns once the broker acknowledged (acks=all).

        A record too large for the producer or broker fails for good (``RESULT_TOO_LARGE``, not retried): the
        workflow cut it to ``KAFKA_MAX_MESSAGE_BYTES``, so the broker's own limit is lower than configured.
        """
        data = result.data
        attributes = {
            "messaging.system": "kafka",
            "messaging.destination.name": self._topic,
            tracing.EVENT_ID: result.correlationid,
            tracing.CORRELATION_ID: result.correlationid,
            tracing.WORKFLOW_ID: data.workflow_id,
            tracing.IDEMPOTENCY_KEY: data.workflow_id,
            tracing.WORKFLOW: data.workflow,
            tracing.RESULT_STATUS: data.status,
            "temporalRunID": data.run_id,
            "alertmesh.result.id": result.id,
        }
        # The result's hop, child of this activity's span (Temporal's tracing interceptor): the record carries it.
        with tracing.tracer().start_as_current_span(
            f"publish {attributes['messaging.destination.name']}", kind=SpanKind.PRODUCER, attributes=attributes
        ) as span:
            if data.error:
                span.set_attribute("alertmesh.result.error", data.error[:2000])
            headers = result.kafka_headers() | tracing.span_headers(span, result.correlationid)
            try:
                await self._publisher.publish(result.to_json(), key=data.workflow_id.encode(), headers=headers)
            except (MessageSizeTooLargeError, RecordTooLargeError) as error:
                raise ApplicationError(
                    f"result {result.id} ({len(result.to_json())} bytes) refused as too large: {error}",
                    type=RESULT_TOO_LARGE,
                    non_retryable=True,
                ) from error
        metrics.count_result(data.workflow, data.status, data.started_at, data.finished_at)
        capped = sum(1 for action in data.actions if action.error is not None and action.error.type == TOO_MANY_ITEMS)
        metrics.count_capped_loops(data.workflow, capped)
        activity.logger.debug("published result %s for %s", result.id, result.data.workflow_id)
