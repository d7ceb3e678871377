"""The span of an action's Ray task, made in the Ray worker process itself.

A Ray worker is a process of its own: it sets up its own tracer provider (the first traced task in it does, from
the same ``ALERTMESH_TRACES_DIR`` / ``OTEL_*`` variables the executor has: a local Ray's workers inherit them, a
cluster's get them through the job's runtime environment, see ``services.executor.__main__``). In the local span
store each task's span is written as the task ends (``tracing.setup``): Ray may stop an idle worker, or
force-kill a cancelled one, at any time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import baggage
from opentelemetry.trace import SpanKind

from services.executor.outcome import Outcome
from services.shared import tracing

SERVICE = "alertmesh-executor"


@contextmanager
def ray_task_span(action: str, carrier: Mapping[str, str]) -> Iterator[Callable[[Outcome], Outcome]]:
    """Run the task under its span (child of ``carrier``'s context); yields ``report``, which records the
    outcome on the span and returns it."""
    tracing.setup(SERVICE, ray_worker=True)
    parent = tracing.extract(carrier)
    attributes: dict[str, object] = {tracing.ACTION: action, tracing.RAY_WORKER: True, "process.pid": os.getpid()}
    correlation = baggage.get_baggage(tracing.CORRELATION_BAGGAGE, parent)
    if isinstance(correlation, str):
        attributes[tracing.CORRELATION_ID] = correlation
    span = tracing.tracer().start_span(f"ray task {action}", context=parent, kind=SpanKind.INTERNAL)
    span.set_attributes({name: value for name, value in attributes.items() if isinstance(value, str | int | bool)})

    def report(outcome: Outcome) -> Outcome:
        span.set_attribute(tracing.ACTION_STATUS, "succeeded" if outcome.ok else "failed")
        if not outcome.ok:
            # The type only: the message may hold a secret the step read, and masking happens in the executor,
            # after the task (the action's span, this one's parent, carries the masked message).
            tracing.failed(span, outcome.error_type or "failed")
        return outcome

    try:
        yield report
    finally:
        span.end()
