"""The one way a consumer turns a message it cannot use into a DeadLetter: original bytes, where they came from,
why, and a deterministic id (the same input failing the same way at the same place gets the same id, so a
redelivered failure is recognisably the same dead letter).

A dead letter always fits the Kafka message size limit: the base64 original makes it a third larger than the
input, so a large input is cut (``truncated``, with the whole value's size and SHA-256) rather than refused by
the producer and retried forever.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from schemas import DeadLetter, DeadLetterData
from schemas.deadletter import CutBytes
from services.shared.kafka import record_size

log = logging.getLogger(__name__)

#: Namespace for uuid5 dead-letter ids (fixed forever: changing it changes every id).
DEAD_LETTER_ID_NAMESPACE = uuid.UUID("a3e5c7b9-2d4f-4a6c-8e0b-1f3d5b7a9c2e")
#: Reasons quote the offending input (e.g. a validation error); past this they are cut, the original is attached.
MAX_REASON_CHARS = 2000
#: Correlation and causation ids come from the input (its headers, or the event it carried): longer ones are not
#: used (the dead letter's own id stands in), so an input cannot make its dead letter too large to write.
MAX_ID_CHARS = 256
#: Smallest dead letter limit: with the original and its headers cut, a dead letter is always under this.
MIN_DEAD_LETTER_BYTES = 16_384
#: What a dead letter copies of the record besides its value is capped, each field on its own, so that no header,
#: key, topic name or reason can make the letter unbuildable or larger than the limit (a 200 KB header of control
#: characters is 1.2 MB once JSON-escaped): texts are escaped (``printable``) and cut, bytes are cut and described
#: by their whole size and SHA-256 (``CutBytes``).
MAX_TEXT_CHARS = 256
MAX_HEADER_NAME_CHARS = 128
MAX_HEADERS = 64
MAX_HEADER_BYTES = 1024
MAX_KEY_BYTES = 1024
#: The minimal letter (the last resort) keeps this much of the reason.
MINIMAL_REASON_CHARS = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: A longer value needs a longer varint for its length in the record: bytes kept free when cutting.
_VARINT_SLACK = 8
_CUT_MARK = "... [cut]"
#: Characters a reader must never get raw from a dead letter: C0 and C1 controls (terminal escapes, newlines that
#: forge log lines), Unicode format characters that reorder or hide text (bidi overrides, zero-width), line and
#: paragraph separators, and lone surrogates (no JSON encoder writes them).
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str, max_chars: int | None = None) -> str:
    """``text`` safe to print on one line: every control, format or separator character escaped (``\\n``,
    ``\\x1b``, ``\\u202e``), then cut to ``max_chars`` with a mark saying so."""
    if max_chars is not None and len(text) > max_chars:
        text = text[:max_chars]  # escaping only lengthens: cut first so a huge input costs no more than the cap
        cut = True
    else:
        cut = False
    if _UNPRINTABLE.search(text):
        text = _UNPRINTABLE.sub(_escape, text)
    if max_chars is not None and len(text) > max_chars:
        text, cut = text[:max_chars], True
    return f"{text}{_CUT_MARK}" if cut else text


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED_ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


@dataclass(frozen=True)
class ConsumedRecord:
    """A message as a consumer read it; ``received_at`` (the record's own timestamp) stamps what it causes.

    ``headers`` are text (a value that is not UTF-8 has U+FFFD for its bad bytes); ``binary_headers`` keeps the
    exact bytes of those values, so a dead letter can give back the headers as they were sent.
    """

    value: bytes
    headers: dict[str, str]
    topic: str
    received_at: datetime
    partition: int | None = None
    offset: int | None = None
    key: bytes | None = None
    binary_headers: Mapping[str, bytes] = field(default_factory=dict)


def record_time(timestamp_ms: int | None) -> datetime:
    """The record's timestamp as a UTC datetime; now when it has none (-1) or one no datetime can hold."""
    if timestamp_ms is None or timestamp_ms < 0:
        return datetime.now(UTC)
    try:
        return _EPOCH + timedelta(milliseconds=timestamp_ms)
    except OverflowError:  # past year 9999: a producer's bug, not a reason to refuse the record
        return datetime.now(UTC)


def dead_letter_event_id(stage: str, topic: str, partition: int | None, offset: int | None, detail: str) -> str:
    """The dead letter's id: a uuid5 of where the record was and why it failed, so the same failure of the same record
    always gets the same id (``detail`` is the reason, already cut)."""
    name = "\x1f".join((stage, topic, str(partition), str(offset), detail))
    return str(uuid.uuid5(DEAD_LETTER_ID_NAMESPACE, name))


def _usable_id(value: str | None) -> str | None:
    """An id from the input, when it is short and printable (else the dead letter's own id stands in)."""
    if not value or len(value) > MAX_ID_CHARS or _UNPRINTABLE.search(value):
        return None
    return value


def _digest(value: bytes) -> CutBytes:
    return CutBytes(size=len(value), sha256=hashlib.sha256(value).hexdigest())


@dataclass
class _Headers:
    """The record's headers as a dead letter copies them (see ``DeadLetterData``)."""

    text: dict[str, str] = field(default_factory=dict)
    exact: dict[str, bytes] = field(default_factory=dict)
    cut: dict[str, CutBytes] = field(default_factory=dict)
    dropped: int = 0
    #: A name shown otherwise than sent (escaped or cut): a replay could not send it as it was.
    renamed: bool = False


def _copied_headers(record: ConsumedRecord) -> _Headers:
    """Each header capped and escaped on its own: its name and value as text to read, its exact bytes whenever the
    text differs from what was sent (the first ``MAX_HEADER_BYTES`` and a digest when longer)."""
    names = list(record.headers) + [name for name in record.binary_headers if name not in record.headers]
    copied = _Headers(dropped=max(len(names) - MAX_HEADERS, 0))
    for name in names[:MAX_HEADERS]:
        text = record.headers.get(name, "")
        exact = record.binary_headers.get(name)
        if exact is None:
            exact = text.encode("utf-8", "replace")  # a lone surrogate never comes from Kafka; a caller may pass one
        shown_name = printable(name, MAX_HEADER_NAME_CHARS)
        copied.renamed |= shown_name != name
        while shown_name in copied.text:  # two names that read the same once escaped and cut
            shown_name = f"{shown_name}'"
        shown = printable(text, MAX_TEXT_CHARS)
        copied.text[shown_name] = shown
        if len(exact) > MAX_HEADER_BYTES:
            copied.exact[shown_name] = exact[:MAX_HEADER_BYTES]
            copied.cut[shown_name] = _digest(exact)
        elif shown != text or name in record.binary_headers:
            copied.exact[shown_name] = exact
    return copied


@dataclass(frozen=True)
class AlertOfRecord:
    """The one alert of a record holding several that a dead letter is about: its place, name and own JSON."""

    index: int | None = None
    name: str | None = None
    element: bytes | None = None


def dead_letter(
    record: ConsumedRecord,
    *,
    source: str,
    stage: str,
    reason: str,
    max_bytes: int,
    correlationid: str | None = None,
    causationid: str | None = None,
    alert_source: str | None = None,
    alert: AlertOfRecord | None = None,
    original_in: str | None = None,
) -> DeadLetter:
    """The record exactly as received, so it can be fixed and replayed; cut (``truncated``) only as far as needed
    for the dead letter, as published with ``dead_letter_record``, to be at most ``max_bytes``.

    Never raises, whatever the record: every text it copies (reason, topic, source, header names and values) is
    escaped and capped, the key and header values past their cap keep their start and their whole size and
    SHA-256, and should building still fail, the letter is the minimal one (where, why, the value's size and
    digest). Correlation falls back to the record's own ``correlationid`` / ``ce_id`` headers (set on every
    alertmesh event), then to the dead letter itself; ids longer than ``MAX_ID_CHARS`` or not printable are not
    used. ``alert_source`` is who sent the input, when the failing stage knows it.

    ``alert``: the one alert of a record holding several this letter is about (``alert_index``, ``alert_name``,
    ``alert_element``; the element is the first thing left out when the letter is too large). ``original_in``: the
    id of another letter of the same record that carries its bytes; this one then carries none (the original is kept
    once per record), only the whole value's size and SHA-256.
    """
    reason = printable(reason, MAX_REASON_CHARS)
    try:
        return _full_letter(
            record, source=source, stage=stage, reason=reason, max_bytes=max_bytes,
            correlationid=correlationid, causationid=causationid, alert_source=alert_source,
            alert=alert or AlertOfRecord(), original_in=original_in,
        )  # fmt: skip
    except Exception as error:  # a record no cap foresaw: its letter must still be written, or it stalls
        log.error("dead letter of %s@%s/%s built minimal", printable(record.topic, MAX_TEXT_CHARS),
                  record.partition, record.offset, exc_info=error)  # fmt: skip
        return minimal_dead_letter(record, source=source, stage=stage, reason=reason)


def _full_letter(
    record: ConsumedRecord,
    *,
    source: str,
    stage: str,
    reason: str,
    max_bytes: int,
    correlationid: str | None,
    causationid: str | None,
    alert_source: str | None,
    alert: AlertOfRecord,
    original_in: str | None,
) -> DeadLetter:
    stage, topic = printable(stage, MAX_TEXT_CHARS), printable(record.topic, MAX_TEXT_CHARS)
    event_id = dead_letter_event_id(stage, topic, record.partition, record.offset, reason)
    headers = _copied_headers(record)
    key = record.key
    key_cut = None
    if key is not None and len(key) > MAX_KEY_BYTES:
        key, key_cut = key[:MAX_KEY_BYTES], _digest(key)
    whole = DeadLetter(
        id=event_id,
        source=source,
        time=record.received_at,
        subject=stage,
        correlationid=_usable_id(correlationid) or _usable_id(record.headers.get("correlationid")) or event_id,
        causationid=_usable_id(causationid) or _usable_id(record.headers.get("ce_id")),
        data=DeadLetterData(
            stage=stage,
            reason=reason,
            original=b"" if original_in is not None else record.value,
            original_size=len(record.value),
            original_sha256=hashlib.sha256(record.value).hexdigest(),
            truncated=bool(key_cut or headers.cut or headers.dropped or headers.renamed or topic != record.topic),
            original_topic=topic,
            original_partition=record.partition,
            original_offset=record.offset,
            original_key=key,
            original_key_cut=key_cut,
            original_headers=headers.text,
            original_headers_base64=headers.exact,
            original_headers_cut=headers.cut,
            original_headers_dropped=headers.dropped,
            alert_source=printable(alert_source, MAX_TEXT_CHARS) if alert_source is not None else None,
            alert_index=alert.index,
            alert_name=printable(alert.name, MAX_TEXT_CHARS) if alert.name is not None else None,
            alert_element=alert.element,
            original_in=original_in,
        ),
    )
    if _size(whole) <= max_bytes:
        return whole
    if alert.element is not None:  # a convenience copy: left out before anything of the record is cut
        whole = whole.model_copy(update={"data": whole.data.model_copy(update={"alert_element": None})})
        if _size(whole) <= max_bytes:
            return whole
    # Cut the original to what fits beside everything else: base64 turns every 3 bytes into 4 characters.
    # Cut in steps, each only if the previous is not enough: the original, its headers, its key.
    no_headers = {
        "original_headers": {}, "original_headers_base64": {}, "original_headers_cut": {},
        "original_headers_dropped": len(record.headers.keys() | record.binary_headers.keys()),
    }  # fmt: skip
    no_key: dict[str, object] = {"original_key": None, "original_key_cut": _digest(record.key or b"")}
    steps: list[dict[str, object]] = [{"original": b""}, {"original": b"", **no_headers}]
    if record.key is not None:
        steps.append({"original": b"", **no_headers, **no_key})
    for drop in steps:
        bare = _cut(whole, drop)
        room = max_bytes - _size(bare) - _VARINT_SLACK
        if room >= 0:
            # A letter whose original another letter carries stays without it: it is never a record's bytes cut.
            kept = b"" if original_in is not None else record.value[: room // 4 * 3]
            return _cut(whole, {**drop, "original": kept})
    return minimal_dead_letter(record, source=source, stage=stage, reason=reason)


def minimal_dead_letter(record: ConsumedRecord, *, source: str, stage: str, reason: str) -> DeadLetter:
    """The last resort, always well under ``MIN_DEAD_LETTER_BYTES``: where the record was, why (the first
    ``MINIMAL_REASON_CHARS``), the value's size and SHA-256; no original bytes, key or headers."""
    stage, topic = printable(stage, MAX_TEXT_CHARS), printable(record.topic, MAX_TEXT_CHARS)
    reason = printable(reason, MINIMAL_REASON_CHARS)
    event_id = dead_letter_event_id(stage, topic, record.partition, record.offset, reason)
    return DeadLetter(
        id=event_id,
        source=source,
        time=record.received_at,
        subject=stage,
        correlationid=event_id,
        data=DeadLetterData(
            stage=stage,
            reason=reason,
            original=b"",
            original_size=len(record.value),
            original_sha256=hashlib.sha256(record.value).hexdigest(),
            truncated=True,
            original_topic=topic,
            original_partition=record.partition,
            original_offset=record.offset,
            original_key_cut=None if record.key is None else _digest(record.key),
            original_headers_dropped=len(record.headers.keys() | record.binary_headers.keys()),
        ),
    )


def _cut(letter: DeadLetter, changes: dict[str, object]) -> DeadLetter:
    data = letter.data.model_copy(update={"truncated": True, **changes})
    return letter.model_copy(update={"data": data})


def dead_letter_record(letter: DeadLetter) -> tuple[bytes | None, bytes, dict[str, str]]:
    """Key, value and headers a dead letter is published with: keyed by the original key (same partition order)."""
    return letter.data.original_key, letter.to_json(), letter.kafka_headers()


def _size(letter: DeadLetter) -> int:
    return record_size(*dead_letter_record(letter))
