"""One log format for every service, so ``alertmesh up`` output reads as one stream, and every line names the
alert it is about: its trace id (the current OpenTelemetry span) and its correlation id (W3C baggage
``alertmesh.correlation_id``, which travels with the trace context across Kafka, Temporal and Ray).

``ALERTMESH_LOG_FORMAT`` picks the format: ``text`` (the default, for people) or ``json`` (one JSON object per
line, for log collectors): ``time``, ``level``, ``service``, ``logger``, ``message``, ``trace_id``, ``span_id``,
``correlation_id``, and ``exc_info`` when there is an exception. ``-`` stands for an id that is not known.

Log lines must not carry secrets. Two rules keep them out, in every process alertmesh configures (the services
and Ray's task workers alike):
- libraries that log what they send (httpx and httpcore log every request's full URL at INFO, urllib3 and
  requests the same at DEBUG, aiokafka every record's metadata) are held at WARNING or above (``QUIET_LOGGERS``),
  whatever the process's level;
- while code runs under ``redacting(mask)`` (the executor runs each action that read a secret so, in its own
  process and in the Ray task), every record is passed through ``mask`` when it is made, before any handler or
  filter sees it: its message (arguments filled in) and its exception's text; in the processes that run actions
  (``redact_streams``: Ray workers, the executor), so is what is written to stdout and stderr.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from opentelemetry import baggage, trace

FORMAT_ENV = "ALERTMESH_LOG_FORMAT"
FORMATS = ("text", "json")
#: The baggage key the correlation id travels under (set where an alert enters, read on every hop).
CORRELATION_BAGGAGE = "alertmesh.correlation_id"
UNKNOWN = "-"
#: Loggers that write request lines or bodies (URLs with their query, headers, payloads) below WARNING.
QUIET_LOGGERS = ("httpx", "httpcore", "urllib3", "requests", "hpack", "h2", "h11", "aiokafka", "kafka", "botocore")

_redactor: ContextVar[Callable[[str], str] | None] = ContextVar("alertmesh_log_redactor", default=None)


@contextmanager
def redacting(mask: Callable[[str], str]) -> Iterator[None]:
    """Every log record made within (in this context: this task, and threads and event loops it starts with a
    copy of its context) has its message and exception text passed through ``mask``."""
    token = _redactor.set(mask)
    try:
        yield
    finally:
        _redactor.reset(token)


def _redacting_factory(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        mask = _redactor.get()
        if mask is not None:
            redact(record, mask)
        return record

    factory.alertmesh_redacting = True  # type: ignore[attr-defined]  # installed once, see install_redaction
    return factory


def redact(record: logging.LogRecord, mask: Callable[[str], str]) -> None:
    """Pass ``record``'s message (with its arguments) and its exception and stack text through ``mask``."""
    record.msg, record.args = mask(record.getMessage()), None
    if record.exc_info:
        record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None
    if record.stack_info:
        record.stack_info = mask(record.stack_info)


def install_redaction() -> None:
    """Make every log record of the process pass through the current ``redacting`` mask (once per process)."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "alertmesh_redacting", False):
        logging.setLogRecordFactory(_redacting_factory(current))


class RedactingStream:
    """A text stream (``sys.stdout``, ``sys.stderr``) whose writes pass through the current ``redacting`` mask:
    what an action prints, or a library writes there (a warning, a traceback), is masked as log records are.
    Everything else is the wrapped stream's."""

    def __init__(self, wrapped: TextIO) -> None:
        self.wrapped = wrapped

    def write(self, text: str) -> int:
        """Write ``text``, masked when a step's secrets are being masked; returns ``len(text)`` as streams do."""
        mask = _redactor.get()
        self.wrapped.write(mask(text) if mask is not None and text else text)
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def redact_streams() -> None:
    """Wrap ``sys.stdout`` and ``sys.stderr`` in ``RedactingStream`` (once): for processes that run actions, whose
    output goes to log files (a Ray worker's ``.out`` and ``.err``, the executor's output)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, RedactingStream):
            setattr(sys, name, RedactingStream(stream))


def quiet_libraries(level: int) -> None:
    """Hold every logger of ``QUIET_LOGGERS`` at WARNING, or ``level`` when higher."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, level))


class LogFormatError(ValueError):
    """``ALERTMESH_LOG_FORMAT`` names no known format."""


def log_format(environ: Mapping[str, str] | None = None) -> str:
    """The format ``ALERTMESH_LOG_FORMAT`` asks for (``text`` when unset); raises ``LogFormatError`` otherwise."""
    value = (os.environ if environ is None else environ).get(FORMAT_ENV, "").strip().lower() or "text"
    if value not in FORMATS:
        raise LogFormatError(f"{FORMAT_ENV}={value!r} is not a log format: use one of {', '.join(FORMATS)}")
    return value


class TraceContextFilter(logging.Filter):
    """Sets ``trace_id``, ``span_id`` and ``correlation_id`` on every record from the context it is logged in.

    On the handler, not a logger: a handler's filters see the records of every logger that propagates to it
    (Temporal's ``temporalio.activity`` and ``temporalio.workflow`` loggers, aiokafka, FastStream, Ray)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the ids to ``record`` (``-`` where the context has none); never drops a record."""
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = trace.format_trace_id(context.trace_id)
            record.span_id = trace.format_span_id(context.span_id)
        else:
            record.trace_id = record.span_id = UNKNOWN
        correlation = baggage.get_baggage(CORRELATION_BAGGAGE)
        record.correlation_id = str(correlation) if correlation else UNKNOWN
        return True


class TextFormatter(logging.Formatter):
    """``12:00:01 INFO    ingest [<trace id> <correlation id>] services.ingest.app: message``."""

    def __init__(self, service: str) -> None:
        super().__init__(
            f"%(asctime)s %(levelname)-7s {service} [%(trace_id)s %(correlation_id)s] %(name)s: %(message)s",
            datefmt="%H:%M:%S",
        )


class JsonFormatter(logging.Formatter):
    """One JSON object per line; ``time`` is ISO 8601 in UTC with milliseconds."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        """``record`` as one JSON line, with its exception and stack when it has them."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": getattr(record, "trace_id", UNKNOWN),
            "span_id": getattr(record, "span_id", UNKNOWN),
            "correlation_id": getattr(record, "correlation_id", UNKNOWN),
        }
        if record.exc_info or record.exc_text:  # exc_text alone: the exception was redacted (``redact``)
            entry["exc_info"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


def handler(service: str, fmt: str | None = None) -> logging.Handler:
    """A stderr handler in the format ``fmt`` (default: ``ALERTMESH_LOG_FORMAT``), with the trace context filter."""
    fmt = fmt or log_format()
    result = logging.StreamHandler()
    result.setFormatter(JsonFormatter(service) if fmt == "json" else TextFormatter(service))
    result.addFilter(TraceContextFilter())
    result.set_name(f"alertmesh-{service}")
    return result


def configure(service: str, level: str = "INFO") -> None:
    """Log every record of the process through one handler in the configured format (replacing the root
    logger's handlers). Raises ``SystemExit`` with the reason when ``ALERTMESH_LOG_FORMAT`` is unknown: a service
    must not start logging in a format no collector expects."""
    try:
        installed = handler(service)
    except LogFormatError as error:
        raise SystemExit(f"alertmesh {service}: {error}") from None
    # A crash in native code (Temporal's Rust core, Ray, librdkafka) then prints every thread's Python stack.
    faulthandler.enable()
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(installed)
    root.setLevel(level.upper())
    # aiokafka logs every rebalance and metadata hiccup at INFO, httpx every request's URL: warnings and worse.
    quiet_libraries(root.level)
    install_redaction()
    # FastStream's app logger prints with its own format and ANSI colours; send it through ours instead.
    faststream = logging.getLogger("faststream")
    faststream.handlers.clear()
    faststream.propagate = True


def configure_worker(service: str) -> None:
    """For processes alertmesh does not start itself (Ray's task workers): configure once, keeping the level and
    any handler of the host's that is not a plain stream to stderr."""
    root = logging.getLogger()
    if any(existing.get_name() == f"alertmesh-{service}" for existing in root.handlers):
        return
    try:
        installed = handler(service)
    except LogFormatError:
        installed = handler(service, "text")  # the executor itself refused it already, loudly
    root.addHandler(installed)
    if root.level == logging.WARNING:  # the default: a worker's INFO lines (actions' own logging) show too
        root.setLevel(logging.INFO)
    # Not at INFO: httpx would write every request's URL, query and all, to the worker's log file.
    quiet_libraries(root.level)
    install_redaction()
    redact_streams()  # what actions print goes to the worker's log files too
