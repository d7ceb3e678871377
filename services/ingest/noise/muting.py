"""What keeps a routed alert from starting its workflow although it matched: its route's time windows, a silence,
or an inhibiting alert. Decided in stage 2 for every trigger (``control``), and in stage 1 for the alerts table's
row (``alert_rows``), by the same rules:

- **time windows** (the route's ``mute_time_intervals`` / ``active_time_intervals``), at the raw record's time, so
  a replay decides as the live run did. A trigger outside its window is dropped, as Alertmanager drops the
  notification.
- **silences** (``services.shared.silences``, a global table every replica reads whole): a firing alert they mute
  is held (``holds``) and starts its workflow if it still fires when the silence ends.
- **inhibition** (the routing file's ``inhibit_rules``): a firing source alert, from the alerts table, mutes its
  targets; a muted firing alert is held likewise until the source resolves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from schemas.alert import Alert
from schemas.alert_state import AlertState, matchable_labels
from services.ingest.noise.inhibition import Inhibitor
from services.ingest.routing import Route, RoutingTable
from services.shared.alert_table import AlertTable
from services.shared.silences import Silences

MutedKind = Literal["time", "silenced", "inhibited"]


@dataclass(frozen=True)
class Muted:
    """Why a trigger does not go out: its ``kind``, what muted it (silence ids, inhibiting fingerprints), and a
    sentence for the trace, the preview and the log."""

    kind: MutedKind
    by: tuple[str, ...]
    reason: str

    @property
    def held(self) -> bool:
        """Whether the trigger waits for the mute to end (silences, inhibition) rather than being dropped (time)."""
        return self.kind != "time"


class Muting:
    """Decides time windows, silences and inhibition for alerts, against the rules in force now."""

    def __init__(self, silences: Silences, alerts: AlertTable | None, routing: Callable[[], RoutingTable]) -> None:
        self._silences, self._alerts, self._routing = silences, alerts, routing
        #: Built on first use from the alerts table's rows, then kept current by ``alert_changed``.
        self._inhibitor: Inhibitor | None = None

    @property
    def silences(self) -> Silences:
        """The silence store decisions read."""
        return self._silences

    @property
    def active(self) -> bool:
        """Whether anything can mute now: a silence exists (any state: a pending one starts by itself), the routing
        file has inhibition rules, or a route has time windows."""
        routing = self._routing()
        return bool(routing.inhibit_rules) or routing.timed or bool(self._silences.all())

    def silenced_by(self, labels: Mapping[str, str], at: datetime) -> list[str]:
        """Ids of the silences muting alerts with these labels at ``at``."""
        return self._silences.silencing(labels, at)

    def inhibited_by(self, labels: Mapping[str, str], fingerprint: str, at: datetime) -> list[str]:
        """Fingerprints of the firing alerts inhibiting an alert with these labels at ``at``."""
        rules = self._routing().inhibit_rules
        if not rules or self._alerts is None:
            return []
        # The routing file may be reloaded at any time: the index follows its rules.
        if self._inhibitor is None:
            self._inhibitor = Inhibitor.build(rules, self._alerts.rows())
        else:
            self._inhibitor = self._inhibitor.with_rules(rules)
        return self._inhibitor.inhibited_by(labels, fingerprint, at=at)

    def alert_changed(self, key: bytes, row: AlertState | None) -> None:
        """A change of the alerts table (its ``on_change``): keeps the inhibitor's index of firing sources current."""
        if self._inhibitor is not None:
            self._inhibitor.apply(key, row)

    def outside_window(self, route: Route, at: datetime) -> str | None:
        """Why ``route`` may not trigger at ``at`` (its time windows), or None when it may."""
        if not (route.mute_time_intervals or route.active_time_intervals):
            return None
        return self._routing().time_verdict(route, at)

    def muted(self, alert: Alert, at: datetime) -> Muted | None:
        """The silences, else the inhibiting alerts, muting ``alert`` at ``at``; None when none does."""
        labels = matchable_labels(alert)
        silences = self.silenced_by(labels, at)
        if silences:
            return Muted("silenced", tuple(silences), f"silenced by {', '.join(silences)}")
        inhibitors = self.inhibited_by(labels, alert.fingerprint, at)
        if inhibitors:
            shown = ", ".join(inhibitors[:5]) + (f" and {len(inhibitors) - 5} more" if len(inhibitors) > 5 else "")
            return Muted("inhibited", tuple(inhibitors), f"inhibited by firing alert {shown}")
        return None

    def verdict(self, route: Route | None, alert: Alert, at: datetime) -> Muted | None:
        """What mutes ``alert`` on ``route`` at ``at`` (time windows first), or None when nothing does."""
        outside = self.outside_window(route, at) if route is not None else None
        if outside is not None:
            return Muted("time", (), outside)
        return self.muted(alert, at)
