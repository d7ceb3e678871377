"""Routing cost per alert: ``python -m bench.routing_micro [--alerts N] [--routing FILE]``.

Routes the sample payloads' alerts (Alertmanager, CloudEvents, and variants of them with other severities and
labels) through routing tables and prints microseconds per alert, best of five runs: the given routing file (the
routing file ingest ships with by default) and ``RICH``, a table using every kind of test, including one ``when``
and ``continue`` fan-out. Only ``RoutingTable.match`` is timed (what ingest calls for each alert).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from alertmesh.samples import sample
from schemas.alert import Alert
from services.ingest.defaults import ROUTING_FILE
from services.ingest.parsers import parse_alerts
from services.ingest.routing import RoutingTable, load_routing, parse_routing

RUNS = 5
RICH = """\
routes:
  - name: audit-prod
    match: {labels.env: {present: true}, not: {labels.env: [dev, test]}}
    workflow: audit
    continue: true
  - name: db
    match: {name: {regex: "(Postgres|MySQL).*"}, severity: ">= medium"}
    workflow: db-triage
  - name: edr
    match:
      source: edr
      format: cloudevents
      any: [{severity: critical}, {labels.user: {in: [root, admin]}}, {labels.host: {regex: "host-[0-9]+"}}]
    workflow: edr-contain
  - name: probes
    match: {labels.job: http_checks, severity: ">= high", status: [firing, resolved]}
    workflow: triage
    continue: true
  - name: noisy-prod
    match: {severity: "<= low"}
    when: ${{ TRIGGER.alert.labels.env == 'prod' }}
    workflow: digest
  - name: catch-all
    match: {status: [firing, resolved]}
    workflow: triage
"""


def sample_alerts() -> list[Alert]:
    """The samples' alerts and variants of them, so rules both match and miss."""
    base = parse_alerts(sample("alertmanager-v4-firing.json").read_bytes(), {})
    base += parse_alerts(sample("cloudevents-structured.json").read_bytes(), {"alertmesh-source": "edr"})
    variants = [
        {"severity": "low", "labels": {"env": "prod", "job": "node"}},
        {"severity": "medium", "name": "PostgresReplicationLag", "labels": {"env": "staging"}},
        {"severity": "info", "labels": {"env": "dev"}},
    ]
    return base + [base[0].model_copy(update=change) for change in variants]


def per_alert_us(table: RoutingTable, alerts: list[Alert], count: int) -> float:
    """Best of ``RUNS`` runs of routing ``count`` alerts (cycling through ``alerts``), in microseconds per alert."""
    rounds = max(count // len(alerts), 1)
    best = float("inf")
    for _ in range(RUNS):
        start = time.perf_counter()
        for _ in range(rounds):
            for alert in alerts:
                table.match(alert)
        best = min(best, (time.perf_counter() - start) / (rounds * len(alerts)))
    return best * 1e6


def main(argv: list[str] | None = None) -> None:
    """The command line (``argv``, default ``sys.argv``): print the time per alert of the routing file and of
    ``RICH``."""
    parser = argparse.ArgumentParser(prog="python -m bench.routing_micro", description=__doc__)
    parser.add_argument("--alerts", type=int, default=100_000, help="alerts routed per run")
    parser.add_argument("--routing", type=Path, default=ROUTING_FILE, help="routing file to time")
    args = parser.parse_args(argv)
    alerts = sample_alerts()
    tables = {str(args.routing): load_routing(args.routing), "RICH": parse_routing(RICH, Path("RICH"))}
    for name, table in tables.items():
        chosen = [len(table.match(alert)) for alert in alerts]
        print(
            f"{name}: {per_alert_us(table, alerts, args.alerts):.2f} us/alert "
            f"({len(table.routes)} rules, {len(alerts)} distinct alerts, triggers per alert {chosen})"
        )


if __name__ == "__main__":
    main()
