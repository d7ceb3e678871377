"""A route's ``match``, compiled once into conditions that test an alert and can say why they did not hold.

A ``match`` is a mapping whose entries must all hold. An entry is a field test or a combinator:

- field keys: ``source``, ``format``, ``status``, ``name``, ``severity``, ``fingerprint``, ``summary``,
  ``labels.<key>``, ``annotations.<key>``;
- field values: ``"text"`` (equals), ``[a, b]`` (any of), ``{equals: ...}``, ``{in: [...]}``,
  ``{regex: ...}`` (the whole value must match; RE2 syntax, linear time, see ``dsl.patterns``),
  ``{present: true|false}`` (the label/annotation is there or not);
  ``severity`` also takes a comparison on the scale critical > high > medium > low > info: ``">= high"``;
- combinators: ``all: [match, ...]``, ``any: [match, ...]``, ``not: match``.

An absent label or annotation fails every test except ``present: false``. Routing runs for every alert, so
everything is resolved here (regexes compiled, readers bound); ``holds`` is the hot path, ``why_not`` explains a
miss for ``alertmesh route`` only.
"""

from __future__ import annotations

import operator
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pydantic_core import to_jsonable_python

from dsl.patterns import Pattern, PatternError, compile_pattern
from schemas.alert import SEVERITY_SCALE as ALERT_SEVERITY_SCALE
from schemas.alert import Alert, severity_rank

#: Alert fields a match can name directly (all strings).
ALERT_FIELDS = ("source", "format", "status", "name", "severity", "fingerprint", "summary")
MAP_FIELDS = ("labels", "annotations")
COMBINATORS = ("all", "any", "not")
TESTS = ("equals", "in", "regex", "present")
#: The levels a comparison may name, lowest first: the alert's fixed scale (``schemas.alert``) without "unknown"
#: (the parsers' word for a severity off the scale), so an alert of unknown severity never satisfies a comparison.
SEVERITY_SCALE = tuple(level for level in ALERT_SEVERITY_SCALE if level != "unknown")
SEVERITY_RANK = {level: severity_rank(level) for level in SEVERITY_SCALE}
SEVERITY_WORDS: tuple[str, ...] = ALERT_SEVERITY_SCALE
_COMPARISONS: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
# A fixed pattern on the routing file's own text (not alert data), linear by construction: stays ``re``.
_COMPARISON = re.compile(r"\s*(>=|<=|==|!=|>|<)\s*(\S*)\s*")

#: Where in a ``match`` a problem is: mapping keys and list indexes below the ``match`` key.
SpecPath = tuple[str | int, ...]


@dataclass(frozen=True)
class SpecProblem:
    """One thing wrong in a ``match``: where below ``match``, and what."""

    path: SpecPath
    message: str
    #: The problem is the key at ``path`` (an unknown field), not its value.
    at_key: bool = False


class SpecError(ValueError):
    """A ``match`` that cannot be compiled; ``problems`` lists every thing wrong in it, in document order."""

    def __init__(self, path: SpecPath, message: str, *, at_key: bool = False) -> None:
        self.problems: tuple[SpecProblem, ...] = (SpecProblem(path, message, at_key),)
        super().__init__(message)

    @classmethod
    def of(cls, problems: list[SpecProblem]) -> SpecError:
        """One error for several problems (every entry of a match is checked, not only the first)."""
        error = cls(problems[0].path, problems[0].message, at_key=problems[0].at_key)
        error.problems = tuple(problems)
        return error


class Subject:
    """One alert being routed, with the DSL's view of it built only if a ``when`` asks for it."""

    __slots__ = ("_context", "alert")

    def __init__(self, alert: Alert) -> None:
        self.alert = alert
        self._context: dict[str, Any] | None = None

    def trigger(self) -> dict[str, Any]:
        """What ``TRIGGER`` is for a ``when`` (``{"alert": <the alert as JSON>}``), as a workflow sees it."""
        if self._context is None:
            self._context = {"alert": as_json(self.alert)}
        return self._context


#: Field values JSON already holds as they are: strings, numbers, booleans, null, and the string maps and vendor
#: payloads parsers fill from decoded JSON.
_PLAIN = (str, int, float, bool, type(None), dict, list)


def as_json(alert: Alert) -> dict[str, Any]:
    """``alert.model_dump(mode="json")``, five times faster: only the values JSON does not hold as they are (the
    timestamps) are converted, by pydantic, so they read exactly as in the workflow's ``TRIGGER.alert``. The maps
    are shared, not copied: expressions only read them."""
    return {
        name: value if isinstance(value, _PLAIN) else to_jsonable_python(value)
        for name, value in alert.__dict__.items()
    }


class Condition(ABC):
    """A compiled test of an alert."""

    #: How the condition reads, for explanations: ``severity >= high``, ``any(...)``.
    text: str

    @abstractmethod
    def holds(self, subject: Subject) -> bool:
        """Whether the alert passes (the hot path)."""

    @abstractmethod
    def why_not(self, subject: Subject) -> str | None:
        """None when the alert passes, else one line saying why not."""


Reader = Callable[[Alert], str | None]


@dataclass(frozen=True, eq=False)
class FieldTest(Condition):
    """One field of the alert tested: ``read`` takes the value (None when absent), ``test`` judges it."""

    key: str
    #: What the test wants, e.g. ``>= high``, ``== 'firing'``, ``in ['sre', 'dba']``, ``present``.
    wanted: str
    read: Reader
    test: Callable[[str | None], bool]
    text: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", f"{self.key} {self.wanted}")

    def holds(self, subject: Subject) -> bool:
        """Whether the test passes on the field's value (None when the field is absent)."""
        return self.test(self.read(subject.alert))

    def why_not(self, subject: Subject) -> str | None:
        """None when the test passes, else the field's value (or that it is absent) and what was wanted."""
        value = self.read(subject.alert)
        if self.test(value):
            return None
        found = "absent" if value is None else repr(value)
        return f"{self.key} is {found}; wanted {self.text}"


@dataclass(frozen=True, eq=False)
class AllOf(Condition):
    """Every part holds (a ``match`` mapping, or ``all: [...]``); no parts holds for every alert."""

    parts: tuple[Condition, ...]
    text: str = field(init=False)

    def __post_init__(self) -> None:
        text = self.parts[0].text if len(self.parts) == 1 else "all(" + ", ".join(p.text for p in self.parts) + ")"
        object.__setattr__(self, "text", text)

    def holds(self, subject: Subject) -> bool:
        """Whether every part holds, testing in order and stopping at the first that does not."""
        # Loops rather than all()/any() over a generator: this is the per-alert path, and a loop is twice as fast.
        for part in self.parts:  # noqa: SIM110  (see above)
            if not part.holds(subject):
                return False
        return True

    def why_not(self, subject: Subject) -> str | None:
        """None when every part holds, else why the first part that does not hold failed."""
        for part in self.parts:
            reason = part.why_not(subject)
            if reason is not None:
                return reason
        return None


@dataclass(frozen=True, eq=False)
class FieldsOnly(AllOf):
    """``AllOf`` field tests only (the usual ``match``): tested without a call per part, a third faster."""

    checks: tuple[tuple[Reader, Callable[[str | None], bool]], ...] = field(init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        checks = tuple((part.read, part.test) for part in self.parts if isinstance(part, FieldTest))
        object.__setattr__(self, "checks", checks)

    def holds(self, subject: Subject) -> bool:
        """Whether every field test passes, reading and testing each field directly, in order."""
        alert = subject.alert
        for read, test in self.checks:  # noqa: SIM110  (a loop: twice as fast as all() over a generator)
            if not test(read(alert)):
                return False
        return True


@dataclass(frozen=True, eq=False)
class AnyOf(Condition):
    """At least one part holds."""

    parts: tuple[Condition, ...]
    text: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", "any(" + ", ".join(part.text for part in self.parts) + ")")

    def holds(self, subject: Subject) -> bool:
        """Whether some part holds, testing in order and stopping at the first that does."""
        for part in self.parts:  # noqa: SIM110  (a loop: twice as fast as any() over a generator)
            if part.holds(subject):
                return True
        return False

    def why_not(self, subject: Subject) -> str | None:
        """None when some part holds, else why each of them failed."""
        reasons = [part.why_not(subject) for part in self.parts]
        if any(reason is None for reason in reasons):
            return None
        return "none of any(...) holds: " + "; ".join(f"({reason})" for reason in reasons)


@dataclass(frozen=True, eq=False)
class Not(Condition):
    """The part does not hold."""

    part: Condition
    text: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", f"not({self.part.text})")

    def holds(self, subject: Subject) -> bool:
        """Whether the part does not hold."""
        return not self.part.holds(subject)

    def why_not(self, subject: Subject) -> str | None:
        """None when the part does not hold, else that it does."""
        return f"{self.part.text} holds, and {self.text} wants it not to" if self.part.holds(subject) else None


def compile_match(spec: object, path: SpecPath = ()) -> Condition:
    """The ``match`` mapping ``spec`` compiled; ``SpecError`` (with where, below ``match``) when it is not valid."""
    if not isinstance(spec, Mapping):
        raise SpecError(path, f"a match is a mapping of field tests and all/any/not, not {_kind(spec)}")
    parts: list[Condition] = []
    problems: list[SpecProblem] = []
    for key, value in spec.items():
        try:
            if not isinstance(key, str):
                raise SpecError((*path, str(key)), f"match keys are field names, not {_kind(key)}", at_key=True)
            parts.append(_entry(key, value, (*path, key)))
        except SpecError as error:
            problems += error.problems
    if problems:
        raise SpecError.of(problems)
    if all(isinstance(part, FieldTest) for part in parts):
        return FieldsOnly(tuple(parts))
    return AllOf(tuple(parts))


def _entry(key: str, value: object, path: SpecPath) -> Condition:
    if key == "not":
        return Not(compile_match(value, path))
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise SpecError(path, f"'{key}' takes a non-empty list of matches, not {_kind(value)}")
        parts: list[Condition] = []
        problems: list[SpecProblem] = []
        for index, item in enumerate(value):
            try:
                parts.append(compile_match(item, (*path, index)))
            except SpecError as error:
                problems += error.problems
        if problems:
            raise SpecError.of(problems)
        return AllOf(tuple(parts)) if key == "all" else AnyOf(tuple(parts))
    read = _reader(key, path)
    text, test = _field_test(key, value, path)
    return FieldTest(key, text, read, test)


def _reader(key: str, path: SpecPath) -> Reader:
    if key in ALERT_FIELDS:
        return operator.attrgetter(key)
    mapping, dot, item = key.partition(".")
    if mapping in MAP_FIELDS and dot and item:
        return partial(_item, mapping, item)
    names = ", ".join((*ALERT_FIELDS, "labels.<key>", "annotations.<key>", *COMBINATORS))
    raise SpecError(path, f"unknown match key {key!r}; use one of {names}", at_key=True)


def _item(mapping: str, item: str, alert: Alert) -> str | None:
    found: str | None = getattr(alert, mapping).get(item)
    return found


def _field_test(key: str, value: object, path: SpecPath) -> tuple[str, Callable[[str | None], bool]]:
    """(how the test reads, the test) for one field's value spec."""
    if isinstance(value, str):
        return _text_test(key, value, path)
    if isinstance(value, list):
        return _one_of(key, value, path)
    if isinstance(value, Mapping) and len(value) == 1:
        [(test, argument)] = value.items()
        where = (*path, str(test))
        build = _NAMED_TESTS.get(test)
        if build is None:
            raise SpecError(where, f"unknown test {test!r}; use one of {', '.join(TESTS)}", at_key=True)
        return build(key, argument, where)
    raise SpecError(
        path,
        f"a field test is a string, a list of strings, or one of {{{'|'.join(TESTS)}: ...}}, not {_kind(value)}"
        + (_QUOTE if isinstance(value, bool | int | float) else ""),
    )


def _text_test(key: str, value: str, path: SpecPath) -> tuple[str, Callable[[str | None], bool]]:
    """A plain string: a comparison on the severity scale (``">= high"``), otherwise the text exactly."""
    if key == "severity" and _COMPARISON.fullmatch(value):
        return _severity_comparison(value, path)
    if _COMPARISON.fullmatch(value) and value.strip()[:1] in "<>":
        raise SpecError(
            path,
            f"comparisons ({value.strip()!r}) apply to severity only; to match this text exactly write "
            f"{{equals: {value!r}}}",
        )
    return _equals(key, value, path)


def _equals_test(key: str, argument: object, where: SpecPath) -> tuple[str, Callable[[str | None], bool]]:
    if not isinstance(argument, str):
        raise SpecError(where, f"'equals' takes a string, not {_kind(argument)}{_QUOTE}")
    return _equals(key, argument, where)


def _in_test(key: str, argument: object, where: SpecPath) -> tuple[str, Callable[[str | None], bool]]:
    if not isinstance(argument, list):
        raise SpecError(where, f"'in' takes a list of strings, not {_kind(argument)}")
    return _one_of(key, argument, where)


def _regex_test(key: str, argument: object, where: SpecPath) -> tuple[str, Callable[[str | None], bool]]:
    return _regex(argument, where)


def _present_test(key: str, argument: object, where: SpecPath) -> tuple[str, Callable[[str | None], bool]]:
    if not isinstance(argument, bool):
        raise SpecError(where, f"'present' takes true or false, not {_kind(argument)}")
    if key.partition(".")[0] not in MAP_FIELDS:
        raise SpecError(where, "'present' tests a label or an annotation (labels.<key>, annotations.<key>)")
    return ("present", _present) if argument else ("absent", _absent)


#: The builders of the ``{test: argument}`` field tests, by test name (the names are ``TESTS``).
_NAMED_TESTS: dict[object, Callable[[str, object, SpecPath], tuple[str, Callable[[str | None], bool]]]] = {
    "equals": _equals_test,
    "in": _in_test,
    "regex": _regex_test,
    "present": _present_test,
}


_QUOTE = " (quote numbers and booleans: '1', 'true')"


def _equals(key: str, value: str, path: SpecPath) -> tuple[str, Callable[[str | None], bool]]:
    _check_severity_words(key, [value], path)
    return f"== {value!r}", frozenset((value,)).__contains__


def _one_of(key: str, values: list[Any], path: SpecPath) -> tuple[str, Callable[[str | None], bool]]:
    if not values:
        raise SpecError(path, "an 'any of' list needs at least one value")
    for index, item in enumerate(values):
        if not isinstance(item, str):
            raise SpecError((*path, index), f"list values are strings, not {_kind(item)}{_QUOTE}")
    _check_severity_words(key, values, path)
    return f"in {values!r}", frozenset(values).__contains__


def _regex(pattern: object, path: SpecPath) -> tuple[str, Callable[[str | None], bool]]:
    if not isinstance(pattern, str):
        raise SpecError(path, f"'regex' takes a string, not {_kind(pattern)}")
    try:
        # RE2, not re: the value is alert data, and a backtracking engine can take minutes on one crafted label.
        compiled = compile_pattern(pattern)
    except PatternError as error:
        raise SpecError(path, f"invalid regex {pattern!r}: {error}") from None
    return f"matching regex {pattern!r}", partial(_fullmatch, compiled)


def _severity_comparison(text: str, path: SpecPath) -> tuple[str, Callable[[str | None], bool]]:
    found = _COMPARISON.fullmatch(text)
    assert found is not None  # the caller matched it
    op, level = found.groups()
    if level not in SEVERITY_RANK:
        raise SpecError(path, f"{level!r} is not on the severity scale; use one of {', '.join(SEVERITY_SCALE)}")
    # The set of severities that pass, computed once: the test is then one set lookup.
    passing = frozenset(word for word, rank in SEVERITY_RANK.items() if _COMPARISONS[op](rank, SEVERITY_RANK[level]))
    return f"{op} {level}", passing.__contains__


def _check_severity_words(key: str, values: list[str], path: SpecPath) -> None:
    if key != "severity":
        return
    for value in values:
        if value not in SEVERITY_WORDS:
            raise SpecError(path, f"{value!r} is not a severity; use one of {', '.join(SEVERITY_WORDS)}")


def _fullmatch(regex: Pattern, value: str | None) -> bool:
    return value is not None and regex.fullmatches(value)


def _present(value: str | None) -> bool:
    return value is not None


def _absent(value: str | None) -> bool:
    return value is None


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    names = {str: "a string", int: "a number", float: "a number", list: "a list", dict: "a mapping"}
    return names.get(type(value), f"a {type(value).__name__}")
