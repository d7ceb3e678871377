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


#: What the ``replicas`` scenario kills, in this order: one replica of each service that has two (a consumer of
#: each group, then an activity worker) and one Ray worker node (never the head: it is the cluster).
REPLICA_SERVICES = ("ingest", "orchestrator", "executor")
RAY_WORKER_NODE = "ray-node-2"


def replica_kills(seed: int, window_s: float, replicas: int = 2) -> list[Kill]:
    """One kill per service of ``REPLICA_SERVICES`` (its replica picked by the seed) and one of the Ray worker node,
    spread evenly over the middle of the publishing window so that load flows before and after each."""
    rng = random.Random(seed)
    targets = [f"{service}-{n}" if (n := rng.randint(1, replicas)) > 1 else service for service in REPLICA_SERVICES]
    targets.append(RAY_WORKER_NODE)
    step = window_s / (len(targets) + 1)
    return [Kill(at_s=round(step * (i + 1), 2), target=target) for i, target in enumerate(targets)]
