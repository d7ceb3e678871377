"""Fakes for consumer tests: a publisher that refuses what aiokafka's producer would refuse."""

from __future__ import annotations

from typing import Any

from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.record.default_records import DefaultRecordBatchBuilder

#: FastStream adds this header (a uuid4) to every record it publishes.
FASTSTREAM_HEADERS = [("correlation_id", b"00000000-0000-0000-0000-000000000000")]


class SizeLimitedPublisher:
    """Records what is published; refuses a record over ``max_request_size`` with the error (and the size
    measure) of aiokafka's producer, and counts the refusals so a test can assert none was needed."""

    def __init__(self, max_request_size: int) -> None:
        self.max_request_size = max_request_size
        self.sent: list[tuple[bytes, bytes | None, dict[str, str]]] = []
        self.refused = 0

    async def publish(
        self, message: Any, *, key: bytes | None = None, headers: dict[str, str] | None = None, no_confirm: bool = False
    ) -> None:
        headers = headers or {}
        encoded = [(name, value.encode()) for name, value in headers.items()] + FASTSTREAM_HEADERS
        size = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, message, encoded)
        if size > self.max_request_size:
            self.refused += 1
            raise MessageSizeTooLargeError(f"The message is {size} bytes when serialized")
        self.sent.append((message, key, headers))
