"""Records Kafka can never accept, answered ``413`` (permanent: do not retry) rather than ``503`` (retry later).

A body within ``WEBHOOK_MAX_BODY_BYTES`` can still make a record larger than the producer may send
(``KAFKA_MAX_MESSAGE_BYTES``, its ``max_request_size``) once its key and headers (source, content type, trace
context, CloudEvents attributes) are added, or larger than the broker's own ``message.max.bytes``. Retrying such a
write can never succeed, so a sender told ``503`` + ``Retry-After`` would retry it for ever. The size is measured
before the write the way the producer measures it (``services.shared.kafka.record_size``); a broker with a lower
limit than ours refuses it with a size error, also answered ``413``.
"""

from __future__ import annotations

from aiokafka.errors import MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError

from services.shared.kafka import record_size

#: What the producer or the broker raise for a record too large: never transient.
SIZE_ERRORS = (MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError)


def oversize(key: bytes | None, value: bytes, headers: dict[str, str], limit: int) -> str | None:
    """Why the record cannot be written because of its size (the answer's reason), or None when it fits."""
    size = record_size(key, value, headers)
    if size <= limit:
        return None
    return (
        f"the record would be {size} bytes with its key and headers, more than the {limit}-byte limit of what "
        "Kafka accepts here (KAFKA_MAX_MESSAGE_BYTES): it can never be written, do not retry it; send a smaller body"
    )


def refused_by_size(error: BaseException) -> str | None:
    """The answer's reason when ``error`` is Kafka refusing a record for its size (permanent), else None."""
    if isinstance(error, SIZE_ERRORS):
        return f"Kafka refused the record as too large ({error!r}): it can never be written, do not retry it"
    return None
