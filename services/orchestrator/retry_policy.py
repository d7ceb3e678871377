"""Whether a failed attempt runs again, and after how long: the design's two kinds of failure, kept in one place.

- Infrastructure (``error.retryable``: the executor or a Ray worker was lost under the attempt): retried up to
  ``INFRASTRUCTURE_ATTEMPTS`` whatever the action's policy says, with a fixed backoff (1 s, doubling, <= 30 s).
- The action's own failure (it raised, ran past ``retry_policy.timeout`` (``ActionTimeout``), or ``retry_until``
  did not hold (``RetryUntil``)): retried while attempts < ``retry_policy.max_attempts`` and the error type is not
  in ``non_retryable``, after ``retry_policy.delay_s(attempt)``.
Pure: the scheduler sleeps the delay on a durable timer.
"""

from __future__ import annotations

from dsl.model import INFRASTRUCTURE_ATTEMPTS, RetryPolicy
from schemas.actions import ActionReport

#: Error type of an attempt stopped at its time limit (the executor's): the action's own failure, not a lost worker.
ACTION_TIMEOUT = "ActionTimeout"


def retry_delay_s(attempt: int) -> float:
    """Backoff of an infrastructure retry before attempt ``attempt + 1``: 1 s, doubling, at most 30 s."""
    return float(min(2 ** (attempt - 1), 30))


def next_attempt_delay(report: ActionReport, policy: RetryPolicy) -> float | None:
    """Seconds to wait before running the action again, or None when ``report`` is final."""
    error = report.error
    if report.status != "failed" or error is None:
        return None
    attempts = max(report.attempts, 1)
    if error.retryable and error.type != ACTION_TIMEOUT:
        return retry_delay_s(attempts) if attempts < INFRASTRUCTURE_ATTEMPTS else None
    if attempts < policy.max_attempts and error.type not in policy.non_retryable:
        return policy.delay_s(attempts)
    return None
