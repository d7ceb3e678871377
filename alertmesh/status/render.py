"""``alertmesh status`` output: rates from two readings of the parts' counters, then a screen of text for people
or one JSON object for programs."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alertmesh.commands.dlq import letters as dlq_cmd
from alertmesh.status.metrics import Counters
from alertmesh.status.sources import Lag, PartStatus, Snapshot
from alertmesh.views import results as results_view
from alertmesh.views.safe_text import escape, escape_lines
from alertmesh.views.table import render
from schemas import DeadLetter, WorkflowResult

NO_VALUE = "—"
#: What IN and OUT count for each part (see ``status_sources.FLOWS``).
FLOW_LEGEND = (
    "IN/OUT per second: ingest alerts received/triggers, webhook requests/accepted, "
    "orchestrator triggers/results, executor actions run/succeeded"
)


@dataclass(frozen=True)
class Rates:
    """Per second, over the time between two readings; None where a reading lacks the counter."""

    received: float | None
    sent: float | None
    dead_letters: float | None
    failed_results: float | None


def rate(before: float | None, after: float | None, seconds: float) -> float | None:
    """A counter's increase per second. A counter lower than before means the part restarted and counts from 0
    again (as Prometheus' ``rate`` reads it)."""
    if before is None or after is None or seconds <= 0:
        return None
    delta = after - before
    return (after if delta < 0 else delta) / seconds


def rates(before: Counters | None, after: Counters | None) -> Rates | None:
    """A part's rates between two readings of its counters; None when either reading is missing."""
    if before is None or after is None:
        return None
    seconds = after.taken - before.taken
    return Rates(
        rate(before.received, after.received, seconds),
        rate(before.sent, after.sent, seconds),
        rate(before.dead_letters, after.dead_letters, seconds),
        rate(before.failed_results, after.failed_results, seconds),
    )


def part_rates(snapshot: Snapshot, before: Mapping[str, Counters]) -> dict[str, Rates | None]:
    """Each part's rates from its counters in ``before`` to those in ``snapshot``, by part name (None: no rate yet)."""
    return {part.target.name: rates(before.get(part.target.name), part.counters) for part in snapshot.parts}


def _per_second(value: float | None) -> str:
    if value is None:
        return NO_VALUE
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _total(values: Iterable[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return sum(known) if known else None


def _down(error: str | None) -> str:
    return "ok" if error is None else f"DOWN: {escape(error)}"


def _health(part: PartStatus) -> str:
    return {True: "up", False: "DOWN", None: NO_VALUE}[part.healthy]


def age(seconds: float) -> str:
    """``45s``, ``12m``, ``3h05m``, ``2d04h``: how long a part has been running."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def _part_row(part: PartStatus, rate_of: Rates | None, now: datetime) -> tuple[str, ...]:
    target = part.target
    running = target.started_at is not None and (target.pid is not None or not target.supervised)
    detail = part.reason
    if part.counters is None and part.metrics_reason and part.healthy is not False and target.metrics_url:
        detail += f"; metrics: {part.metrics_reason}"
    exit_code = "-" if target.last_exit_code is None else str(target.last_exit_code)
    cells = (
        target.name,
        _health(part),
        str(target.pid) if target.pid is not None else "-",
        age((now - target.started_at).total_seconds()) if running and target.started_at else NO_VALUE,
        str(target.restarts) if target.restarts is not None else NO_VALUE,
        exit_code,
        _per_second(rate_of.received if rate_of else None),
        _per_second(rate_of.sent if rate_of else None),
        _per_second(rate_of.dead_letters if rate_of else None),
        detail,
    )
    return tuple(escape(cell) for cell in cells)  # names and reasons come from mesh.json and from errors


def text(snapshot: Snapshot, before: Mapping[str, Counters], width: int) -> str:
    """The status screen: parts, flow, lag, workflows, recent failures and dead letters."""
    by_part = part_rates(snapshot, before)
    seconds = [p.counters.taken - before[p.target.name].taken for p in snapshot.parts
               if p.counters is not None and p.target.name in before]  # fmt: skip
    if seconds:
        over = f"rates over {max(seconds):.1f} s"
    else:
        over = "no rates yet" if any(p.counters for p in snapshot.parts) else "no rates: no part serves /metrics"
    lines = [f"alertmesh status  {snapshot.taken_at:%Y-%m-%d %H:%M:%S} UTC  ({over})", ""]
    header = ("PART", "HEALTH", "PID", "UP FOR", "RESTARTS", "LAST EXIT", "IN/s", "OUT/s", "DLQ/s", "DETAIL")
    rows = [_part_row(part, by_part[part.target.name], snapshot.taken_at) for part in snapshot.parts]
    lines += render([header, *rows], width)
    lines += [*textwrap.wrap(FLOW_LEGEND, max(40, width), initial_indent="  ", subsequent_indent="  "), ""]

    orchestrator, ingest = by_part.get("orchestrator"), by_part.get("ingest")
    dead = _total(r.dead_letters for r in by_part.values() if r is not None)
    flow = (
        f"alerts in {_per_second(ingest.received if ingest else None)}/s · "
        f"results out {_per_second(orchestrator.sent if orchestrator else None)}/s "
        f"(failed {_per_second(orchestrator.failed_results if orchestrator else None)}/s) · "
        f"dead letters {_per_second(dead)}/s"
    )
    running = NO_VALUE if snapshot.temporal_error else str(snapshot.workflows_running)
    lines += [
        f"Kafka              {escape(snapshot.kafka)}  {_down(snapshot.kafka_error)}",
        f"Temporal           {escape(snapshot.temporal)}  {_down(snapshot.temporal_error)}",
        f"Flow               {flow}",
        f"Workflows running  {running}",
        "",
    ]

    lag_rows = [(escape(lag.group), escape(lag.topic), str(lag.partition),
                 NO_VALUE if lag.committed is None else str(lag.committed), str(lag.end), str(lag.records))
                for lag in snapshot.lag]  # fmt: skip
    lines += _section(
        "Consumer lag",
        _unreadable(snapshot, snapshot.lag_error),
        render([("GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG"), *lag_rows], width - 2),
        empty=None,
    )
    lines.append("")
    failed = [line for result in snapshot.failed_results for line in results_view.lines(result.to_json(), width - 2)]
    lines += _section(
        "Recent failed results (newest last)",
        _unreadable(snapshot, snapshot.results_error),
        [results_view.header(width - 2), *failed] if failed else [],
    )
    lines.append("")
    total = snapshot.dead_letters_total
    on_topic = "" if snapshot.kafka_error or snapshot.dead_letters_error else f"; {total} on the topic"
    letters = [dlq_cmd.TABLE_HEADER, *(dlq_cmd.letter_row(letter) for letter in snapshot.dead_letters)]
    lines += _section(
        f"Recent dead letters (newest last{on_topic})",
        _unreadable(snapshot, snapshot.dead_letters_error),
        render(letters, width - 2) if snapshot.dead_letters else [],
    )
    # Every data field above is escaped where it is put in; this catches what any later field forgets.
    return escape_lines("\n".join(lines) + "\n")


def _rates_json(value: Rates | None) -> dict[str, float | None]:
    if value is None:
        return {"received": None, "sent": None, "dead_letters": None}
    return {"received": value.received, "sent": value.sent, "dead_letters": value.dead_letters}


def _lag_json(lag: Lag) -> dict[str, Any]:
    return {"group": lag.group, "topic": lag.topic, "partition": lag.partition, "committed": lag.committed,
            "end": lag.end, "lag": lag.records}  # fmt: skip


def _failed_json(result: WorkflowResult) -> dict[str, Any]:
    data = result.data
    return {"workflow_id": data.workflow_id, "workflow": data.workflow, "finished_at": data.finished_at.isoformat(),
            "error": data.error}  # fmt: skip


def _letter_json(letter: DeadLetter) -> dict[str, Any]:
    data = letter.data
    return {"id": letter.id, "time": letter.time.isoformat(), "stage": data.stage, "reason": data.reason,
            "original_topic": data.original_topic}  # fmt: skip


def as_json(snapshot: Snapshot, before: Mapping[str, Counters]) -> dict[str, Any]:
    """The same report for programs: rates per second (null where unknown), errors as strings."""
    by_part = part_rates(snapshot, before)
    parts = {
        part.target.name: {
            "healthy": part.healthy,
            "reason": part.reason,
            "pid": part.target.pid,
            "restarts": part.target.restarts,
            "last_exit_code": part.target.last_exit_code,
            "started_at": part.target.started_at.isoformat() if part.target.started_at else None,
            "metrics": part.metrics_reason or "ok" if part.target.metrics_url else None,
            "rates": _rates_json(by_part[part.target.name]),
        }
        for part in snapshot.parts
    }
    return {
        "time": snapshot.taken_at.isoformat(),
        "kafka": snapshot.kafka,
        "temporal": snapshot.temporal,
        "parts": parts,
        "workflows_running": snapshot.workflows_running,
        "temporal_error": snapshot.temporal_error,
        "kafka_error": snapshot.kafka_error,
        "consumer_lag": [_lag_json(lag) for lag in snapshot.lag],
        "consumer_lag_error": snapshot.lag_error,
        "recent_failed_results": [_failed_json(result) for result in snapshot.failed_results],
        "recent_failed_results_error": snapshot.results_error,
        "recent_dead_letters": [_letter_json(letter) for letter in snapshot.dead_letters],
        "dead_letters_on_topic": snapshot.dead_letters_total,
        "recent_dead_letters_error": snapshot.dead_letters_error,
    }


def healthy(snapshot: Snapshot) -> bool:
    """Every part with a health check passed it, and Kafka and Temporal answered."""
    servers_up = snapshot.kafka_error is None and snapshot.temporal_error is None
    return servers_up and all(part.healthy is not False for part in snapshot.parts)


def _unreadable(snapshot: Snapshot, own_error: str | None) -> str | None:
    """Why a block read from Kafka is missing: Kafka itself, else the block's own read error, else None."""
    return "Kafka is not reachable" if snapshot.kafka_error else own_error


def _section(title: str, error: str | None, rows: list[str], empty: str | None = "none") -> list[str]:
    """A titled block of the report: why it cannot be read, ``empty`` when there are no rows, or the rows."""
    if error:
        body = [f"cannot read: {escape(error)}"]
    elif not rows and empty is not None:
        body = [empty]
    else:
        body = rows
    return [title, *("  " + line for line in body)]
