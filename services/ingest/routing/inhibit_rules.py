"""Inhibition rules, in Alertmanager's form: while a firing alert matches a rule's source side, alerts that match its
target side and have the same values of its ``equal`` labels start nothing::

    inhibit_rules:
      - source_matchers: ['alertname="NodeDown"']
        target_matchers: ['severity=~"warning|info"']
        equal: [instance]

``source_matchers``/``target_matchers`` are lists of matcher texts in Alertmanager's syntax (``name=value``,
``!=``, ``=~``, ``!~``; one text may hold several, comma-separated), read by ``services.shared.matchers`` (RE2,
anchored). Alertmanager's deprecated maps are taken too and added to the matchers: ``source_match``/
``target_match`` (``{label: value}``, equality) and ``source_match_re``/``target_match_re`` (``{label: regex}``).
A side without matchers matches every alert, as in Alertmanager. Matchers read an alert's labels with its name as
``alertname`` (``schemas.alert_state.matchable_labels``); a label the alert lacks is the empty string.

This module is the rule as the file says it; ``services.ingest.noise.inhibition`` decides which alerts are muted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from dsl.files import PROBLEMS
from dsl.patterns import compile_pattern
from schemas.silence import Matcher
from services.shared.matchers import MatcherError, check, parse_matchers

__all__ = ["InhibitRule", "LabelTest"]

#: Prometheus's label names (``model.LabelNameRE``), which Alertmanager requires of the deprecated maps' keys and of
#: ``equal``. Fixed and linear: stays ``re``.
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

#: A compiled matcher: whether an alert's labels satisfy it.
LabelTest = Callable[[Mapping[str, str]], bool]


#: A problem below a field: its path there, its message, whether it is at the key.
Wrong = tuple[tuple[str | int, ...], str, bool]


def _problems(wrong: Sequence[Wrong]) -> PydanticCustomError:
    # Every problem of the field, each placed at its own item or key (dsl.files reads PROBLEMS).
    return PydanticCustomError("inhibit_rule", "{text}", {"text": wrong[0][1], PROBLEMS: list(wrong)})


def _compiled(matcher: Matcher) -> LabelTest:
    """``services.shared.matchers.matches`` with the regex compiled once: inhibition tests every alert."""
    name, wanted = matcher.name, matcher.is_equal
    if matcher.is_regex:
        pattern = compile_pattern(matcher.value)
        return lambda labels: pattern.fullmatches(labels.get(name, "")) == wanted
    value = matcher.value
    return lambda labels: (labels.get(name, "") == value) == wanted


def _all(tests: tuple[LabelTest, ...]) -> LabelTest:
    def holds(labels: Mapping[str, str]) -> bool:
        for test in tests:  # noqa: SIM110  (a loop: twice as fast as all() over a generator, per alert)
            if not test(labels):
                return False
        return True

    return holds


class InhibitRule(BaseModel):
    """One entry of ``inhibit_rules``: a firing source alert mutes the target alerts with the same ``equal`` labels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Optional, as in Alertmanager: names the rule in ``alertmesh route`` and logs.
    name: str | None = None
    source_matchers: list[str] = Field(default_factory=list)
    target_matchers: list[str] = Field(default_factory=list)
    source_match: dict[str, str] = Field(default_factory=dict)
    source_match_re: dict[str, str] = Field(default_factory=dict)
    target_match: dict[str, str] = Field(default_factory=dict)
    target_match_re: dict[str, str] = Field(default_factory=dict)
    equal: list[str] = Field(default_factory=list)

    @field_validator("source_matchers", "target_matchers")
    @classmethod
    def _valid_matchers(cls, texts: list[str]) -> list[str]:
        wrong: list[Wrong] = []
        for index, text in enumerate(texts):
            try:
                if not parse_matchers(text):
                    wrong.append(((index,), "an empty matcher text: write name=value (or remove it)", False))
            except MatcherError as error:
                wrong.append(((index,), str(error), False))
        if wrong:
            raise _problems(wrong)
        return texts

    @field_validator("source_match", "target_match", "source_match_re", "target_match_re")
    @classmethod
    def _valid_maps(cls, labels: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        wrong: list[Wrong] = []
        for name, value in labels.items():
            if not _LABEL_NAME.fullmatch(name):
                wrong.append(((name,), f"invalid label name {name!r}", True))
            elif str(info.field_name).endswith("_re"):
                try:
                    check(Matcher(name=name, value=value, is_regex=True))
                except MatcherError as error:
                    wrong.append(((name,), str(error), False))
        if wrong:
            raise _problems(wrong)
        return labels

    @field_validator("equal")
    @classmethod
    def _valid_equal(cls, names: list[str]) -> list[str]:
        wrong: list[Wrong] = [
            ((index,), f"invalid label name {name!r} in equal", False)
            for index, name in enumerate(names)
            if not _LABEL_NAME.fullmatch(name)
        ]
        if wrong:
            raise _problems(wrong)
        return names

    @cached_property
    def sources(self) -> tuple[Matcher, ...]:
        """Every matcher of the source side: the deprecated maps' first, then ``source_matchers`` (Alertmanager's
        order; the order does not change the result)."""
        return _side(self.source_match, self.source_match_re, self.source_matchers)

    @cached_property
    def targets(self) -> tuple[Matcher, ...]:
        """Every matcher of the target side, as ``sources``."""
        return _side(self.target_match, self.target_match_re, self.target_matchers)

    @cached_property
    def matches_source(self) -> LabelTest:
        """Whether an alert's labels (with ``alertname``) satisfy every source matcher."""
        return _all(tuple(_compiled(matcher) for matcher in self.sources))

    @cached_property
    def matches_target(self) -> LabelTest:
        """Whether an alert's labels (with ``alertname``) satisfy every target matcher."""
        return _all(tuple(_compiled(matcher) for matcher in self.targets))

    @cached_property
    def equal_names(self) -> tuple[str, ...]:
        """The ``equal`` labels, each once, sorted: an alert's values of them are its key in the sources' index."""
        return tuple(sorted(set(self.equal)))

    def equal_values(self, labels: Mapping[str, str]) -> tuple[str, ...]:
        """The alert's values of the ``equal`` labels (an absent label is the empty string, as in Alertmanager)."""
        return tuple(labels.get(name, "") for name in self.equal_names)

    def describe(self) -> str:
        """``rule 'db-down'`` or ``rule {alertname="NodeDown"} -> {severity="warning"} on [instance]``."""
        if self.name:
            return f"rule {self.name!r}"
        sources = ", ".join(str(matcher) for matcher in self.sources)
        targets = ", ".join(str(matcher) for matcher in self.targets)
        return f"rule {{{sources}}} -> {{{targets}}} on [{', '.join(self.equal_names)}]"


def _side(equal: dict[str, str], regex: dict[str, str], texts: list[str]) -> tuple[Matcher, ...]:
    matchers = [Matcher(name=name, value=value, is_regex=False) for name, value in equal.items()]
    matchers += [Matcher(name=name, value=value, is_regex=True) for name, value in regex.items()]
    matchers += [matcher for text in texts for matcher in parse_matchers(text)]
    return tuple(matchers)
