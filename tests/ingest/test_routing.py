from pathlib import Path

import pytest

from services.ingest.parsers import parse_alerts
from services.ingest.routing import RoutingFileError, RoutingTable, load_routing
from tests.ingest.factories import make_alert

REPO = Path(__file__).resolve().parents[2]


def _table(*routes: dict[str, object]) -> RoutingTable:
    return RoutingTable.model_validate({"routes": list(routes)})


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


def test_all_entries_must_hold_and_missing_labels_do_not_match() -> None:
    table = _table({"name": "r", "match": {"labels.team": "sre", "annotations.runbook": {"regex": "https://.*"}},
                    "workflow": "w"})  # fmt: skip
    assert table.match(make_alert())
    assert not table.match(make_alert(labels={}))
    assert not table.match(make_alert(annotations={"runbook": "ftp://x"}))


def test_first_match_wins_and_empty_match_catches_all() -> None:
    table = _table(
        {"name": "first", "match": {"source": "alertmanager"}, "workflow": "a", "inputs": {"x": 1}},
        {"name": "all", "workflow": "b"},
    )
    [route] = table.match(make_alert())
    assert (route.name, route.workflow, route.inputs) == ("first", "a", {"x": 1})
    assert [r.name for r in table.match(make_alert(source="grafana"))] == ["all"]


def test_demo_routing_file_sends_samples_to_triage(alertmanager_bytes: bytes, cloudevent_bytes: bytes) -> None:
    table = load_routing(REPO / "routing.yaml")
    [critical] = table.match(parse_alerts(alertmanager_bytes, {})[0])
    [other] = table.match(parse_alerts(cloudevent_bytes, {})[0])
    assert (critical.name, critical.workflow, critical.inputs["team"]) == ("critical", "triage", "on-call")
    assert (other.name, other.workflow) == ("catch-all", "triage")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("routes: [\n  - name: x\n", "not valid YAML"),
        ("routes: []", "routes: List should have at least 1 item"),
        ("- just a list", "(top level)"),
        ("routes:\n  - name: r\n    match: {labels.team: x}\n", r"routes\.0\.workflow: Field required"),
        ("routes:\n  - {name: r, workflow: w, match: {colour: red}}\n", "unknown match key 'colour'"),
        ("routes:\n  - {name: r, workflow: w, match: {name: {regex: '('}}}\n", r"routes\.0\.match"),
        ("routes:\n  - {name: r, workflow: w, when: x}\n", "Extra inputs are not permitted"),
        ("routes:\n  - {name: r, workflow: w}\n  - {name: r, workflow: v}\n", "repeated: r"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(text)
    with pytest.raises(RoutingFileError, match=problem) as caught:
        load_routing(path)
    assert str(path) in str(caught.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RoutingFileError, match=r"nope\.yaml: cannot read it"):
        load_routing(tmp_path / "nope.yaml")


def test_routing_an_alert_leaves_the_table_equal_to_a_fresh_load() -> None:
    document = {"routes": [{"name": "a", "match": {"labels.x": "y", "name": {"regex": "P.*"}}, "workflow": "w"}]}
    used, fresh = RoutingTable.model_validate(document), RoutingTable.model_validate(document)
    assert used.match(make_alert(labels={"x": "y"}, name="Probe")) == used.routes
    assert used.match(make_alert(labels={}, name="Probe")) == []  # an absent label never matches
    assert used == fresh and used.model_dump() == fresh.model_dump()
