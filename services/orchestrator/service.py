"""The orchestrator process: trigger consumer + Temporal worker + health endpoint, sharing one broker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from faststream.kafka import KafkaBroker
from temporalio.client import Client
from temporalio.worker import Worker

from dsl.model import WorkflowDefinition
from services.orchestrator.app import TriggerConsumer, subscribe_triggers
from services.orchestrator.config import OrchestratorSettings
from services.orchestrator.open_runs import ensure_search_attribute
from services.orchestrator.publish import ResultPublisher
from services.orchestrator.rate_limits import RouteLimiter
from services.orchestrator.starter import TemporalStarter
from services.orchestrator.variables import load_vars
from services.orchestrator.worker import build_worker
from services.shared.backoff import Backoff, with_backoff
from services.shared.consumer_health import consumer_vitals
from services.shared.consumer_lag import CONSUMER_LAG
from services.shared.health import HealthServer
from services.shared.kafka import ProducerPublisher
from services.shared.watchdog import Vital, Watchdog, task_alive

log = logging.getLogger(__name__)
CLIENT_ID = "alertmesh-orchestrator"


async def connect_temporal(settings: OrchestratorSettings, max_backoff: float = 10.0) -> Client:
    """Connect, retrying with capped backoff: the orchestrator may start before Temporal is ready."""
    what = f"connecting to Temporal at {settings.temporal.address}"
    return await with_backoff(settings.temporal.connect, what, Backoff(0.5, max_backoff, budget_s=None))


class Orchestrator:
    """Start with ``await start()`` (or ``async with``), stop with ``await stop()``."""

    def __init__(
        self,
        settings: OrchestratorSettings,
        client: Client,
        definitions: Mapping[str, WorkflowDefinition],
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        """``definitions`` as ``dsl.loader.load_workflows`` gives them (``__main__`` loads them, checked against the
        executor's actions); ``variables`` default to those in ``settings.vars_file``."""
        self.settings = settings
        self.client = client
        self.definitions = dict(definitions)
        self.broker: KafkaBroker = settings.kafka.broker(CLIENT_ID)
        dlq = ProducerPublisher(self.broker, settings.topics.dlq)
        starter = TemporalStarter(client, settings.temporal.workflow_task_queue)
        self.consumer = consumer = TriggerConsumer(
            self.definitions, starter, dlq, settings.temporal.action_task_queue,
            max_message_bytes=settings.kafka.max_message_bytes, start_concurrency=settings.start_concurrency,
            variables=variables if variables is not None else load_vars(settings.vars_file),
            signaller=starter, limiter=RouteLimiter(settings.route_limits()) if settings.rate_limits else None,
            keepalive_s=settings.backpressure_poll_s, max_for_each_items=settings.max_for_each_items,
        )  # fmt: skip
        subscribe_triggers(self.broker, settings, consumer)
        publisher = ResultPublisher(ProducerPublisher(self.broker, settings.topics.results))
        self.worker: Worker = build_worker(client, settings.temporal.workflow_task_queue, publisher)
        self._worker_task: asyncio.Task[None] | None = None
        #: The parts that must live as long as the service: trigger consumer and workflow worker.
        self.watchdog = Watchdog(
            [*consumer_vitals(self.broker), Vital("Temporal workflow worker", task_alive(lambda: self._worker_task))]
        )
        self.health = HealthServer(settings.health_host, settings.health_port, self.watchdog.guard(self.healthy))

    async def healthy(self) -> bool:
        """Kafka connected and Temporal answering."""
        return bool(await self.broker.ping(timeout=2)) and bool(await self.client.service_client.check_health())

    async def start(self) -> None:
        """Register the index of open firing runs (``open_runs``), start the broker (and with it the trigger
        consumer), then the workflow worker, the consumer-lag watch and the health endpoint; returns once they are
        started (the worker runs on in a task of its own)."""
        # Before any trigger is read: Temporal refuses a start naming an unregistered search attribute.
        what = "registering the open-runs search attribute"
        await with_backoff(lambda: ensure_search_attribute(self.client), what, Backoff(0.5, 10.0, budget_s=None))
        # Broker first: the worker's publish_result needs it, and the consumer needs nothing else.
        await self.broker.start()
        self._worker_task = asyncio.create_task(self.worker.run(), name="temporal-worker")
        CONSUMER_LAG.watch(self.broker)
        await self.health.start()
        log.info(
            "orchestrator up: %d workflows (%s), triggers from %s",
            len(self.definitions), ", ".join(sorted(self.definitions)), self.settings.topics.triggers,
        )  # fmt: skip

    async def stop(self) -> None:
        """Shut down the workflow worker, then the broker (and with it the trigger consumer), then the health
        endpoint. A worker that had died is logged, not raised, so the rest still stops."""
        # The worker goes first so in-flight publish_result calls still find the broker connected.
        if self._worker_task is not None:
            if not self._worker_task.done():
                await self.worker.shutdown()
            try:
                await self._worker_task
            except Exception:  # a worker that died: the watchdog reported it; stop the rest all the same
                log.exception("the workflow worker had failed")
        await self.broker.stop()
        # The health endpoint goes last: until the process ends it answers 503 for a dead part.
        await self.health.stop()
        CONSUMER_LAG.unwatch(self.broker)

    async def __aenter__(self) -> Orchestrator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
