"""The kill schedule: which part dies when, decided by a seed alone (same seed, same schedule)."""

from __future__ import annotations

import random
from dataclasses import dataclass

#: What the main run kills: the services, a Ray worker running an action, and the Temporal dev server. The
#: embedded broker keeps data in memory only, so killing it is a scenario of its own (``broker-kill``).
KILL_TARGETS = ("ingest", "orchestrator", "executor", "ray-worker", "temporal")


@dataclass(frozen=True)
class Kill:
    """SIGKILL ``target`` at ``at_s`` seconds after the first alert was published."""

    at_s: float
    target: str

    def describe(self) -> str:
        """One line of the printed schedule: the moment and the target."""
        return f"t+{self.at_s:6.1f}s  SIGKILL {self.target}"


def kill_schedule(seed: int, kills: int, window_s: float, targets: tuple[str, ...] = KILL_TARGETS) -> list[Kill]:
    """``kills`` kills spread over ``window_s`` seconds: one per equal slot, at a seeded moment in the slot's first
    half (so a part has the rest of the slot to come back before the next kill). Targets cycle through a seeded
    order of ``targets``, so every part is killed about as often."""
    if kills <= 0:
        return []
    rng = random.Random(seed)
    order = list(targets)
    rng.shuffle(order)
    slot = window_s / kills
    return [
        Kill(at_s=round(i * slot + rng.uniform(0, slot / 2), 2), target=order[i % len(order)]) for i in range(kills)
    ]
