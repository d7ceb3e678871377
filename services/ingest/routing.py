"""Routing rules: which workflow runs for which alert, loaded from a YAML file at start-up.

A file looks like::

    routes:
      - name: critical
        match: {severity: critical, labels.team: [sre, infra], name: {regex: "Probe.*"}}
        workflow: triage
        inputs: {team: on-call}

``match`` keys are normalized Alert fields (``source``, ``format``, ``status``, ``name``, ``severity``) or
``labels.<key>`` / ``annotations.<key>``; values are an exact string, a list (any of), or ``{regex: ...}``
(matched against the whole value). All keys must match; an empty ``match`` matches every alert. Rules are tried
in order and the first that matches wins.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from functools import cached_property, partial
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from schemas.alert import Alert

ALERT_FIELDS = ("source", "format", "status", "name", "severity")
MAP_FIELDS = ("labels", "annotations")


class RoutingFileError(ValueError):
    """The routing file cannot be used; the message names the file and the problem."""


class RegexMatcher(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    regex: re.Pattern[str]


Matcher = str | Annotated[list[str], Field(min_length=1)] | RegexMatcher


#: One ``match`` entry, ready to apply: how to read the value from an alert, and the test it must pass.
Check = tuple[Callable[[Alert], str | None], Callable[[str | None], bool]]


def compile_check(key: str, matcher: Matcher) -> Check:
    """``key`` and ``matcher`` resolved once (routing runs for every alert): an absent value never matches."""
    if key in ALERT_FIELDS:
        read: Callable[[Alert], str | None] = operator.attrgetter(key)
    else:
        mapping, _, item = key.partition(".")
        read = partial(_item, mapping, item)
    if isinstance(matcher, str):
        return read, frozenset((matcher,)).__contains__
    if isinstance(matcher, list):
        return read, frozenset(matcher).__contains__
    return read, partial(_fullmatch, matcher.regex)


def _item(mapping: str, item: str, alert: Alert) -> str | None:
    found: str | None = getattr(alert, mapping).get(item)
    return found


def _fullmatch(regex: re.Pattern[str], value: str | None) -> bool:
    return value is not None and regex.fullmatch(value) is not None


class Route(BaseModel):
    """One rule: when every ``match`` entry holds, run ``workflow`` with ``inputs``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    match: dict[str, Matcher] = Field(default_factory=dict)
    workflow: str = Field(min_length=1)
    inputs: dict[str, Any] = Field(default_factory=dict)
    # A resolved alert whose firing run has finished (or never ran): start the workflow for it, or ignore it.
    on_resolved_finished: Literal["start", "ignore"] = "ignore"

    @field_validator("match")
    @classmethod
    def _known_keys(cls, match: dict[str, Matcher]) -> dict[str, Matcher]:
        for key in match:
            mapping, dot, item = key.partition(".")
            if key not in ALERT_FIELDS and not (mapping in MAP_FIELDS and dot and item):
                allowed = ", ".join(ALERT_FIELDS)
                raise ValueError(f"unknown match key {key!r}; use one of {allowed}, labels.<k>, annotations.<k>")
        return match

    @cached_property
    def checks(self) -> tuple[Check, ...]:
        """``match`` resolved once for all the alerts this route will see."""
        return tuple(compile_check(key, matcher) for key, matcher in self.match.items())

    def matches(self, alert: Alert) -> bool:
        return all(test(read(alert)) for read, test in self.checks)


class RoutingTable(BaseModel):
    """The ordered rules of one routing file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: list[Route] = Field(min_length=1)

    @field_validator("routes")
    @classmethod
    def _unique_names(cls, routes: list[Route]) -> list[Route]:
        names = [route.name for route in routes]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"route names must be unique; repeated: {', '.join(duplicates)}")
        return routes

    def match(self, alert: Alert) -> list[Route]:
        """The routes this alert goes to, in order. Today the first match wins, so at most one."""
        for route in self.routes:
            if route.matches(alert):
                return [route]
        return []


def load_routing(path: Path) -> RoutingTable:
    """Read and validate a routing file; raises ``RoutingFileError`` naming the file and what is wrong."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RoutingFileError(f"routing file {path}: cannot read it: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise RoutingFileError(f"routing file {path}: not valid YAML: {error}") from None
    try:
        return RoutingTable.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or '(top level)'}: {issue['msg']}"
            for issue in error.errors()
        )
        raise RoutingFileError(f"routing file {path}: {problems}") from None
