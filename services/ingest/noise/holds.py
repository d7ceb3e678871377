"""Firing alerts held while a silence or an inhibiting alert mutes them, per routed partition, so that they start
their workflow if they still fire when the mute ends, as in Alertmanager (which re-checks at every flush).

One hold per route, source and fingerprint (the latest firing record of the alert): its trigger, whole, is the
state entry's value, so a restarted or rebalanced replica releases exactly what was held. A hold ends when the
alert resolves (its resolution reaches the same routed partition: the key is the alert's, or its group's), when
its ``ends_at`` passes (the sender stopped saying it fires), or when it is released; past ``max_holds`` per
partition the oldest is dropped, counted and logged (it would otherwise never go).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from schemas.trigger import WorkflowTrigger
from services.ingest.noise.keys import key_part
from services.ingest.pipeline import ReadyTrigger

log = logging.getLogger(__name__)
KIND = "muted"
HoldKey = tuple[str, str, str, str]


@dataclass
class Hold:
    """A held trigger and when it was held (record time, milliseconds)."""

    ready: ReadyTrigger
    at_ms: float

    def value(self) -> bytes:
        """The state entry's value: ``{"at_ms", "headers", "trigger"}``, the trigger's JSON spliced in as it is (a
        JSON string of it would escape every quote and could pass the record size limit)."""
        head = orjson.dumps({"at_ms": self.at_ms, "headers": self.ready.headers})
        return head[:-1] + b',"trigger":' + self.ready.body + b"}"


def hold_key(route: str, source: str, fingerprint: str) -> HoldKey:
    """The state key parts of a hold (bounded as every noise key is)."""
    return (KIND, key_part(route), key_part(source), key_part(fingerprint))


def key_of(ready: ReadyTrigger) -> HoldKey:
    """The hold key of a trigger."""
    data = ready.event.data
    return hold_key(data.route, data.alert.source, data.alert.fingerprint)


class Holds:
    """The holds of the routed partitions this replica owns."""

    def __init__(self, max_holds: int) -> None:
        self.max_holds = max_holds
        self._holds: dict[int, dict[HoldKey, Hold]] = {}
        self._evicted: list[tuple[int, HoldKey]] = []

    def __len__(self) -> int:
        return sum(len(holds) for holds in self._holds.values())

    def hold(self, partition: int, ready: ReadyTrigger, at_ms: float) -> tuple[HoldKey, Hold]:
        """Hold ``ready`` (replacing the alert's earlier hold on its route); evicts the oldest past the bound."""
        holds = self._holds.setdefault(partition, {})
        key = key_of(ready)
        holds.pop(key, None)  # re-inserted last: the dict's order is the holds' age
        holds[key] = hold = Hold(ready, at_ms)
        while len(holds) > self.max_holds:
            oldest = next(iter(holds))
            evicted = holds.pop(oldest)
            log.warning(
                "noise control: more than %d muted alerts held on routed partition %d; the oldest (%.200r, route "
                "%s) is dropped and will not start its workflow when its mute ends (INGEST_MUTED_MAX_HOLDS)",
                self.max_holds, partition, evicted.ready.event.data.alert.name, evicted.ready.event.data.route,
            )  # fmt: skip
            self._evicted.append((partition, oldest))
        return key, hold

    def release(self, partition: int, key: HoldKey) -> Hold | None:
        """Take the hold at ``key`` away (released, resolved or expired); None when there was none."""
        return self._holds.get(partition, {}).pop(key, None)

    def all(self) -> Iterator[tuple[int, HoldKey, Hold]]:
        """Every hold (a snapshot)."""
        return iter([(p, key, hold) for p, holds in self._holds.items() for key, hold in holds.items()])

    def take_evicted(self) -> list[tuple[int, HoldKey]]:
        """The holds dropped for the bound since the last call (their state entries must be deleted)."""
        evicted, self._evicted = self._evicted, []
        return evicted

    def restore(self, partition: int, entries: dict[tuple[Any, ...], dict[str, Any]]) -> None:
        """Read back a partition's holds from its state entries (oldest first); a value that is not a hold is
        skipped with a log line."""
        found = sorted(
            ((key, value) for key, value in entries.items() if len(key) == 4 and key[0] == KIND),
            key=lambda item: float(item[1].get("at_ms", 0)),
        )
        holds = self._holds.setdefault(partition, {})
        for key, value in found:
            try:
                body = orjson.dumps(value["trigger"])
                event = WorkflowTrigger.from_json(body)
                headers = {str(k): str(v) for k, v in dict(value.get("headers") or {}).items()}
            except (KeyError, TypeError, ValueError) as error:
                log.warning("noise control: skipped an unreadable hold on partition %d: %s", partition, error)
                continue
            ready = ReadyTrigger(event=event, key=event.data.idempotency_key.encode(), body=body, headers=headers)
            holds[(KIND, str(key[1]), str(key[2]), str(key[3]))] = Hold(ready, float(value.get("at_ms", 0)))

    def forget(self, partition: int) -> None:
        """Drop a partition's holds from memory (it was revoked; its state stays in the topic)."""
        self._holds.pop(partition, None)
