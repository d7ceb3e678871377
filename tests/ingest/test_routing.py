import re
from pathlib import Path
from typing import Any

import pytest

from services.ingest.defaults import ROUTING_FILE
from services.ingest.parsers import parse_alerts
from services.ingest.routing import RoutingFileError, RoutingTable, load_routing
from tests.ingest.factories import make_alert


def _table(*routes: dict[str, object], default: str = "dead-letter") -> RoutingTable:
    return RoutingTable.model_validate({"default": default, "routes": list(routes)})


def _matches(match: dict[str, Any], **alert: object) -> bool:
    """Whether a one-rule table with this ``match`` routes an alert with these fields."""
    return bool(_table({"name": "r", "match": match, "workflow": "w"}).match(make_alert(**alert)))


def test_value_forms_exact_list_and_regex() -> None:
    table = _table(
        {"name": "exact", "match": {"severity": "high"}, "workflow": "w1"},
        {"name": "any-of", "match": {"labels.team": ["dba", "infra"]}, "workflow": "w2"},
        {"name": "regex", "match": {"name": {"regex": "Probe.*"}}, "workflow": "w3"},
    )
    assert [r.name for r in table.match(make_alert(severity="high"))] == ["exact"]
    assert [r.name for r in table.match(make_alert(labels={"team": "infra"}))] == ["any-of"]
    assert [r.name for r in table.match(make_alert())] == ["regex"]
    assert table.match(make_alert(name="XProbeFailure")) == []  # regex matches the whole value


@pytest.mark.parametrize(
    ("match", "alert", "expected"),
    [
        ({"status": "firing"}, {}, True),
        ({"status": "resolved"}, {}, False),
        ({"status": {"equals": "firing"}}, {}, True),
        ({"labels.team": {"in": ["sre", "dba"]}}, {}, True),
        ({"labels.team": {"in": ["dba"]}}, {}, False),
        ({"labels.team": ["sre"]}, {"labels": {}}, False),  # absent: no value is in any list
        ({"name": {"regex": "Probe"}}, {}, False),  # the whole value must match
        ({"name": {"regex": "Probe.*"}}, {}, True),
        ({"annotations.runbook": {"regex": "https://.*"}}, {"annotations": {}}, False),
        ({"labels.team": {"present": True}}, {}, True),
        ({"labels.team": {"present": True}}, {"labels": {}}, False),
        ({"labels.team": {"present": False}}, {"labels": {}}, True),
        ({"labels.team": {"present": False}}, {"labels": {"team": ""}}, False),  # an empty value is present
        ({"fingerprint": "1a30ba71cca2921f", "source": "alertmanager"}, {}, True),
        ({"labels.v": "== 2"}, {"labels": {"v": "== 2"}}, True),  # only <, <=, >, >= read as comparisons
    ],
)
def test_field_tests(match: dict[str, Any], alert: dict[str, object], expected: bool) -> None:
    assert _matches(match, **alert) is expected


@pytest.mark.parametrize(
    ("comparison", "passing"),
    [
        (">= high", {"critical", "high"}),
        ("> medium", {"critical", "high"}),
        ("<= low", {"low", "info"}),
        ("< critical", {"high", "medium", "low", "info"}),
        ("== medium", {"medium"}),
        ("!= info", {"critical", "high", "medium", "low"}),  # never "unknown": it is not on the scale
        (">=info", {"critical", "high", "medium", "low", "info"}),
    ],
)
def test_severity_comparisons_on_the_scale(comparison: str, passing: set[str]) -> None:
    for severity in ("critical", "high", "medium", "low", "info", "unknown"):
        assert _matches({"severity": comparison}, severity=severity) is (severity in passing), severity


def test_combinators_all_any_not_nest() -> None:
    match = {
        "status": "firing",
        "any": [{"severity": ">= high"}, {"all": [{"labels.team": "dba"}, {"name": {"regex": "Pg.*"}}]}],
        "not": {"labels.env": ["dev", "test"]},
    }
    assert _matches(match, severity="critical", labels={"env": "prod"})
    assert _matches(match, severity="low", name="PgDown", labels={"team": "dba"})
    assert not _matches(match, severity="low", name="Disk", labels={"team": "dba"})  # no branch of any
    assert not _matches(match, severity="critical", labels={"env": "dev"})  # not(...)
    assert not _matches(match, severity="critical", status="resolved")
    assert _matches({}, severity="info")  # an empty match matches every alert
    assert _matches({"all": [{"severity": "critical"}, {"labels.team": "sre"}]})
    assert not _matches({"not": {"labels.team": {"present": True}}})


def test_when_reads_the_alert_as_trigger_alert() -> None:
    rule = "${{ TRIGGER.alert.labels.env == 'prod' && TRIGGER.alert.severity in ['critical', 'high'] }}"
    assert _table({"name": "r", "when": rule, "workflow": "w"}).match(make_alert(labels={"env": "prod"}))
    assert not _table({"name": "r", "when": rule, "workflow": "w"}).match(make_alert(labels={"env": "dev"}))
    # A failing expression (the label is absent) does not match; the bare form works as in run_if.
    assert not _table({"name": "r", "when": rule, "workflow": "w"}).match(make_alert(labels={}))
    bare = "'env' in TRIGGER.alert.labels"
    assert not _table({"name": "r", "when": bare, "workflow": "w"}).match(make_alert(labels={}))
    both = {"name": "r", "match": {"severity": "critical"}, "when": "TRIGGER.alert.name == 'ProbeFailure'"}
    assert _table(both | {"workflow": "w"}).match(make_alert())
    assert not _table(both | {"workflow": "w"}).match(make_alert(severity="low"))


def test_first_match_wins_and_empty_match_catches_all() -> None:
    table = _table(
        {"name": "first", "match": {"source": "alertmanager"}, "workflow": "a", "inputs": {"x": 1}},
        {"name": "all", "workflow": "b"},
    )
    [route] = table.match(make_alert())
    assert (route.name, route.workflow, route.inputs) == ("first", "a", {"x": 1})
    assert [r.name for r in table.match(make_alert(source="grafana"))] == ["all"]


def test_continue_fans_out_until_a_rule_without_it_and_never_twice_to_one_workflow() -> None:
    table = _table(
        {"name": "audit", "workflow": "audit", "continue": True},
        {"name": "page", "match": {"severity": "critical"}, "workflow": "page", "continue": True},
        {"name": "audit-again", "workflow": "audit", "continue": True},
        {"name": "triage", "workflow": "triage"},
        {"name": "never", "workflow": "never"},
    )
    assert [r.name for r in table.match(make_alert())] == ["audit", "page", "triage"]
    assert [r.name for r in table.match(make_alert(severity="low"))] == ["audit", "triage"]
    verdicts = {v.route.name: v for v in table.explain(make_alert(severity="low"))}
    assert [name for name, v in verdicts.items() if v.chosen] == ["audit", "triage"]
    assert verdicts["page"].reason == "severity is 'low'; wanted severity == 'critical'"
    assert "already chosen by rule 'audit'" in str(verdicts["audit-again"].reason)
    assert verdicts["never"].reason == "not tried: rule 'triage' matched first and has no 'continue: true'"


def test_explain_says_why_each_rule_missed() -> None:
    table = _table(
        {"name": "a", "match": {"labels.env": {"regex": "prod.*"}}, "workflow": "w"},
        {"name": "b", "match": {"any": [{"severity": ">= high"}, {"labels.team": "dba"}]}, "workflow": "w"},
        {"name": "c", "match": {"not": {"status": "firing"}}, "workflow": "w"},
        {"name": "d", "when": "TRIGGER.alert.labels.env == 'x'", "workflow": "w"},
        {"name": "e", "when": "TRIGGER.alert.summary == 'x'", "workflow": "w"},
    )
    reasons = [v.reason for v in table.explain(make_alert(severity="low"))]
    assert reasons == [
        "labels.env is absent; wanted labels.env matching regex 'prod.*'",
        "none of any(...) holds: (severity is 'low'; wanted severity >= high); "
        "(labels.team is 'sre'; wanted labels.team == 'dba')",
        "status == 'firing' holds, and not(status == 'firing') wants it not to",
        "when ${{ TRIGGER.alert.labels.env == 'x' }} failed: '${{ TRIGGER.alert.labels.env == 'x' }}': "
        "no key 'env' in alert.labels",
        "when ${{ TRIGGER.alert.summary == 'x' }} is False",
    ]


def test_demo_routing_file_sends_samples_to_triage(alertmanager_bytes: bytes, cloudevent_bytes: bytes) -> None:
    table = load_routing(ROUTING_FILE)
    [critical] = table.match(parse_alerts(alertmanager_bytes, {})[0])
    [other] = table.match(parse_alerts(cloudevent_bytes, {})[0])
    assert (critical.name, critical.workflow, critical.inputs["team"]) == ("critical", "triage", "on-call")
    assert (other.name, other.workflow) == ("catch-all", "triage")
    assert table.default == "dead-letter"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("routes: [\n  - name: x\n", r":2:3: invalid YAML"),
        ("routes: []", r":1:9: routes: List should have at least 1 item"),
        ("- just a list", r":1:1: \(top level\): Input should be a valid dictionary"),
        ("routes:\n  - name: r\n    match: {labels.team: x}\n", r":2:5: routes\.0: 'workflow' is required"),
        ("routes:\n  - {name: r, workflow: w, match: {colour: red}}\n",
         r":2:36: routes\.0\.match: colour: unknown match key 'colour'"),
        ("routes:\n  - name: r\n    workflow: w\n    match:\n      name: {regex: '('}\n",
         r":5:21: routes\.0\.match: name\.regex: invalid regex '\('"),
        ("routes:\n  - {name: r, workflow: w, colour: red}\n", r":2:28: routes\.0: unknown key 'colour'"),
        ("routes:\n  - {name: r, workflow: w}\n  - {name: r, workflow: v}\n", r":2:3: routes: .*repeated: r"),
        ("routes:\n  - {name: r, workflow: w, match: {severity: '>= urgent'}}\n",
         r":2:46: routes\.0\.match: severity: 'urgent' is not on the severity scale"),
        ("routes:\n  - {name: r, workflow: w, match: {severity: crit}}\n", r"'crit' is not a severity"),
        ("routes:\n  - {name: r, workflow: w, match: {labels.v: '>= 2'}}\n", r"apply to severity only"),
        ("routes:\n  - {name: r, workflow: w, match: {labels.v: 2}}\n", r"quote numbers and booleans"),
        ("routes:\n  - {name: r, workflow: w, match: {labels.v: {present: maybe}}}\n",
         r":2:56: routes\.0\.match: labels\.v\.present: 'present' takes true or false"),
        ("routes:\n  - {name: r, workflow: w, match: {name: {present: true}}}\n", r"tests a label or an annotation"),
        ("routes:\n  - {name: r, workflow: w, match: {labels.v: {like: x}}}\n", r"unknown test 'like'"),
        ("routes:\n  - name: r\n    workflow: w\n    match:\n      any:\n        - {status: firing}\n        - []\n",
         r":7:11: routes\.0\.match: any\.1: a match is a mapping"),
        ("routes:\n  - {name: r, workflow: w, match: {not: [x]}}\n", r"a match is a mapping .*, not a list"),
        ("routes:\n  - {name: r, workflow: w, match: {any: []}}\n", r"'any' takes a non-empty list"),
        ("routes:\n  - name: r\n    workflow: w\n    when: TRIGGER.alert.labels. == 1\n",
         r":4:33: routes\.0\.when: invalid expression .*expected a name after '\.'"),
        ("routes:\n  - {name: r, workflow: w, when: 'ENV.x'}\n", r"when can read only TRIGGER"),
        ("routes:\n  - {name: r, workflow: w, when: 'a ${{ TRIGGER }}'}\n", r"must be one expression"),
        ("default: maybe\nroutes:\n  - {name: r, workflow: w}\n",
         r":1:10: default: Input should be 'dead-letter' or 'drop'"),
        ("routes:\n  - {name: r, workflow: w}\n  - {name: r, workflow: w, name: s}\n", r":3:28: duplicate key 'name'"),
    ],
)  # fmt: skip
def test_bad_files_give_file_line_col_and_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(text)
    with pytest.raises(RoutingFileError) as caught:
        load_routing(path)
    [line] = caught.value.lines
    assert line.startswith(f"{path}:"), line
    assert re.search(problem, line), line


def test_every_problem_of_a_file_is_listed_in_line_order(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text("routes:\n  - {name: a, workflow: w, match: {colour: x}}\n  - {name: b, when: 'ENV.x'}\n")
    with pytest.raises(RoutingFileError) as caught:
        load_routing(path)
    assert [line.split(": ")[0].removeprefix(str(path)) for line in caught.value.lines] == [":2:36", ":3:5", ":3:22"]
    assert str(caught.value).startswith("invalid routing file (3 problems):\n")


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RoutingFileError, match=r"nope\.yaml: cannot read it"):
        load_routing(tmp_path / "nope.yaml")


def test_routing_an_alert_leaves_the_table_equal_to_a_fresh_load() -> None:
    document = {"routes": [{"name": "a", "match": {"labels.x": "y", "name": {"regex": "P.*"}}, "workflow": "w"}]}
    used, fresh = RoutingTable.model_validate(document), RoutingTable.model_validate(document)
    assert used.match(make_alert(labels={"x": "y"}, name="Probe")) == used.routes
    assert used.match(make_alert(labels={}, name="Probe")) == []  # an absent label never matches
    assert used == fresh and used.model_dump() == fresh.model_dump()
    assert used.model_dump(by_alias=True)["routes"][0]["continue"] is False


def test_when_sees_the_alert_exactly_as_the_workflow_does() -> None:
    from datetime import UTC, datetime

    from services.ingest.routing.conditions import as_json

    alert = make_alert(ends_at=datetime(2024, 1, 1, tzinfo=UTC), payload={"a": [1, {"b": None}]}, event_id="e",
                       event_source="s")  # fmt: skip
    assert as_json(alert) == alert.model_dump(mode="json")
    assert as_json(make_alert(starts_at=None)) == make_alert(starts_at=None).model_dump(mode="json")


def test_every_problem_inside_one_match_is_placed_on_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(
        "routes:\n  - name: pages\n    workflow: w\n    match:\n      severity: '>= hihg'\n"
        "      labels.team: {presnt: true}\n      any:\n        - {status: firing}\n        - {colour: red}\n"
    )
    with pytest.raises(RoutingFileError) as caught:
        load_routing(path)
    assert [line.removeprefix(str(path)) for line in caught.value.lines] == [
        ":5:17: routes.0.match: severity: 'hihg' is not on the severity scale; use one of info, low, medium, high, "
        "critical",
        ":6:21: routes.0.match: labels.team.presnt: unknown test 'presnt'; use one of equals, in, regex, present",
        ":9:12: routes.0.match: any.1.colour: unknown match key 'colour'; use one of source, format, status, name, "
        "severity, fingerprint, summary, labels.<key>, annotations.<key>, all, any, not",
    ]
