"""Time intervals, inhibition rules and thresholds under arbitrary input: any document loads or is refused with
``file:line:col`` lines (no other exception), and a loaded table's verdicts never raise, at any instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from hypothesis import event, given
from hypothesis import strategies as st

from schemas.alert_state import AlertState
from services.ingest.noise.inhibition import Inhibitor
from services.ingest.routing import RoutingFileError, parse_routing
from tests.shared.strategies import FUZZ

RANGE_TEXT = st.sampled_from(
    ["monday:friday", "Sunday", "saturday:sunday", "1:5", "-3:-1", "-1", "0", "32", "20:-5", "january:march", "13",
     "december", "2026:2027", "9999", "0:1", "a:b:c", ":", "", "1:", "99999999999", "-3:5", "march:1"]
) | st.integers(-(10**12), 10**12) | st.floats(allow_nan=True) | st.booleans() | st.none()  # fmt: skip
TIME_TEXT = st.sampled_from(["09:00", "17:00", "24:00", "00:00", "23:59", "9:00", "24:01", "", "noon"]) | st.integers(
    -100, 2000
)
ZONE = st.sampled_from(["Europe/Berlin", "UTC", "Pacific/Kiritimati", "America/St_Johns", "Local", "", "Mars/X",
                        "../x", "Europe", "a" * 300, "Etc/GMT+12"]) | st.integers()  # fmt: skip
PART = st.lists(RANGE_TEXT, max_size=3) | RANGE_TEXT
ENTRY = st.fixed_dictionaries(
    {},
    optional={
        "times": st.lists(
            st.fixed_dictionaries({}, optional={"start_time": TIME_TEXT, "end_time": TIME_TEXT, "x": TIME_TEXT}),
            max_size=2,
        ) | TIME_TEXT,
        "weekdays": PART, "days_of_month": PART, "months": PART, "years": PART, "location": ZONE,
        "colour": st.just("red"),
    },
)  # fmt: skip
NAMES = st.sampled_from(["office", "nights", "weekends", ""])
INTERVAL = st.fixed_dictionaries({"name": NAMES, "time_intervals": st.lists(ENTRY, max_size=3) | st.none()})
MATCHER = st.sampled_from(['alertname="Down"', "severity=~warn.*", "a!~(", "x", "", "{a=b, c!=d}", 'a="\\"', "1a=b"])
RULE = st.fixed_dictionaries(
    {},
    optional={
        "source_matchers": st.lists(MATCHER, max_size=2) | MATCHER, "target_matchers": st.lists(MATCHER, max_size=2),
        "source_match": st.dictionaries(st.sampled_from(["alertname", "9x", ""]), st.sampled_from(["Down", ""])),
        "target_match_re": st.dictionaries(st.sampled_from(["severity", "bad-name"]), st.sampled_from(["w.*", "("])),
        "equal": st.lists(st.sampled_from(["cluster", "instance", "bad-name", ""]), max_size=2) | st.just("cluster"),
        "name": st.sampled_from(["r", ""]) | st.integers(),
    },
)  # fmt: skip
THRESHOLD = st.fixed_dictionaries(
    {},
    optional={
        "occurrences": st.integers(-1, 20_000) | st.sampled_from(["3", 2.5]),
        "within": st.sampled_from(["10m", "1h30m", "10x", "", "ms", "2y", "500ms"]) | st.floats() | st.integers(),
        "per": st.sampled_from(["fingerprint", "group", "source"]),
    },
)  # fmt: skip
ROUTE = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "b"]), "workflow": st.just("w")},
    optional={
        "mute_time_intervals": st.lists(NAMES, max_size=2), "active_time_intervals": st.lists(NAMES, max_size=2),
        "threshold": THRESHOLD | st.none(), "group_by": st.just(["cluster"]),
    },
)  # fmt: skip
DOCUMENT = st.fixed_dictionaries(
    {"routes": st.lists(ROUTE, min_size=1, max_size=2)},
    optional={
        "time_intervals": st.lists(INTERVAL, max_size=3), "mute_time_intervals": st.lists(INTERVAL, max_size=1),
        "inhibit_rules": st.lists(RULE, max_size=2),
    },
)  # fmt: skip
INSTANT = st.sampled_from([datetime.min, datetime.max, datetime.min.replace(tzinfo=UTC)]) | st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))]
    )
) | st.datetimes()  # fmt: skip
LABELS = st.dictionaries(st.sampled_from(["alertname", "severity", "cluster", "instance"]), st.sampled_from(
    ["Down", "warning", "x", ""]))  # fmt: skip


@FUZZ
@given(document=DOCUMENT, instants=st.lists(INSTANT, min_size=1, max_size=3), labels=st.lists(LABELS, max_size=4))
def test_any_document_loads_or_is_refused_with_positions_and_verdicts_never_raise(
    document: dict[str, Any], instants: list[datetime], labels: list[dict[str, str]]
) -> None:
    text = yaml.safe_dump(document, sort_keys=False)
    try:
        table = parse_routing(text, Path("routing.yaml"))
    except RoutingFileError as error:
        event("refused")
        for line in error.lines:
            file, row, column, message = line.split(":", 3)
            assert (file, row.isdigit(), column.isdigit(), bool(message.strip())) == ("routing.yaml", True, True, True)
        return
    event("loaded")
    for at in instants:
        for route in table.routes:
            verdict = table.time_verdict(route, at)
            assert verdict is None or verdict.startswith(("muted by", "outside"))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        AlertState(source="s", fingerprint=f"f{index}", name="n", severity="high", status="firing", labels=one,
                   starts_at=now, updated_at=now)
        for index, one in enumerate(labels)
    ]  # fmt: skip
    inhibitor = Inhibitor.build(table.inhibit_rules, rows)
    for one in labels:
        assert inhibitor.inhibited_by(one, "t") == Inhibitor(table.inhibit_rules).inhibited_by(one, "t", rows)
