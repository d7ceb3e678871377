"""The tables the Alertmanager API reads and writes: the silence store and the alerts table, each read whole from
its compacted topic. They are started in the background while the bridge already serves alerts: a broker that is
slow to come up must not hold back ``POST /v1/alerts/{source}``; the API answers 503 until both are read to their
end (``ready``), and ``/-/ready`` says so."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from fastapi import Request

from services.shared.alert_table import AlertTable
from services.shared.silences import Silences
from services.webhook.body import Rejected
from services.webhook.config import WebhookSettings

log = logging.getLogger("services.webhook")
#: The wait between attempts to start the tables while Kafka cannot be reached.
RETRY_S = 5.0


@dataclass
class ApiStores:
    """The silence store and the alerts table."""

    silences: Silences
    alerts: AlertTable
    _starting: asyncio.Task[None] | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: WebhookSettings) -> ApiStores:
        """The Kafka-backed tables ``settings`` name (nothing is read until ``start``)."""
        return cls(
            Silences(settings.kafka, settings.topics.silences),
            AlertTable(settings.kafka, settings.topics.alerts),
        )

    @classmethod
    def in_memory(cls) -> ApiStores:
        """Empty tables without Kafka (tests, and a bridge whose API is fed in process)."""
        return cls(Silences.in_memory(), AlertTable.in_memory())

    @property
    def ready(self) -> bool:
        """Whether both tables were read to their end."""
        return self.silences.ready and self.alerts.ready

    def start(self) -> None:
        """Start both tables in the background, retrying until Kafka can be reached."""
        if self._starting is None:
            self._starting = asyncio.create_task(self._start_retrying(), name="alertmanager-api-tables")

    async def _start_retrying(self) -> None:
        while True:
            try:
                await self.silences.start()
                await self.alerts.start()
                return
            except Exception as error:  # Kafka away: the API stays unready and says so, the bridge serves on
                log.warning("Alertmanager API tables not started (%r); retrying in %.0fs", error, RETRY_S)
                await asyncio.sleep(RETRY_S)

    async def stop(self) -> None:
        """Stop starting, and stop following both tables."""
        if self._starting is not None:
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._starting
            self._starting = None
        await self.silences.stop()
        await self.alerts.stop()


def stores_of(request: Request) -> ApiStores:
    """The app's tables, once read to their end; 503 with ``Retry-After`` before (an answer from a table still
    being read could miss silences or alerts), 404 when the app serves no API."""
    stores: ApiStores | None = getattr(request.app.state, "alertmanager", None)
    if stores is None:
        raise Rejected(404, "the Alertmanager API is off (WEBHOOK_ALERTMANAGER_API=false)")
    if not stores.ready:
        raise Rejected(503, "the silences and alerts tables are still being read from Kafka", {"Retry-After": "5"})
    return stores
