"""``alertmesh chaos``: run the mesh under faults and check nothing is lost (``alertmesh.chaos`` runs it)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

NAME = "chaos"
HELP = "run the mesh under faults and check nothing is lost"
NEEDS_SETUP = True

#: The flags, each the ``ChaosOptions`` field of the same name.
_OPTIONS = ("scenario", "alerts", "kills", "seed", "rate", "outage_s", "quiet_s", "drain_timeout_s",
            "recovery_timeout_s", "action_seconds", "webhook_every", "state_dir", "report")  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from alertmesh.chaos.options import SCENARIOS, ChaosOptions

    default = ChaosOptions()
    add = parser.add_argument
    add(
        "--scenario",
        choices=SCENARIOS,
        default=default.scenario,
        help="kills (default): SIGKILL parts while alerts flow; replicas: 2 of ingest, orchestrator and executor and a "
        "2-node Ray cluster, one of each and the Ray worker node SIGKILLed, partitions' reassignment timed",
    )
    add("--alerts", type=int, default=default.alerts, help="distinct alerts to publish")
    add("--kills", type=int, default=default.kills, help="SIGKILLs in the kills scenario")
    add("--seed", type=int, default=default.seed, help="decides the kill schedule, duplicates and malformed payloads")
    add("--rate", type=float, default=default.rate, help="messages published per second")
    add(
        "--outage-s",
        type=float,
        default=default.outage_s,
        help="how long Kafka/Temporal stay stopped (outage scenarios)",
    )
    add("--quiet-s", type=float, default=default.quiet_s, help="no new result this long: the run is over")
    add(
        "--drain-timeout-s",
        type=float,
        default=default.drain_timeout_s,
        help="longest wait for results after publishing",
    )
    add("--recovery-timeout-s", type=float, default=default.recovery_timeout_s, help="a part not back this long failed")
    add("--action-seconds", type=float, default=default.action_seconds, help="duration of the side-effect action")
    add("--webhook-every", type=int, help="send every n-th message through the webhook (kafka-outage, sigterm: 4)")
    add("--state-dir", type=Path, help="default: a fresh temporary directory (kept only if a check fails)")
    add("--report", type=Path, default=default.report, help="Markdown report to write")


def run(args: argparse.Namespace) -> int:
    from alertmesh.chaos import runner
    from alertmesh.chaos.options import ChaosOptions

    # The chaos run stops Kafka on purpose; its clients' reconnect errors would bury the progress lines.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per webhook request otherwise
    return asyncio.run(runner.run(ChaosOptions(**{name: getattr(args, name) for name in _OPTIONS})))
