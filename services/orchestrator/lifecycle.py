"""An alert's lifecycle across runs: which run a resolved alert belongs to.

A resolved alert's trigger has the idempotency key of its own notification
(``workflow:source:fingerprint:resolved:occurrence``); the run its firing alert started has the same key with
status ``firing``, since the occurrence (the sender's start time) is the same for both. It is recomputed with
ingest's own key function rather than edited as text, so sanitized and hashed keys match too.
"""

from __future__ import annotations

from schemas import Trigger
from schemas.identity import idempotency_key


def firing_run_id(trigger: Trigger) -> str | None:
    """The workflow id of the run the firing alert started, for a resolved alert's trigger (None otherwise)."""
    if trigger.alert.status != "resolved":
        return None
    firing = trigger.alert.model_copy(update={"status": "firing"})
    return idempotency_key(firing, trigger.workflow)
