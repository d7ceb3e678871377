"""Finding an alert's trace in the span store by any of its ids, and its waterfall."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertmesh.commands import trace as trace_cmd
from alertmesh.trace import SpanRecord, Trace, find_traces, wait_for_traces
from alertmesh.trace.view import bar, ordered, render, render_finished_trace, render_trace, temporal_link
from alertmesh.views.safe_text import escape
from tests.shared.strategies import FUZZ, HOSTILE_TEXT, controls_in

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
EVENT = "8fbd8aac-3bd0-5640-ac63-57bf2aa12444"
KEY = "triage:alertmanager:1a30ba71cca2921f:firing:20230206T130845.828Z"
MS = 1_000_000
T0 = 1_795_904_545_000_000_000


def span(
    name: str, span_id: str, parent: str | None, service: str, start_ms: float, ms: float, **attrs: Any
) -> dict[str, Any]:
    return {
        "trace_id": attrs.pop("trace_id", TRACE),
        "span_id": span_id,
        "parent_id": parent,
        "name": name,
        "kind": "INTERNAL",
        "service": service,
        "start": T0 + int(start_ms * MS),
        "end": T0 + int((start_ms + ms) * MS),
        "status": attrs.pop("status", "UNSET"),
        "error": attrs.pop("error", None),
        "attrs": attrs,
    }


ALERT_PATH = [
    span("POST /v1/alerts/{source}", "a" * 16, None, "alertmesh-webhook", 0, 8),
    span(
        "process alerts.raw",
        "b" * 16,
        "a" * 16,
        "alertmesh-ingest",
        40,
        38,
        **{
            "alertmesh.event_id": EVENT,
            "alertmesh.correlation_id": EVENT,
            "alertmesh.idempotency_key": KEY,
            "alertmesh.workflow": "triage",
        },
    ),
    span(
        "process alertmesh.triggers",
        "c" * 16,
        "b" * 16,
        "alertmesh-orchestrator",
        78,
        32,
        **{
            "alertmesh.workflow_id": KEY,
            "alertmesh.correlation_id": EVENT,
        },
    ),
    span(
        "RunActivity:run_actions",
        "d" * 16,
        "c" * 16,
        "alertmesh-executor",
        160,
        1300,
        **{
            "temporalWorkflowID": KEY,
            "temporalRunID": "01a22440-run",
        },
    ),
    span(
        "action extract_urls",
        "e" * 16,
        "d" * 16,
        "alertmesh-executor",
        162,
        1290,
        **{
            "alertmesh.ref": "extract_urls",
            "alertmesh.action": "core.text.extract_urls",
            "alertmesh.attempt": 2,
            "alertmesh.action.status": "failed",
        },
        status="ERROR",
        error="ValueError: no",
    ),
    span(
        "ray task core.text.extract_urls",
        "f" * 16,
        "e" * 16,
        "alertmesh-executor",
        1400,
        27,
        **{
            "alertmesh.action": "core.text.extract_urls",
            "alertmesh.ray.worker": True,
            "alertmesh.ref": "x",
        },
    ),
    span(
        "publish alertmesh.results",
        "1" * 16,
        "d" * 16,
        "alertmesh-orchestrator",
        1530,
        8,
        **{
            "alertmesh.result.status": "completed",
            "messaging.destination.name": "alertmesh.results",
            "alertmesh.result.id": "fe316e01",
        },
    ),
]


def write_store(directory: Path, spans: list[dict[str, Any]], name: str = "alertmesh-x-1-1-0001.jsonl") -> None:
    directory.mkdir(exist_ok=True)
    with (directory / name).open("ab") as out:
        for record in spans:
            out.write(orjson.dumps(record) + b"\n")


@pytest.mark.parametrize("identifier", [EVENT, KEY, TRACE, "fe316e01"], ids=["event", "key", "trace", "result"])
def test_a_trace_is_found_by_each_kind_of_id_across_the_processes_files(tmp_path: Path, identifier: str) -> None:
    write_store(tmp_path, ALERT_PATH[:4], "alertmesh-ingest-1-1-0001.jsonl")
    write_store(tmp_path, ALERT_PATH[4:], "alertmesh-executor-2-1-0001.jsonl")
    write_store(tmp_path, [span("other", "9" * 16, None, "alertmesh-ingest", 0, 1, trace_id="0" * 32)])
    [trace] = find_traces(tmp_path, identifier)
    assert trace.trace_id == TRACE
    assert [s.name for s in trace.spans] == [record["name"] for record in ALERT_PATH]


def test_a_value_that_is_no_id_attribute_names_no_trace(tmp_path: Path) -> None:
    write_store(tmp_path, ALERT_PATH)
    assert find_traces(tmp_path, "01a22440-run") == []  # a run id: in the spans, but not an id an alert has
    assert find_traces(tmp_path, "triage") == []


def test_the_waterfall_shows_hops_actions_result_and_the_temporal_link(tmp_path: Path) -> None:
    write_store(tmp_path, ALERT_PATH)
    [trace] = find_traces(tmp_path, EVENT)
    shown = render(trace, temporal_ui="http://127.0.0.1:8233", namespace="default")
    lines = shown.splitlines()
    assert lines[0].startswith(f"trace {TRACE}  7 spans  1538.0 ms")
    assert f"alert {EVENT}" in shown and f"idempotency key {KEY}" in shown
    assert "workflow triage" in shown
    # Offsets, durations, services, nesting and the failure mark.
    assert any(line.split()[:3] == ["40.0", "38.0", "ingest"] for line in lines)
    assert any("executor (ray)" in line and "ray task core.text.extract_urls" in line for line in lines)
    assert any("action extract_urls !" in line for line in lines)
    assert "extract_urls         core.text.extract_urls             2  failed" in shown
    assert "ValueError: no" in shown
    assert "result: completed, published to alertmesh.results at +1530.0 ms (event fe316e01)" in shown
    workflow = KEY.replace(":", "%3A")
    assert f"Temporal UI: http://127.0.0.1:8233/namespaces/default/workflows/{workflow}/01a22440-run/history" in shown


def test_a_dead_letter_is_shown_with_its_stage_and_reason(tmp_path: Path) -> None:
    dead = span("process alerts.raw", "b" * 16, "a" * 16, "alertmesh-ingest", 17, 3, status="ERROR", **{
        "alertmesh.dead_letter.stage": "parse", "alertmesh.dead_letter.reason": "unsupported payload",
    })  # fmt: skip
    write_store(tmp_path, [ALERT_PATH[0], dead])
    shown = render_trace(TRACE, tmp_path)
    assert "dead letter: ingest at +17.0 ms, stage parse: unsupported payload" in shown
    assert "actions:" not in shown


def test_a_dead_letters_from_position_finds_the_trace_of_the_record_it_came_from(tmp_path: Path) -> None:
    position = {"messaging.destination.name": "alerts.raw", "messaging.destination.partition.id": "1"}
    poison = span("process alerts.raw", "b" * 16, None, "alertmesh-ingest", 0, 3, status="ERROR", **{
        **position, "messaging.kafka.offset": 7, "alertmesh.dead_letter.stage": "parse",
        "alertmesh.dead_letter.reason": "not JSON",
    })  # fmt: skip
    neighbour = span("process alerts.raw", "c" * 16, None, "alertmesh-ingest", 0, 3, **{
        **position, "messaging.kafka.offset": 8,
    })  # fmt: skip
    write_store(tmp_path, [poison, {**neighbour, "trace_id": "f" * 32}])
    [trace] = find_traces(tmp_path, "alerts.raw@1/7")
    assert [s.span_id for s in trace.spans] == ["b" * 16]
    assert "dead letter: ingest at +0.0 ms, stage parse: not JSON" in render_trace("alerts.raw@1/7", tmp_path)
    assert find_traces(tmp_path, "alerts.raw@2/7") == []
    assert find_traces(tmp_path, "alertmesh.triggers@1/7") == []


def test_the_newest_of_several_traces_is_shown_and_the_others_named(tmp_path: Path) -> None:
    older = [
        dict(record, trace_id="1" * 32, start=record["start"] - 10**12, end=record["end"] - 10**12)
        for record in ALERT_PATH
    ]
    write_store(tmp_path, older + ALERT_PATH)
    shown = render_trace(KEY, tmp_path)
    assert shown.startswith(f"trace {TRACE}")
    assert f"1 more trace(s) for this id: {'1' * 32}" in shown


def test_no_trace_says_so(tmp_path: Path) -> None:
    assert render_trace("nothing", tmp_path) == f"no trace found for 'nothing' in {tmp_path}"
    assert find_traces(tmp_path / "missing", "nothing") == []


def test_an_unfinished_trace_says_it_has_no_outcome_yet(tmp_path: Path) -> None:
    write_store(tmp_path, ALERT_PATH[:3])
    assert "no result or dead letter in this trace yet" in render_trace(EVENT, tmp_path)


def test_a_half_written_line_is_skipped(tmp_path: Path) -> None:
    write_store(tmp_path, ALERT_PATH)
    with (tmp_path / "alertmesh-x-1-1-0001.jsonl").open("ab") as out:
        out.write(b'{"trace_id": "' + TRACE.encode() + b'", "na')
    [trace] = find_traces(tmp_path, TRACE)
    assert len(trace.spans) == len(ALERT_PATH)


def test_waiting_returns_once_the_trace_is_finished_and_settled(tmp_path: Path) -> None:
    write_store(tmp_path, ALERT_PATH[:3])

    async def scenario() -> list[Any]:
        async def later() -> None:
            await asyncio.sleep(0.5)
            write_store(tmp_path, ALERT_PATH[3:])

        writer = asyncio.create_task(later())
        found = await wait_for_traces(tmp_path, EVENT, timeout_s=10, poll_s=0.1)
        await writer
        return found

    [trace] = asyncio.run(scenario())
    assert trace.finished and len(trace.spans) == len(ALERT_PATH)


def test_the_demo_renders_the_trace_once_it_is_finished(tmp_path: Path) -> None:
    write_store(tmp_path, ALERT_PATH)
    shown = asyncio.run(render_finished_trace(KEY, tmp_path, timeout_s=5, temporal_ui="http://ui"))
    assert shown.startswith(f"trace {TRACE}")
    assert "Temporal UI: http://ui/namespaces/default/" in shown
    assert asyncio.run(render_finished_trace("nothing", tmp_path, timeout_s=0.2)).startswith("no trace found")


def test_spans_are_ordered_as_a_tree_and_orphans_start_their_own() -> None:
    records = [span("orphan", "7" * 16, "8" * 16, "alertmesh-executor", 5, 1), *ALERT_PATH[:3]]
    trace = Trace(TRACE, sorted((SpanRecord.from_json(r) for r in records), key=lambda s: s.start_ns))
    assert [(depth, s.name) for depth, s in ordered(trace)] == [
        (0, "POST /v1/alerts/{source}"),
        (1, "process alerts.raw"),
        (2, "process alertmesh.triggers"),
        (0, "orphan"),
    ]


def test_bars_place_each_span_in_the_whole_trace() -> None:
    assert bar(0, 10, 0, 100, width=10) == "█         "
    assert bar(50, 100, 0, 100, width=10) == "     █████"
    assert bar(0, 0, 0, 0, width=4) == "█   "


def test_the_temporal_link_quotes_ids() -> None:
    assert temporal_link("http://ui:8233/", "ns", "a:b/c", None) == "http://ui:8233/namespaces/ns/workflows/a%3Ab%2Fc"


def test_the_command_reads_the_state_dirs_store_and_mesh_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEMPORAL_UI_URL", raising=False)
    write_store(tmp_path / "traces", ALERT_PATH)
    (tmp_path / "mesh.json").write_bytes(orjson.dumps({"temporal_ui": "http://127.0.0.1:9999"}))
    args = argparse.Namespace(id=EVENT, state_dir=tmp_path, traces_dir=None, wait=0.0, temporal_ui=None)
    assert trace_cmd.trace(args) == 0
    assert "Temporal UI: http://127.0.0.1:9999/namespaces/default/" in capsys.readouterr().out
    args = argparse.Namespace(id="unknown", state_dir=tmp_path, traces_dir=None, wait=0.0, temporal_ui=None)
    assert trace_cmd.trace(args) == 1
    assert "no trace found for 'unknown'" in capsys.readouterr().err


def test_the_store_defaults_to_the_environment_then_the_default_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERTMESH_TRACES_DIR", str(tmp_path / "env"))
    assert trace_cmd.traces_dir(None, None) == tmp_path / "env"
    assert trace_cmd.traces_dir(tmp_path, None) == tmp_path / "traces"
    assert trace_cmd.traces_dir(tmp_path, tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("ALERTMESH_TRACES_DIR")
    monkeypatch.setenv("ALERTMESH_STATE_DIR", str(tmp_path / "state"))
    assert trace_cmd.traces_dir(None, None) == tmp_path / "state" / "traces"


# --- Operator output: span data never reaches the terminal as a control character -----------------------------------

HOSTILE_ATTRIBUTES = [
    "alertmesh.event_id", "alertmesh.correlation_id", "alertmesh.idempotency_key", "alertmesh.workflow",
    "alertmesh.workflow_id", "temporalRunID", "alertmesh.ref", "alertmesh.action", "alertmesh.action.status",
    "alertmesh.dead_letter.stage", "alertmesh.dead_letter.reason", "alertmesh.result.status",
    "messaging.destination.name", "alertmesh.result.id", "alertmesh.result.error", "alertmesh.held",
    "alertmesh.dropped",
]  # fmt: skip


def hostile_trace(texts: list[str], attrs: dict[str, Any]) -> Trace:
    """Two spans (a hop and an action attempt) whose every text is one of ``texts`` or ``attrs``."""
    name, service, error, status, trace_id = texts
    hostile = SpanRecord(trace_id or "t", "s1", None, name, service, T0, T0 + MS, status, error, attrs)
    action = SpanRecord(trace_id or "t", "s2", "s1", f"action {name}", service, T0, T0 + 2 * MS, "ERROR", error,
                        {**attrs, "alertmesh.ref": name, "alertmesh.attempt": error})  # fmt: skip
    return Trace(trace_id or "t", [hostile, action])


@FUZZ
@given(
    texts=st.lists(HOSTILE_TEXT, min_size=5, max_size=5),
    attrs=st.dictionaries(st.sampled_from(HOSTILE_ATTRIBUTES), HOSTILE_TEXT | st.lists(HOSTILE_TEXT, max_size=2)),
    others=st.lists(HOSTILE_TEXT, max_size=2),
)
def test_no_line_of_the_waterfall_holds_a_control_character_from_the_spans(
    texts: list[str], attrs: dict[str, Any], others: list[str]
) -> None:
    shown = render(hostile_trace(texts, attrs), temporal_ui="http://ui", others=others)
    assert [line for line in shown.split("\n") if controls_in(line)] == []

    # A newline in the data starts no line of its own: as many lines as with plain text.
    def plain(text: str) -> str:
        return text and "x"

    plain_attrs = {
        key: plain(value) if isinstance(value, str) else list(map(plain, value)) for key, value in attrs.items()
    }
    plain_trace = hostile_trace(list(map(plain, texts)), plain_attrs)
    plain_text = render(plain_trace, temporal_ui="http://ui", others=list(map(plain, others)))
    assert len(shown.split("\n")) == len(plain_text.split("\n"))
    reason = attrs.get("alertmesh.dead_letter.reason")
    if "alertmesh.dead_letter.stage" in attrs and isinstance(reason, str):
        assert escape(reason) in shown  # shown, not dropped: escaped


def test_the_command_prints_an_escape_sequence_in_a_reason_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = span("process alerts.raw", "b" * 16, "a" * 16, "alertmesh-ingest", 17, 3, status="ERROR", **{
        "alertmesh.dead_letter.stage": "route", "alertmesh.dead_letter.reason": "no route for key '\x1b]0;x\x07\u202e'",
    })  # fmt: skip
    write_store(tmp_path / "traces", [ALERT_PATH[0], dead])
    args = argparse.Namespace(id=TRACE, state_dir=tmp_path, traces_dir=None, wait=0.0, temporal_ui="http://ui")
    assert trace_cmd.trace(args) == 0
    out = capsys.readouterr().out
    assert "no route for key '\\x1b]0;x\\x07\\u202e'" in out and not controls_in(out.replace("\n", ""))
