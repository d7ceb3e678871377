"""``alertmesh route FILE... [--source S] [--header NAME:VALUE ...] [--ndjson] [--state FILE ...] [--json]``: what
ingest would do with payloads, without publishing anything or needing any server.

Each FILE is a body as a sender posts it to the webhook (``POST /v1/alerts/{source}``, ``--source`` the path's
source, ``--header`` its HTTP headers, mapped to Kafka headers as the webhook maps them: a CloudEvent in binary
mode's ``ce-*`` headers become ``ce_*``), or as a producer writes it to the raw topic (``--header NAME=VALUE``: a
Kafka header as is). An NDJSON file (``--ndjson``, a ``.ndjson``/``.jsonl`` name, or an NDJSON content type) is
split into one record a line, as the webhook splits it.

The records go through ingest's own code under ingest's own configuration (``services.ingest.preview``): the
routing file (``--routing``, else ``INGEST_ROUTING_FILE``), the field maps (``--field-maps``, else
``INGEST_FIELD_MAPS_FILE``), and every other ``INGEST_*`` / ``KAFKA_*`` setting ingest reads (alerts per record,
record size, dedup window, group bounds). For each alert it prints which parser or field map read it, the
normalized alert, every rule's verdict (the routing file and the rule's position and name), each trigger's
idempotency key and what noise control does with it (passes, a repeat the dedup window drops, held in a group
until its flush); for each record, its refused elements (index, stage, reason) and its dead letter. FILEs are fed
in order through one noise control, so an alert repeated in a later FILE shows as a repeat; ``--state FILE``
feeds earlier records first without showing them (what ingest saw before).

Exit 0 when every alert matched a rule (its triggers go out, or noise control keeps them back as it should), 1
when any alert or element was refused, dead-lettered or matched no rule (even under ``default: drop``), 2 when a
file or setting cannot be used. ``--json`` prints one JSON document (``schema: alertmesh.route.v1``, described in
docs/routing.md) instead of text.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from services.ingest.preview import AlertPreview, Configuration, Preview, RecordPreview

NAME = "route"
HELP = "show what ingest would do with payloads: alerts, each rule's verdict, triggers, noise control"
NEEDS_SETUP = False  # it publishes nothing and needs no server

#: The ``schema`` of ``--json`` output; a change that is not only an added key gets a new version.
JSON_SCHEMA = "alertmesh.route.v1"
#: File names read as NDJSON without ``--ndjson``.
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
#: The webhook's body content type when the sender gives none.
DEFAULT_CONTENT_TYPE = "application/json"
#: Alert fields printed on the alert's first line rather than in its details.
_HEADLINE = ("name", "source", "format", "status", "severity", "fingerprint")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "payloads", type=Path, nargs="+", metavar="FILE", help="raw alert payloads, fed in order (as ingest reads them)"
    )
    parser.add_argument("--routing", type=Path, metavar="FILE", help="default: INGEST_ROUTING_FILE, else ingest's own")
    parser.add_argument("--field-maps", type=Path, metavar="FILE", help="default: INGEST_FIELD_MAPS_FILE, else none")
    parser.add_argument("--source", help="the webhook path's {source} (the alertmesh-source header)")
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="an HTTP header as sent to the webhook (e.g. 'ce-type: com.example.alert'), or NAME=VALUE: a Kafka "
        "header as is (repeat)",
    )
    parser.add_argument("--ndjson", action="store_true", help="every FILE is NDJSON: one record a line")
    parser.add_argument(
        "--state",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="payloads ingest read before, fed first through noise control and not shown (repeat)",
    )
    parser.add_argument(
        "--at",
        type=_aware_time,
        metavar="TIME",
        help="the record time to decide at (ISO 8601, e.g. 2026-12-05T22:00:00Z): time windows and thresholds "
        "decide on it; default now",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="decide against the silences and firing alerts (inhibition) of the running mesh's Kafka "
        "(KAFKA_BOOTSTRAP_SERVERS); default: none",
    )
    parser.add_argument("--json", action="store_true", help=f"print one JSON document ({JSON_SCHEMA})")


def _aware_time(text: str) -> datetime:
    """An ISO 8601 time; UTC when it names no zone."""
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def run(args: argparse.Namespace) -> int:
    return route(
        args.payloads,
        routing_file=args.routing,
        field_maps_file=args.field_maps,
        source=args.source,
        header_args=args.header,
        ndjson=args.ndjson,
        state_files=args.state,
        as_json=args.json,
        at=args.at,
        live=args.live,
    )


def default_routing_file() -> Path:
    """Where ingest reads its rules: ``INGEST_ROUTING_FILE``, else the routing file shipped with ingest."""
    from services.ingest.config import IngestSettings

    return IngestSettings().routing_file


@dataclass(frozen=True)
class Headers:
    """The ``--header`` arguments: HTTP request headers (names lower-cased) and Kafka headers."""

    http: dict[str, str]
    kafka: dict[str, str]


def parse_headers(header_args: Sequence[str]) -> Headers:
    """``NAME:VALUE`` (HTTP) or ``NAME=VALUE`` (Kafka), whichever separator comes first (a header name holds
    neither); ``ValueError`` saying how to write one."""
    http: dict[str, str] = {}
    kafka: dict[str, str] = {}
    for given in header_args:
        at = min((index for index in (given.find(":"), given.find("=")) if index >= 0), default=-1)
        name = given[:at].strip() if at >= 0 else ""
        if not name:
            raise ValueError(
                f"--header {given!r}: write NAME:VALUE (an HTTP header, e.g. 'ce-type: com.example.alert') "
                "or NAME=VALUE (a Kafka header, e.g. ce_type=com.example.alert)"
            )
        if given[at] == ":":
            http[name.lower()] = given[at + 1 :].strip()
        else:
            kafka[name] = given[at + 1 :]
    return Headers(http, kafka)


def record_headers(source: str | None, headers: Headers) -> dict[str, str]:
    """The raw record's Kafka headers, as the webhook writes them for this request (``raw_record_headers``), then
    the Kafka headers given as they are; no source header without ``--source``."""
    from schemas.sources import SOURCE_HEADER
    from services.webhook.body import Rejected, check_source
    from services.webhook.headers import raw_record_headers

    if source:
        try:
            check_source(source)
        except Rejected as rejected:
            raise ValueError(f"--source: the webhook would answer {rejected.status}: {rejected.reason}") from None
    content_type = headers.http.get("content-type", DEFAULT_CONTENT_TYPE)
    written = raw_record_headers(source or "", content_type, headers.http)
    if not source:
        del written[SOURCE_HEADER]
    return written | headers.kafka


@dataclass(frozen=True)
class Input:
    """One raw record to preview: its name (the file, or ``file:line`` for an NDJSON line), body and headers, or
    why the webhook would not write it at all."""

    name: str
    body: bytes
    headers: dict[str, str]
    refused: str | None = None


def read_inputs(path: Path, headers: dict[str, str], ndjson: bool) -> list[Input]:
    """The records a file gives: one, or one per non-blank line of an NDJSON file, split as the webhook splits
    it (``services.webhook.ndjson``). ``OSError`` when it cannot be read."""
    from services.webhook.ndjson import LINE_CONTENT_TYPE, is_ndjson, line_problem, split_lines

    body = path.read_bytes()
    if not (ndjson or path.suffix.lower() in NDJSON_SUFFIXES or is_ndjson(headers.get("content-type", ""))):
        return [Input(str(path), body, headers)]
    line_headers = headers | {"content-type": LINE_CONTENT_TYPE}
    if not split_lines(body):  # the webhook's own check: nothing is written
        return [Input(str(path), body, headers, "the NDJSON body has no lines (the webhook answers 400)")]
    inputs = []
    for number, line in split_lines(body):
        problem = line_problem(line)
        refused = None if problem is None else f"line {number}: {problem} (the webhook answers 400 and writes nothing)"
        inputs.append(Input(f"{path}:{number}", line, line_headers, refused))
    return inputs


def route(
    payload_files: Sequence[Path],
    *,
    routing_file: Path | None = None,
    field_maps_file: Path | None = None,
    source: str | None = None,
    header_args: Sequence[str] = (),
    ndjson: bool = False,
    state_files: Sequence[Path] = (),
    as_json: bool = False,
    at: datetime | None = None,
    live: bool = False,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Print what ingest would do with the payload files (after ``state_files``) at record time ``at`` (now);
    ``live``: against the running mesh's silences and firing alerts; the exit code."""
    # Imported here: the command table loads this module for every command's --help.
    from pydantic import ValidationError

    from dsl.files import ConfigFileError
    from services.ingest.config import IngestSettings
    from services.ingest.preview import Preview, load_configuration

    try:
        overrides: dict[str, Any] = {"routing_file": routing_file, "field_maps_file": field_maps_file}
        settings = IngestSettings(**{key: value for key, value in overrides.items() if value is not None})
        configuration = load_configuration(settings)
        headers = record_headers(source, parse_headers(header_args))
        state = [read for path in state_files for read in read_inputs(path, headers, ndjson)]
        inputs = [read for path in payload_files for read in read_inputs(path, headers, ndjson)]
    except (ConfigFileError, ValueError, ValidationError) as error:
        print(error, file=err)
        return 2
    except OSError as error:
        print(f"{error.filename}: cannot read it: {error.strerror or error}", file=err)
        return 2
    if live:
        try:
            preview = asyncio.run(_live_preview(configuration, at))
        except Exception as error:  # Kafka unreachable: say so, as the other Kafka commands do
            print(f"--live: cannot read the silences and alerts from Kafka: {error}", file=err)
            return 2
    else:
        preview = Preview(configuration, at)
    for given in state:
        _feed(preview, given, state=True)
    records = [_feed(preview, given) for given in inputs]
    code = 0 if all(record.clean for record in records) else 1
    if as_json:
        document = as_document(preview, records, code)
        document["state_inputs"] = [given.name for given in state]
        json.dump(document, out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        print_text(preview, records, len(state), out)
    return code


async def _live_preview(configuration: Configuration, at: datetime | None) -> Preview:
    """A preview deciding against the silences and the alerts table read from Kafka now (a snapshot)."""
    from services.ingest.noise.muting import Muting
    from services.ingest.preview import Preview
    from services.shared.alert_table import AlertTable
    from services.shared.backoff import Backoff
    from services.shared.silences import Silences

    settings = configuration.settings
    # A command must not hang on an unreachable Kafka: a few seconds of retries, then say so.
    reach = Backoff(initial_s=0.2, max_s=1.0, budget_s=5.0)
    silences = Silences(settings.kafka, settings.topics.silences, backoff=reach)
    alerts = AlertTable(settings.kafka, settings.topics.alerts, backoff=reach)
    await silences.start(wait_s=10)
    await alerts.start(wait_s=10)
    # The snapshot is read; the followers stop (the preview reads the tables' rows in memory from here on).
    await silences.stop()
    await alerts.stop()
    return Preview(configuration, at, Muting(silences, alerts, lambda: configuration.routing))


def _feed(preview: Preview, given: Input, *, state: bool = False) -> RecordPreview:
    from services.ingest.pipeline import PARSE_STAGE, Failure, Outcome
    from services.ingest.preview import RecordPreview

    if given.refused is not None:  # never written, so ingest never sees it
        outcome = Outcome(failures=[Failure(PARSE_STAGE, given.refused)])
        return RecordPreview(given.name, given.headers, [], [], outcome, state)
    return preview.record(given.name, given.body, given.headers, state=state)


def print_text(preview: Preview, records: Sequence[RecordPreview], state_count: int, out: TextIO) -> None:
    """The preview for a reader: the configuration, each record's alerts, then what would be written."""
    configuration, settings = preview.configuration, preview.configuration.settings
    print(f"routing file {configuration.routing_file}: {configuration.routing.summary()}", file=out)
    maps = configuration.field_maps_file
    sources = ", ".join(sorted(configuration.field_maps))
    print(f"field maps {maps}: sources {sources}" if maps else "field maps: none (INGEST_FIELD_MAPS_FILE)", file=out)
    window = f"dedup window {settings.dedup_window_s:g}s" if settings.dedup_window_s else "dedup off"
    print(f"noise control: {window}, groups flush at {settings.group_max_alerts} alerts", file=out)
    if state_count:
        print(f"state: {state_count} earlier records fed first", file=out)
    for record in records:
        _print_record(record, preview, len(records) > 1, out)
    _print_summary(preview, records, out)


def _print_record(record: RecordPreview, preview: Preview, several: bool, out: TextIO) -> None:
    if several:
        print(f"\n== {record.name}", file=out)
    count = len(record.alerts) + len(record.refused)
    for alert in record.alerts:
        _print_alert(alert, count, preview, out)
    for refused in record.refused:
        print(f"\nelement {refused.index + 1}/{count} refused ({refused.stage}): {refused.reason}", file=out)
    if not count:  # the record as a whole could not be read: its one reason
        for failure in record.outcome.failures:
            print(f"\nrecord refused ({failure.stage}): {failure.reason}", file=out)


def _print_alert(preview_of: AlertPreview, count: int, preview: Preview, out: TextIO) -> None:
    alert = preview_of.alert
    headline = ", ".join(f"{name} {getattr(alert, name)}" for name in _HEADLINE[1:])
    print(f"\nalert {preview_of.index + 1}/{count}: {alert.name!r} ({headline})", file=out)
    print(f"  read by: {preview_of.read_by}", file=out)
    details = alert.model_dump(mode="json", exclude={*_HEADLINE, "payload"}, exclude_defaults=True)
    for key, value in details.items():
        print(f"  {key}: {json.dumps(value, ensure_ascii=False)}", file=out)
    routes = preview.configuration.routing.routes
    width = max(len(route.name) for route in routes)
    print("  rules:", file=out)  # of the routing file named on the first line
    for verdict in preview_of.verdicts:
        name = verdict.route.name.ljust(width)
        if verdict.chosen:
            more = ", continue" if verdict.route.continue_ else ""
            print(f"    + {name}  matched -> workflow {verdict.route.workflow}{more}", file=out)
        else:
            print(f"    - {name}  {verdict.reason}", file=out)
    for made in preview_of.triggers:
        data = made.ready.event.data
        noise = {"passes": "passes, goes out now", "repeat": f"dropped, {made.note}"}.get(made.noise, made.note)
        print(
            f"  trigger {data.workflow} (rule #{made.rule_index + 1} {data.route}): key {data.idempotency_key}",
            file=out,
        )
        print(f"    noise control: {noise}", file=out)
    if preview_of.unrouted is not None:
        print(f"  no rule matched: default {preview_of.unrouted}", file=out)


def _print_summary(preview: Preview, records: Sequence[RecordPreview], out: TextIO) -> None:
    several = len(records) > 1
    passing = [(record, ready) for record in records for ready in record.outcome.triggers]
    print(f"\ntriggers ({len(passing)}):", file=out)
    for record, ready in passing:
        data = ready.event.data
        inputs = json.dumps(data.inputs, separators=(", ", ": "), sort_keys=True)
        where = f"  [{record.name}]" if several else ""
        print(f"  {data.workflow}  (rule {data.route})  key {data.idempotency_key}  inputs {inputs}{where}", file=out)
    held = [(record, ready, note) for record in records for ready, note in record.outcome.held]
    if held:
        print(f"kept back by noise control ({len(held)}):", file=out)
        for record, ready, note in held:
            where = f"  [{record.name}]" if several else ""
            print(f"  {ready.event.data.idempotency_key}: {note}{where}", file=out)
    for key, group in preview.pending_groups():
        print(f"group {key}: alerts pending {len(group.alerts)}, workflow {group.workflow}", file=out)
    for record in records:
        where = f" [{record.name}]" if several else ""
        for dropped in record.outcome.dropped:
            print(f"dropped (default: drop){where}: {dropped.reason}", file=out)
        for failure in record.outcome.failures:
            print(f"dead letter ({failure.stage}){where}: {failure.reason}", file=out)


def as_document(preview: Preview, records: Sequence[RecordPreview], code: int) -> dict[str, Any]:
    """The ``--json`` document (``JSON_SCHEMA``); docs/routing.md describes every key."""
    configuration, settings = preview.configuration, preview.configuration.settings
    maps = configuration.field_maps_file
    return {
        "schema": JSON_SCHEMA,
        "routing_file": str(configuration.routing_file),
        "field_maps_file": str(maps) if maps else None,
        "noise_control": {"dedup_window_s": settings.dedup_window_s, "group_max_alerts": settings.group_max_alerts},
        "records": [_record_json(record, configuration.routing_file) for record in records],
        "pending_groups": [
            {
                "idempotency_key": key,
                "route": group.route,
                "workflow": group.workflow,
                "alerts": len(group.alerts),
                "labels": group.labels,
            }
            for key, group in preview.pending_groups()
        ],
        "exit_code": code,
    }


def _record_json(record: RecordPreview, routing_file: Path) -> dict[str, Any]:
    return {
        "input": record.name,
        "headers": record.headers,
        "alerts": [_alert_json(alert, routing_file) for alert in record.alerts],
        "refused": [
            {"index": refused.index, "stage": refused.stage, "reason": refused.reason} for refused in record.refused
        ],
        "dead_letter": [
            {"stage": failure.stage, "reason": failure.reason, "source": failure.source}
            for failure in record.outcome.failures
        ],
        "dropped": [{"reason": dropped.reason, "source": dropped.source} for dropped in record.outcome.dropped],
    }


def _alert_json(preview_of: AlertPreview, routing_file: Path) -> dict[str, Any]:
    routes = [verdict.route for verdict in preview_of.verdicts]
    return {
        "index": preview_of.index,
        "alert": preview_of.alert.model_dump(mode="json", exclude={"payload"}),
        "read_by": preview_of.read_by,
        "routing_file": str(routing_file),
        "rules": [
            {"index": index, "name": verdict.route.name, "matched": verdict.chosen, "reason": verdict.reason}
            for index, verdict in enumerate(preview_of.verdicts)
        ],
        "unrouted": preview_of.unrouted,
        "triggers": [
            {
                "workflow": made.ready.event.data.workflow,
                "rule_index": made.rule_index,
                "rule": routes[made.rule_index].name,
                "idempotency_key": made.ready.event.data.idempotency_key,
                "inputs": made.ready.event.data.inputs,
                "noise": made.noise,
                "note": made.note,
            }
            for made in preview_of.triggers
        ],
    }
