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

from dataclasses import dataclass, field
from typing import Any

from schemas.alert import Alert
from services.ingest.noise.keys import key_part

#: The entry kind in the state topic (see ``state_log``).
KIND = "dedup"
#: ``INGEST_DEDUP_MAX_ENTRIES``'s default: entries per raw partition (about 200 bytes of memory each).
DEFAULT_MAX_ENTRIES = 100_000
SeenKey = tuple[str, str, str]


@dataclass(frozen=True)
class Seen:
    """The last trigger that passed for one (route, source, fingerprint): its status and record time (ms)."""

    status: str
    at_ms: float


@dataclass
class DedupWindow:
    """Dedup state of the raw partitions this replica owns: ``{partition: {(route, source, fingerprint): Seen}}``,
    at most ``max_entries`` per partition.

    Past the bound the entry whose trigger passed longest ago is evicted (``take_evicted`` hands them to the
    caller, who deletes them from the state topic and counts them): a repeat of an evicted alert within its
    window passes as new. Each partition's entries are in the order their triggers passed, so the oldest is first.
    """

    window_s: float
    max_entries: int = DEFAULT_MAX_ENTRIES
    _seen: dict[int, dict[SeenKey, Seen]] = field(default_factory=dict)
    _evicted: list[tuple[int, SeenKey]] = field(default_factory=list)

    @property
    def window_ms(self) -> float:
        """The window in milliseconds."""
        return self.window_s * 1000

    @property
    def enabled(self) -> bool:
        """Whether a window is set at all (``INGEST_DEDUP_WINDOW_S`` 0 turns dedup off)."""
        return self.window_ms > 0

    def repeats(self, partition: int, route: str, alert: Alert, at_ms: float) -> bool:
        """Whether this alert repeats one that passed within the window (``admit`` would drop it)."""
        last = self._seen.get(partition, {}).get(seen_key(route, alert))
        return last is not None and last.status == alert.status and at_ms < last.at_ms + self.window_ms

    def admit(self, partition: int, route: str, alert: Alert, at_ms: float) -> Seen | None:
        """None when this alert repeats one that passed within the window (drop it); otherwise the new ``Seen``
        for it, already remembered (persist it with ``entry_key``)."""
        if self.repeats(partition, route, alert, at_ms):
            return None
        key = seen_key(route, alert)
        seen = self._seen.setdefault(partition, {})
        seen.pop(key, None)  # moved to the end: the newest
        seen[key] = now = Seen(alert.status, at_ms)
        while len(seen) > self.max_entries:
            oldest = next(iter(seen))
            del seen[oldest]
            self._evicted.append((partition, oldest))
        return now

    def unadmit(self, partition: int, route: str, alert: Alert) -> None:
        """Forget what ``admit`` remembered for this alert (its state could not be written)."""
        self._seen.get(partition, {}).pop(seen_key(route, alert), None)

    def take_evicted(self) -> list[tuple[int, SeenKey]]:
        """The entries evicted since the last call, to delete from the state topic."""
        evicted, self._evicted = self._evicted, []
        return evicted

    def restore(self, partition: int, entries: dict[tuple[Any, ...], dict[str, Any]], now_ms: float) -> list[SeenKey]:
        """Load the state read back from the state topic, leaving out windows that have closed and, past
        ``max_entries``, the oldest; returns the keys left out, to delete from the topic."""
        seen: dict[SeenKey, Seen] = {}
        stale: list[SeenKey] = []
        for key, value in entries.items():
            if len(key) != 4 or key[0] != KIND:
                continue
            parts = (str(key[1]), str(key[2]), str(key[3]))
            if value["at_ms"] + self.window_ms > now_ms:
                seen[parts] = Seen(str(value["status"]), float(value["at_ms"]))
            else:
                stale.append(parts)
        ordered = sorted(seen.items(), key=lambda item: item[1].at_ms)
        excess = max(len(ordered) - self.max_entries, 0)
        stale.extend(key for key, _ in ordered[:excess])
        self._seen[partition] = dict(ordered[excess:])
        return stale

    def forget(self, partition: int) -> None:
        """Drop the state of a partition this replica no longer owns (its new owner reads it back)."""
        self._seen.pop(partition, None)

    def expire(self, now_ms: float) -> list[tuple[int, SeenKey]]:
        """Drop closed windows from memory; their keys, so the caller deletes them from the state topic too."""
        gone = []
        for partition, seen in self._seen.items():
            for key in [key for key, last in seen.items() if last.at_ms + self.window_ms <= now_ms]:
                del seen[key]
                gone.append((partition, key))
        return gone


def seen_key(route: str, alert: Alert) -> SeenKey:
    """The dedup key of an alert on a route, each part bounded (``keys.key_part``)."""
    return key_part(route), key_part(alert.source), key_part(alert.fingerprint)


def entry_key(route: str, alert: Alert) -> tuple[str, str, str, str]:
    """The parts of a dedup entry's key after the raw topic and partition."""
    return (KIND, *seen_key(route, alert))


def entry_value(seen: Seen) -> dict[str, Any]:
    """The state-topic value of a dedup entry (``restore`` reads it back)."""
    return {"status": seen.status, "at_ms": seen.at_ms}
