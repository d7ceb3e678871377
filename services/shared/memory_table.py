"""A table held in this process only: the rows, how a written or read row is applied, and the reading interface.
``GlobalTable`` is this plus a compacted Kafka topic; alone, it is what the silence store and the alerts table use
when there is no Kafka (``alertmesh route`` previews, unit tests, a webhook app built with injected stores), with
the same ``decode``, so both forget the same rows."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
V = TypeVar("V")


class MemoryTable(Generic[V]):
    """The latest decoded value per key, in memory; always ready."""

    def __init__(
        self,
        decode: Callable[[bytes, bytes], V | None],
        on_change: Callable[[bytes, V | None], None] | None = None,
    ) -> None:
        """``decode(key, value)`` gives the value to keep, or None to forget the key, as ``GlobalTable``'s."""
        self._decode, self._on_change = decode, on_change
        self._rows: dict[bytes, V] = {}

    @property
    def ready(self) -> bool:
        """Always: there is nothing to read first."""
        return True

    def get(self, key: bytes) -> V | None:
        """The row at ``key``, or None."""
        return self._rows.get(key)

    def rows(self) -> Iterator[tuple[bytes, V]]:
        """Every row (a snapshot)."""
        return iter(list(self._rows.items()))

    def __len__(self) -> int:
        return len(self._rows)

    async def start(self, wait_s: float = 0.0) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""

    async def put(self, key: bytes, value: bytes | None) -> None:
        """Apply ``value`` (None: delete) at ``key``."""
        await self.put_many([(key, value)])

    async def put_many(self, rows: Sequence[tuple[bytes, bytes | None]]) -> list[bytes]:
        """Apply every row, in order; none is refused (the list of refused keys is empty)."""
        for key, value in rows:
            self._apply(key, value)
        return []

    def _apply(self, key: bytes, value: bytes | None) -> None:
        """One row written or read: decoded (a ``None`` value, or a decode saying None, forgets the key), kept,
        and ``on_change`` told. A value that cannot be decoded is logged and skipped: a bad row must never stop a
        table (a Kafka table's follower reads on past it)."""
        row: V | None = None
        if value is not None:
            try:
                row = self._decode(key, value)
            except Exception as error:
                log.warning("table: skipped an undecodable row (%d bytes): %s", len(value), error)
                return
        if row is None:
            if self._rows.pop(key, None) is None:
                return
        else:
            self._rows[key] = row
        if self._on_change is not None:
            self._on_change(key, row)
