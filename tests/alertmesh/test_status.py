"""``alertmesh status`` without a mesh: reading /metrics (through a real Prometheus exporter), rates, the screen,
the JSON, where the parts are, and the --watch loop with fake sources."""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, start_http_server

from alertmesh.stack.embedded import free_port
from alertmesh.stack.state import MeshState, PartState, write_mesh_state
from alertmesh.status import render as status_render
from alertmesh.status import report as status_cmd
from alertmesh.status.metrics import DEAD_LETTERS, FAILED_RESULTS, FLOWS, Counters, declared_samples, parse_counters
from alertmesh.status.noise import NoiseStatus
from alertmesh.status.sources import (
    Lag,
    PartStatus,
    PartTarget,
    Snapshot,
    describe,
    scrape,
)
from alertmesh.views.safe_text import escape
from schemas import DeadLetter, WorkflowResult
from schemas.result import Result
from schemas.silence import Matcher, Silence
from services.shared.deadletter import ConsumedRecord, dead_letter
from tests.shared.strategies import FUZZ, HOSTILE_TEXT, controls_in

NOW = datetime(2026, 11, 28, 22, 30, tzinfo=UTC)


class FakeNoise:
    """Stands in for the silences and alerts tables: one active silence whose every field is hostile text."""

    def __init__(self, kafka: object, topics: object) -> None:
        pass

    async def read(self, now: datetime) -> NoiseStatus:
        hostile = "x\x1b[2J\r\u202e\n\x07y"
        active = Silence(
            id=hostile, matchers=[Matcher(name="a", value=hostile, is_regex=False)], starts_at=NOW,
            ends_at=NOW + timedelta(hours=1), created_by=hostile, comment=hostile, updated_at=NOW,
        )  # fmt: skip
        return NoiseStatus(active=[active], pending=1, firing=3, silenced=1, inhibited=1)

    async def close(self) -> None:
        pass


@pytest.fixture(autouse=True)
def no_noise_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report's noise block reads Kafka: these tests have none."""
    monkeypatch.setattr(status_cmd, "NoiseReader", FakeNoise)


def mesh_metrics(received: int, results: int, failed: int, dead: int) -> CollectorRegistry:
    """A registry with the metric names the services export (fixed in the issue's split of the work)."""
    registry = CollectorRegistry()
    alerts = Counter("alertmesh_alerts_received_total", "", ["source", "format"], registry=registry)
    alerts.labels("alertmanager", "alertmanager").inc(received - 1)
    alerts.labels("grafana", "grafana").inc(1)
    Counter("alertmesh_triggers_total", "", ["route", "workflow"], registry=registry).labels("all", "t").inc(received)
    Counter("alertmesh_dead_letters_total", "", ["service", "stage"], registry=registry).labels("i", "parse").inc(dead)
    outcomes = Counter("alertmesh_workflow_results_total", "", ["workflow", "status"], registry=registry)
    outcomes.labels("triage", "completed").inc(results - failed)
    outcomes.labels("triage", "failed").inc(failed)
    # Declared, never observed: counts as 0, not as missing.
    Histogram("alertmesh_action_duration_seconds", "", ["action", "status"], registry=registry)
    return registry


def test_counters_are_summed_over_labels_and_a_declared_family_without_samples_counts_zero() -> None:
    text = generate_latest(mesh_metrics(received=5, results=4, failed=1, dead=2)).decode()
    ingest = parse_counters(text, "ingest", taken=1.0)
    assert (ingest.received, ingest.sent, ingest.dead_letters) == (5, 5, 2)
    orchestrator = parse_counters(text, "orchestrator", taken=1.0)
    assert (orchestrator.sent, orchestrator.failed_results) == (4, 1)
    assert orchestrator.received is None  # no workflow start counters in this text: unknown, not 0
    executor = parse_counters(text, "executor", taken=1.0)
    assert (executor.received, executor.sent) == (0, 0)


async def test_every_metric_status_reads_is_one_the_services_define() -> None:
    from services.shared import metrics

    declared = declared_samples((await metrics.render()).decode())
    wanted = {q.sample for inbound, outbound in FLOWS.values() for q in [*inbound, *outbound]}
    wanted |= {q.sample for q in [*DEAD_LETTERS, *FAILED_RESULTS]}
    assert wanted <= declared, wanted - declared


@pytest.fixture
def exporter() -> Iterator[tuple[str, CollectorRegistry]]:
    registry = mesh_metrics(received=3, results=3, failed=0, dead=0)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        yield f"http://127.0.0.1:{port}/metrics", registry
    finally:
        server.shutdown()
        thread.join()


async def test_a_real_exporter_is_scraped_and_an_unreachable_one_gives_a_reason(
    exporter: tuple[str, CollectorRegistry],
) -> None:
    url, _ = exporter
    async with httpx.AsyncClient() as http:
        counters, reason = await scrape(http, PartTarget("ingest", None, url))
        assert counters is not None and counters.received == 3 and reason == ""
        closed = f"http://127.0.0.1:{free_port()}/metrics"
        counters, reason = await scrape(http, PartTarget("ingest", None, closed))
        assert counters is None and reason == "connection refused"


def test_ages_read_at_a_glance() -> None:
    assert [status_render.age(s) for s in (-1, 45, 725, 11_100, 187_200)] == ["0s", "45s", "12m", "3h05m", "2d04h"]


def test_rates_are_per_second_and_a_restarted_part_counts_from_zero() -> None:
    assert status_render.rate(10, 16, 2.0) == 3.0
    assert status_render.rate(10, 4, 2.0) == 2.0  # the counter went back: the part restarted and counted 4 since
    assert status_render.rate(None, 4, 2.0) is None
    assert status_render.rate(1, 4, 0) is None


def part(name: str, healthy: bool | None, reason: str = "ok", counters: Counters | None = None) -> PartStatus:
    started = NOW - timedelta(minutes=12, seconds=5)
    target = PartTarget(name, f"http://h/{name}/healthz", f"http://h/{name}/metrics", 100, 1, -9, started, True)
    return PartStatus(target, healthy, reason, counters, "" if counters else "/metrics answered 404")


def failed_result() -> WorkflowResult:
    data = Result(
        workflow="triage", workflow_id="triage:am:f1:firing:x", run_id="r", status="failed",
        error="action notify failed: HTTP 503", started_at=NOW, finished_at=NOW + timedelta(seconds=2),
    )  # fmt: skip
    return WorkflowResult(id="e", source="t", time=NOW, correlationid="c", causationid="c", data=data)


def snapshot(counters: Counters) -> Snapshot:
    record = ConsumedRecord(value=b"{oops", headers={}, topic="alerts.raw", received_at=NOW, partition=2, offset=7)
    letter = dead_letter(record, source="alertmesh/ingest", stage="parse", reason="not JSON", max_bytes=1 << 20)
    return Snapshot(
        NOW, [part("ingest", True, counters=counters), part("executor", False, "connection refused")],
        kafka="k:9092", temporal="t:7233",
        lag=[Lag("alertmesh-ingest", "alerts.raw", 0, 40, 42), Lag("alertmesh-ingest", "alerts.raw", 1, None, 3)],
        workflows_running=7, failed_results=[failed_result()], dead_letters=[letter], dead_letters_total=12,
    )  # fmt: skip


def test_the_screen_shows_health_rates_lag_workflows_failures_and_dead_letters() -> None:
    before = {"ingest": Counters(10.0, 100, 100, 4, None)}
    now = snapshot(Counters(12.0, 106, 105, 5, None))
    screen = status_render.text(now, before, 140)
    lines = screen.splitlines()
    assert lines[0] == "alertmesh status  2026-11-28 22:30:00 UTC  (rates over 2.0 s)"
    assert lines[3].split() == ["ingest", "up", "100", "12m", "1", "-9", "3.0", "2.5", "0.5", "ok"]
    # No metrics: "—", never a made-up 0; down: the reason.
    assert lines[4].split()[:9] == ["executor", "DOWN", "100", "12m", "1", "-9", "—", "—", "—"]
    assert lines[4].endswith("connection refused")
    assert "Workflows running  7" in lines
    assert "Flow               alerts in 3.0/s · results out —/s (failed —/s) · dead letters 0.5/s" in lines
    assert ["alertmesh-ingest", "alerts.raw", "0", "40", "42", "2"] in [line.split() for line in lines]
    assert ["alertmesh-ingest", "alerts.raw", "1", "—", "3", "3"] in [line.split() for line in lines]
    assert "triage:am:f1:firing:x" in screen and "error: action notify failed: HTTP 503" in screen
    assert "Recent dead letters (newest last; 12 on the topic)" in lines
    assert "parse" in lines[-1] and "alerts.raw@2/7" in lines[-1] and lines[-1].endswith("not JSON")
    assert not status_render.healthy(now)


def test_the_json_report_says_the_same_with_nulls_for_what_is_unknown() -> None:
    before = {"ingest": Counters(10.0, 100, 100, 4, None)}
    report = orjson.loads(orjson.dumps(status_render.as_json(snapshot(Counters(12.0, 106, 105, 5, None)), before)))
    assert report["parts"]["ingest"]["rates"] == {"received": 3.0, "sent": 2.5, "dead_letters": 0.5}
    assert report["parts"]["executor"] == {
        "healthy": False, "reason": "connection refused", "pid": 100, "restarts": 1, "last_exit_code": -9,
        "started_at": (NOW - timedelta(minutes=12, seconds=5)).isoformat(), "metrics": "/metrics answered 404",
        "rates": {"received": None, "sent": None, "dead_letters": None},
    }  # fmt: skip
    assert report["workflows_running"] == 7 and report["dead_letters_on_topic"] == 12
    assert report["consumer_lag"][1] == {"group": "alertmesh-ingest", "topic": "alerts.raw", "partition": 1,
                                         "committed": None, "end": 3, "lag": 3}  # fmt: skip
    assert report["recent_failed_results"][0]["error"] == "action notify failed: HTTP 503"
    assert report["recent_dead_letters"][0]["stage"] == "parse"


def test_parts_come_from_mesh_json_and_options_add_or_replace_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALERTMESH_STATUS_HEALTH", raising=False)
    monkeypatch.setenv("ALERTMESH_STATUS_METRICS", "executor=http://x:9/m")
    parts = {"ingest": PartState(pid=5, restarts=2, health_url="http://a:1/healthz", metrics_url="http://a:1/metrics")}
    state = MeshState(started_at=NOW, kafka="k:1", temporal="t:2", webhook_url="http://w", parts=parts)
    write_mesh_state(tmp_path / "mesh.json", state)
    where = status_cmd.Where(tmp_path, health=("ingest=http://b:2/healthz,webhook=http://w:3/healthz",))
    target = status_cmd.build_target(where)
    found = {p.name: p for p in target.parts}
    assert found["ingest"].health_url == "http://b:2/healthz" and found["ingest"].restarts == 2
    assert found["ingest"].metrics_url == "http://a:1/metrics"  # mesh.json's, not replaced
    assert found["webhook"].metrics_url == "http://w:3/metrics"  # derived from its health URL
    assert found["executor"].metrics_url == "http://x:9/m" and found["executor"].health_url is None
    assert (target.kafka.bootstrap_servers, target.temporal.address) == ("k:1", "t:2")


def test_without_mesh_json_or_endpoints_it_says_what_to_give(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALERTMESH_STATUS_HEALTH", raising=False)
    monkeypatch.delenv("ALERTMESH_STATUS_METRICS", raising=False)
    with pytest.raises(status_cmd.TargetError, match=r"is `alertmesh up` running.*--health NAME=URL"):
        status_cmd.build_target(status_cmd.Where(tmp_path))
    with pytest.raises(status_cmd.TargetError, match="expected NAME=http"):
        status_cmd.build_target(status_cmd.Where(tmp_path, health=("ingest:8081",)))


def test_a_timeout_and_a_refused_connection_read_as_one_line() -> None:
    assert describe(TimeoutError()) == "no answer within 5s"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(httpx.ConnectError) as refused:
            httpx.get(f"http://127.0.0.1:{port}/healthz")
    assert describe(refused.value) == "connection refused"


class FakeSources:
    """Stands in for the servers: counts the snapshots taken, then interrupts as Ctrl-C would."""

    taken = 0

    def __init__(self, target: object) -> None:
        self.target = target

    async def counters(self) -> dict[str, Counters]:
        return {}

    async def snapshot(self) -> Snapshot:
        FakeSources.taken += 1
        if FakeSources.taken > 3:
            raise KeyboardInterrupt
        return snapshot(Counters(float(FakeSources.taken), 10 * FakeSources.taken, 0, 0, None))

    async def close(self) -> None:
        pass


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_watch_redraws_a_terminal_prints_snapshots_otherwise_and_ctrl_c_ends_it_with_0(
    terminal: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeSources.taken = 0
    monkeypatch.setattr(status_cmd, "Sources", FakeSources)
    monkeypatch.setattr(status_cmd, "build_target", lambda where: None)
    out = Terminal() if terminal else io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    assert status_cmd.main(status_cmd.Where(Path(".")), watch=True, interval_s=0.01, as_json=False) == 0
    frames = out.getvalue().split(status_cmd.CLEAR_SCREEN)
    if terminal:
        assert len(frames) == 4 and frames[0] == ""  # each of the 3 reports clears the screen first
    else:
        assert len(frames) == 1 and out.getvalue().count("alertmesh status  ") == 3
    # The first report has no earlier reading; later ones have rates over the time between them.
    assert "(no rates yet)" in out.getvalue() and "(rates over 1.0 s)" in out.getvalue()
    assert " 10.0 " in out.getvalue()


# --- Operator output: nothing from data reaches the terminal as a control character --------------------------------


def hostile_snapshot(texts: list[str]) -> tuple[Snapshot, DeadLetter]:
    """A snapshot whose every field that comes from data holds one of ``texts``."""
    (reason, source, topic, error, workflow, workflow_id, part_name, part_reason, group, lag_topic, kafka,
     results_error) = texts  # fmt: skip
    record = ConsumedRecord(value=b"{}", headers={}, topic=topic or "t", received_at=NOW, partition=0, offset=1)
    letter = dead_letter(record, source="alertmesh/ingest", stage="route", reason=reason, max_bytes=1 << 20,
                         alert_source=source or None)  # fmt: skip
    failed = failed_result()
    failed = failed.model_copy(update={"data": failed.data.model_copy(
        update={"error": error, "workflow": workflow, "workflow_id": workflow_id})})  # fmt: skip
    shot = Snapshot(
        NOW, [part(part_name or "p", False, part_reason), part("ingest", None, part_reason)],
        kafka=kafka, temporal=part_reason, temporal_error=kafka or None, lag=[Lag(group, lag_topic, 0, None, 3)],
        workflows_running=1, failed_results=[failed], dead_letters=[letter], dead_letters_total=1,
        results_error=results_error or None,
    )  # fmt: skip
    return shot, letter


@FUZZ
@given(st.lists(HOSTILE_TEXT, min_size=12, max_size=12), st.integers(40, 200))
def test_no_line_of_the_status_screen_or_json_holds_a_control_character_from_data(texts: list[str], width: int) -> None:
    shot, letter = hostile_snapshot(texts)
    screen = status_render.text(shot, {}, width)
    assert [line for line in screen.split("\n") if controls_in(line)] == []
    # A newline in the data starts no line of its own: the screen has as many lines as with plain text.
    plain = status_render.text(hostile_snapshot([text and "x" for text in texts])[0], {}, width)
    assert len(screen.split("\n")) == len(plain.split("\n"))
    # The reason is shown (escaped), not dropped; the dead letter already holds it escaped (as built).
    assert escape(" ".join(letter.data.reason.split()))[:10] in screen
    for as_json in (True, False):
        out = Terminal()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(status_cmd, "Sources", lambda target: OneSnapshot(shot))
            patch.setattr(status_cmd, "build_target", lambda where: None)
            where = status_cmd.Where(Path("."))
            asyncio.run(status_cmd.run(where, watch=False, interval_s=0.001, as_json=as_json, out=out))
        printed = out.getvalue()
        assert [line for line in printed.split("\n") if controls_in(line)] == []
        if as_json:  # the same values, control characters as JSON escapes
            assert orjson.loads(printed)["recent_dead_letters"][0]["reason"] == letter.data.reason


class OneSnapshot(FakeSources):
    def __init__(self, shot: Snapshot) -> None:
        self.shot = shot

    async def snapshot(self) -> Snapshot:
        return self.shot
