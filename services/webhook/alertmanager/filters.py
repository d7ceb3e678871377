"""The query parameters of the API's list endpoints, read as Alertmanager reads them: ``filter`` (repeated
matcher texts), the booleans ``active``, ``silenced``, ``inhibited``, ``unprocessed`` (Go's ``ParseBool``
spellings; default true) and ``receiver`` (an RE2 regex, anchored). Anything unreadable is a 400 saying what.

``filter_matches`` is Alertmanager's ``matchFilterLabels``: for a positive matcher with an empty value, a label
that is absent passes; for a negative one with an empty value, a label that is present passes; otherwise the
matcher must hold for the value (absent: the empty string). Silences are filtered by their matchers' values,
keyed by name (Alertmanager's ``CheckSilenceMatchesFilterLabels``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlette.datastructures import QueryParams

from dsl.patterns import Pattern, PatternError, compile_pattern
from schemas.silence import Matcher
from services.shared.matchers import MatcherError, matches, parse_matchers
from services.webhook.body import Rejected

TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
#: More ``filter`` parameters than this is not a query anyone writes.
MAX_FILTERS = 64


def filters(query: QueryParams) -> list[Matcher]:
    """Every matcher of every ``filter`` parameter (each one matcher, or several in braces)."""
    values = query.getlist("filter")
    if len(values) > MAX_FILTERS:
        raise Rejected(400, f"more than {MAX_FILTERS} filter parameters")
    found: list[Matcher] = []
    for value in values:
        try:
            found.extend(parse_matchers(value))
        except MatcherError as error:
            raise Rejected(400, f"bad matcher format: {error}") from None
    return found


def flag(query: QueryParams, name: str, default: bool = True) -> bool:
    """A boolean parameter (absent: ``default``)."""
    value = query.get(name)
    if value is None or value == "":
        return default
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise Rejected(400, f"{name}: {value[:100]!r} is not a boolean")


def receiver_pattern(query: QueryParams) -> Pattern | None:
    """The ``receiver`` regex (matched whole), or None when absent."""
    value = query.get("receiver")
    if not value:
        return None
    try:
        return compile_pattern(f"^(?:{value})$")
    except PatternError as error:
        raise Rejected(400, f"failed to parse receiver param: {error}") from None


def filter_matches(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    """Alertmanager's ``matchFilterLabels`` (see the module's docstring)."""
    for matcher in matchers:
        present = matcher.name in labels
        if matcher.value == "" and present != matcher.is_equal:
            continue
        if not matches(matcher, labels):
            return False
    return True


def silence_labels(matchers: Sequence[Matcher]) -> dict[str, str]:
    """A silence's matchers as the label set a filter is matched against: each name's value (its pattern)."""
    return {matcher.name: matcher.value for matcher in matchers}
