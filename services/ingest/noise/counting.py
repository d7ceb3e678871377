"""Counting occurrences for a route's ``threshold`` ("page only after 3 in 10 minutes"): how many times a key (a
route and an alert's source and fingerprint, or a route and a group) was seen within a window ending now.

``record(key, at_ms, within_s)`` counts the occurrence at the record's time ``at_ms`` (the Kafka timestamp, never
the clock) and answers how many there are within the window, this one included: those recorded at a time later
than ``at_ms - within_s``, so one exactly ``within_s`` earlier is out (as the dedup window closes at its end). The
route triggers when the answer reaches its ``occurrences``: the 3rd occurrence within 10 minutes triggers, and so
does each further one while 3 are within the window (the dedup window then holds them to one trigger per window).

Time is the record's, so a replay of the same records in the same order decides as the live run did, whichever
replica runs it. A record read again after a crash, when its occurrence was already counted and saved (state is
written before the offsets are committed), must not count twice: ``offset`` is the record's offset in the topic the
key's records are read from (the second stage's topic is keyed by the noise-state key, so one key's records are in
one partition and their offsets only grow). A record at or below the last offset counted for its key is one read
again: it is not counted, and gets the count it got then while its entry is held (always for the last
``occurrences`` of the key within the window), else the count of its window as it stands. The counts of every
record after it are then exactly the live run's. Timestamps are counted in the order records are read: one
stamped later than the current record (a producer's clock ahead) counts as already seen.

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
    """One key's occurrences, oldest first: their record times (ms), offsets (or None) and the counts they got;
    and the last offset counted for the key (-1: none)."""

    times: list[float] = field(default_factory=list)
    offsets: list[int | None] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    last_offset: int = -1

    def drop_first(self, count: int) -> None:
        del self.times[:count], self.offsets[:count], self.counts[:count]

    def insert(self, at_ms: float, offset: int | None, count: int) -> None:
        # After every entry with the same time: they were read first.
        index = bisect.bisect_right(self.times, at_ms)
        self.times.insert(index, at_ms)
        self.offsets.insert(index, offset)
        self.counts.insert(index, count)

    def within(self, at_ms: float, within_ms: float) -> int:
        """How many entries are later than ``at_ms - within_ms``."""
        return len(self.times) - bisect.bisect_right(self.times, at_ms - within_ms)


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
        offset: int | None = None,
    ) -> int:
        """Count an occurrence of ``key`` at ``at_ms`` and return how many are within ``within_s`` seconds up to
        it, this one included (at most ``occurrences``: the entries kept per key). ``offset``: the record's offset
        in its (keyed) topic; a record at or below the key's last one is read again and not counted twice."""
        key = tuple(key)
        counted = self._keys.pop(key, None) or _Counted()
        self._keys[key] = counted  # the most recently recorded, last
        keep = max(1, min(occurrences, MAX_OCCURRENCES))
        if offset is not None and offset <= counted.last_offset:
            if offset in counted.offsets:
                return counted.counts[counted.offsets.index(offset)]
            return min(counted.within(at_ms, within_s * 1000) + 1, keep)  # its own entry is no longer held
        if offset is not None:
            counted.last_offset = offset
        # Entries out of the window for this record are forgotten: they count for no later occurrence read in order.
        counted.drop_first(bisect.bisect_right(counted.times, at_ms - within_s * 1000))
        count = min(len(counted.times) + 1, keep)
        counted.insert(at_ms, offset, count)
        counted.drop_first(max(len(counted.times) - keep, 0))
        self._evict()
        return count

    def count(self, key: Key, at_ms: float, within_s: float) -> int:
        """How many occurrences of ``key`` are within ``within_s`` seconds of ``at_ms``, without recording one
        (for ``alertmesh route``: the count so far)."""
        counted = self._keys.get(tuple(key))
        return 0 if counted is None else counted.within(at_ms, within_s * 1000)

    def state(self, key: Key) -> dict[str, Any] | None:
        """The key's entries as JSON for the state topic (``restore`` reads it back); None when it has none (delete
        the key from the topic)."""
        counted = self._keys.get(tuple(key))
        if counted is None or not counted.times:
            return None
        return {
            "times": list(counted.times),
            "offsets": list(counted.offsets),
            "counts": list(counted.counts),
            "last_offset": counted.last_offset,
        }

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
    times, offsets, counts = value.get("times"), value.get("offsets"), value.get("counts")
    last_offset = value.get("last_offset", -1)
    if not (isinstance(times, list) and isinstance(offsets, list) and isinstance(counts, list)):
        return None
    if not len(times) == len(offsets) == len(counts) or not _whole(last_offset, -1):
        return None
    rows = list(zip(times, offsets, counts, strict=True))
    if not all(_entry(at, offset, count) for at, offset, count in rows):
        return None
    rows.sort(key=lambda row: float(row[0]))
    rows = rows[-MAX_OCCURRENCES:]
    return _Counted(
        [float(at) for at, _, _ in rows], [offset for _, offset, _ in rows], [count for _, _, count in rows],
        int(last_offset),
    )  # fmt: skip


def _whole(value: object, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _entry(at: object, offset: object, count: object) -> bool:
    number = isinstance(at, int | float) and not isinstance(at, bool) and at == at  # NaN is not a time
    return number and _whole(count, 1) and (offset is None or _whole(offset, 0))
