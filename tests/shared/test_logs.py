"""Every log line names its trace and correlation id; ALERTMESH_LOG_FORMAT=json gives one JSON object per line;
an unknown format is refused; Temporal's activity logger goes through the same handler."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import orjson
import pytest
from opentelemetry import baggage, context, trace
from temporalio import activity
from temporalio.testing import ActivityEnvironment

from alertmesh import cli
from services.shared import logs

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
SPAN_ID = 0x00F067AA0BA902B7


@contextmanager
def in_alert_context(correlation_id: str = "alert-1") -> Iterator[None]:
    """As a hop does it: the alert's span current, its correlation id in the baggage."""
    span = trace.NonRecordingSpan(trace.SpanContext(TRACE_ID, SPAN_ID, is_remote=True))
    token = context.attach(baggage.set_baggage(logs.CORRELATION_BAGGAGE, correlation_id))
    try:
        with trace.use_span(span):
            yield
    finally:
        context.detach(token)


@contextmanager
def captured(service: str, fmt: str) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = logs.handler(service, fmt)
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    logger = logging.getLogger(f"tests.logs.{service}.{fmt}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, out
    finally:
        logger.removeHandler(handler)


def test_text_lines_carry_trace_and_correlation_id() -> None:
    with captured("ingest", "text") as (logger, out):
        logger.info("no alert yet")
        with in_alert_context():
            logger.info("routed %s", "HighCPU")
    first, second = out.getvalue().splitlines()
    assert " ingest [- -] tests.logs.ingest.text: no alert yet" in first
    assert f" ingest [{TRACE_ID:032x} alert-1] tests.logs.ingest.text: routed HighCPU" in second
    assert second.split()[1] == "INFO"


def test_json_lines_have_every_field() -> None:
    with captured("orchestrator", "json") as (logger, out), in_alert_context("corr-9"):
        logger.warning("started %s", "triage")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.exception("failed")
    started, failed = (orjson.loads(line) for line in out.getvalue().splitlines())
    assert started == {
        "time": started["time"],
        "level": "WARNING",
        "service": "orchestrator",
        "logger": "tests.logs.orchestrator.json",
        "message": "started triage",
        "trace_id": f"{TRACE_ID:032x}",
        "span_id": f"{SPAN_ID:016x}",
        "correlation_id": "corr-9",
    }
    assert started["time"].endswith("+00:00") and "T" in started["time"]
    assert failed["level"] == "ERROR" and "RuntimeError: boom" in failed["exc_info"]


def test_json_lines_without_context_say_unknown() -> None:
    with captured("webhook", "json") as (logger, out):
        logger.info("listening")
    line = orjson.loads(out.getvalue())
    assert (line["trace_id"], line["span_id"], line["correlation_id"]) == ("-", "-", "-")
    assert "exc_info" not in line


@pytest.mark.parametrize(("value", "expected"), [("", "text"), ("JSON", "json"), (" text ", "text")])
def test_format_from_environment(value: str, expected: str) -> None:
    assert logs.log_format({logs.FORMAT_ENV: value}) == expected
    assert logs.log_format({}) == "text"


def test_unknown_format_is_refused_clearly(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(logs.LogFormatError, match="'yaml' is not a log format: use one of text, json"):
        logs.log_format({logs.FORMAT_ENV: "yaml"})
    monkeypatch.setenv(logs.FORMAT_ENV, "logfmt")
    with pytest.raises(SystemExit, match="alertmesh ingest: ALERTMESH_LOG_FORMAT='logfmt' is not a log format"):
        logs.configure("ingest")
    assert cli.main(["results", "--count", "0"]) == 2
    assert "ALERTMESH_LOG_FORMAT='logfmt' is not a log format" in capsys.readouterr().err


def test_configure_replaces_root_handlers_with_one_of_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    monkeypatch.setenv(logs.FORMAT_ENV, "json")
    try:
        logs.configure("executor", "debug")
        [installed] = root.handlers
        assert isinstance(installed.formatter, logs.JsonFormatter)
        assert root.level == logging.DEBUG
        logs.configure_worker("executor")  # already ours: nothing added
        assert root.handlers == [installed]
    finally:
        root.handlers[:] = saved
        root.setLevel(level)


async def test_temporal_activity_logger_lines_carry_the_ids() -> None:
    """temporalio's activity logger (a LoggerAdapter adding the activity's info) reaches our handler with the
    ids of the context the activity runs in."""
    out = io.StringIO()
    handler = logs.handler("executor", "json")
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    temporal_logger = logging.getLogger("temporalio.activity")
    temporal_logger.addHandler(handler)
    previous = temporal_logger.level
    temporal_logger.setLevel(logging.INFO)

    @activity.defn
    async def enrich(name: str) -> str:
        activity.logger.info("enriching %s", name)
        return name

    try:
        with in_alert_context("corr-temporal"):
            await ActivityEnvironment().run(enrich, "host-1")
    finally:
        temporal_logger.removeHandler(handler)
        temporal_logger.setLevel(previous)
    line = orjson.loads(out.getvalue().splitlines()[0])
    assert line["logger"] == "temporalio.activity"
    assert line["message"].startswith("enriching host-1")
    assert (line["trace_id"], line["correlation_id"]) == (f"{TRACE_ID:032x}", "corr-temporal")
