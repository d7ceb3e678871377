"""Routing rules: which workflows run for which alert, from a YAML file checked at start-up and reloaded on change.

A file looks like::

    default: dead-letter          # or drop: what happens to an alert no rule matches
    routes:
      - name: critical-db
        match: {severity: ">= high", labels.team: [dba, sre], name: {regex: "Postgres.*"}}
        when: ${{ TRIGGER.alert.labels.env == 'prod' }}
        workflow: triage
        inputs: {team: on-call}
        continue: true            # keep matching: the next matching rule starts its workflow too
        mute_time_intervals: [maintenance]   # no trigger while a named interval holds (time_intervals)
        active_time_intervals: [office]      # triggers only while one of these holds
        threshold: {occurrences: 3, within: 10m}   # only from the 3rd time within 10 minutes (thresholds)
    time_intervals: [...]         # named intervals, Alertmanager's syntax (time_intervals)
    inhibit_rules: [...]          # Alertmanager's inhibition rules (inhibit_rules)

Rules are tried in order. A rule matches when its ``match`` holds (see ``route_conditions``: equality, regex,
lists, severity comparisons, label presence, ``all``/``any``/``not``) and its ``when`` is true (see
``route_when``). The first matching rule wins, unless it says ``continue: true``: then matching goes on, and each
further matching rule adds its workflow (each trigger with its own idempotency key, which names the workflow). A
workflow already chosen for the alert is not chosen twice (its key would be the same, so the second trigger would
be a no-op): that rule is skipped, and ``alertmesh route`` says so. An alert no rule matches is dead-lettered
(``default: dead-letter``) or dropped with a counted, logged reason (``default: drop``).

Time intervals, thresholds and inhibition do not change which rules match: noise control applies them to the
triggers of the matched rules (``time_verdict`` here, ``services.ingest.noise.counting`` and ``.inhibition``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from dsl.durations import Seconds
from schemas.alert import Alert
from services.ingest.routing.conditions import AllOf, Condition, SpecError, Subject, compile_match
from services.ingest.routing.file import OFFSET, PROBLEMS, RoutingFileError, read_routing_file, read_routing_text
from services.ingest.routing.inhibit_rules import InhibitRule
from services.ingest.routing.thresholds import Threshold
from services.ingest.routing.time_intervals import TimeInterval
from services.ingest.routing.when import WhenError, compile_when

__all__ = [
    "InhibitRule",
    "Route",
    "RoutingFileError",
    "RoutingTable",
    "Threshold",
    "TimeInterval",
    "Verdict",
    "load_routing",
    "parse_routing",
]


class Route(BaseModel):
    """One rule: when ``match`` and ``when`` hold, run ``workflow`` with ``inputs``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1)
    match: dict[str, Any] = Field(default_factory=dict)
    when: str | None = None
    workflow: str = Field(min_length=1)
    inputs: dict[str, Any] = Field(default_factory=dict)
    continue_: bool = Field(False, alias="continue")
    # Grouping (services.ingest.noise.grouping): alerts with the same values of these labels become one trigger.
    group_by: list[str] = Field(default_factory=list)
    # Seconds, finite and at most 366 days: an infinite window would hold a group (and its state) forever.
    group_wait: Seconds = Field(30.0, ge=0)
    group_interval: Seconds = Field(300.0, gt=0)
    # A group holds one source's alerts (its key includes the source) unless this is true: then alerts of every
    # source with the same group_by values share one group (an alert is still one per source and fingerprint).
    group_across_sources: bool = False
    # A resolved alert whose firing run has finished (or never ran): start the workflow for it, or ignore it.
    on_resolved_finished: Literal["start", "ignore"] = "ignore"
    # Names of the file's time_intervals: no trigger while any of the first holds; with the second set, a trigger
    # only while one of them holds (Alertmanager's route fields). Checked against the file's names by RoutingTable.
    mute_time_intervals: list[str] = Field(default_factory=list)
    active_time_intervals: list[str] = Field(default_factory=list)
    # Counting: trigger only from the N-th occurrence within a window (services.ingest.noise.counting).
    threshold: Threshold | None = None

    @field_validator("match")
    @classmethod
    def _valid_match(cls, match: dict[str, Any]) -> dict[str, Any]:
        try:
            compile_match(match)
        except SpecError as error:
            # One pydantic error carrying every problem; dsl.files places each at its own line and column.
            found = [
                (p.path, f"{'.'.join(str(part) for part in p.path)}: {p.message}", p.at_key) for p in error.problems
            ]
            context = {"text": "; ".join(text for _, text, _ in found), PROBLEMS: found}
            raise PydanticCustomError("routing_match", "{text}", context) from None
        return match

    @field_validator("group_across_sources")
    @classmethod
    def _grouped_across_sources(cls, across: bool, info: ValidationInfo) -> bool:
        if across and not info.data.get("group_by"):
            raise ValueError("group_across_sources needs group_by (it only says how groups are keyed)")
        return across

    @field_validator("threshold")
    @classmethod
    def _threshold_per_group(cls, threshold: Threshold | None, info: ValidationInfo) -> Threshold | None:
        if threshold is not None and threshold.per == "group" and not info.data.get("group_by"):
            text = "per: group counts a group's alerts, and needs group_by (which says what a group is)"
            raise PydanticCustomError(
                "routing_threshold", "{text}", {"text": text, PROBLEMS: [(("per",), text, False)]}
            )
        return threshold

    @field_validator("when")
    @classmethod
    def _valid_when(cls, when: str | None) -> str | None:
        if when is not None:
            try:
                compile_when(when)
            except WhenError as error:
                raise PydanticCustomError(
                    "routing_when", "{text}", {"text": str(error), OFFSET: error.offset}
                ) from None
        return when

    def model_post_init(self, context: Any, /) -> None:
        """Pydantic's hook after validation: compiles ``condition`` (a route is frozen, so it never changes)."""
        # Compiled as the rule is loaded, not on the first alert routed after a start or a reload.
        _ = self.condition

    # Compiled once (validated above): routing runs for every alert. A cached property lives in the instance's
    # __dict__, which pydantic leaves out of equality and dumps.
    @cached_property
    def condition(self) -> Condition:
        """``match`` and ``when`` compiled into one condition."""
        condition = compile_match(self.match)
        if self.when is None:
            return condition
        return AllOf((condition, compile_when(self.when)))

    def matches(self, alert: Alert) -> bool:
        """Whether ``match`` and ``when`` both hold for this alert."""
        return self.condition.holds(Subject(alert))

    def why_not(self, subject: Subject) -> str | None:
        """None when the rule matches the alert, else why it does not."""
        return self.condition.why_not(subject)


@dataclass(frozen=True)
class Verdict:
    """What one rule made of one alert, for ``alertmesh route``."""

    route: Route
    chosen: bool
    #: Why the rule was not chosen (None when it was).
    reason: str | None


class RoutingTable(BaseModel):
    """The ordered rules of one routing file and what happens to an alert none matches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Literal["dead-letter", "drop"] = "dead-letter"
    # Before ``routes``: pydantic validates fields in order, and the routes' references are checked against these.
    time_intervals: list[TimeInterval] = Field(default_factory=list)
    # Alertmanager's older name for the same list (still read by Alertmanager, deprecated there): both may be used.
    mute_time_intervals: list[TimeInterval] = Field(default_factory=list)
    inhibit_rules: tuple[InhibitRule, ...] = ()
    routes: list[Route] = Field(min_length=1)

    @field_validator("mute_time_intervals")
    @classmethod
    def _unique_intervals(cls, intervals: list[TimeInterval], info: ValidationInfo) -> list[TimeInterval]:
        named = {interval.name for interval in info.data.get("time_intervals", [])}
        seen: set[str] = set()
        wrong = []
        for index, interval in enumerate(intervals):
            if interval.name in named or interval.name in seen:
                wrong.append(((index, "name"), f"time interval {interval.name!r} is not unique", False))
            seen.add(interval.name)
        if wrong:
            raise PydanticCustomError("routing_interval", "{text}", {"text": wrong[0][1], PROBLEMS: wrong})
        return intervals

    @field_validator("time_intervals")
    @classmethod
    def _unique_interval_names(cls, intervals: list[TimeInterval]) -> list[TimeInterval]:
        names = [interval.name for interval in intervals]
        wrong = [((index, "name"), f"time interval {name!r} is not unique", False)
                 for index, name in enumerate(names) if name in names[:index]]  # fmt: skip
        if wrong:
            raise PydanticCustomError("routing_interval", "{text}", {"text": wrong[0][1], PROBLEMS: wrong})
        return intervals

    @field_validator("routes")
    @classmethod
    def _unique_names(cls, routes: list[Route], info: ValidationInfo) -> list[Route]:
        names = [route.name for route in routes]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"route names must be unique; repeated: {', '.join(duplicates)}")
        if "time_intervals" in info.data and "mute_time_intervals" in info.data:
            # Only once the intervals themselves are valid: a name in a broken interval is not yet known.
            known = [interval.name for interval in (*info.data["time_intervals"], *info.data["mute_time_intervals"])]
            _check_references(routes, known)
        return routes

    @cached_property
    def by_name(self) -> dict[str, Route]:
        """The routes by name (triggers name the route they came from)."""
        return {route.name: route for route in self.routes}

    @cached_property
    def intervals(self) -> dict[str, TimeInterval]:
        """The named time intervals (``time_intervals`` and the older ``mute_time_intervals``) by name."""
        return {interval.name: interval for interval in (*self.time_intervals, *self.mute_time_intervals)}

    def time_verdict(self, route: Route, at: datetime) -> str | None:
        """None when ``route`` may trigger at ``at`` (the record's time, aware; naive is UTC), else why not: muted by
        one of its ``mute_time_intervals``, or outside every one of its ``active_time_intervals``."""
        for name in route.mute_time_intervals:
            if self.intervals[name].contains(at):
                return f"muted by time interval {name!r}"
        active = route.active_time_intervals
        if active and not any(self.intervals[name].contains(at) for name in active):
            names = ", ".join(repr(name) for name in active)
            return f"outside its active time interval{'s' if len(active) > 1 else ''} {names}"
        return None

    @cached_property
    def timed(self) -> bool:
        """Whether any route has time intervals (else ``time_verdict`` is always None)."""
        return any(route.mute_time_intervals or route.active_time_intervals for route in self.routes)

    @cached_property
    def grouping(self) -> bool:
        """Whether any route groups its alerts (``group_by``)."""
        return any(route.group_by for route in self.routes)

    def summary(self) -> str:
        """``4 rules, default dead-letter``: for log lines and ``alertmesh route``."""
        count = len(self.routes)
        return f"{count} rule{'s' if count != 1 else ''}, default {self.default}"

    def match(self, alert: Alert) -> list[Route]:
        """The routes this alert goes to, in order: the first match, and more while matches say ``continue``."""
        subject = Subject(alert)
        chosen: list[Route] = []
        for route in self.routes:
            if route.condition.holds(subject):
                if all(route.workflow != earlier.workflow for earlier in chosen):
                    chosen.append(route)
                if not route.continue_:
                    break
        return chosen

    def explain(self, alert: Alert) -> list[Verdict]:
        """Every rule's verdict on ``alert``, in order; the chosen ones are exactly ``match(alert)``."""
        subject = Subject(alert)
        verdicts: list[Verdict] = []
        chosen: dict[str, Route] = {}
        stopped_by: Route | None = None
        for route in self.routes:
            if stopped_by is not None:
                skipped = f"not tried: rule {stopped_by.name!r} matched first and has no 'continue: true'"
                verdicts.append(Verdict(route, False, skipped))
                continue
            reason = route.why_not(subject)
            if reason is None:
                earlier = chosen.get(route.workflow)
                if earlier is not None:
                    reason = (
                        f"matches, but workflow {route.workflow!r} was already chosen by rule {earlier.name!r} "
                        "(one run per workflow and alert: the same idempotency key)"
                    )
                else:
                    chosen[route.workflow] = route
                if not route.continue_:
                    stopped_by = route
            verdicts.append(Verdict(route, reason is None, reason))
        return verdicts


def _check_references(routes: list[Route], known: list[str]) -> None:
    """Every time interval a route names is one of ``known``; else one error placing each wrong name."""
    wrong = []
    for index, route in enumerate(routes):
        for field in ("mute_time_intervals", "active_time_intervals"):
            for position, name in enumerate(getattr(route, field)):
                if name not in known:
                    have = f"the file names {', '.join(map(repr, known))}" if known else "the file names none"
                    text = f"no time interval named {name!r} ({have} in time_intervals)"
                    wrong.append(((index, field, position), text, False))
    if wrong:
        raise PydanticCustomError("routing_reference", "{text}", {"text": wrong[0][1], PROBLEMS: wrong})


def load_routing(path: Path) -> RoutingTable:
    """Read and check a routing file; ``RoutingFileError`` with every problem as ``file:line:col: message``."""
    return read_routing_file(path, RoutingTable.model_validate)


def parse_routing(text: str, path: Path) -> RoutingTable:
    """``load_routing`` of a file's ``text`` already read (``path`` names it in messages)."""
    return read_routing_text(text, path, RoutingTable.model_validate)
