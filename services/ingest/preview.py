"""What ingest would do with records, without Kafka: the logic of ``alertmesh route``.

It runs ingest's own code as ingest configures it (``IngestSettings``: the routing file, the field-map file, the
alerts-per-record limit, the record size limit, the dedup window and group bounds): ``pipeline.process`` reads,
normalizes and routes each record and builds its triggers, then ``NoiseControl.decide`` (the real dedup window and
grouping, with their state in memory) says which triggers would go out and which would be kept back. Nothing here
re-implements a step, so a preview cannot drift from what ingest does.

Records are fed in order through one noise control, as ingest reads one partition, all at one record time (the
moment of the preview): a record sees every record before it as already passed, so an alert repeated in a later
record is shown as a repeat within the dedup window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from schemas.alert import Alert
from services.ingest.config import IngestSettings
from services.ingest.noise.control import GROUP_NOTE, REPEAT_NOTE, preview_noise_control
from services.ingest.noise.gates import MUTED_NOTE, THRESHOLD_NOTE, WINDOW_NOTE
from services.ingest.noise.grouping import Group
from services.ingest.noise.muting import Muting
from services.ingest.parsers import RefusedAlert, parsers_for, read_alerts
from services.ingest.parsers.base import Parser
from services.ingest.parsers.field_maps import FieldMap, load_field_maps
from services.ingest.parsers.generic import GenericParser
from services.ingest.pipeline import Outcome, ReadyTrigger, process
from services.ingest.rekey import rekeyed
from services.ingest.routing import RoutingTable, load_routing
from services.ingest.routing.table import Verdict
from services.shared.deadletter import ConsumedRecord

#: What noise control does with a trigger: it goes out now, it is dropped as a repeat within the dedup window, it
#: is held in a group until the group's flush, it is muted (outside its route's time windows, silenced or
#: inhibited), it is below its route's threshold, or noise control refused it (its state could never be written).
NoiseVerdict = Literal["passes", "repeat", "held", "muted", "below-threshold", "refused"]
#: The topic name written on previewed records (they never were on a topic).
PREVIEW_TOPIC = "(alertmesh route)"


@dataclass(frozen=True)
class Configuration:
    """Ingest's configuration as the settings name it: the files read, and what they hold."""

    settings: IngestSettings
    routing: RoutingTable
    field_maps: dict[str, FieldMap]
    parsers: tuple[Parser, ...]

    @property
    def routing_file(self) -> Path:
        """The routing file in force (``INGEST_ROUTING_FILE``, or ingest's own)."""
        return self.settings.routing_file

    @property
    def field_maps_file(self) -> Path | None:
        """The field-map file in force (``INGEST_FIELD_MAPS_FILE``), or None when there is none."""
        return self.settings.field_maps_file


def load_configuration(settings: IngestSettings) -> Configuration:
    """Load the routing and field-map files the settings name, as ``services.ingest.app.build_app`` does; raises
    ``RoutingFileError`` or ``FieldMapFileError`` (``file:line:col`` problems) for a bad one."""
    routing = load_routing(settings.routing_file)
    field_maps = load_field_maps(settings.field_maps_file) if settings.field_maps_file else {}
    return Configuration(settings, routing, field_maps, parsers_for(field_maps))


@dataclass(frozen=True)
class TriggerPreview:
    """A trigger one alert would cause on one matched rule, and what noise control does with it."""

    ready: ReadyTrigger
    #: The matched rule's position in the routing file (0-based) and its name.
    rule_index: int
    noise: NoiseVerdict
    #: Why noise control keeps it back (``Outcome.held``'s note); None when it passes.
    note: str | None = None


@dataclass(frozen=True)
class AlertPreview:
    """One alert of a record: which parser read it, each rule's verdict, its triggers, or why it has none."""

    index: int
    alert: Alert
    read_by: str
    verdicts: list[Verdict]
    triggers: list[TriggerPreview] = field(default_factory=list)
    #: Matched by no rule: the routing file's ``default`` (``dead-letter`` or ``drop``) decides; None when routed.
    unrouted: str | None = None

    @property
    def routed(self) -> bool:
        """Whether at least one rule matched the alert."""
        return self.unrouted is None


@dataclass(frozen=True)
class RecordPreview:
    """What one record gives: its alerts, its refused elements, and the outcome ingest would write for it."""

    name: str
    headers: dict[str, str]
    alerts: list[AlertPreview]
    refused: list[RefusedAlert]
    #: The record's outcome after noise control, as ingest would write it: triggers out now, ``held`` ones kept
    #: back, ``failures`` for its dead letter (the whole record's, refused elements', unbuildable triggers'),
    #: ``dropped`` unrouted alerts under ``default: drop``.
    outcome: Outcome
    #: Fed only as earlier state (``--state``): it counts for noise control, it is not what is being previewed.
    state: bool = False

    @property
    def clean(self) -> bool:
        """Every alert of the record routed, and nothing refused or dead-lettered."""
        return not self.outcome.failures and not self.refused and all(alert.routed for alert in self.alerts)


class Preview:
    """Feeds records, in order, through ingest's pipeline and one noise control."""

    def __init__(self, configuration: Configuration, at: datetime | None = None, muting: Muting | None = None) -> None:
        """``muting``: the silences and alerts (for inhibition) to decide against; none by default."""
        self.configuration = configuration
        #: The record time of every previewed record.
        self.at = at or datetime.now(UTC)
        self._noise = preview_noise_control(configuration.settings, lambda: configuration.routing, muting)
        self._offset = 0

    def record(self, name: str, body: bytes, headers: dict[str, str], *, state: bool = False) -> RecordPreview:
        """Preview one record (``body`` and Kafka ``headers`` as on the raw topic), after the ones fed before."""
        configuration, settings = self.configuration, self.configuration.settings
        record = ConsumedRecord(
            value=body, headers=headers, topic=PREVIEW_TOPIC, received_at=self.at, offset=self._offset, key=None
        )
        self._offset += 1
        outcome = process(
            record,
            configuration.routing,
            settings.kafka.max_message_bytes,
            configuration.parsers,
            max_alerts=settings.max_alerts_per_record,
        )
        # As stage 1 hands it to stage 2 (the record's offset makes it an occurrence for thresholds).
        outcome = rekeyed(outcome, configuration.routing)
        [(_, decided)] = self._noise.decide([(record, outcome)])
        entries = self._entries(body, headers)
        alerts = self._alerts(entries, outcome.triggers, decided)
        refused = [entry for entry in entries if isinstance(entry, RefusedAlert)]
        return RecordPreview(name, headers, alerts, refused, decided, state)

    def pending_groups(self) -> list[tuple[str, Group]]:
        """The groups holding alerts after every record so far: the key of the trigger each will flush as."""
        return self._noise.pending_groups()

    def _entries(self, body: bytes, headers: dict[str, str]) -> list[Alert | RefusedAlert]:
        # ``process`` read the record the same way; a record it could not read has its reason in its failures.
        settings = self.configuration.settings
        try:
            return read_alerts(body, headers, self.configuration.parsers, settings.max_alerts_per_record)
        except Exception:  # a ParseError, or a parser bug ``process`` turned into the record's failure
            return []

    def _alerts(
        self, entries: Sequence[Alert | RefusedAlert], built: Sequence[ReadyTrigger], decided: Outcome
    ) -> list[AlertPreview]:
        """Each alert with its triggers: ``process`` builds them in alert order, then rule order, so they are taken
        from ``built`` in that order (a trigger that could not be built is missing there: it is a failure)."""
        routing = self.configuration.routing
        position = {route.name: index for index, route in enumerate(routing.routes)}
        held = {id(ready): note for ready, note in decided.held}
        passing = {id(ready) for ready in decided.triggers}
        previews, next_built = [], 0
        for index, entry in enumerate(entries):
            if isinstance(entry, RefusedAlert):
                continue
            verdicts = routing.explain(entry)
            chosen = [verdict.route for verdict in verdicts if verdict.chosen]
            preview = AlertPreview(
                index, entry, self._read_by(entry), verdicts, unrouted=None if chosen else routing.default
            )
            for route in chosen:
                if next_built < len(built) and _is_trigger_of(built[next_built], entry, route.name):
                    ready = built[next_built]
                    next_built += 1
                    note = held.get(id(ready))
                    verdict = _noise_verdict(note, id(ready) in passing)
                    preview.triggers.append(TriggerPreview(ready, position[route.name], verdict, note))
            previews.append(preview)
        return previews

    def _read_by(self, alert: Alert) -> str:
        """Which code or file read the alert: a built-in parser, or the source's field map and its file."""
        if alert.format == GenericParser.format:
            return f"field map {alert.source!r} of {self.configuration.field_maps_file}"
        return f"built-in parser {alert.format}"


def _is_trigger_of(ready: ReadyTrigger, alert: Alert, route: str) -> bool:
    data = ready.event.data
    return data.route == route and data.alert == alert


def _noise_verdict(note: str | None, passes: bool) -> NoiseVerdict:
    if passes:
        return "passes"
    if note is None:
        return "refused"  # neither out nor held: noise control dead-letters it (see the record's failures)
    if note.startswith(REPEAT_NOTE):
        return "repeat"
    if note.startswith(GROUP_NOTE):
        return "held"
    if note.startswith((MUTED_NOTE, WINDOW_NOTE)):
        return "muted"
    if note.startswith(THRESHOLD_NOTE):
        return "below-threshold"
    raise ValueError(f"unknown noise-control note: {note!r}")
