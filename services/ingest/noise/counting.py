"""Counting occurrences for a route's ``threshold`` ("page only after 3 in 10 minutes"): how many times a key (a
route and an alert's source and fingerprint, or a route and a group) was seen within a window ending now.

``record(key, at_ms, within_s)`` counts the occurrence at the record's time ``at_ms`` (the Kafka timestamp, never
the clock) and answers how many there are within the window, this one included: those recorded at a time later
than ``at_ms - within_s``, so one exactly ``within_s`` earlier is out (as the dedup window closes at its end). The
route triggers when the answer reaches its ``occurrences``: the 3rd occurrence within 10 minutes triggers, and so
does each further one while 3 are within the window (the dedup window then holds them to one trigger per window).

Time is the record's, so a replay of the same records in the same order decides as the live run did, whichever
replica runs it. A record read again after a crash, when its occurrence was already counted and saved (state is
written before the offsets are committed), is recognised by its ``event`` (the record's identity: its partition
and offset, or the alert's event id) while its entry is held, and gets the count it got then instead of counting
twice. Timestamps are counted in the order records are read: one stamped later than the current record (a
producer's clock ahead) counts as already seen.

Memory is bounded: per key at most ``occurrences`` entries (the newest; the count is exact up to ``occurrences``,
which is all a threshold asks), entries older than the window are dropped as the key is recorded (and by
``forget_older_than``), and at most ``max_keys`` keys, the least recently recorded evicted past it (counted in
``alertmesh_noise_evictions_total{kind="threshold"}``; an evicted key counts from 1 again). ``state``/``restore``
are the JSON of one key for the compacted state topic.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from services.ingest.noise.keys import key_part
from services.ingest.routing.thresholds import MAX_OCCURRENCES
from services.shared import metrics

__all__ = ["DEFAULT_MAX_KEYS", "KIND", "Occurrences", "occurrence_key"]

#: The entry kind in the state topic, and the eviction counter's label.
KIND = "threshold"
#: Keys kept at most (about 100 bytes each plus 40 per entry).
DEFAULT_MAX_KEYS = 100_000

Key = tuple[str, ...]


def occurrence_key(route: str, *parts: str) -> Key:
    """A counted key: the route and what is counted (source and fingerprint, or the group key), each part bounded
    (``keys.key_part``) so a sender's 400 KB fingerprint cannot make a huge key."""
    return (key_part(route), *(key_part(part) for part in parts))


@dataclass
class _Counted:
    """One key's occurrences, oldest first: their record times (ms), events (or None) and the counts they got."""

    times: list[float] = field(default_factory=list)
    events: list[str | None] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)

    def drop_first(self, count: int) -> None:
        del self.times[:count], self.events[:count], self.counts[:count]

    def insert(self, at_ms: float, event: str | None, count: int) -> int:
        # After every entry with the same time: they were read first.
        index = bisect.bisect_right(self.times, at_ms)
        self.times.insert(index, at_ms)
        self.events.insert(index, event)
        self.counts.insert(index, count)
        return index


class Occurrences:
    """Occurrence counts per key within sliding windows, bounded in keys and in entries per key."""

    def __init__(self, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.max_keys = max_keys
        #: Keys in the order they were last recorded: the first is the least recent (evicted first).
        self._keys: dict[Key, _Counted] = {}
        self._evicted: list[Key] = []

    def __len__(self) -> int:
        """How many keys are held."""
        return len(self._keys)

    def record(
        self,
        key: Key,
        at_ms: float,
        within_s: float,
        *,
        occurrences: int = MAX_OCCURRENCES,
        event: str | None = None,
    ) -> int:
        """Count an occurrence of ``key`` at ``at_ms`` and return how many are within ``within_s`` seconds up to
        it, this one included (at most ``occurrences``: the entries kept per key). ``event``: the record's
        identity; an event already counted (a record read again) is not counted twice and gets its count again."""
        key = tuple(key)
        counted = self._keys.pop(key, None) or _Counted()
        self._keys[key] = counted  # the most recently recorded, last
        if event is not None and event in counted.events:
            return counted.counts[counted.events.index(event)]
        # Entries out of the window for this record are forgotten: they count for no later occurrence read in order.
        counted.drop_first(bisect.bisect_right(counted.times, at_ms - within_s * 1000))
        keep = max(1, min(occurrences, MAX_OCCURRENCES))
        count = min(len(counted.times) + 1, keep)
        counted.insert(at_ms, event, count)
        counted.drop_first(max(len(counted.times) - keep, 0))
        self._evict()
        return count

    def count(self, key: Key, at_ms: float, within_s: float) -> int:
        """How many occurrences of ``key`` are within ``within_s`` seconds of ``at_ms``, without recording one
        (for ``alertmesh route``: the count so far)."""
        counted = self._keys.get(tuple(key))
        if counted is None:
            return 0
        return len(counted.times) - bisect.bisect_right(counted.times, at_ms - within_s * 1000)

    def state(self, key: Key) -> dict[str, Any] | None:
        """The key's entries as JSON for the state topic (``restore`` reads it back); None when it has none (delete
        the key from the topic)."""
        counted = self._keys.get(tuple(key))
        if counted is None or not counted.times:
            return None
        return {"times": list(counted.times), "events": list(counted.events), "counts": list(counted.counts)}

    def restore(self, key: Key, value: dict[str, Any]) -> None:
        """Load one key's entries read back from the state topic (a value that is not ``state``'s shape is
        ignored: state must never stop a partition)."""
        counted = _decoded(value)
        if counted is None:
            return
        key = tuple(key)
        self._keys.pop(key, None)
        if counted.times:
            self._keys[key] = counted
            self._evict()

    def forget(self, key: Key) -> None:
        """Drop one key (its partition moved to another replica, which reads it back)."""
        self._keys.pop(tuple(key), None)

    def forget_older_than(self, at_ms: float) -> list[Key]:
        """Drop every entry recorded at a time before ``at_ms`` (the record time now, less the longest window in
        force); returns the keys left without entries, now forgotten, to delete from the state topic."""
        emptied = []
        for key, counted in self._keys.items():
            counted.drop_first(bisect.bisect_left(counted.times, at_ms))
            if not counted.times:
                emptied.append(key)
        for key in emptied:
            del self._keys[key]
        return emptied

    def take_evicted(self) -> list[Key]:
        """The keys evicted past ``max_keys`` since the last call (already counted), to delete from the state topic."""
        evicted, self._evicted = self._evicted, []
        return evicted

    def _evict(self) -> None:
        excess = len(self._keys) - self.max_keys
        if excess <= 0:
            return
        oldest = [key for key, _ in zip(self._keys, range(excess), strict=False)]
        for key in oldest:
            del self._keys[key]
        self._evicted.extend(oldest)
        metrics.count_noise_evictions(KIND, len(oldest))


def _decoded(value: object) -> _Counted | None:
    """``state``'s JSON back into entries, sorted by time and at most ``MAX_OCCURRENCES``; None if malformed."""
    if not isinstance(value, dict):
        return None
    times, events, counts = value.get("times"), value.get("events"), value.get("counts")
    if not (isinstance(times, list) and isinstance(events, list) and isinstance(counts, list)):
        return None
    if not len(times) == len(events) == len(counts):
        return None
    rows = list(zip(times, events, counts, strict=True))
    if not all(_entry(at, event, count) for at, event, count in rows):
        return None
    rows.sort(key=lambda row: float(row[0]))
    rows = rows[-MAX_OCCURRENCES:]
    return _Counted([float(at) for at, _, _ in rows], [event for _, event, _ in rows], [count for _, _, count in rows])


def _entry(at: object, event: object, count: object) -> bool:
    number = isinstance(at, int | float) and not isinstance(at, bool) and at == at  # NaN is not a time
    whole = isinstance(count, int) and not isinstance(count, bool) and count >= 1
    return number and whole and (event is None or isinstance(event, str))
