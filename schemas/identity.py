"""Deterministic identities: the idempotency key (Temporal workflow id) and event ids.

Everything here is a pure function of the alert, so a redelivered raw message yields the same keys and ids
and the orchestrator's ``start_workflow(id=key)`` is a no-op the second time. Nothing here raises, whatever the
alert holds (unicode, control characters, very long values, timestamps at the edges of the calendar).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import UTC, datetime

from schemas.alert import Alert

#: Namespaces for uuid5 event ids (fixed forever: changing them changes every id).
ALERT_ID_NAMESPACE = uuid.UUID("0f6f1c1e-3d5a-4c8e-9a51-6b2f5e7c9d01")
TRIGGER_ID_NAMESPACE = uuid.UUID("7c2d9e4a-1b3f-4e6d-8a0c-5f9b2e1d3c47")

#: Longer keys are cut and suffixed with a hash; Temporal allows far more, but the UI stays readable.
MAX_KEY_LENGTH = 200
#: ``~`` is left out on purpose: it only ever introduces the hash suffix, so a readable key can never spell
#: out another alert's hashed key.
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: A part needing no sanitizing.
_SAFE = re.compile(r"[A-Za-z0-9._-]*")
_HASH_CHARS = 16
#: Strings JSON writes unchanged even when escaping to ASCII: printable ASCII except the quote and the backslash.
_PLAIN = re.compile(r"[ !#-\[\]-~]*")
#: Hex digits of the content hash that tells apart alerts with neither an event id nor a start time.
_CONTENT_HASH_CHARS = 32


def _exact(parts: list[str]) -> str:
    """An unambiguous text of the parts (JSON, ASCII-escaped: no separator collisions, surrogates survive)."""
    if parts and all(
        _PLAIN.fullmatch(part) for part in parts
    ):  # what json.dumps writes as is: the same text, 10x faster
        return '["' + '","'.join(parts) + '"]'
    return json.dumps(parts, ensure_ascii=True, separators=(",", ":"))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _uuid5(namespace: uuid.UUID, name: str) -> str:
    """``str(uuid.uuid5(namespace, name))`` (RFC 4122 version 5), without building UUID objects (a third of the
    time it took to key an alert)."""
    digest = bytearray(hashlib.sha1(namespace.bytes + name.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def time_text(moment: datetime) -> str:
    """Compact UTC time, e.g. ``20230206T130845.828Z``; microseconds only when they are not whole milliseconds.

    A time without a zone is read as UTC (never the machine's local zone, which would make keys differ between
    hosts). An instant that does not exist in UTC within years 1-9999 (e.g. 9999-12-31T23:59:59-01:00) keeps its
    own offset (``...-0100``); it cannot be confused with a UTC time, which always ends in ``Z``.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    suffix = "Z"
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        offset = moment.utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        suffix = f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    # Formatted by hand: strftime's %Y does not zero-pad years before 1000 on every platform.
    fraction = f"{moment.microsecond // 1000:03d}" if moment.microsecond % 1000 == 0 else f"{moment.microsecond:06d}"
    return (
        f"{moment.year:04d}{moment.month:02d}{moment.day:02d}T"
        f"{moment.hour:02d}{moment.minute:02d}{moment.second:02d}.{fraction}{suffix}"
    )


def content_hash(alert: Alert) -> str:
    """sha256 of the whole normalized alert (keys sorted): the same bytes in give the same hash.

    Python mode and the json module, not pydantic's JSON mode: that refuses payloads nested past 255 levels, and
    such an alert must still get its key (it is dead-lettered later, when its trigger cannot be serialized).
    """
    fields = alert.model_dump(mode="python")
    document = json.dumps(fields, ensure_ascii=True, sort_keys=True, separators=(",", ":"), default=str)
    return _sha256(document)[:_CONTENT_HASH_CHARS]


def occurrence(alert: Alert) -> list[str]:
    """What tells this notification apart from other notifications of the same source, fingerprint and status.

    1. The sender's event identity when it has one (CloudEvents ``source`` + ``id``): per the CloudEvents spec
       events with the same source and id are duplicates, and different ids are different events, whatever
       their subject, type or time.
    2. Else the start time: Alertmanager repeats a firing alert with the same ``startsAt`` on every group
       interval, and those repeats are one event (dedup wanted); a new firing has a new ``startsAt``.
    3. Else (no id, no start) a hash of the whole normalized alert: nothing else identifies it, so identical
       content is a resend and any difference is a different event.
    """
    if alert.event_id is not None:
        parts = [f"id.{alert.event_id}"]
        if alert.event_source != alert.source:  # the webhook path renamed the source: keep the sender's
            parts.append(f"src.{alert.event_source}")
        return parts
    if alert.starts_at is not None:
        return [time_text(alert.starts_at)]
    return [f"content.{content_hash(alert)}"]


def idempotency_key(alert: Alert, workflow: str, occurred: list[str] | None = None) -> str:
    """``workflow:source:fingerprint:status:occurrence``, e.g.
    ``triage:alertmanager:1a30ba71cca2921f:firing:20230206T130845.828Z`` (see ``occurrence``; pass it as
    ``occurred`` when already computed for this alert).

    Each part is sanitized to ``[A-Za-z0-9._-]``. When sanitizing changed anything or the key is too long, a
    ``~`` and a hash of the exact parts are appended (the key cut to fit), so distinct alerts never share a key.
    """
    return joined_key([workflow, alert.source, alert.fingerprint, alert.status, *(occurred or occurrence(alert))])


def joined_key(parts: list[str]) -> str:
    """The parts joined by ``:``, each sanitized to ``[A-Za-z0-9._-]``, with a ``~`` and a hash of the exact parts
    appended (the key cut to fit ``MAX_KEY_LENGTH``) when sanitizing changed anything or the key is too long: the
    same parts always give the same key, and distinct parts never share one."""
    readable = ":".join(parts)
    if len(readable) <= MAX_KEY_LENGTH and all(_SAFE.fullmatch(part) for part in parts):  # the usual case
        return readable
    safe = ":".join(_UNSAFE.sub("_", part) for part in parts)
    if safe == readable and len(safe) <= MAX_KEY_LENGTH:
        return safe
    digest = _sha256(_exact(parts))[:_HASH_CHARS]
    return f"{safe[: MAX_KEY_LENGTH - _HASH_CHARS - 1]}~{digest}"


def alert_event_id(alert: Alert, occurred: list[str] | None = None) -> str:
    """Id of the AlertEvent for this alert: uuid5 of (source, fingerprint, status, occurrence); ``occurred`` is
    ``occurrence(alert)`` when the caller has it already."""
    name = _exact([alert.source, alert.fingerprint, alert.status, *(occurred or occurrence(alert))])
    return _uuid5(ALERT_ID_NAMESPACE, name)


def trigger_event_id(key: str) -> str:
    """Id of the WorkflowTrigger: uuid5 of its idempotency key."""
    return _uuid5(TRIGGER_ID_NAMESPACE, key)
