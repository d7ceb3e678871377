"""When an action may run, by its incoming edges: kept apart from the scheduler's loop because these are the DSL's
rules (success and error edges, ``all``/``any`` joins, skip propagation), pure and unit-tested on their own.

An edge ``ref`` / ``ref.success`` is *taken* when ``ref`` succeeded, ``ref.error`` when ``ref`` failed; an edge
whose source was skipped, or ended the other way, is *not taken*. With ``all`` (the default) every edge must be
taken and any edge not taken skips the action; with ``any`` one taken edge is enough (the action runs at once) and
the action is skipped only when every edge was not taken. An action with no edges runs at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from dsl.model import ActionStatement
from schemas.actions import ActionError, ActionReport

#: Error type of an action skipped because its edges were not taken, and of one skipped by ``run_if``.
EDGE_NOT_TAKEN = "UpstreamNotSucceeded"
RUN_IF_FALSE = "RunIfFalse"


@dataclass(frozen=True)
class Decision:
    """``wait`` (an edge is still undecided), ``run``, or ``skip`` with the edges that were not taken."""

    verdict: Literal["wait", "run", "skip"]
    not_taken: tuple[str, ...] = ()


def decide(action: ActionStatement, reports: Mapping[str, ActionReport]) -> Decision:
    """What ``action``'s edges say now, given the final reports recorded so far."""
    edges = action.edges()
    taken: list[str] = []
    not_taken: list[str] = []
    for ref, kind in edges:
        report = reports.get(ref)
        if report is None:
            continue
        wanted = "succeeded" if kind == "success" else "failed"
        text = f"{ref} did not {'succeed' if kind == 'success' else 'fail'}"
        (taken if report.status == wanted else not_taken).append(text)
    undecided = len(edges) - len(taken) - len(not_taken)
    if action.join_strategy == "any" and edges:
        if taken:
            return Decision("run")
        return Decision("skip", tuple(not_taken)) if undecided == 0 else Decision("wait")
    if not_taken:
        return Decision("skip", tuple(not_taken))
    return Decision("run") if undecided == 0 else Decision("wait")


def skipped(action: ActionStatement, decision: Decision) -> ActionReport:
    """The report of an action its edges skipped (a normal outcome: it never fails the run)."""
    return ActionReport(
        ref=action.ref,
        action=action.action,
        status="skipped",
        error=ActionError(type=EDGE_NOT_TAKEN, message=f"skipped: {', '.join(decision.not_taken)}"),
    )


def skipped_by_run_if(action: ActionStatement) -> ActionReport:
    """The report of an action whose ``run_if`` was falsy."""
    return ActionReport(
        ref=action.ref,
        action=action.action,
        status="skipped",
        error=ActionError(type=RUN_IF_FALSE, message="run_if was false"),
    )


def handled_refs(actions: list[ActionStatement]) -> frozenset[str]:
    """Every ref with at least one outgoing ``.error`` edge (its failure does not fail the run)."""
    return frozenset(ref for action in actions for ref, kind in action.edges() if kind == "error")
