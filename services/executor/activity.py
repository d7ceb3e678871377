"""The ``run_action`` Temporal activity: run one action through a runner and report how it went."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from temporalio import activity

from schemas.actions import RUN_ACTION, ActionError, ActionReport, ActionRequest
from services.executor.outcome import Outcome


class ActionRunner(Protocol):
    """Anything that runs a registered action and returns its Outcome (RayRunner in production)."""

    async def run(self, name: str, raw_args: Mapping[str, Any]) -> Outcome: ...


class ActionActivities:
    """Holds the runner the activity uses; register ``instance.run_action`` with a Temporal worker."""

    def __init__(self, runner: ActionRunner) -> None:
        self._runner = runner

    @activity.defn(name=RUN_ACTION)
    async def run_action(self, request: ActionRequest) -> ActionReport:
        """Run ``request.action``. A failing action is a *failed report*, not an activity failure; only
        infrastructure errors raise (and Temporal retries them per the caller's retry policy)."""
        info = activity.info()
        activity.logger.debug("running %s (%s) for %s", request.action, request.ref, request.workflow_id)
        started_at, start = datetime.now(UTC), time.perf_counter()
        outcome = await self._runner.run(request.action, request.args)
        duration_ms = (time.perf_counter() - start) * 1000
        error = None
        if not outcome.ok:
            error = ActionError(type=outcome.error_type or "Error", message=outcome.error_message or "")
            activity.logger.info(
                "action %s (%s) failed: %s: %s", request.action, request.ref, error.type, error.message
            )
        return ActionReport(
            ref=request.ref,
            action=request.action,
            status="succeeded" if outcome.ok else "failed",
            result=outcome.value,
            error=error,
            attempts=info.attempt,
            started_at=started_at,
            finished_at=datetime.now(UTC),
            duration_ms=round(duration_ms, 3),
        )
