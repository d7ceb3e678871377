"""Alertmanager's label matchers: parsed from its text syntax (``{severity="critical", job=~"node.*"}``, the braces
and the quotes optional), and matched against an alert's labels. Silences, inhibition rules, the API's ``filter``
parameters and ``alertmesh silence`` all read matchers here, so one matcher means the same thing everywhere.

Regexes are RE2 (``dsl.patterns``), which is also what Alertmanager runs (Go's ``regexp`` is RE2 syntax): a matcher
written for Alertmanager behaves the same here, and no matcher an API client writes can take super-linear time.
A regex matches the whole value (Alertmanager anchors it as ``^(?:...)$``). A label the alert does not have is
the empty string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from dsl.patterns import PatternError, compile_pattern
from schemas.silence import Matcher

#: ``name op value`` (Alertmanager's ``pkg/labels`` grammar); linear: the value is one lazy run to the end.
_MATCHER = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*$", re.DOTALL)
_OPERATORS = {"=": (False, True), "!=": (False, False), "=~": (True, True), "!~": (True, False)}
#: More matchers than this in one text is not a filter anyone writes.
MAX_MATCHERS = 64


class MatcherError(ValueError):
    """A matcher text that is not Alertmanager's syntax, or a regex RE2 cannot run; the message says which."""


def parse_matchers(text: str) -> list[Matcher]:
    """Every matcher of ``text``: comma-separated, optionally in braces (``{a="b",c!~"d.*"}``); ``{}`` or empty
    text is none. Commas inside quoted values do not split."""
    text = text.strip()
    if text.startswith("{"):
        text = text[1:]
    if text.endswith("}"):
        text = text[:-1]
    tokens = _split(text)
    if len(tokens) > MAX_MATCHERS:
        raise MatcherError(f"more than {MAX_MATCHERS} matchers")
    return [parse_matcher(token) for token in tokens]


def _split(text: str) -> list[str]:
    """``text`` split at the commas outside double quotes (a backslash escapes a quote)."""
    tokens: list[str] = []
    token: list[str] = []
    quoted = escaped = False
    for char in text:
        if char == "," and not quoted:
            tokens.append("".join(token))
            token = []
            continue
        if char == '"':
            if escaped:
                escaped = False
            else:
                quoted = not quoted
        elif char == "\\":
            escaped = not escaped
        else:
            escaped = False
        token.append(char)
    last = "".join(token).strip()
    if last:
        tokens.append(last)
    return tokens


def parse_matcher(text: str) -> Matcher:
    """One matcher: ``name``, an operator (``=``, ``!=``, ``=~``, ``!~``) and a value, quoted or not."""
    found = _MATCHER.match(text)
    if found is None:
        raise MatcherError(f"bad matcher format: {text.strip()[:200]!r} (want name=value, name!=value, name=~regex or "
                           "name!~regex)")  # fmt: skip
    name, operator, raw = found.groups()
    is_regex, is_equal = _OPERATORS[operator]
    matcher = Matcher(name=name, value=_unquoted(raw), is_regex=is_regex, is_equal=is_equal)
    check(matcher)
    return matcher


def _unquoted(raw: str) -> str:
    """A matcher's value with its quotes removed and ``\\n``, ``\\"`` and ``\\\\`` read (any other backslash is a
    literal one, as in Alertmanager)."""
    quoted = raw.startswith('"')
    body = raw[1:] if quoted else raw
    value: list[str] = []
    escaped = False
    for index, char in enumerate(body):
        if escaped:
            escaped = False
            value.append({"n": "\n", '"': '"', "\\": "\\"}.get(char, "\\" + char))
        elif char == "\\":
            if index < len(body) - 1:
                escaped = True
            else:
                value.append("\\")
        elif char == '"':
            if not quoted or index < len(body) - 1:
                raise MatcherError(f"matcher value contains an unescaped double quote: {raw[:200]!r}")
            quoted = False
        else:
            value.append(char)
    if quoted:
        raise MatcherError(f"matcher value has no closing double quote: {raw[:200]!r}")
    return "".join(value)


def check(matcher: Matcher) -> None:
    """Refuse a regex matcher RE2 cannot run (``MatcherError`` with RE2's reason)."""
    if matcher.is_regex:
        try:
            compile_pattern(matcher.value)
        except PatternError as error:
            raise MatcherError(f"{matcher.name}: invalid regex {matcher.value[:200]!r}: {error}") from None


def matches(matcher: Matcher, labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy ``matcher`` (an absent label is the empty string)."""
    value = labels.get(matcher.name, "")
    found = compile_pattern(matcher.value).fullmatches(value) if matcher.is_regex else value == matcher.value
    return found == matcher.is_equal


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy every matcher (no matchers: always)."""
    return all(matches(matcher, labels) for matcher in matchers)


def matches_empty(matcher: Matcher) -> bool:
    """Whether the matcher holds for an alert without that label: a silence whose every matcher does would silence
    nearly everything, so Alertmanager refuses it (``services.shared.silences``)."""
    return matches(matcher, {})


def text(matchers: Iterable[Matcher]) -> str:
    """Matchers in Alertmanager's text syntax, ``{a="b", c=~"d"}``."""
    return "{" + ", ".join(str(matcher) for matcher in matchers) + "}"
