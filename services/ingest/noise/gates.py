"""The gates a trigger passes in stage 2 before the dedup window and grouping, in order:

1. the route's **time windows** (``muting.outside_window``): outside them the trigger is dropped, as Alertmanager
   drops the notification;
2. the route's **threshold** (``counting``): dropped until the alert (or its group) was seen often enough within
   the window;
3. **silences and inhibition** (``muting.muted``): a firing alert is held (``holds``) until they end, a resolved
   one is dropped, and its held firing alert with it.

Each gate's state is kept per routed partition, beside dedup's and grouping's, in the state topic: the gates hand
their entries to the caller (``put``), which writes them with the batch's before the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.ingest.noise import counting
from services.ingest.noise.counting import Occurrences, occurrence_key
from services.ingest.noise.grouping import group_of
from services.ingest.noise.holds import Hold, HoldKey, Holds, key_of
from services.ingest.noise.muting import Muting
from services.ingest.noise.state_log import Entry
from services.ingest.pipeline import ReadyTrigger
from services.ingest.routing import Route, RoutingTable
from services.shared import metrics

#: How the notes of the gates begin: outside the route's time windows, below its threshold, silenced or inhibited.
WINDOW_NOTE = "outside its time windows"
THRESHOLD_NOTE = "below its threshold"
MUTED_NOTE = "muted"
#: Holds of muted alerts kept per routed partition unless the settings say otherwise.
DEFAULT_MAX_HOLDS = 10_000
#: A state entry for the caller to write: the partition, the key's parts after it, the value (None: delete).
Put = Callable[[Entry], None]
StateKey = Callable[..., list[Any]]


class Gates:
    """Time windows, thresholds, silences and inhibition, with the held alerts and the counts of the partitions
    this replica owns."""

    def __init__(self, muting: Muting, state_key: StateKey, max_holds: int = DEFAULT_MAX_HOLDS) -> None:
        """``state_key(partition, *parts)``: the state topic's key of an entry (``StateLog.key``)."""
        self.muting, self._key = muting, state_key
        self.holds = Holds(max_holds)
        self._occurrences: dict[int, Occurrences] = {}

    def active(self, routing: RoutingTable) -> bool:
        """Whether any gate can keep a trigger back now."""
        return self.muting.active or any(route.threshold is not None for route in routing.routes)

    def admit(
        self, put: Put, partition: int, route: Route | None, ready: ReadyTrigger, at_ms: float, offset: int | None
    ) -> tuple[str, str] | None:
        """Put one trigger through the gates at record time ``at_ms`` (``offset``: its routed record's); what
        happened (``muted``, ``counted`` or ``held``) and the note, or None when it passes."""
        alert = ready.event.data.alert
        at = datetime.fromtimestamp(at_ms / 1000, UTC)
        if route is not None:
            outside = self.muting.outside_window(route, at)
            if outside is not None:
                metrics.count_muted("time_window")
                return "muted", f"{WINDOW_NOTE}: {outside}"
            if route.threshold is not None and alert.status == "firing":
                below = self._count(put, partition, route, ready, at_ms, offset)
                if below is not None:
                    return "counted", below
        muted = self.muting.muted(alert, at)
        if muted is None:
            if alert.status == "resolved":  # its resolution ends any hold of its firing alert
                self._unhold(put, partition, key_of(ready))
            return None
        metrics.count_muted(muted.kind)
        if alert.status == "resolved":
            self._unhold(put, partition, key_of(ready))
            return "muted", f"{MUTED_NOTE}: {muted.reason}; resolved, so dropped"
        key, hold = self.holds.hold(partition, ready, at_ms)
        put(Entry(partition, self._key(partition, *key), hold.value()))
        return "held", f"{MUTED_NOTE}: {muted.reason}; held until that ends while it fires"

    def _count(
        self, put: Put, partition: int, route: Route, ready: ReadyTrigger, at_ms: float, offset: int | None
    ) -> str | None:
        """Count this occurrence on ``route``'s threshold; the note while the count is below it, else None."""
        threshold = route.threshold
        assert threshold is not None
        alert = ready.event.data.alert
        per = group_of(route, alert)[1] if threshold.per == "group" else alert.fingerprint
        key = (counting.KIND, *occurrence_key(route.name, alert.source, threshold.per, per))
        occurrences = self._occurrences.setdefault(partition, Occurrences())
        # Each routed record is an occurrence, counted once however often it is read (a replay after a crash): every
        # record of this key is on this partition, so its offset says whether it was counted.
        count = occurrences.record(key, at_ms, threshold.within, occurrences=threshold.occurrences, offset=offset)
        put(Entry(partition, self._key(partition, *key), occurrences.state(key)))
        if count >= threshold.occurrences:
            return None
        return (
            f"{THRESHOLD_NOTE}: occurrence {count} of the {threshold.occurrences} route {route.name} needs within "
            f"{threshold.within:g}s (per {threshold.per})"
        )

    def _unhold(self, put: Put, partition: int, key: HoldKey) -> None:
        if self.holds.release(partition, key) is not None:
            put(Entry(partition, self._key(partition, *key), None))

    def due(self, at: datetime, routing: RoutingTable, put: Put) -> list[tuple[int, Hold]]:
        """The holds to release at ``at``: their alert still fires and nothing mutes it any more (nor does its
        route's time window keep it back). Each leaves the holds, its entry deleted through ``put``; so does a hold
        whose alert stopped firing (its ``ends_at`` passed), which is not released."""
        releasing = []
        for partition, key, hold in self.holds.all():
            alert = hold.ready.event.data.alert
            stopped = alert.ends_at is not None and alert.ends_at <= at
            if not stopped:
                route = routing.by_name.get(hold.ready.event.data.route)
                if self.muting.muted(alert, at) is not None:
                    continue
                if route is not None and self.muting.outside_window(route, at) is not None:
                    continue  # its route's window is closed now: it waits on
                releasing.append((partition, hold))
            self._unhold(put, partition, key)
        return releasing

    def evicted(self, put: Put) -> None:
        """Delete (through ``put``) the holds and counts evicted to stay within bounds, and count the holds'."""
        evicted = self.holds.take_evicted()
        for partition, key in evicted:
            put(Entry(partition, self._key(partition, *key), None))
        metrics.count_noise_evictions("muted", len(evicted))
        for partition, occurrences in self._occurrences.items():
            for gone in occurrences.take_evicted():  # counted by ``Occurrences`` itself
                put(Entry(partition, self._key(partition, *gone), None))

    def restore(self, partition: int, entries: dict[tuple[Any, ...], dict[str, Any]]) -> None:
        """Read back a partition's holds and counts from its state entries."""
        self.holds.restore(partition, entries)
        occurrences = self._occurrences.setdefault(partition, Occurrences())
        for key, value in entries.items():
            if key and key[0] == counting.KIND:
                occurrences.restore(key, value)

    def forget(self, partition: int) -> None:
        """Drop a revoked partition's holds and counts from memory (their state stays in the topic)."""
        self.holds.forget(partition)
        self._occurrences.pop(partition, None)
