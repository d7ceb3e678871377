"""The alerts table's rows (``schemas.alert_state``): stage 1 writes one for every alert it reads, routed or not,
before the batch is committed. Inhibition reads the firing ones (an inhibiting alert need not start any workflow
itself), and the webhook's Alertmanager API lists them, each with the routes it matched and what muted it.

A row repeats the alert's labels and annotations, not its payload. Annotations are cut to what a listing needs, so
a row stays far below the record size limit; a row still too large (labels of hundreds of KB) is left out and
logged: the alert itself goes on, only the listing and inhibition miss it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from schemas.alert import Alert
from schemas.alert_state import AlertState, matchable_labels, table_key
from services.ingest.noise.muting import Muting
from services.ingest.pipeline import Outcome
from services.shared.alert_table import AlertTable
from services.shared.deadletter import ConsumedRecord

log = logging.getLogger(__name__)
#: An annotation longer than this is cut in the row (the alert's trigger carries it whole).
MAX_ANNOTATION_CHARS = 1024
#: Labels and annotations of a row together at most this many characters, else the row is left out.
MAX_ROW_CHARS = 256 * 1024


class AlertRows:
    """Builds and writes the alerts table's rows of a batch."""

    def __init__(self, table: AlertTable, muting: Muting) -> None:
        self._table, self._muting = table, muting

    async def write(self, batch: Sequence[tuple[ConsumedRecord, Outcome]]) -> None:
        """Write a row of each alert of the batch (the latest of an alert seen twice); returns once durable."""
        rows: dict[bytes, AlertState] = {}
        for record, outcome in batch:
            routes: dict[tuple[str, str], list[str]] = {}
            for ready in outcome.triggers:
                alert = ready.event.data.alert
                routes.setdefault((alert.source, alert.fingerprint), []).append(ready.event.data.route)
            for alert in outcome.alerts:
                row = self.row(alert, record.received_at, routes.get((alert.source, alert.fingerprint), []))
                if row is not None:
                    rows[table_key(alert.source, alert.fingerprint)] = row
        if rows:
            await self._table.put_many(list(rows.values()))

    def row(self, alert: Alert, at: datetime, routes: list[str]) -> AlertState | None:
        """The row of ``alert`` read at ``at`` (the record's time), with what mutes it now; None when too large."""
        labels = matchable_labels(alert)
        annotations = {name: value[:MAX_ANNOTATION_CHARS] for name, value in alert.annotations.items()}
        size = sum(len(k) + len(v) for mapping in (labels, annotations) for k, v in mapping.items())
        if size > MAX_ROW_CHARS:
            log.warning(
                "alert %.200r of %.100r: labels and annotations of %d characters, left out of the alerts table",
                alert.name, alert.source, size,
            )  # fmt: skip
            return None
        firing = alert.status == "firing"
        return AlertState.model_construct(
            source=alert.source,
            fingerprint=alert.fingerprint,
            name=alert.name,
            severity=alert.severity,
            status=alert.status,
            labels=labels,
            annotations=annotations,
            starts_at=alert.starts_at or at,
            ends_at=alert.ends_at,
            generator_url=alert.generator_url,
            updated_at=at,
            routes=routes,
            silenced_by=self._muting.silenced_by(labels, at) if firing else [],
            inhibited_by=self._muting.inhibited_by(labels, alert.fingerprint, at) if firing else [],
        )
