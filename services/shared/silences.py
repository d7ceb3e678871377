"""The silence store: every silence, read whole from the compacted silences topic (a ``GlobalTable``) and followed,
so every replica of ingest and of the webhook answers "is this alert silenced?" alike; and the one place silences
are created, updated and expired, with Alertmanager 0.25's rules (``silence/silence.go``: ``validateSilence``,
``Set``, ``canUpdate``, ``expire``; ``api/v2/api.go``: ``postSilencesHandler``), so ``amtool``, the API and
``alertmesh silence`` behave as against an Alertmanager:

- a silence needs at least one matcher, not all of which may match the empty string (it would silence nearly
  everything), with valid label names and RE2 regexes; it must end after it starts, and not in the past;
- an update (an id given) of an unknown id is ``SilenceNotFound`` (404 on the API); of a silence that is not expired
  and whose matchers stay the same, with times allowed for its state (an active one keeps its start and ends in the
  future, a pending one starts in the future), is made in place; anything else expires the old silence (unless it
  already expired) and creates a new one with a new id;
- a new silence that would start in the past starts now;
- expiring an active silence ends it now, a pending one starts and ends now; expiring an expired one is an error.

Expired silences are kept ``retention_s`` (Alertmanager's default, 5 days) so that ``amtool silence query
--expired`` shows them, then forgotten: the table's decode drops them on a rebuild, and ``all`` stops showing them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from schemas.silence import Matcher, Silence
from services.shared.backoff import Backoff
from services.shared.kafka import KafkaSettings
from services.shared.matchers import MatcherError, check, matches_all, matches_empty
from services.shared.memory_table import MemoryTable
from services.shared.tables import GlobalTable

#: Alertmanager's (Prometheus's) label name; stricter than the matcher text grammar, which also allows ``:``.
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
#: Alertmanager's ``--data.retention`` default: how long an expired silence stays visible.
RETENTION_S = 5 * 86400


class SilenceError(ValueError):
    """A silence Alertmanager would refuse (400 on the API); the message says why, in Alertmanager's words."""


class SilenceNotFound(LookupError):
    """No silence with that id (404 on the API)."""


class _Table(Protocol):
    """What the store needs of its table: a ``GlobalTable`` or, without Kafka, a ``MemoryTable``."""

    @property
    def ready(self) -> bool: ...
    def get(self, key: bytes) -> Silence | None: ...
    def rows(self) -> Iterable[tuple[bytes, Silence]]: ...
    async def start(self, wait_s: float = ...) -> None: ...
    async def stop(self) -> None: ...
    async def put(self, key: bytes, value: bytes | None) -> None: ...


def utc(at: datetime) -> datetime:
    """``at`` as an aware UTC time (a naive one is read as UTC, as Alertmanager's JSON times are)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def to_millisecond(at: datetime) -> datetime:
    """``at`` in UTC, cut to the millisecond: the API writes times with milliseconds, so a silence a client read
    and posts back unchanged (``amtool silence update``) has exactly the stored start, and is updated in place
    instead of being replaced."""
    at = utc(at)
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def encode(silence: Silence) -> bytes:
    """A silence as its topic value: Alertmanager's JSON (``startsAt``, ``isRegex``...)."""
    return silence.model_dump_json(by_alias=True).encode()


def validate_matchers(matchers: Sequence[Matcher]) -> None:
    """Alertmanager's ``validateSilence`` checks of the matchers (``SilenceError``)."""
    if not matchers:
        raise SilenceError("at least one matcher required")
    for index, matcher in enumerate(matchers):
        if not LABEL_NAME.fullmatch(matcher.name):
            raise SilenceError(f"invalid label matcher {index}: invalid label name {matcher.name!r}")
        try:
            check(matcher)
        except MatcherError as error:
            raise SilenceError(f"invalid label matcher {index}: {error}") from None
    if all(matches_empty(matcher) for matcher in matchers):
        raise SilenceError("at least one matcher must not match the empty string")


def can_update(
    old: Silence, new_matchers: Sequence[Matcher], starts_at: datetime, ends_at: datetime, now: datetime
) -> bool:
    """Alertmanager's ``canUpdate``: the same matchers, and times the old silence's state allows changing to."""
    if list(old.matchers) != list(new_matchers):
        return False
    state = old.state(now)
    if state == "active":
        return starts_at == old.starts_at and not ends_at < now
    if state == "pending":
        return not starts_at < now
    return False


class Silences:
    """Every silence (expired ones for ``retention_s``), and the rules to change them."""

    def __init__(
        self, kafka: KafkaSettings, topic: str, *, retention_s: float = RETENTION_S, backoff: Backoff | None = None
    ) -> None:
        """The store over the compacted ``topic``; nothing is read until ``start``."""
        self._retention = timedelta(seconds=retention_s)
        self._table: _Table = GlobalTable(kafka, topic, self._decode, backoff=backoff)

    @classmethod
    def in_memory(cls, silences: Iterable[Silence] = (), *, retention_s: float = RETENTION_S) -> Silences:
        """A store without Kafka, holding ``silences`` (create and expire work, in this process only): previews and
        tests."""
        store = cls.__new__(cls)
        store._retention = timedelta(seconds=retention_s)
        table: MemoryTable[Silence] = MemoryTable(store._decode)
        for silence in silences:
            table._rows[silence.id.encode()] = silence
        store._table = table
        return store

    def _decode(self, key: bytes, value: bytes) -> Silence | None:
        silence = Silence.model_validate_json(value)
        return None if self._forgotten(silence, datetime.now(UTC)) else silence

    def _forgotten(self, silence: Silence, now: datetime) -> bool:
        return utc(silence.ends_at) + self._retention < now

    async def start(self, wait_s: float = 30.0) -> None:
        """Read the topic to its end (at most ``wait_s``; creating it when missing), then follow it."""
        await self._table.start(wait_s)

    async def stop(self) -> None:
        """Stop following the topic."""
        await self._table.stop()

    @property
    def ready(self) -> bool:
        """Whether the topic was read to its end once (before that, a silence may be missing)."""
        return self._table.ready

    def get(self, silence_id: str) -> Silence | None:
        """The silence with this id (an expired one too, within the retention), or None."""
        found = self._table.get(silence_id.encode())
        return None if found is None or self._forgotten(found, datetime.now(UTC)) else found

    def all(self) -> list[Silence]:
        """Every silence within the retention, oldest update first."""
        now = datetime.now(UTC)
        kept = [silence for _, silence in self._table.rows() if not self._forgotten(silence, now)]
        return sorted(kept, key=lambda silence: (silence.updated_at, silence.id))

    def silencing(self, labels: Mapping[str, str], at: datetime) -> list[str]:
        """Ids of the silences active at ``at`` whose every matcher holds for ``labels``, sorted."""
        at = utc(at)
        found = [
            silence.id
            for _, silence in self._table.rows()
            if silence.is_active(at) and matches_all(silence.matchers, labels)
        ]
        return sorted(found)

    async def create(
        self,
        matchers: Sequence[Matcher],
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
        *,
        silence_id: str | None = None,
        now: datetime,
    ) -> Silence:
        """Create a silence, or update the one ``silence_id`` names, as Alertmanager's ``POST /api/v2/silences``
        does (see the module's docstring); the silence written (its id is new unless updated in place).
        ``SilenceError`` for what Alertmanager answers 400, ``SilenceNotFound`` for an unknown id."""
        starts_at, ends_at, now = to_millisecond(starts_at), to_millisecond(ends_at), to_millisecond(now)
        if not starts_at < ends_at:
            raise SilenceError("start time must be before end time")
        if ends_at < now:
            raise SilenceError("end time can't be in the past")
        validate_matchers(matchers)
        fields = {"created_by": created_by, "comment": comment, "updated_at": now}
        if silence_id:
            old = self.get(silence_id)
            if old is None:
                raise SilenceNotFound(f"silence {silence_id} not found")
            if can_update(old, matchers, starts_at, ends_at, now):
                updated = Silence(id=old.id, matchers=list(matchers), starts_at=starts_at, ends_at=ends_at, **fields)
                await self._write(updated)
                return updated
            if old.state(now) != "expired":
                await self._write(self._expired(old, now))
        silence = Silence(
            id=str(uuid.uuid4()), matchers=list(matchers), starts_at=max(starts_at, now), ends_at=ends_at, **fields
        )
        await self._write(silence)
        return silence

    async def expire(self, silence_id: str, now: datetime) -> Silence:
        """End the silence now (a pending one starts and ends now); the silence written. ``SilenceNotFound`` for an
        unknown id, ``SilenceError`` for one already expired."""
        now = to_millisecond(now)
        old = self.get(silence_id)
        if old is None:
            raise SilenceNotFound(f"silence {silence_id} not found")
        if old.state(now) == "expired":
            raise SilenceError(f"silence {silence_id} already expired")
        expired = self._expired(old, now)
        await self._write(expired)
        return expired

    @staticmethod
    def _expired(silence: Silence, now: datetime) -> Silence:
        starts_at = now if silence.state(now) == "pending" else silence.starts_at
        return silence.model_copy(update={"starts_at": starts_at, "ends_at": now, "updated_at": now})

    async def _write(self, silence: Silence) -> None:
        await self._table.put(silence.id.encode(), encode(silence))
