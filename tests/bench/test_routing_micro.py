"""The routing micro-benchmark runs and routes its alerts the way its rules say (no timing is asserted)."""

from pathlib import Path

import pytest

from bench.routing_micro import RICH, main, sample_alerts
from services.ingest.routing import parse_routing


def test_rich_table_fans_out_and_uses_every_kind_of_rule() -> None:
    table = parse_routing(RICH, Path("RICH"))
    chosen = [[route.name for route in table.match(alert)] for alert in sample_alerts()]
    assert chosen == [
        ["probes"],  # catch-all matches too, but its workflow (triage) is already chosen
        ["edr"],
        ["audit-prod", "noisy-prod"],
        ["audit-prod", "db"],
        ["catch-all"],
    ]


def test_prints_microseconds_per_alert_for_both_tables(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--alerts", "50"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0].endswith(("routing.yaml", "RICH")) for line in lines] == [True, True]
    assert all(" us/alert (" in line for line in lines)
