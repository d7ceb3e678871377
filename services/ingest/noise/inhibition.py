"""Inhibition: which firing alerts mute an alert, by the routing file's ``inhibit_rules`` (Alertmanager's semantics,
``inhibit/inhibit.go``).

For each rule whose target side matches the alert, a *source* is a firing alert that matches the rule's source side
and has the same value of every ``equal`` label as the alert (a label absent on both is equal; absent equals the
empty value, as in Alertmanager). When the alert matches the source side too (a two-sided rule, e.g. ``severity=
"critical"`` mutes ``severity=~"warning|critical"`` on one ``cluster``), only sources that do **not** also match the
target side count: so critical alerts never mute each other, and an alert never mutes itself. An alert is
inhibited while any source of any rule fires; ``inhibited_by`` names them all (Alertmanager records one).

The firing alerts are the rows of the alerts table (``schemas.alert_state.AlertState``, a global table every
replica reads whole), so every replica gives one answer whatever partition an alert is on. A row fires at the
record's time ``at`` when its status is firing and its ``ends_at`` (when its sender set one) is later: the time
comes from the record, so a replay decides as the live run did.

The index. Testing every firing row for every alert costs rows x rules per alert; with thousands firing that is
milliseconds per alert. So the inhibitor keeps, per rule, the rows matching its source side keyed by their
``equal`` values, and each row's two-sidedness once: an alert then looks at one bucket per rule whose target it
matches, the rows with its own ``equal`` values. ``add`` and ``remove`` keep it current as the table changes
(``apply`` has the table's ``on_change`` signature); the rules come from the hot-reloaded routing file, so
``with_rules`` rebuilds the index from the rows it holds when they change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime

from schemas.alert_state import AlertState, table_key
from services.ingest.routing.inhibit_rules import InhibitRule

__all__ = ["MAX_INHIBITED_BY", "Inhibitor"]

#: Most fingerprints ``inhibited_by`` names (the smallest, sorted): the list goes into the alert's row in the alerts
#: table, a Kafka record, which a rule with no ``equal`` labels and thousands of firing sources must not blow up.
MAX_INHIBITED_BY = 100

#: A source as the index keeps it: its fingerprint and ``ends_at`` (all that deciding needs, without a call).
_Source = tuple[str, datetime | None]
#: Per rule: ``{equal values: {row key: source}}``.
_Buckets = dict[tuple[str, ...], dict[bytes, _Source]]


class Inhibitor:
    """The inhibition rules in force and an index of the firing alerts that may be their sources."""

    def __init__(self, rules: Sequence[InhibitRule]) -> None:
        self.rules: tuple[InhibitRule, ...] = tuple(rules)
        #: Per rule, the indexed rows that match its source side but not its target side...
        self._one_sided: list[_Buckets] = [{} for _ in self.rules]
        #: ...and those that match both (they never mute an alert that matches both sides too).
        self._two_sided: list[_Buckets] = [{} for _ in self.rules]
        #: Every indexed row by its key in the alerts table.
        self._rows: dict[bytes, AlertState] = {}

    @classmethod
    def build(cls, rules: Sequence[InhibitRule], rows: Iterable[AlertState]) -> Inhibitor:
        """An inhibitor for ``rules`` indexing ``rows`` (those not firing are left out)."""
        inhibitor = cls(rules)
        for row in rows:
            inhibitor.add(row)
        return inhibitor

    def with_rules(self, rules: Sequence[InhibitRule]) -> Inhibitor:
        """This inhibitor when ``rules`` are the ones in force, else a new one for them over the same rows (the
        routing file was reloaded)."""
        if tuple(rules) == self.rules:
            return self
        return Inhibitor.build(rules, self._rows.values())

    def __len__(self) -> int:
        """How many firing rows are indexed."""
        return len(self._rows)

    def rows(self) -> Iterator[AlertState]:
        """The indexed rows."""
        return iter(list(self._rows.values()))

    def add(self, row: AlertState) -> None:
        """Index ``row`` (replacing the row at its key); a row that no longer fires is removed instead."""
        key = table_key(row.source, row.fingerprint)
        self.remove(key)
        if row.status != "firing":
            return
        self._rows[key] = row
        for index, rule in enumerate(self.rules):
            if rule.matches_source(row.labels):
                buckets = self._two_sided[index] if rule.matches_target(row.labels) else self._one_sided[index]
                buckets.setdefault(rule.equal_values(row.labels), {})[key] = (row.fingerprint, row.ends_at)

    def remove(self, key: bytes) -> None:
        """Forget the row at ``key`` (its key in the alerts table), if indexed."""
        row = self._rows.pop(key, None)
        if row is None:
            return
        for index, rule in enumerate(self.rules):
            values = rule.equal_values(row.labels)
            for buckets in (self._one_sided[index], self._two_sided[index]):
                bucket = buckets.get(values)
                if bucket is not None and bucket.pop(key, None) is not None and not bucket:
                    del buckets[values]

    def apply(self, key: bytes, row: AlertState | None) -> None:
        """A change of the alerts table (its ``on_change``): ``row`` at ``key``, or None when the key was deleted."""
        if row is None:
            self.remove(key)
        else:
            self.add(row)

    def expire(self, at: datetime) -> int:
        """Forget the rows no longer firing at ``at`` (their ``ends_at`` passed); how many were forgotten."""
        gone = [key for key, row in self._rows.items() if not row.firing_at(at)]
        for key in gone:
            self.remove(key)
        return len(gone)

    def inhibited_by(
        self,
        labels: Mapping[str, str],
        fingerprint: str,
        firing: Iterable[AlertState] | None = None,
        *,
        at: datetime | None = None,
        limit: int = MAX_INHIBITED_BY,
    ) -> list[str]:
        """Fingerprints of the firing source alerts that mute an alert with these ``labels`` (with ``alertname``:
        ``schemas.alert_state.matchable_labels``) and this ``fingerprint`` (never its own mute): sorted, unique,
        at most ``limit``; empty when nothing mutes it.

        ``firing``: the rows to look among (a row not firing at ``at`` is skipped); None, the rows indexed with
        ``add`` (the cheap way, one bucket per rule). ``at``: the record's time; None, a row fires while its status
        is firing, whatever its ``ends_at``.
        """
        if firing is None and not self._rows:
            return []  # nothing fires: no rule to test (the usual case, per alert)
        found: set[str] = set()
        given = None if firing is None else list(firing)  # read once per rule: an iterator would be spent after one
        for index, rule in enumerate(self.rules):
            if not rule.matches_target(labels):
                continue
            two_sided = rule.matches_source(labels)
            if given is not None:
                sources = _sources(rule, labels, given, two_sided)
                found.update(row.fingerprint for row in sources if at is None or row.firing_at(at))
                continue
            values = rule.equal_values(labels)
            buckets = (self._one_sided[index].get(values), None if two_sided else self._two_sided[index].get(values))
            for bucket in buckets:
                if bucket:
                    _collect(bucket.values(), at, found)
        found.discard(fingerprint)  # an alert never mutes itself
        return sorted(found)[:limit]


def _collect(sources: Iterable[_Source], at: datetime | None, found: set[str]) -> None:
    """Add to ``found`` the fingerprints of ``sources`` firing at ``at`` (the per-alert loop: plain, no calls)."""
    if at is None:
        found.update(fingerprint for fingerprint, _ in sources)
        return
    for fingerprint, ends_at in sources:
        if ends_at is None or ends_at > at:
            found.add(fingerprint)


def _sources(
    rule: InhibitRule, labels: Mapping[str, str], firing: Iterable[AlertState], two_sided: bool
) -> Iterator[AlertState]:
    """The rows of ``firing`` that are sources of ``rule`` for an alert with ``labels`` (without the index)."""
    values = rule.equal_values(labels)
    for row in firing:
        if (
            row.status == "firing"
            and rule.matches_source(row.labels)
            and rule.equal_values(row.labels) == values
            and not (two_sided and rule.matches_target(row.labels))
        ):
            yield row
