"""NDJSON batches on the webhook: one alert document a line, each written as its own raw record.

A line is answered 202 only once Kafka acknowledged it (acks=all), like a single-document POST; a line that is
not a JSON object is answered 400 and not written; a line Kafka can never accept for its size 413 (``oversize``);
a line Kafka did not acknowledge in time is answered 503 (the
sender retries that line: a duplicate is harmless, ingest derives every key from the alert). The lines are sent
in order from one task through the producer, unkeyed: they spread over the raw topic's partitions (ingest re-keys
each alert after parsing, so a batch needs no common partition).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from services.shared.consuming import Publisher
from services.webhook.oversize import oversize, refused_by_size

#: Content types of newline-delimited JSON (NDJSON / JSON Lines), as senders spell them.
NDJSON_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonlines",
        "application/jsonlines",
    }
)
#: Every line is written with this content type: each is one JSON document.
LINE_CONTENT_TYPE = "application/json"


def is_ndjson(content_type: str) -> bool:
    """Whether a Content-Type header announces NDJSON."""
    return content_type.split(";", 1)[0].strip().lower() in NDJSON_TYPES


@dataclass
class LineResult:
    """The answer for one line (1-based, counting blank lines too, as an editor does)."""

    line: int
    status: int
    reason: str | None = None
    partition: int | None = None
    offset: int | None = None

    def as_json(self) -> dict[str, Any]:
        """This line's entry in the answer's JSON: its fields that are set (None ones are left out)."""
        return {key: value for key, value in vars(self).items() if value is not None}


def split_lines(body: bytes) -> list[tuple[int, bytes]]:
    """(line number, line) for every non-blank line; ``\\r\\n`` endings are accepted."""
    return [(number, line.strip()) for number, line in enumerate(body.split(b"\n"), start=1) if line.strip()]


def line_problem(line: bytes) -> str | None:
    """Why a line cannot be written (not JSON, or JSON but not an object), or None."""
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        return f"not valid JSON: {error}"
    if not isinstance(document, dict):
        return f"must be a JSON object, got a JSON {type(document).__name__}"
    return None


async def publish_lines(
    publisher: Publisher,
    lines: list[tuple[int, bytes]],
    key: bytes | None,
    headers: Mapping[str, str],
    timeout_s: float,
    max_record_bytes: int | None = None,
) -> list[LineResult]:
    """Write every valid line, in order, and wait (at most ``timeout_s``) for each acknowledgement. A line whose
    record would exceed ``max_record_bytes`` (None: no check here) is answered 413 and not sent."""
    results = [LineResult(number, 0) for number, _ in lines]
    waiting: dict[asyncio.Future[Any], LineResult] = {}
    line_headers = dict(headers) | {"content-type": LINE_CONTENT_TYPE}
    for (_, line), result in zip(lines, results, strict=True):
        problem = line_problem(line)
        if problem is not None:
            result.status, result.reason = 400, problem
            continue
        too_large = None if max_record_bytes is None else oversize(key, line, line_headers, max_record_bytes)
        if too_large is not None:
            result.status, result.reason = 413, too_large
            continue
        try:
            sent = await publisher.publish(line, key=key, headers=line_headers, no_confirm=True)
        except Exception as error:  # refused before it was queued: too large, or the producer closed or full
            _failed(result, error)
            continue
        if isinstance(sent, asyncio.Future):
            waiting[sent] = result
        else:  # a publisher that confirmed already (FastStream's test broker): written
            _accepted(result, sent)
    if waiting:
        done, pending = await asyncio.wait(waiting, timeout=timeout_s)
        for future in done:
            failure = RuntimeError("the write was cancelled") if future.cancelled() else future.exception()
            if failure is None:
                _accepted(waiting[future], future.result())
            else:
                _failed(waiting[future], failure)
        for future in pending:
            # Still in flight: it may yet be written (the sender's retry is then a harmless duplicate).
            future.add_done_callback(_retrieve)
            waiting[future].status = 503
            waiting[future].reason = f"Kafka did not acknowledge the write within {timeout_s}s"
    return results


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Read a late write's outcome, so asyncio does not log it as an exception nobody retrieved."""
    if not future.cancelled():
        future.exception()


def _failed(result: LineResult, error: BaseException) -> None:
    """A write Kafka did not take: 413 when it never can (its size), else 503 (the sender retries the line)."""
    too_large = refused_by_size(error)
    if too_large is not None:
        result.status, result.reason = 413, too_large
    else:
        result.status, result.reason = 503, f"Kafka write failed: {error!r}"


def _accepted(result: LineResult, metadata: Any) -> None:
    result.status = 202
    if metadata is not None and hasattr(metadata, "offset"):
        result.partition, result.offset = metadata.partition, metadata.offset
