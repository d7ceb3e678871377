"""A table held in this process only, with ``GlobalTable``'s reading and writing interface: what the silence store
and the alerts table use when there is no Kafka (``alertmesh route`` previews, unit tests, a webhook app built with
injected stores). Writes go through the same ``decode`` as a Kafka table's, so both forget the same rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

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
            row = None if value is None else self._decode(key, value)
            if row is None:
                if self._rows.pop(key, None) is None:
                    continue
            else:
                self._rows[key] = row
            if self._on_change is not None:
                self._on_change(key, row)
        return []
