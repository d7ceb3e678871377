"""Routing under arbitrary input: any routing document either loads or is refused with file:line:col lines (no
other exception), and for any alert the rules ``alertmesh route`` shows as chosen are exactly those ingest uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import event, given
from hypothesis import strategies as st

from services.ingest.routing import RoutingFileError, RoutingTable, parse_routing
from tests.ingest.factories import make_alert
from tests.shared.strategies import FUZZ, PATHOLOGICAL_PATTERNS, RE2_REFUSED_PATTERNS

KEYS = st.sampled_from(
    ["status", "severity", "name", "source", "labels.team", "labels.env", "annotations.x", "colour", "all", "any",
     "not", "labels.", "summary"]
)  # fmt: skip
WORDS = st.sampled_from(["firing", "resolved", "critical", "high", "low", "sre", "prod", "P.*", "(", ">= high",
                         "< info", "> x", "", "== medium"]) | PATHOLOGICAL_PATTERNS | RE2_REFUSED_PATTERNS  # fmt: skip
TESTS = st.sampled_from(["equals", "in", "regex", "present", "like"])
LEAF = WORDS | st.lists(WORDS, max_size=3) | st.integers() | st.booleans() | st.none()
VALUE: st.SearchStrategy[Any] = st.recursive(
    LEAF,
    lambda inner: (
        st.dictionaries(KEYS, inner, max_size=3)
        | st.dictionaries(TESTS, inner, min_size=1, max_size=1)
        | st.lists(st.dictionaries(KEYS, inner, max_size=2), max_size=3)
    ),
    max_leaves=12,
)
WHEN = st.none() | st.sampled_from(
    ["TRIGGER.alert.labels.env == 'prod'", "${{ 'sre' in TRIGGER.alert.labels.team }}", "ENV.x", "${{ (", "a ${{ 1 }}",
     "TRIGGER.alert.severity", "${{ TRIGGER.alert.payload.x.y }}", "1 / 0"]
)  # fmt: skip
ROUTE = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "b", "c", "d"]), "workflow": st.sampled_from(["w1", "w2", "w3"])},
    optional={"match": st.dictionaries(KEYS, VALUE, max_size=3), "when": WHEN, "continue": st.booleans()},
)
DOCUMENT = st.fixed_dictionaries(
    {"routes": st.lists(ROUTE, max_size=4)}, optional={"default": st.sampled_from(["drop", "dead-letter", "x"])}
)
ALERT = st.builds(
    lambda status, severity, team, env, name: make_alert(
        status=status, severity=severity, name=name,
        labels={key: value for key, value in (("team", team), ("env", env)) if value is not None},
    ),
    st.sampled_from(["firing", "resolved"]),
    st.sampled_from(["critical", "high", "medium", "low", "info", "unknown"]),
    st.none() | st.sampled_from(["sre", "dba"]),
    st.none() | st.sampled_from(["prod", "dev"]),
    st.sampled_from(["ProbeFailure", "Disk", "Pg"]),
)  # fmt: skip


@FUZZ
@given(document=DOCUMENT, alerts=st.lists(ALERT, min_size=1, max_size=4))
def test_any_document_loads_or_is_refused_with_positions_and_explain_agrees_with_match(
    document: dict[str, Any], alerts: list[Any]
) -> None:
    text = yaml.safe_dump(document, sort_keys=False)
    try:
        table = parse_routing(text, Path("routing.yaml"))
    except RoutingFileError as error:
        event("refused")
        assert error.lines
        for line in error.lines:
            file, row, column, message = line.split(":", 3)
            assert (file, row.isdigit(), column.isdigit(), bool(message.strip())) == ("routing.yaml", True, True, True)
        return
    assert isinstance(table, RoutingTable)
    event("loaded")
    for alert in alerts:
        chosen = table.match(alert)
        verdicts = table.explain(alert)
        assert [v.route for v in verdicts if v.chosen] == chosen
        assert all((v.reason is None) == v.chosen for v in verdicts)
        assert len({route.workflow for route in chosen}) == len(chosen)  # never two triggers with one key
