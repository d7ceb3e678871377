"""What every built-in format's property test checks: whatever the body, ``read_alerts`` gives alerts and refused
elements, or raises ``ParseError``; nothing else escapes."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from schemas.alert import SEVERITY_SCALE, Alert
from services.ingest.parsers import ParseError, RefusedAlert, read_alerts
from tests.shared.strategies import DEEP, EDGE_TIMES, HUGE_TEXT, JSON, dumps

WRONG = JSON | EDGE_TIMES | DEEP | HUGE_TEXT


def spoil(draw: st.DrawFn, target: dict[str, Any], fields: list[str]) -> None:
    """At most one field gone wrong (wrong type, removed or odd value), so valid alerts are reached as well."""
    choice = draw(st.integers(0, 3))
    field = draw(st.sampled_from(fields))
    if choice == 0:
        target[field] = draw(WRONG)
    elif choice == 1:
        target.pop(field, None)


def reads_or_refuses(document: Any, headers: dict[str, str], expected_format: str) -> list[Alert | RefusedAlert]:
    """The entries ``read_alerts`` gives for ``document``; an empty list when it refused the whole message with a
    reason. Any other exception fails the test."""
    try:
        entries = read_alerts(dumps(document), headers)
    except ParseError as error:
        assert error.reason
        return []
    assert entries
    for entry in entries:
        if isinstance(entry, RefusedAlert):
            assert entry.reason
            continue
        assert isinstance(entry, Alert) and entry.format == expected_format, entry
        assert entry.severity in SEVERITY_SCALE and entry.name.strip() and entry.fingerprint
        assert all(isinstance(link, str) and link.strip() for link in entry.urls.values())
    return entries
