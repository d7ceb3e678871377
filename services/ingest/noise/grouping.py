"""Grouping, like Alertmanager's: a route with ``group_by`` collects its alerts by those labels' values and sends
one trigger per group carrying them all (``Trigger.alerts``).

A group's first alert opens it; it is flushed ``group_wait`` seconds later (record time), or at once when it holds
``group_max_alerts``. Alerts arriving after a flush are flushed ``group_interval`` after it; a group that stays
empty for ``group_interval`` is forgotten (the next alert opens it anew with ``group_wait``). An alert that is
already pending replaces its older copy (same source and fingerprint): a group holds each alert once, in its
latest state.

A group holds the alerts of one source: its key is the route, the ``group_by`` values *and the source*, so an alert
of another source never joins (or replaces an alert of) another source's group. A route with
``group_across_sources: true`` groups every source's alerts together; each is still kept by its source and
fingerprint, so two sources' alerts with one fingerprint are both in the group.

The state is bounded: at most ``group_max_groups`` groups per raw partition. A new group past the bound first
evicts the oldest empty group (one flushed and waiting out its interval: the next alert of that group opens it
anew, with ``group_wait`` instead of the rest of ``group_interval``); when every group holds pending alerts, the
alert is not grouped and goes out as its own trigger. Both count in ``alertmesh_noise_evictions_total``.

A group belongs to one raw partition (the one its alerts arrived on); its idempotency key is
``workflow:group:route:<hash of the group labels>:p<partition>:<flush time>``. Flush times of one group strictly
increase (``group_interval`` > 0), and they are computed from record times held in the state topic, so a flush
repeated after a crash has the same key and Temporal starts its workflow once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas.alert import Alert
from schemas.identity import _UNSAFE, alert_event_id, time_text, trigger_event_id
from schemas.trigger import Trigger, WorkflowTrigger
from services.ingest.noise.keys import key_part
from services.ingest.routing import Route

#: The entry kinds in the state topic (see ``state_log``): a group's header, and each of its pending alerts. One
#: entry per alert keeps every state record about as small as the alert's own trigger (a whole group in one record
#: could outgrow Kafka's record size) and writing an alert costs the same however full its group is. An alert's
#: entry holds the single-alert trigger the pipeline built for it, as serialized (no second encoding per alert).
KIND = "group"
ALERT_KIND = "group-alert"
EVENT_SOURCE = "alertmesh/ingest"
#: ``INGEST_GROUP_MAX_GROUPS``'s default: groups per raw partition (each holds up to ``group_max_alerts``).
DEFAULT_MAX_GROUPS = 1000
GroupKey = tuple[str, str]


@dataclass
class Group:
    """One group of one route on one raw partition: pending alerts, when they are due, when it last flushed."""

    route: str
    workflow: str
    inputs: dict[str, Any]
    labels: dict[str, str]
    interval_ms: float
    flush_at_ms: float | None = None
    last_flush_ms: float | None = None
    alerts: dict[str, Alert] = field(default_factory=dict)

    def value(self) -> dict[str, Any]:
        """The state-topic value of this group's header (its pending alerts are entries of their own)."""
        return {
            "route": self.route,
            "workflow": self.workflow,
            "inputs": self.inputs,
            "labels": self.labels,
            "interval_ms": self.interval_ms,
            "flush_at_ms": self.flush_at_ms,
            "last_flush_ms": self.last_flush_ms,
        }

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Group:
        """A group's header from its state-topic value (``value``), without its alerts."""
        return cls(
            route=value["route"],
            workflow=value["workflow"],
            inputs=value["inputs"],
            labels=value["labels"],
            interval_ms=value["interval_ms"],
            flush_at_ms=value["flush_at_ms"],
            last_flush_ms=value["last_flush_ms"],
        )

    def forgotten(self, now_ms: float) -> bool:
        """Empty, and quiet for a whole interval since its last flush: the next alert opens it anew."""
        return not self.alerts and (self.last_flush_ms is None or self.last_flush_ms + self.interval_ms <= now_ms)


def alert_parts(header: tuple[str, str, str], name: str) -> tuple[str, str, str, str]:
    """The key parts of a pending alert's entry, from its group header's key parts and its ``member`` name."""
    return (ALERT_KIND, header[1], header[2], name)


def group_labels(route: Route, alert: Alert) -> dict[str, str]:
    """The values of the route's ``group_by`` labels (an absent label counts as empty, as in Alertmanager)."""
    return {name: alert.labels.get(name, "") for name in route.group_by}


def group_id(labels: dict[str, str], source: str | None = None) -> str:
    """A short, stable name of a group's label values and, unless it groups across sources, its source, for keys."""
    named = labels if source is None else {"labels": labels, "source": source}
    return hashlib.sha256(orjson.dumps(named, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def group_of(route: Route, alert: Alert) -> GroupKey:
    """The in-memory key of the group ``alert`` joins on ``route``: the route's name and the group's id."""
    source = None if route.group_across_sources else alert.source
    return key_part(route.name), group_id(group_labels(route, alert), source)


def member(route: Route, alert: Alert) -> str:
    """The alert's name within its group: its fingerprint, with its source too when the group mixes sources."""
    if not route.group_across_sources:
        return key_part(alert.fingerprint)
    return key_part(orjson.dumps([alert.source, alert.fingerprint]).decode())


class Groups:
    """The groups of the raw partitions this replica owns: ``{partition: {(route, group id): Group}}``, at most
    ``max_groups`` per partition (see the module's docstring for what happens past it)."""

    def __init__(self, max_alerts: int, max_groups: int = DEFAULT_MAX_GROUPS) -> None:
        self.max_alerts, self.max_groups = max_alerts, max_groups
        self._groups: dict[int, dict[GroupKey, Group]] = {}
        self._evicted: list[tuple[int, tuple[str, str, str]]] = []
        #: Partitions found full of pending groups: no empty one to evict until a flush empties some.
        self._all_pending: set[int] = set()

    def has_room(self, partition: int, route: Route, alert: Alert, at_ms: float) -> bool:
        """Whether ``add`` can take this alert: its group exists, or the partition has room for a new one (evicting
        the oldest empty group if it must). False when every group of the partition holds pending alerts."""
        groups = self._groups.get(partition, {})
        if len(groups) < self.max_groups:
            return True
        current = groups.get(group_of(route, alert))
        if current is not None and not current.forgotten(at_ms):
            return True
        if partition in self._all_pending:
            return False
        empty = next((key for key, group in groups.items() if not group.alerts), None)
        if empty is None:
            self._all_pending.add(partition)
            return False
        del groups[empty]
        self._evicted.append((partition, (KIND, *empty)))
        return True

    def take_evicted(self) -> list[tuple[int, tuple[str, str, str]]]:
        """The group headers evicted since the last call, to delete from the state topic."""
        evicted, self._evicted = self._evicted, []
        return evicted

    def flushed(self) -> None:
        """Groups were flushed (emptied): partitions full of pending groups may have empty ones again."""
        self._all_pending.clear()

    def add(self, partition: int, route: Route, alert: Alert, at_ms: float) -> tuple[tuple[str, str, str], Group]:
        """Put ``alert`` in its group (opening it if needed; check ``has_room`` first to stay within
        ``max_groups``); the group's header key parts and the group (the alert's own entry key parts are
        ``alert_parts(header, member(route, alert))``)."""
        key = group_of(route, alert)
        groups = self._groups.setdefault(partition, {})
        group = groups.get(key)
        if group is None or group.forgotten(at_ms):
            group = groups[key] = Group(
                route.name, route.workflow, dict(route.inputs), group_labels(route, alert), route.group_interval * 1000
            )
        if not group.alerts:
            # A new group waits group_wait; after a flush, the next one waits out the interval (a group that is
            # not forgotten has ``at_ms`` before the interval's end).
            last = group.last_flush_ms
            group.flush_at_ms = at_ms + route.group_wait * 1000 if last is None else last + group.interval_ms
        name = member(route, alert)
        group.alerts.pop(name, None)
        group.alerts[name] = alert
        if len(group.alerts) >= self.max_alerts:
            # Full: flush now, but never at the last flush's time (its key would be the same).
            earliest = at_ms if group.last_flush_ms is None else max(at_ms, group.last_flush_ms + 1)
            group.flush_at_ms = min(group.flush_at_ms or earliest, earliest)
        return (KIND, *key), group

    def due(self, now_ms: float) -> list[tuple[int, tuple[str, str, str], Group]]:
        """Groups with alerts whose flush time has come."""
        return [
            (partition, (KIND, *key), group)
            for partition, groups in self._groups.items()
            for key, group in groups.items()
            if group.alerts and group.flush_at_ms is not None and group.flush_at_ms <= now_ms
        ]

    def discard(self, partition: int, route: Route, alert: Alert) -> None:
        """Take ``alert`` back out of its group (its state could not be written); a group it alone opened goes."""
        groups = self._groups.get(partition, {})
        key = group_of(route, alert)
        group = groups.get(key)
        if group is not None:
            group.alerts.pop(member(route, alert), None)
            if not group.alerts and group.last_flush_ms is None:
                del groups[key]

    def restore(self, partition: int, entries: dict[tuple[Any, ...], dict[str, Any]], now_ms: float) -> None:
        """Load the groups read back from the state topic, leaving out forgotten ones (every pending group comes
        back, even past ``max_groups``: it holds alerts; the bound applies to the groups opened after)."""
        groups: dict[GroupKey, Group] = {}
        for key, value in entries.items():
            if len(key) == 3 and key[0] == KIND:
                groups[(str(key[1]), str(key[2]))] = Group.from_value(value)
        for key, value in entries.items():
            if len(key) == 4 and key[0] == ALERT_KIND and (group := groups.get((str(key[1]), str(key[2])))):
                group.alerts[str(key[3])] = Alert.model_validate(value["data"]["alert"])
        self._groups[partition] = {key: group for key, group in groups.items() if not group.forgotten(now_ms)}

    def forget(self, partition: int) -> None:
        """Drop the groups of a partition this replica no longer owns (its new owner reads them back)."""
        self._groups.pop(partition, None)

    def expire(self, now_ms: float) -> list[tuple[int, tuple[str, str, str]]]:
        """Drop forgotten groups from memory; their entry keys, so the caller can tombstone them."""
        gone = []
        for partition, groups in self._groups.items():
            for key in [key for key, group in groups.items() if group.forgotten(now_ms)]:
                del groups[key]
                gone.append((partition, (KIND, *key)))
        return gone

    def partitions(self) -> set[int]:
        """The partitions that hold groups in memory."""
        return set(self._groups)


def group_triggers(
    partition: int,
    group: Group,
    max_bytes: int,
    fits: Callable[[WorkflowTrigger, int], bool],
    max_alerts: int = 10_000,
) -> list[WorkflowTrigger]:
    """The trigger(s) flushing ``group``: one carrying every pending alert, split in parts when that one would not
    fit ``max_bytes`` (``fits(trigger, max_bytes)`` says whether it does), each part with its own key
    (``.a``/``.b`` appended, halving again as needed)."""
    base = group_key(group, partition)
    alerts = list(group.alerts.values())
    if len(alerts) <= max_alerts:
        return _split(group, base, alerts, max_bytes, fits)
    # More alerts joined in the batch that filled the group: one trigger per max_alerts of them.
    chunks = [alerts[start : start + max_alerts] for start in range(0, len(alerts), max_alerts)]
    return [
        trigger
        for index, chunk in enumerate(chunks)
        for trigger in _split(group, f"{base}.{index + 1}", chunk, max_bytes, fits)
    ]


def _split(
    group: Group, key: str, alerts: list[Alert], max_bytes: int, fits: Callable[[WorkflowTrigger, int], bool]
) -> list[WorkflowTrigger]:
    whole = _trigger(group, key, alerts)
    if len(alerts) == 1 or fits(whole, max_bytes):
        return [whole]  # a single alert too large becomes its route's dead letter in the caller
    half = len(alerts) // 2
    return _split(group, f"{key}.a", alerts[:half], max_bytes, fits) + _split(
        group, f"{key}.b", alerts[half:], max_bytes, fits
    )


def group_header_value(route: Route, alert: Alert) -> dict[str, Any]:
    """The state-topic value of the header of the group ``alert`` would open on ``route`` (for its size)."""
    labels = group_labels(route, alert)
    return Group(route.name, route.workflow, dict(route.inputs), labels, route.group_interval * 1000, 0, 0).value()


def lone_trigger(partition: int, route: Route, alert: Alert, at_ms: float) -> WorkflowTrigger:
    """The trigger a group of ``alert`` alone would flush as: the smallest a group holding it can be, so when this
    does not fit a record, no group holding the alert can ever be written."""
    group = Group(route.name, route.workflow, dict(route.inputs), group_labels(route, alert), 0, flush_at_ms=at_ms)
    return _trigger(group, group_key(group, partition), [alert])


def group_key(group: Group, partition: int) -> str:
    """``workflow:group:route:<group id>:p<partition>:<flush time>``, each part sanitized as ``keys`` does."""
    assert group.flush_at_ms is not None
    flushed = time_text(datetime.fromtimestamp(group.flush_at_ms / 1000, UTC))
    parts = [group.workflow, "group", group.route, group_id(group.labels), f"p{partition}", flushed]
    return ":".join(_UNSAFE.sub("_", part) for part in parts)


def _trigger(group: Group, key: str, alerts: list[Alert]) -> WorkflowTrigger:
    first = alert_event_id(alerts[0])
    assert group.flush_at_ms is not None
    return WorkflowTrigger(
        id=trigger_event_id(key),
        source=EVENT_SOURCE,
        time=datetime.fromtimestamp(group.flush_at_ms / 1000, UTC),
        subject=group.workflow,
        correlationid=first,
        causationid=first,
        data=Trigger(
            workflow=group.workflow,
            idempotency_key=key,
            route=group.route,
            inputs=dict(group.inputs),
            alert=alerts[0],
            alerts=alerts,
        ),
    )
