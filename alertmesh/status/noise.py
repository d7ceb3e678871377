"""The noise-control block of ``alertmesh status``: the silences in force (how many are active and pending, and
the active ones with their matchers, end, author and comment) and how many firing alerts are muted, silenced
(by a silence in force now, as the Alertmanager API reports it) or inhibited (as ingest decided when it read them).

It reads the two global tables (``Silences``, ``AlertTable``) from their compacted topics once and keeps
following them, so ``--watch`` refreshes cost nothing more. Every field from a silence is operator input and is
escaped (``alertmesh.views.safe_text``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alertmesh.status.sources import Target
from alertmesh.views.safe_text import escape
from schemas.silence import Silence
from services.shared.alert_table import AlertTable
from services.shared.backoff import Backoff
from services.shared.matchers import text as matchers_text
from services.shared.silences import Silences
from services.shared.topics import TopicSettings

#: How long the first reading waits for each table to be read (a status report must not hang on Kafka).
READ_S = 5.0
#: Active silences listed in the text report (all are counted; ``--json`` lists all).
SHOWN = 10
_REACH = Backoff(initial_s=0.2, max_s=1.0, budget_s=READ_S)


@dataclass
class NoiseStatus:
    """What the tables said (``error`` instead when they could not be read)."""

    active: list[Silence] = field(default_factory=list)
    pending: int = 0
    firing: int = 0
    silenced: int = 0
    inhibited: int = 0
    #: The muted firing alerts, oldest first: (source, name, what mutes it: silence ids or inhibiting fingerprints).
    muted: list[tuple[str, str, str]] = field(default_factory=list)
    error: str | None = None


class NoiseReader:
    """Reads and follows the silences and alerts tables for the report."""

    def __init__(self, target: Target, topics: TopicSettings) -> None:
        """The tables ``topics`` name on the target's Kafka; nothing is read until ``read``."""
        self._silences = Silences(target.kafka, topics.silences, backoff=_REACH)
        self._alerts = AlertTable(target.kafka, topics.alerts, backoff=_REACH)

    async def read(self, now: datetime) -> NoiseStatus:
        """The block's figures at ``now``."""
        try:
            await self._silences.start(READ_S)
            await self._alerts.start(READ_S)
        except Exception as error:  # Kafka away: the block says so, the rest of the report stands
            return NoiseStatus(error=f"cannot read the silences and alerts tables: {error}")
        silences = self._silences.all()
        firing = sorted(self._alerts.firing(now), key=lambda row: row.starts_at)
        muted = []
        for row in firing:
            silenced_by = self._silences.silencing(row.labels, now)
            if silenced_by:
                muted.append((row.source, row.name, f"silenced by {', '.join(silenced_by)}"))
            elif row.inhibited_by:
                muted.append((row.source, row.name, f"inhibited by {', '.join(row.inhibited_by[:3])}"))
        silenced = sum(what.startswith("silenced") for _, _, what in muted)
        return NoiseStatus(
            muted=muted,
            active=sorted((s for s in silences if s.state(now) == "active"), key=lambda s: s.ends_at),
            pending=sum(s.state(now) == "pending" for s in silences),
            firing=len(firing),
            silenced=silenced,
            inhibited=sum(bool(row.inhibited_by) for row in firing),
            error=None if self._silences.ready and self._alerts.ready else "tables not read to their end yet",
        )

    async def close(self) -> None:
        """Stop following the tables."""
        await self._silences.stop()
        await self._alerts.stop()


def text(status: NoiseStatus) -> str:
    """The block as lines of the text report."""
    if status.error and not status.active and not status.firing:
        return f"Silences\n  cannot read: {escape(status.error)}\n"
    lines = [
        f"Silences           {len(status.active)} active, {status.pending} pending",
        f"Firing alerts      {status.firing} ({status.silenced} silenced, {status.inhibited} inhibited)",
    ]
    for silence in status.active[:SHOWN]:
        lines.append(
            f"  {escape(silence.id)}  {escape(matchers_text(silence.matchers))}  until "
            f"{silence.ends_at:%Y-%m-%d %H:%M} UTC  by {escape(silence.created_by)}: {escape(silence.comment[:80])}"
        )
    if len(status.active) > SHOWN:
        lines.append(f"  and {len(status.active) - SHOWN} more (alertmesh silence list)")
    for source, name, why in status.muted[:SHOWN]:
        lines.append(f"  muted: {escape(name[:80])} ({escape(source[:40])}) {escape(why[:200])}")
    if len(status.muted) > SHOWN:
        lines.append(f"  and {len(status.muted) - SHOWN} more muted (GET /api/v2/alerts?active=false)")
    if status.error:
        lines.append(f"  ({escape(status.error)})")
    return "\n".join(lines) + "\n"


def _silence_json(silence: Silence) -> dict[str, Any]:
    return {
        "id": silence.id,
        "matchers": matchers_text(silence.matchers),
        "ends_at": silence.ends_at.isoformat(),
        "created_by": silence.created_by,
        "comment": silence.comment,
    }


def as_json(status: NoiseStatus) -> dict[str, Any]:
    """The block for ``--json``."""
    return {
        "silences_active": len(status.active),
        "silences_pending": status.pending,
        "active_silences": [_silence_json(silence) for silence in status.active],
        "alerts_firing": status.firing,
        "alerts_silenced": status.silenced,
        "alerts_inhibited": status.inhibited,
        "muted_alerts": [{"source": source, "name": name, "muted": why} for source, name, why in status.muted],
        "error": status.error,
    }
