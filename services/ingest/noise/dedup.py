"""The dedup window: the same (route, source, fingerprint, status) within ``window_s`` gives one trigger.

Alertmanager re-sends a firing alert every repeat interval, and an HA pair sends each notification twice. Those
repeats carry the same ``startsAt``, hence the same idempotency key, so Temporal already refuses a second workflow
for them; but each would still cost a trigger record, an orchestrator start call and Temporal's answer. The window
drops them here. It also catches what keys cannot: a sender that stamps every resend with a new event id or start
time (different keys, so a new workflow each time) is held to one trigger per window.

Time is the raw record's Kafka timestamp, not the clock: a record read again (after a crash before the commit)
gets the same decision, whichever replica reads it. The window is anchored at the trigger that passed, so a
steady flood still gives one trigger per window rather than none. A status change always passes (firing ->
resolved -> firing), and starts a new window for the new status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.alert import Alert

#: The entry kind in the state topic (see ``state_log``).
KIND = "dedup"


@dataclass(frozen=True)
class Seen:
    """The last trigger that passed for one (route, source, fingerprint): its status and record time (ms)."""

    status: str
    at_ms: float


class DedupWindow:
    """Dedup state of the raw partitions this replica owns: ``{partition: {(route, source, fingerprint): Seen}}``."""

    def __init__(self, window_s: float) -> None:
        self.window_ms = window_s * 1000
        self._seen: dict[int, dict[tuple[str, str, str], Seen]] = {}

    @property
    def enabled(self) -> bool:
        """Whether a window is set at all (``INGEST_DEDUP_WINDOW_S`` 0 turns dedup off)."""
        return self.window_ms > 0

    def admit(self, partition: int, route: str, alert: Alert, at_ms: float) -> Seen | None:
        """None when this alert repeats one that passed within the window (drop it); otherwise the new ``Seen``
        for it, already remembered (persist it with ``entry_key``)."""
        key = (route, alert.source, alert.fingerprint)
        seen = self._seen.setdefault(partition, {})
        last = seen.get(key)
        if last is not None and last.status == alert.status and at_ms < last.at_ms + self.window_ms:
            return None
        seen[key] = now = Seen(alert.status, at_ms)
        return now

    def restore(self, partition: int, entries: dict[tuple[Any, ...], dict[str, Any]], now_ms: float) -> None:
        """Load the state read back from the state topic, leaving out windows that have closed."""
        seen: dict[tuple[str, str, str], Seen] = {}
        for key, value in entries.items():
            if len(key) == 4 and key[0] == KIND and value["at_ms"] + self.window_ms > now_ms:
                seen[(str(key[1]), str(key[2]), str(key[3]))] = Seen(str(value["status"]), float(value["at_ms"]))
        self._seen[partition] = seen

    def forget(self, partition: int) -> None:
        """Drop the state of a partition this replica no longer owns (its new owner reads it back)."""
        self._seen.pop(partition, None)

    def expire(self, now_ms: float) -> None:
        """Drop closed windows from memory (their entries in the topic are harmless: a closed window admits)."""
        for seen in self._seen.values():
            for key in [key for key, last in seen.items() if last.at_ms + self.window_ms <= now_ms]:
                del seen[key]


def entry_key(route: str, alert: Alert) -> tuple[str, str, str, str]:
    """The parts of a dedup entry's key after the raw topic and partition."""
    return (KIND, route, alert.source, alert.fingerprint)


def entry_value(seen: Seen) -> dict[str, Any]:
    """The state-topic value of a dedup entry (``restore`` reads it back)."""
    return {"status": seen.status, "at_ms": seen.at_ms}
