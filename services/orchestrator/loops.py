"""One ``for_each`` action in flight: its items (expanded by the workflow), which are running, and how the item
reports combine into the action's one report. Kept out of the scheduler's loop so the loop only asks "what item
next?" and "is it done?".

Items start in input order, at most ``max_concurrency`` at once (all at once without it); each item is retried on
its own (the scheduler's retry rules), and the action's report lists every item's result in input order. The
action failed when any item failed after its retries; its error names the first such item.

A loop has at most ``ORCHESTRATOR_MAX_FOR_EACH_ITEMS`` items (the run carries the cap, ``DSLRun``): the items come
from alert data, and 30,000 of them made one batch's activity input 8.9 MB, over Temporal's 2 MB payload limit, so
the workflow task failed again and again. Past the cap the action fails at once, its error naming the cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dsl.loops import parse_for_each, zip_items
from dsl.model import ActionStatement
from dsl.templates import TemplateContext, evaluate
from schemas.actions import ActionError, ActionReport
from services.orchestrator.evaluation import check_stored

#: The default cap on a for_each action's items (ORCHESTRATOR_MAX_FOR_EACH_ITEMS).
DEFAULT_MAX_ITEMS = 1000
#: The error type of a for_each action refused for having more items than the cap.
TOO_MANY_ITEMS = "ForEachTooManyItems"


def too_many_items(count: int, cap: int) -> str | None:
    """Why a loop of ``count`` items cannot run under ``cap``, or None when it can."""
    if count <= cap:
        return None
    return (
        f"for_each gave {count} items, more than the {cap} a loop may have (ORCHESTRATOR_MAX_FOR_EACH_ITEMS); "
        "filter or slice the list, or raise the cap"
    )


def expand(action: ActionStatement, context: TemplateContext) -> list[dict[str, Any]]:
    """The loop variables of each item of ``action``'s ``for_each`` (TemplateError if a list cannot be had)."""
    assert action.for_each is not None
    headers = parse_for_each(action.for_each)
    values = []
    for header in headers:
        check_stored("${{ " + header.iterable.text + " }}", context)
        values.append(evaluate(header.iterable, context))
    return zip_items(headers, values)


@dataclass
class Loop:
    """The items of one for_each action and their final reports."""

    action: ActionStatement
    items: list[dict[str, Any]]
    reports: dict[int, ActionReport] = field(default_factory=dict)
    next_item: int = 0
    running: int = 0

    def startable(self) -> list[int]:
        """Items to start now (the concurrency cap counts items running or waiting for a retry)."""
        cap = self.action.max_concurrency or len(self.items)
        count = max(0, min(cap - self.running, len(self.items) - self.next_item))
        started = list(range(self.next_item, self.next_item + count))
        self.next_item += count
        self.running += count
        return started

    def finish(self, report: ActionReport) -> None:
        """Record an item's final report (retries done; ``report.item`` is set), freeing its place under the cap."""
        assert report.item is not None
        self.reports[report.item] = report
        self.running -= 1

    def done(self) -> bool:
        """Whether every item has its final report (true at once for a loop of no items)."""
        return len(self.reports) == len(self.items)

    def report(self) -> ActionReport:
        """The action's report: every item's result in input order."""
        ordered = [self.reports[i] for i in range(len(self.items))]
        failed = [r for r in ordered if r.status != "succeeded"]
        error = None
        if failed:
            first = failed[0]
            cause = f"{first.error.type}: {first.error.message}" if first.error else first.status
            error = ActionError(
                type=first.error.type if first.error else "ItemFailed",
                message=f"{len(failed)} of {len(ordered)} items failed; item {first.item}: {cause}",
            )
        starts = [r.started_at for r in ordered if r.started_at is not None]
        ends = [r.finished_at for r in ordered if r.finished_at is not None]
        start, end = (min(starts), max(ends)) if starts and ends else (None, None)
        return ActionReport(
            ref=self.action.ref,
            action=self.action.action,
            status="failed" if failed else "succeeded",
            result=[r.result if r.status == "succeeded" else None for r in ordered],
            error=error,
            attempts=max((r.attempts for r in ordered), default=0),
            started_at=start,
            finished_at=end,
            duration_ms=round((end - start).total_seconds() * 1000, 3) if start and end else None,
        )
