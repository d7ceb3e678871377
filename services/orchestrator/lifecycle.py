"""An alert's lifecycle across runs: which run a resolved alert belongs to.

A resolved alert's trigger has the idempotency key of its own notification
(``workflow:source:fingerprint:resolved:occurrence``); the run its firing alert started has the same key with
status ``firing`` when the occurrence is the sender's start time, the same for both (Alertmanager, Grafana). It
is recomputed with ingest's own key function rather than edited as text, so sanitized and hashed keys match too.
Any other occurrence (a CloudEvent's id, a content hash) differs between the firing and the resolved notification:
those resolved alerts find their run through the index of open runs (``open_runs``), as does one whose exact firing
run is not running.
"""

from __future__ import annotations

from schemas import Trigger
from schemas.identity import idempotency_key


def firing_run_id(trigger: Trigger) -> str | None:
    """The workflow id of the run the firing alert started, for a resolved alert keyed by its start time (None for
    any other trigger: its firing run is looked up in the index, ``open_runs``)."""
    alert = trigger.alert
    if alert.status != "resolved" or alert.event_id is not None or alert.starts_at is None:
        return None
    firing = alert.model_copy(update={"status": "firing"})
    return idempotency_key(firing, trigger.workflow)
