"""Deterministic identities: the idempotency key (Temporal workflow id) and event ids.

Everything here is a pure function of the alert, so a redelivered raw message yields the same keys and ids
and the orchestrator's ``start_workflow(id=key)`` is a no-op the second time.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime

from schemas.alert import Alert

#: Namespaces for uuid5 event ids (fixed forever: changing them changes every id).
ALERT_ID_NAMESPACE = uuid.UUID("0f6f1c1e-3d5a-4c8e-9a51-6b2f5e7c9d01")
TRIGGER_ID_NAMESPACE = uuid.UUID("7c2d9e4a-1b3f-4e6d-8a0c-5f9b2e1d3c47")

#: Longer keys are cut and suffixed with a hash; Temporal allows far more, but the UI stays readable.
MAX_KEY_LENGTH = 200
_UNSAFE = re.compile(r"[^A-Za-z0-9._~-]+")
_NO_START = "nostart"


def _time_part(starts_at: datetime | None) -> str:
    """Compact UTC start time with milliseconds, e.g. 20230206T130845.828Z."""
    if starts_at is None:
        return _NO_START
    moment = starts_at.astimezone(UTC)
    return moment.strftime("%Y%m%dT%H%M%S.") + f"{moment.microsecond // 1000:03d}Z"


def idempotency_key(alert: Alert, workflow: str) -> str:
    """``workflow:source:fingerprint:status:start``, e.g. ``triage:alertmanager:1a30ba71cca2921f:firing:...``.

    Each part is sanitized to ``[A-Za-z0-9._~-]``. When sanitizing changed anything or the key is too long, a
    hash of the exact parts is appended so distinct alerts never share a key.
    """
    parts = [workflow, alert.source, alert.fingerprint, alert.status, _time_part(alert.starts_at)]
    safe = ":".join(_UNSAFE.sub("_", part) for part in parts)
    exact = "\x1f".join(parts)
    if safe == ":".join(parts) and len(safe) <= MAX_KEY_LENGTH:
        return safe
    digest = hashlib.sha256(exact.encode("utf-8")).hexdigest()[:16]
    return f"{safe[: MAX_KEY_LENGTH - len(digest) - 1]}~{digest}"


def alert_event_id(alert: Alert) -> str:
    """Id of the AlertEvent for this alert: uuid5 of (source, fingerprint, status, starts_at)."""
    start = alert.starts_at.astimezone(UTC).isoformat() if alert.starts_at else ""
    name = "\x1f".join((alert.source, alert.fingerprint, alert.status, start))
    return str(uuid.uuid5(ALERT_ID_NAMESPACE, name))


def trigger_event_id(key: str) -> str:
    """Id of the WorkflowTrigger: uuid5 of its idempotency key."""
    return str(uuid.uuid5(TRIGGER_ID_NAMESPACE, key))
