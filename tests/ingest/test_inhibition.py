"""Inhibition rules (the routing file's ``inhibit_rules``) and the inhibitor that applies them, against
Alertmanager's semantics (``inhibit/inhibit.go``): equal labels with absent ones, the two-sided rule, firing rows only,
the deprecated match maps, and the index agreeing with a plain scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.alert_state import AlertState, table_key
from services.ingest.noise.inhibition import MAX_INHIBITED_BY, Inhibitor
from services.ingest.routing import RoutingFileError, load_routing
from services.ingest.routing.inhibit_rules import InhibitRule
from tests.shared.strategies import FUZZ

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _rule(**fields: Any) -> InhibitRule:
    return InhibitRule.model_validate(fields)


def _row(fingerprint: str, status: str = "firing", ends_at: datetime | None = None, **labels: str) -> AlertState:
    return _state(fingerprint, status, ends_at, labels)


def _state(fingerprint: str, status: str, ends_at: datetime | None, labels: dict[str, str]) -> AlertState:
    return AlertState(
        source="prom", fingerprint=fingerprint, name=labels.get("alertname", "A"), severity="high", status=status,
        labels=labels, starts_at=NOW - timedelta(hours=1), ends_at=ends_at, updated_at=NOW,
    )  # fmt: skip


NODE_DOWN = _rule(source_matchers=['alertname="NodeDown"'], target_matchers=['severity="warning"'], equal=["instance"])
#: Alertmanager's documented two-sided example: a critical alert mutes warnings and other criticals... except that
#: alerts matching both sides never mute each other.
CRITICAL = _rule(
    source_matchers=['severity="critical"'], target_matchers=['severity=~"warning|critical"'], equal=["cluster"]
)


def test_a_firing_source_mutes_targets_with_the_same_equal_labels() -> None:
    down = _row("n1", alertname="NodeDown", instance="db-1")
    inhibitor = Inhibitor.build([NODE_DOWN], [down])
    assert inhibitor.inhibited_by({"alertname": "DiskSlow", "severity": "warning", "instance": "db-1"}, "t") == ["n1"]
    assert inhibitor.inhibited_by({"alertname": "DiskSlow", "severity": "warning", "instance": "db-2"}, "t") == []
    assert inhibitor.inhibited_by({"alertname": "DiskSlow", "severity": "critical", "instance": "db-1"}, "t") == []


def test_an_absent_equal_label_equals_an_absent_or_empty_one_only() -> None:
    down = _row("n1", alertname="NodeDown")  # no instance label
    inhibitor = Inhibitor.build([NODE_DOWN], [down])
    assert inhibitor.inhibited_by({"severity": "warning"}, "t") == ["n1"]
    assert inhibitor.inhibited_by({"severity": "warning", "instance": ""}, "t") == ["n1"]  # empty is absent
    assert inhibitor.inhibited_by({"severity": "warning", "instance": "db-1"}, "t") == []


def test_without_equal_labels_any_firing_source_mutes_every_target() -> None:
    rule = _rule(source_matchers=["alertname=Outage"], target_matchers=["team=web"])
    inhibitor = Inhibitor.build([rule], [_row("o2", alertname="Outage"), _row("o1", alertname="Outage", dc="x")])
    assert inhibitor.inhibited_by({"team": "web", "dc": "y"}, "t") == ["o1", "o2"]  # sorted, every source


def test_two_sided_rule_alerts_matching_both_sides_never_mute_each_other() -> None:
    first = _row("c1", severity="critical", cluster="eu")
    second = _row("c2", severity="critical", cluster="eu")
    inhibitor = Inhibitor.build([CRITICAL], [first, second])
    assert inhibitor.inhibited_by(first.labels, "c1") == []
    assert inhibitor.inhibited_by(second.labels, "c2") == []
    assert inhibitor.inhibited_by({"severity": "warning", "cluster": "eu"}, "w1") == ["c1", "c2"]


def test_an_alert_matching_both_sides_is_muted_by_sources_that_match_only_the_source_side() -> None:
    rule = _rule(source_matchers=['alertname=~"Outage|Degraded"'], target_matchers=['alertname=~"Degraded|Slow"'])
    outage, degraded = _row("o", alertname="Outage"), _row("d", alertname="Degraded")
    inhibitor = Inhibitor.build([rule], [outage, degraded])
    assert inhibitor.inhibited_by({"alertname": "Degraded"}, "d2") == ["o"]  # not by the other Degraded
    assert inhibitor.inhibited_by({"alertname": "Slow"}, "s") == ["d", "o"]  # one-sided target: by both


def test_an_alert_never_mutes_itself() -> None:
    rule = _rule(source_matchers=["alertname=A"], target_matchers=["team=web"])  # A of team web matches both
    row = _row("a", alertname="A", team="x")
    inhibitor = Inhibitor.build([rule], [row])
    assert inhibitor.inhibited_by({"alertname": "A", "team": "web"}, "a") == []  # its own fingerprint
    assert inhibitor.inhibited_by({"alertname": "B", "team": "web"}, "b") == ["a"]


def test_only_firing_sources_mute_and_a_passed_ends_at_counts_at_the_records_time() -> None:
    resolved = _row("r", "resolved", alertname="NodeDown", instance="i")
    ending = _row("e", ends_at=NOW, alertname="NodeDown", instance="i")
    inhibitor = Inhibitor.build([NODE_DOWN], [resolved, ending])
    target = {"severity": "warning", "instance": "i"}
    assert len(inhibitor) == 1  # a resolved row is not indexed
    assert inhibitor.inhibited_by(target, "t", at=NOW - timedelta(seconds=1)) == ["e"]
    assert inhibitor.inhibited_by(target, "t", at=NOW) == []  # ends_at reached: no longer firing
    assert inhibitor.inhibited_by(target, "t", [resolved, ending], at=NOW - timedelta(seconds=1)) == ["e"]
    assert inhibitor.expire(NOW) == 1 and len(inhibitor) == 0


def test_rows_come_and_go_with_the_alerts_table() -> None:
    inhibitor = Inhibitor([NODE_DOWN])
    down = _row("n1", alertname="NodeDown", instance="i")
    target = {"severity": "warning", "instance": "i"}
    inhibitor.apply(table_key("prom", "n1"), down)
    assert inhibitor.inhibited_by(target, "t") == ["n1"]
    inhibitor.add(_row("n1", "resolved", alertname="NodeDown", instance="i"))  # the same key, now resolved
    assert inhibitor.inhibited_by(target, "t") == []
    inhibitor.add(down)
    inhibitor.add(_row("n1", alertname="NodeDown", instance="other"))  # moved: the old bucket is emptied
    assert inhibitor.inhibited_by(target, "t") == []
    inhibitor.apply(table_key("prom", "n1"), None)
    assert len(inhibitor) == 0 and inhibitor.inhibited_by({**target, "instance": "other"}, "t") == []


def test_new_rules_rebuild_the_index_over_the_same_rows() -> None:
    rows = [_row("n1", alertname="NodeDown", instance="i"), _row("c1", severity="critical", cluster="eu")]
    inhibitor = Inhibitor.build([NODE_DOWN], rows)
    assert inhibitor.with_rules([NODE_DOWN]) is inhibitor
    assert inhibitor.with_rules([_rule(**NODE_DOWN.model_dump())]) is inhibitor  # an equal rule, reloaded
    reloaded = inhibitor.with_rules([CRITICAL])
    assert reloaded is not inhibitor and len(reloaded) == 2
    assert reloaded.inhibited_by({"severity": "warning", "cluster": "eu"}, "w") == ["c1"]
    assert reloaded.inhibited_by({"severity": "warning", "instance": "i"}, "w") == []


def test_the_deprecated_match_maps_are_added_to_the_matchers() -> None:
    rule = _rule(
        source_match={"alertname": "NodeDown"}, source_match_re={"dc": "eu-.*"},
        target_match={"severity": "warning"}, target_match_re={"team": "db|web"}, equal=["instance"],
    )  # fmt: skip
    assert [str(matcher) for matcher in rule.sources] == ['alertname="NodeDown"', 'dc=~"eu-.*"']
    inhibitor = Inhibitor.build([rule], [_row("s", alertname="NodeDown", dc="eu-1", instance="i")])
    assert inhibitor.inhibited_by({"severity": "warning", "team": "db", "instance": "i"}, "t") == ["s"]
    assert inhibitor.inhibited_by({"severity": "warning", "team": "dba", "instance": "i"}, "t") == []  # anchored
    other_dc = Inhibitor.build([rule], [_row("s", alertname="NodeDown", dc="us-1", instance="i")])
    assert other_dc.inhibited_by({"severity": "warning", "team": "db", "instance": "i"}, "t") == []


def test_one_matcher_text_may_hold_several_and_negative_matchers_work() -> None:
    rule = _rule(source_matchers=['{alertname="Down", env!="dev"}'], target_matchers=["severity!~crit.*"])
    rows = [_row("prod", alertname="Down", env="prod"), _row("dev", alertname="Down", env="dev")]
    inhibitor = Inhibitor.build([rule], rows)
    assert inhibitor.inhibited_by({"severity": "warning"}, "t") == ["prod"]
    assert inhibitor.inhibited_by({"severity": "critical"}, "t") == []


def test_the_list_is_bounded_for_the_alerts_table_row() -> None:
    rule = _rule(source_matchers=["alertname=Outage"], target_matchers=["team=web"])
    rows = [_row(f"o{index:04d}", alertname="Outage") for index in range(MAX_INHIBITED_BY + 50)]
    inhibitor = Inhibitor.build([rule], rows)
    found = inhibitor.inhibited_by({"team": "web"}, "t")
    assert found == sorted(row.fingerprint for row in rows)[:MAX_INHIBITED_BY]
    assert inhibitor.inhibited_by({"team": "web"}, "t", limit=3) == ["o0000", "o0001", "o0002"]


def test_the_index_looks_at_one_bucket_when_thousands_fire() -> None:
    rows = [_row(f"n{index}", alertname="NodeDown", instance=f"host-{index}") for index in range(5000)]
    inhibitor = Inhibitor.build([NODE_DOWN], rows)
    assert inhibitor.inhibited_by({"severity": "warning", "instance": "host-4321"}, "t") == ["n4321"]
    assert inhibitor._one_sided[0][("host-4321",)] == {table_key("prom", "n4321"): ("n4321", None)}


# --- the index agrees with Alertmanager's definition, whatever the rules and rows --------------------------------

VALUES = st.sampled_from(["a", "b", ""])
LABELS = st.dictionaries(st.sampled_from(["alertname", "severity", "cluster", "team"]), VALUES, max_size=4)
MATCHERS = st.lists(
    st.builds(
        lambda name, operator, value: f'{name}{operator}"{value}"',
        st.sampled_from(["alertname", "severity", "cluster"]),
        st.sampled_from(["=", "!=", "=~", "!~"]),
        st.sampled_from(["a", "b", "", "a|b", ".*"]),
    ),
    max_size=2,
)
RULES = st.lists(
    st.builds(
        lambda sources, targets, equal: _rule(source_matchers=sources, target_matchers=targets, equal=equal),
        MATCHERS, MATCHERS, st.lists(st.sampled_from(["cluster", "team", "severity"]), max_size=2),
    ),
    min_size=1, max_size=3,
)  # fmt: skip
ROWS = st.lists(st.builds(lambda labels, firing: (labels, firing), LABELS, st.booleans()), max_size=12)


def _alertmanager(rules: list[InhibitRule], rows: list[AlertState], labels: dict[str, str], fp: str) -> list[str]:
    """Alertmanager's ``Mutes``, written out plainly, naming every source instead of the first."""
    found = set()
    for rule in rules:
        if not rule.matches_target(labels):
            continue
        for row in rows:
            if row.status != "firing" or row.fingerprint == fp or not rule.matches_source(row.labels):
                continue
            if any(row.labels.get(name, "") != labels.get(name, "") for name in rule.equal):
                continue
            if rule.matches_source(labels) and rule.matches_target(row.labels):
                continue  # the two-sided rule
            found.add(row.fingerprint)
    return sorted(found)


@given(rules=RULES, rows=ROWS, labels=LABELS, removed=st.sets(st.integers(0, 11)))
@FUZZ
def test_property_the_index_and_the_scan_agree_with_alertmanager(
    rules: list[InhibitRule], rows: list[tuple[dict[str, str], bool]], labels: dict[str, str], removed: set[int]
) -> None:
    states = [
        _state(f"f{index}", "firing" if firing else "resolved", None, row) for index, (row, firing) in enumerate(rows)
    ]
    inhibitor = Inhibitor.build(rules, states)
    for index in removed & set(range(len(states))):
        inhibitor.remove(table_key("prom", f"f{index}"))
    kept = [state for index, state in enumerate(states) if index not in removed]
    expected = _alertmanager(rules, kept, labels, "target")
    assert inhibitor.inhibited_by(labels, "target") == expected
    assert Inhibitor(rules).inhibited_by(labels, "target", iter(kept)) == expected
    assert inhibitor.with_rules(list(reversed(rules))).inhibited_by(labels, "target") == expected


# --- the rules in the routing file -----------------------------------------------------------------------------------


def test_rules_load_from_the_routing_file_in_alertmanagers_form(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(
        "inhibit_rules:\n"
        '  - source_matchers: [alertname="NodeDown"]\n'
        "    target_matchers: ['severity=~\"warning|info\"']\n"
        "    equal: [instance]\n"
        "  - {source_match: {alertname: Down}, target_match_re: {severity: 'warn.*'}, name: legacy}\n"
        "routes:\n  - {name: r, workflow: w}\n"
    )
    table = load_routing(path)
    assert [rule.describe() for rule in table.inhibit_rules] == [
        'rule {alertname="NodeDown"} -> {severity=~"warning|info"} on [instance]',
        "rule 'legacy'",
    ]
    assert isinstance(table.inhibit_rules, tuple)


def test_every_problem_of_a_rule_is_placed(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(
        "inhibit_rules:\n"
        "  - source_matchers: ['alertname=\"Down\"', 'no operator', '']\n"
        "    target_matchers: ['severity=~\"warn(ing\"']\n"
        "    source_match_re: {9x: a, job: '(?=x)'}\n"
        "    equal: [instance, bad-name]\n"
        "    colour: red\n"
        "routes:\n  - {name: r, workflow: w}\n"
    )
    with pytest.raises(RoutingFileError) as raised:
        load_routing(path)
    problems = [line.removeprefix(str(path)) for line in raised.value.lines]
    assert [line.split(": ")[0] for line in problems] == [":2:43", ":2:58", ":3:23", ":4:23", ":4:35", ":5:23", ":6:5"]
    assert "bad matcher format: 'no operator'" in problems[0]
    assert "an empty matcher text" in problems[1]
    assert "invalid regex 'warn(ing'" in problems[2]
    assert "invalid label name '9x'" in problems[3]
    assert "lookahead" in problems[4]
    assert "invalid label name 'bad-name' in equal" in problems[5]
    assert "unknown key 'colour'" in problems[6]
