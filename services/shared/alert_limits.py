"""How many alerts one message may carry: the one check ingest (per Kafka record) and any other reader of alert
batches (the webhook, if it splits a batch) share, so a single message can never become thousands of runs or hold
a service's event loop for seconds.

A 1 MiB record of tiny alerts is about 20,000 alerts, each a trigger and a workflow run: a flood from one message
that no sender needs (Alertmanager sends at most a group's alerts, typically a handful). Over the limit the whole
message is refused with a reason naming the limit: its sender splits it, or the operator raises the limit.
"""

from __future__ import annotations

#: ``INGEST_MAX_ALERTS_PER_RECORD``'s default: far above what a real notification carries, far below a flood.
DEFAULT_MAX_ALERTS_PER_RECORD = 1000
#: The highest limit a setting may give (each alert costs about 100 us of the event loop: 10 s at most).
MAX_ALERTS_PER_RECORD_CAP = 100_000


def too_many_alerts(count: int, limit: int, setting: str = "INGEST_MAX_ALERTS_PER_RECORD") -> str | None:
    """Why a message of ``count`` alerts is refused under ``limit`` (naming the ``setting`` that sets it), or None
    when it is within it."""
    if count <= limit:
        return None
    return f"the message carries {count} alerts, over the limit of {limit} alerts per message ({setting}); split it"
