"""``alertmesh route [--routing FILE] [--field-maps FILE] PAYLOAD_FILE [--source S] [--header NAME=VALUE ...]``:
what ingest would make of a payload, without publishing anything or needing any server.

It prints the normalized alerts the payload gives, every rule's verdict on each (matched, or why not: the first
test that failed, the ``when`` that was false, the rule a non-``continue`` match stopped at), and the triggers
ingest would publish (workflow, idempotency key, inputs), or why an alert would be dead-lettered or dropped. The
payload goes through the ingest pipeline itself (``services.ingest.pipeline.process``), so what is printed is what
ingest does. Exit 0 when every alert becomes triggers (or is dropped, as the file's ``default: drop`` says), 1
when something would be dead-lettered, 2 when the routing file, the field-map file or the payload file cannot be
used. Field maps (``--field-maps``, default ``INGEST_FIELD_MAPS_FILE``) read their sources as ingest reads them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from schemas.alert import Alert
    from services.ingest.parsers.base import Parser
    from services.ingest.routing import RoutingTable

NAME = "route"
HELP = "show what ingest would do with a payload: its alerts, each rule's verdict, the triggers"
NEEDS_SETUP = False  # it publishes nothing and needs no server

#: Alert fields printed on the alert's first line rather than in its details.
_HEADLINE = ("name", "source", "format", "status", "severity", "fingerprint")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("payload", type=Path, metavar="PAYLOAD_FILE", help="a raw alert payload (as on alerts.raw)")
    parser.add_argument("--routing", type=Path, metavar="FILE", help="default: INGEST_ROUTING_FILE, else ingest's own")
    parser.add_argument("--field-maps", type=Path, metavar="FILE", help="default: INGEST_FIELD_MAPS_FILE, else none")
    parser.add_argument("--source", help="as the webhook path's {source} (the alertmesh-source header)")
    parser.add_argument(
        "--header", action="append", default=[], metavar="NAME=VALUE", help="a Kafka header, e.g. ce_type=... (repeat)"
    )


def run(args: argparse.Namespace) -> int:
    return route(args.payload, args.routing, args.source, args.header, field_maps=args.field_maps)


def _headers(header_args: Sequence[str]) -> dict[str, str]:
    """The ``--header NAME=VALUE`` arguments as Kafka headers; ``ValueError`` saying how to write one."""
    headers = {}
    for given in header_args:
        name, equals, value = given.partition("=")
        if not equals or not name.strip():
            raise ValueError(f"--header {given!r}: write NAME=VALUE, e.g. ce_type=com.example.alert")
        headers[name.strip()] = value
    return headers


def default_routing_file() -> Path:
    """Where ingest reads its rules: ``INGEST_ROUTING_FILE``, else the routing file shipped with ingest."""
    from services.ingest.defaults import ROUTING_FILE

    return Path(os.environ.get("INGEST_ROUTING_FILE", ROUTING_FILE))


def route(
    payload_file: Path,
    routing_file: Path | None = None,
    source: str | None = None,
    header_args: Sequence[str] = (),
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    *,
    field_maps: Path | None = None,
) -> int:
    """Print what ingest would do with ``payload_file`` (with Kafka headers ``NAME=VALUE``) under
    ``routing_file``; the exit code."""
    # Imported here: the command table loads this module for every command's --help.
    from services.ingest.parsers import SOURCE_HEADER, ParseError, parse_alerts
    from services.ingest.parsers.field_maps import FieldMapFileError
    from services.ingest.pipeline import process
    from services.ingest.routing import RoutingFileError, load_routing
    from services.shared.deadletter import ConsumedRecord
    from services.shared.kafka import KafkaSettings

    routing_file = routing_file if routing_file is not None else default_routing_file()
    try:
        table = load_routing(routing_file)
        parsers = _parsers(field_maps)
    except (RoutingFileError, FieldMapFileError) as error:
        print(error, file=err)
        return 2
    try:
        body = payload_file.read_bytes()
    except OSError as error:
        print(f"{payload_file}: cannot read it: {error.strerror or error}", file=err)
        return 2
    try:
        headers = _headers(header_args)
    except ValueError as error:
        print(error, file=err)
        return 2
    if source:
        headers[SOURCE_HEADER] = source
    record = ConsumedRecord(
        value=body, headers=headers, topic="(alertmesh route)", received_at=datetime.now(UTC), offset=0, key=None
    )
    print(f"routing file {routing_file}: {table.summary()}", file=out)
    try:
        alerts = parse_alerts(body, headers, parsers)
    except ParseError:
        alerts = []  # the pipeline below says why, as the dead letter would
    for number, alert in enumerate(alerts, start=1):
        _print_alert(number, len(alerts), alert, table, out)
    outcome = process(record, table, KafkaSettings().max_message_bytes, parsers)
    print(f"\ntriggers ({len(outcome.triggers)}):", file=out)
    for ready in outcome.triggers:
        data = ready.event.data
        inputs = json.dumps(data.inputs, separators=(", ", ": "), sort_keys=True)
        print(f"  {data.workflow}  (rule {data.route})  key {data.idempotency_key}  inputs {inputs}", file=out)
    for dropped in outcome.dropped:
        print(f"dropped (default: drop): {dropped.reason}", file=out)
    for failure in outcome.failures:
        print(f"dead letter ({failure.stage}): {failure.reason}", file=out)
    return 1 if outcome.failures else 0


def _parsers(field_maps: Path | None) -> tuple[Parser, ...]:
    """Ingest's parsers with the field maps of ``field_maps``, else of ``INGEST_FIELD_MAPS_FILE`` (none without)."""
    from services.ingest.parsers import parsers_for
    from services.ingest.parsers.field_maps import load_field_maps

    configured = os.environ.get("INGEST_FIELD_MAPS_FILE")
    maps_file = field_maps or (Path(configured) if configured else None)
    return parsers_for(load_field_maps(maps_file) if maps_file else {})


def _print_alert(number: int, count: int, alert: Alert, table: RoutingTable, out: TextIO) -> None:
    headline = ", ".join(f"{name} {getattr(alert, name)}" for name in _HEADLINE[1:])
    print(f"\nalert {number}/{count}: {alert.name!r} ({headline})", file=out)
    details = alert.model_dump(mode="json", exclude={*_HEADLINE, "payload"}, exclude_defaults=True)
    for key, value in details.items():
        print(f"  {key}: {json.dumps(value, ensure_ascii=False)}", file=out)
    width = max(len(route.name) for route in table.routes)
    print("  rules:", file=out)
    for verdict in table.explain(alert):
        name = verdict.route.name.ljust(width)
        if verdict.chosen:
            more = ", continue" if verdict.route.continue_ else ""
            print(f"    + {name}  matched -> workflow {verdict.route.workflow}{more}", file=out)
        else:
            print(f"    - {name}  {verdict.reason}", file=out)
