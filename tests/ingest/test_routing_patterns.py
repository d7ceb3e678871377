"""Routing's ``{regex: ...}`` runs on RE2: a pathological pattern on a mebibyte label answers (the event loop is
never held for minutes), a pattern RE2 cannot run is refused at its ``file:line:col`` with the reason, and where
both engines run a pattern routing answers as Python's ``re.fullmatch`` would."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given

from services.ingest.routing import RoutingFileError, RoutingTable, parse_routing
from tests.ingest.factories import make_alert
from tests.shared.strategies import FUZZ, PATHOLOGICAL_PATTERNS, RE2_REFUSED_PATTERNS, REGEX_PATTERNS, REGEX_TEXT

MIB = 1 << 20


def _table(pattern: str, key: str = "labels.note") -> RoutingTable:
    return RoutingTable.model_validate(
        {"default": "drop", "routes": [{"name": "r", "match": {key: {"regex": pattern}}, "workflow": "w"}]}
    )


@pytest.mark.parametrize(
    ("pattern", "note", "routed"),
    [
        (".*disk.*full.*", "disk " * (MIB // 5), False),
        (".*disk.*full.*", "disk " * (MIB // 5 - 1) + "full", True),
        (".*disk.*disk.*full.*", "disk " * (MIB // 5), False),
        ("(a+)+b", "a" * MIB, False),
        ("(a|aa)+", "a" * MIB, True),
    ],
)
def test_a_pathological_regex_on_a_mebibyte_label_answers(pattern: str, note: str, routed: bool) -> None:
    table = _table(pattern)
    alert = make_alert(labels={"note": note})
    assert bool(table.match(alert)) is routed
    verdict = table.explain(alert)[0]
    assert verdict.chosen is routed


def test_a_backreference_is_refused_at_its_position_with_the_reason() -> None:
    text = "routes:\n  - name: r\n    workflow: w\n    match:\n      name: {regex: '(\\w+) \\1'}\n"
    with pytest.raises(RoutingFileError) as caught:
        parse_routing(text, Path("routing.yaml"))
    [line] = caught.value.lines
    assert line.startswith("routing.yaml:5:21: routes.0.match: name.regex: invalid regex")
    assert "RE2 (linear-time matching) cannot run it: backreferences" in line


@given(pattern=RE2_REFUSED_PATTERNS)
@FUZZ
def test_every_pattern_re2_cannot_run_is_refused_with_a_position(pattern: str) -> None:
    document = {"routes": [{"name": "r", "workflow": "w", "match": {"any": [{"labels.x": {"regex": pattern}}]}}]}
    with pytest.raises(RoutingFileError) as caught:
        parse_routing(yaml.safe_dump(document), Path("routing.yaml"))
    [line] = caught.value.lines
    assert re.match(r"routing\.yaml:\d+:\d+: routes\.0\.match: any\.0\.labels\.x\.regex: invalid regex .*RE2", line)


@given(pattern=REGEX_PATTERNS | PATHOLOGICAL_PATTERNS, value=REGEX_TEXT)
@FUZZ
def test_routing_answers_as_re_fullmatch_where_both_run_the_pattern(pattern: str, value: str) -> None:
    table = _table(pattern)
    expected = re.fullmatch(pattern, value) is not None
    assert bool(table.match(make_alert(labels={"note": value}))) is expected
    assert bool(table.match(make_alert(labels={}))) is False  # an absent label never matches


def test_a_when_calling_fn_regex_with_a_pattern_re2_cannot_run_is_refused_at_the_pattern() -> None:
    text = "routes:\n  - name: r\n    workflow: w\n    when: ${{ FN.regex_search('(?=a)', TRIGGER.alert.name) }}\n"
    with pytest.raises(RoutingFileError) as caught:
        parse_routing(text, Path("routing.yaml"))
    [line] = caught.value.lines
    assert line.startswith("routing.yaml:4:31: routes.0.when: invalid expression")
    assert "FN.regex_search: invalid pattern: RE2 (linear-time matching) cannot run it: lookahead" in line


def test_a_when_calling_fn_regex_on_a_mebibyte_label_answers() -> None:
    table = RoutingTable.model_validate(
        {
            "default": "drop",
            "routes": [
                {"name": "r", "when": "FN.regex_search('disk.*disk.*full', TRIGGER.alert.labels.note)", "workflow": "w"}
            ],
        }
    )
    assert table.match(make_alert(labels={"note": "disk " * (MIB // 5)})) == []
    assert [route.name for route in table.match(make_alert(labels={"note": "disk " * (MIB // 5 - 1) + "full"}))] == [
        "r"
    ]
