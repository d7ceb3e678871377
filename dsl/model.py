"""The workflow definition users write in YAML: its shape and types.

The shape follows Tracecat's DSL. This module only says what each key is and what values it takes (pydantic
refuses unknown keys and wrong types); the checks that need the whole definition (refs, edges, cycles, which
expressions may read what, actions and their signatures) are ``dsl.validate``, and the loader runs both and points
each problem at its file, line and column.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dsl.durations import MAX_BACKOFF, Seconds

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
REF_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"
#: Attempts of an action lost to infrastructure (its executor or Ray worker died), whatever its retry policy says.
INFRASTRUCTURE_ATTEMPTS = 5
#: The built-in action the workflow runs itself (a child workflow), never sent to the executor.
CHILD_WORKFLOW_ACTION = "core.workflow.execute"

InputType = Literal["str", "int", "float", "bool", "list", "dict", "any"]
EdgeKind = Literal["success", "error"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectedInput(_Strict):
    """One typed input of ``entrypoint.expects``, checked against the trigger's ``inputs`` when a run starts."""

    type: InputType = "any"
    description: str = ""
    #: Without a default the input is required; with one, a missing input takes it.
    default: Any = None
    required: bool = Field(False, description="Set by the loader: true when the YAML gives no default.")
    enum: list[Any] | None = Field(None, description="The only values allowed, if given.")

    @model_validator(mode="before")
    @classmethod
    def _required_without_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and "default" not in data and "required" not in data:
            return {**data, "required": True}
        return data


class Entrypoint(_Strict):
    """How a run starts: the inputs it expects in ``TRIGGER.inputs``, by name. When a run starts, missing optional
    inputs take their defaults, undeclared ones pass through, and any mismatch fails the run before an action starts.
    """

    expects: dict[str, ExpectedInput] = Field(default_factory=dict)


class WorkflowConfig(_Strict):
    """Settings of the whole run rather than of one action (``config`` in the YAML)."""

    timeout: Seconds | None = Field(
        None,
        gt=0,
        description="Seconds the whole run may take (at most 366 days); past it, unfinished actions are cancelled "
        "and the run fails (its result is still published).",
    )


class OnResolved(_Strict):
    """What a running workflow does when its alert resolves (the orchestrator signals the run it started for the
    alert; a child workflow or an error handler is never signalled, so its own ``on_resolved`` is not used).

    ``run`` names actions held back until then: they start once the alert resolved (their edges still apply) and
    are skipped if the run ends first. ``cancel_pending`` skips every other action that has not started yet (what
    is already running finishes). ``ENV.resolved`` is the resolved alert (null until then).
    """

    cancel_pending: bool = Field(
        False, description="Skip the actions not started yet (not those in run) when the alert resolves."
    )
    run: list[str] = Field(
        default_factory=list,
        description="Refs of actions that run only when the alert resolves while the run is still going.",
    )


class RetryPolicy(_Strict):
    """How one action is retried when an attempt fails (raised, timed out, or ``retry_until`` did not hold).

    Every attempt is counted in the action's report. Infrastructure losses (the executor or a Ray worker died
    under an attempt) are retried too, up to ``INFRASTRUCTURE_ATTEMPTS``, whatever ``max_attempts`` says.
    """

    max_attempts: int = Field(1, ge=1, le=100, description="Attempts in all, the first included.")
    timeout: Seconds = Field(
        300.0, gt=0, description="Seconds one attempt may run before it is stopped (at most 366 days)."
    )
    initial_interval: Seconds = Field(1.0, ge=0, description="Seconds before the second attempt.")
    backoff_coefficient: float = Field(
        2.0, ge=1.0, le=MAX_BACKOFF, description="Each further wait is this many times longer (1 to 100)."
    )
    maximum_interval: Seconds = Field(60.0, ge=0, description="The longest wait between attempts, in seconds.")
    retry_until: str | None = Field(
        None, description="An expression on the attempt's result (ACTIONS.<ref>.result); falsy fails the attempt."
    )
    non_retryable: list[str] = Field(
        default_factory=list, description="Error types (exception class names) that fail the action at once."
    )

    def delay_s(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based) before the next one."""
        return float(min(self.initial_interval * self.backoff_coefficient ** (attempt - 1), self.maximum_interval))


class ChildWorkflowArgs(_Strict):
    """Arguments of ``core.workflow.execute``: the workflow runs another workflow as its child."""

    workflow: str = Field(pattern=NAME_PATTERN, description="Name of the workflow to run.")
    inputs: dict[str, Any] = Field(
        default_factory=dict, description="The child's TRIGGER.inputs (checked against its entrypoint.expects)."
    )
    wait: bool = Field(
        True,
        description="true: the action ends with the child, its result the child's returns, failing if the child "
        "failed; false: detach, the result is the child's workflow_id and run_id once it started.",
    )


class ActionStatement(_Strict):
    """One step of the workflow: run registry action ``action`` with ``args`` when its edges allow."""

    ref: str = Field(pattern=REF_PATTERN)
    action: str = Field(min_length=1, description="Registry name, e.g. 'core.http_request'.")
    title: str = ""
    description: str = ""
    args: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[str] = Field(
        default_factory=list,
        description="Incoming edges: 'ref' or 'ref.success' (runs when ref succeeded), 'ref.error' (runs when ref "
        "failed, and handles that failure).",
    )
    run_if: str | None = Field(None, description="An expression; falsy skips the action.")
    join_strategy: Literal["all", "any"] = Field(
        "all", description="'all': every incoming edge must hold; 'any': one is enough."
    )
    for_each: str | list[str] | None = Field(
        None, description="'${{ for var.x in <expr> }}', or a list of them (zipped): one run per item."
    )
    max_concurrency: int | None = Field(None, ge=1, description="for_each items (or children) running at once.")
    retry_policy: RetryPolicy = Field(default_factory=RetryPolicy)
    start_delay: Seconds = Field(
        0.0, ge=0, description="Seconds to wait (a durable timer) before the first attempt (at most 366 days)."
    )
    wait_until: str | None = Field(
        None, description="An ISO 8601 date-time (literal or expression) to wait for, durably, before starting."
    )

    def edges(self) -> list[tuple[str, EdgeKind]]:
        """``depends_on`` as (ref, kind) pairs, in order."""
        return [parse_edge(item) for item in self.depends_on]


def parse_edge(item: str) -> tuple[str, EdgeKind]:
    """``'ref'``/``'ref.success'`` -> (ref, 'success'); ``'ref.error'`` -> (ref, 'error')."""
    ref, _, kind = item.rpartition(".")
    if ref and kind == "error":
        return ref, "error"
    if ref and kind == "success":
        return ref, "success"
    return item, "success"


class WorkflowDefinition(_Strict):
    """A named DAG of actions, what the run returns, and what runs when it fails."""

    name: str = Field(pattern=NAME_PATTERN, description="What routing rules and child workflows refer to.")
    title: str = ""
    description: str = ""
    entrypoint: Entrypoint = Field(default_factory=Entrypoint)
    config: WorkflowConfig = Field(default_factory=WorkflowConfig)
    actions: list[ActionStatement] = Field(min_length=1)
    returns: Any = None
    error_handler: str | None = Field(
        None,
        pattern=NAME_PATTERN,
        description="A workflow started when this one fails (given the error, the failed refs and the trigger).",
    )
    on_resolved: OnResolved | None = Field(
        None, description="How the run reacts when its alert resolves while it is still running."
    )

    def dependencies(self) -> dict[str, list[str]]:
        """``ref -> refs it has an edge from`` in definition order (edge kinds dropped)."""
        return {action.ref: [ref for ref, _ in action.edges()] for action in self.actions}
