"""The bench's routing and workflows are what the services accept, and route each bench alert where it says."""

from __future__ import annotations

from pathlib import Path

from bench.payloads import HEADERS, bench_alerts
from bench.workspace import FANOUT, FANOUT_WIDTH, INGEST_ONLY, ROUTES, SINGLE, TRIAGE, Workspace
from dsl.loader import load_workflows
from services.executor.catalog import action_catalog
from services.ingest.parsers.registry import parse_alerts
from services.ingest.routing import load_routing


def test_workflows_load_and_fan_out_is_independent(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    workspace.write()
    workflows = load_workflows(workspace.workflows_dir, action_catalog)
    assert set(workflows) == {TRIAGE, SINGLE, FANOUT}
    assert INGEST_ONLY not in workflows  # the ingest phase's triggers are dead-lettered, not run
    fanout = workflows[FANOUT]
    assert len(fanout.actions) == FANOUT_WIDTH
    assert all(not action.depends_on for action in fanout.actions)
    assert len(workflows[SINGLE].actions) == 1


def test_each_bench_alert_takes_its_route(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    workspace.write()
    table = load_routing(workspace.routing_file)
    headers = {name: value.decode() for name, value in HEADERS}
    for label, workflow in ROUTES.items():
        alerts = bench_alerts("t1", label, 3)
        assert len({a.correlationid for a in alerts}) == 3
        for alert in alerts:
            parsed = parse_alerts(alert.payload, headers)
            assert [route.workflow for route in table.match(parsed[0])] == [workflow]
