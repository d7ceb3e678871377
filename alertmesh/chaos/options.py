"""What a chaos run does: the scenario and its sizes, all settable from the command line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Scenario = Literal["kills", "broker-kill", "kafka-outage", "temporal-outage", "sigterm", "replicas"]
SCENARIOS: tuple[Scenario, ...] = ("kills", "broker-kill", "kafka-outage", "temporal-outage", "sigterm", "replicas")
#: The ``replicas`` scenario's mesh: two processes of each of these services and a Ray cluster of two nodes.
REPLICATED = {"ingest": 2, "orchestrator": 2, "executor": 2}
RAY_NODES = 2


@dataclass(frozen=True)
class ChaosOptions:
    """The settings of one chaos run (``alertmesh chaos`` options); the defaults are the documented run."""

    scenario: Scenario = "kills"
    alerts: int = 200
    kills: int = 5
    seed: int = 1
    #: Messages published per second (alerts, duplicates and malformed payloads together).
    rate: float = 10.0
    duplicate_share: float = 0.05
    malformed_share: float = 0.05
    #: How long the chaos workflow's side-effect action takes (so a Ray worker is busy when one is killed).
    action_seconds: float = 0.1
    #: How long Kafka or Temporal stays stopped in the outage scenarios.
    outage_s: float = 30.0
    #: The result topic counts as quiet after this long without a new result.
    quiet_s: float = 30.0
    #: Give up waiting for results this long after the last message was published.
    drain_timeout_s: float = 600.0
    #: A part that is not back (healthy, and a new result after that) this long after a fault did not recover.
    recovery_timeout_s: float = 180.0
    #: Send every n-th message through the webhook bridge (kafka-outage sends some that way by default).
    webhook_every: int | None = None
    state_dir: Path | None = None
    report: Path = Path("chaos-report.md")

    @property
    def replicas(self) -> dict[str, int]:
        """Processes per service the scenario runs (one each but in the ``replicas`` scenario)."""
        return dict(REPLICATED) if self.scenario == "replicas" else {}

    @property
    def ray_nodes(self) -> int:
        """Ray nodes started with Ray's CLI (0: Ray inside the executor, as ``up`` runs it by default)."""
        return RAY_NODES if self.scenario == "replicas" else 0

    @property
    def publish_window_s(self) -> float:
        """About how long publishing takes at ``rate`` (faults are planned inside this window)."""
        extra = round(self.alerts * self.duplicate_share) + round(self.alerts * self.malformed_share)
        return (self.alerts + extra) / self.rate

    def command(self) -> str:
        """The command line that repeats this run."""
        parts = [
            "alertmesh chaos",
            f"--scenario {self.scenario}",
            f"--alerts {self.alerts}",
            f"--kills {self.kills}" if self.scenario == "kills" else "",
            f"--seed {self.seed}",
            f"--rate {self.rate:g}",
            f"--outage-s {self.outage_s:g}" if self.scenario.endswith("outage") else "",
            f"--report {self.report}",
        ]
        return " ".join(part for part in parts if part)
