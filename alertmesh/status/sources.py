"""Where ``alertmesh status`` looks, and what it reads there: each part's ``/healthz`` and ``/metrics``, consumer
lag from Kafka, running workflows from Temporal, the tails of the results and dead-letter topics.

Every read has a time limit and turns any failure into a reason shown next to the part (``status`` is what an
operator runs when things are broken: it must report the breakage, not crash on it).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import httpx
from pydantic import ValidationError
from temporalio.client import Client

from alertmesh import kafka_tools
from alertmesh.commands.dlq import letters as dlq_cmd
from alertmesh.stack.state import MeshState
from alertmesh.status.metrics import Counters, parse_counters
from schemas import DeadLetter, WorkflowResult
from services.shared.kafka import KafkaSettings
from services.shared.temporal import TemporalSettings

T = TypeVar("T")
#: Longest wait for any one source; a part slower than this is reported as not answering.
READ_TIMEOUT_S = 5.0
#: How many of the newest records per partition are read for "recent" failures and dead letters.
TAIL_PER_PARTITION = 200
#: Counted in a running-workflow count (Temporal visibility query).
RUNNING_QUERY = 'ExecutionStatus="Running"'


@dataclass(frozen=True)
class PartTarget:
    """A part to ask: its URLs, and what ``alertmesh up`` recorded about its process (when it runs it)."""

    name: str
    health_url: str | None
    metrics_url: str | None
    pid: int | None = None
    restarts: int | None = None
    last_exit_code: int | None = None
    started_at: datetime | None = None
    supervised: bool = False


@dataclass(frozen=True)
class Target:
    """The whole mesh to report on."""

    parts: list[PartTarget]
    kafka: KafkaSettings
    temporal: TemporalSettings
    #: (consumer group, the topic it reads)
    groups: list[tuple[str, str]]
    results_topic: str
    dlq_topic: str


def parts_from_mesh(state: MeshState) -> list[PartTarget]:
    """The parts ``mesh.json`` lists, in its order."""
    return [
        PartTarget(name, p.health_url, p.metrics_url, p.pid, p.restarts, p.last_exit_code, p.started_at, True)
        for name, p in state.parts.items()
    ]


@dataclass(frozen=True)
class PartStatus:
    """What one refresh found about one part: its health and its counters, each with the reason when missing."""

    target: PartTarget
    #: True: /healthz answered 200; False: it did not (``reason`` says how); None: the part has no health URL.
    healthy: bool | None
    reason: str
    counters: Counters | None
    metrics_reason: str


@dataclass(frozen=True)
class Lag:
    """One partition's consumer lag: the group's committed offset (None: nothing committed) and the end offset."""

    group: str
    topic: str
    partition: int
    committed: int | None
    end: int

    @property
    def records(self) -> int:
        """Records the group has yet to commit (all of them while it has committed nothing)."""
        return self.end - (self.committed or 0)


@dataclass
class Snapshot:
    """Everything one refresh found. Each ``*_error`` is set instead of its value when that source failed."""

    taken_at: datetime
    parts: list[PartStatus]
    kafka: str = ""
    temporal: str = ""
    kafka_error: str | None = None
    temporal_error: str | None = None
    lag: list[Lag] = field(default_factory=list)
    lag_error: str | None = None
    workflows_running: int | None = None
    failed_results: list[WorkflowResult] = field(default_factory=list)
    results_error: str | None = None
    dead_letters: list[DeadLetter] = field(default_factory=list)
    dead_letters_total: int = 0
    dead_letters_error: str | None = None


def describe(error: BaseException) -> str:
    """A one-line reason for an exception: what an operator needs, without a traceback."""
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        return f"no answer within {READ_TIMEOUT_S:.0f}s"
    if isinstance(error, httpx.ConnectError):
        cause: BaseException | None = error
        while cause is not None and not isinstance(cause, ConnectionRefusedError):
            cause = cause.__cause__ or cause.__context__
        return "connection refused" if cause is not None else f"cannot connect ({error})"
    text = " ".join(str(error).split()) or type(error).__name__
    if "ConnectionError" in type(error).__name__ or "tcp connect error" in text:  # aiokafka's, Temporal's
        return "cannot connect" + (": connection refused" if "111" in text or "refused" in text.lower() else "")
    return text if len(text) <= 160 else text[:157] + "..."


async def _limited(work: Awaitable[T]) -> T:
    return await asyncio.wait_for(work, timeout=READ_TIMEOUT_S)


async def health(http: httpx.AsyncClient, url: str | None) -> tuple[bool | None, str]:
    """Whether ``url`` (a ``/healthz``) answers 200, and the reason to show; ``(None, ...)`` when there is no URL. Never
    raises."""
    if url is None:
        return None, "no health endpoint"
    try:
        response = await _limited(http.get(url))
    except Exception as error:
        return False, describe(error)
    if response.status_code == 200:
        return True, "ok"
    return False, f"/healthz answered {response.status_code} {response.text.strip()[:80]}".rstrip()


async def scrape(http: httpx.AsyncClient, target: PartTarget) -> tuple[Counters | None, str]:
    """The part's flow counters from its ``/metrics``, or None and the reason they could not be read. Never raises."""
    if target.metrics_url is None:
        return None, "no metrics endpoint"
    try:
        response = await _limited(http.get(target.metrics_url))
        if response.status_code != 200:
            return None, f"/metrics answered {response.status_code}"
        return parse_counters(response.text, target.name, time.monotonic()), ""
    except Exception as error:  # an unreachable part, or text that is not the exposition format
        return None, describe(error)


async def scrape_all(http: httpx.AsyncClient, parts: list[PartTarget]) -> dict[str, Counters]:
    """Only the counters (the first of the two scrapes a one-off ``status`` takes for its rates)."""
    found = await asyncio.gather(*(scrape(http, part) for part in parts))
    return {part.name: counters for part, (counters, _) in zip(parts, found, strict=True) if counters is not None}


async def part_status(http: httpx.AsyncClient, target: PartTarget) -> PartStatus:
    """Health and counters of one part, read at the same time; a supervised part without a process is down."""
    (healthy, reason), (counters, metrics_reason) = await asyncio.gather(health(http, target.health_url),
                                                                         scrape(http, target))  # fmt: skip
    if target.supervised and target.pid is None:
        healthy, reason = False, "not running" + (f" (last exit code {target.last_exit_code})"
                                                  if target.last_exit_code is not None else "")  # fmt: skip
    return PartStatus(target, healthy, reason, counters, metrics_reason)


async def lag(kafka: KafkaSettings, groups: list[tuple[str, str]]) -> list[Lag]:
    """Every partition's lag of each ``(group, topic)``; raises when any read fails or takes longer than
    ``READ_TIMEOUT_S``."""
    found = await asyncio.gather(*(_limited(kafka_tools.group_lag(kafka, group, topic)) for group, topic in groups))
    return [
        Lag(group, topic, partition, committed, end)
        for (group, topic), offsets in zip(groups, found, strict=True)
        for partition, (committed, end) in sorted(offsets.items())
    ]


def recent_failed(values: list[bytes], keep: int) -> list[WorkflowResult]:
    """The newest ``keep`` failed results among ``values`` (records that are not results are skipped)."""
    failed = []
    for value in values:
        try:
            result = WorkflowResult.from_json(value)
        except (ValidationError, ValueError):
            continue
        if result.data.status == "failed":
            failed.append(result)
    failed.sort(key=lambda result: result.data.finished_at)
    return failed[-keep:]


def recent_letters(values: list[bytes], keep: int) -> list[DeadLetter]:
    """The newest ``keep`` dead letters, decoded as ``alertmesh dlq`` does."""
    letters, _ = dlq_cmd.decode_letters(values)
    letters.sort(key=lambda letter: letter.time)
    return letters[-keep:]


class Sources:
    """The clients one ``status`` run keeps between refreshes (HTTP, and Temporal once it connected)."""

    def __init__(self, target: Target, keep: int = 5) -> None:
        self.target = target
        self.keep = keep
        self.http = httpx.AsyncClient(timeout=READ_TIMEOUT_S)
        self._temporal: Client | None = None

    async def close(self) -> None:
        """Close the HTTP client (the Temporal client needs no closing)."""
        await self.http.aclose()

    async def counters(self) -> dict[str, Counters]:
        """Only the parts' counters, by part name (those that could not be read are left out)."""
        return await scrape_all(self.http, self.target.parts)

    async def snapshot(self) -> Snapshot:
        """Read every source at once; a failed source sets its ``*_error`` instead of raising."""
        target = self.target
        parts = asyncio.gather(*(part_status(self.http, part) for part in target.parts))
        snapshot = Snapshot(datetime.now(UTC), [], target.kafka.bootstrap_servers, target.temporal.address)
        await asyncio.gather(self._kafka(snapshot), self._temporal_status(snapshot))
        snapshot.parts = [self._server_health(part, snapshot) for part in await parts]
        return snapshot

    @staticmethod
    def _server_health(part: PartStatus, snapshot: Snapshot) -> PartStatus:
        """The embedded servers have no /healthz: they are up when the reads through them worked."""
        if part.target.health_url is not None or part.healthy is False:
            return part
        error = {"kafka": snapshot.kafka_error, "temporal": snapshot.temporal_error}.get(part.target.name, "")
        if error == "":
            return part
        return dataclasses.replace(part, healthy=error is None, reason=error or "ok")

    async def _kafka(self, snapshot: Snapshot) -> None:
        target = self.target
        lags, results, letters = await asyncio.gather(
            lag(target.kafka, target.groups),
            _limited(kafka_tools.tail(target.kafka, target.results_topic, TAIL_PER_PARTITION)),
            _limited(kafka_tools.tail(target.kafka, target.dlq_topic, TAIL_PER_PARTITION)),
            return_exceptions=True,
        )
        if isinstance(lags, BaseException):
            snapshot.lag_error = describe(lags)
        else:
            snapshot.lag = lags
        if isinstance(results, BaseException):
            snapshot.results_error = describe(results)
        else:
            snapshot.failed_results = recent_failed(results[0], self.keep)
        if isinstance(letters, BaseException):
            snapshot.dead_letters_error = describe(letters)
        else:
            snapshot.dead_letters, snapshot.dead_letters_total = recent_letters(letters[0], self.keep), letters[1]
        errors = [e for e in (lags, results, letters) if isinstance(e, BaseException)]
        if len(errors) == 3:  # nothing could be read at all: say so once, about the broker
            snapshot.kafka_error = describe(errors[0])

    async def _temporal_status(self, snapshot: Snapshot) -> None:
        try:
            if self._temporal is None:
                self._temporal = await _limited(self.target.temporal.connect())
            count = await _limited(self._temporal.count_workflows(RUNNING_QUERY))
            snapshot.workflows_running = count.count
        except Exception as error:  # the SDK reports a connection failure as RuntimeError
            snapshot.temporal_error = describe(error)
