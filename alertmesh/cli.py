"""``alertmesh``: run the mesh (``up``, ``demo``), push an alert in (``publish``), read outcomes (``results``),
re-drive a finished workflow (``rerun``), run one workflow file (``run``), prove it survives faults (``chaos``),
measure it (``bench``), check workflow definitions (``validate``), show how a payload is routed (``route``), list
the actions workflows can use (``actions``), list and replay dead letters (``dlq``), show an alert's path
through the mesh (``trace``), see how a running mesh is doing (``status``), describe the topics (``asyncapi``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from alertmesh.stack.mesh import MeshSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_ALERT = REPO_ROOT / "samples" / "alertmanager-v4-firing.json"


def _mesh_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", type=Path, help="where Temporal keeps its SQLite state (.alertmesh/)")
    parser.add_argument("--kafka-port", type=int, help="embedded broker port (9092)")
    parser.add_argument("--temporal-port", type=int, help="embedded Temporal port (7233)")
    parser.add_argument("--temporal-ui-port", type=int, help="embedded Temporal UI port (8233)")
    parser.add_argument("--webhook-port", type=int, help="webhook bridge port (8080)")


def _mesh_settings(args: argparse.Namespace) -> MeshSettings:
    from alertmesh.stack.mesh import MeshSettings

    names = ("state_dir", "kafka_port", "temporal_port", "temporal_ui_port", "webhook_port")
    return MeshSettings(**{n: getattr(args, n) for n in names if getattr(args, n, None) is not None})


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="alertmesh", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run the whole mesh in the foreground until Ctrl-C")
    _mesh_options(up)

    demo = commands.add_parser("demo", help="start the mesh, push the demo alert through, print its result, stop")
    _mesh_options(demo)  # --state-dir defaults to a fresh temporary directory here
    demo.add_argument("--alert", type=Path, default=DEMO_ALERT, help="payload to push (the Alertmanager sample)")
    demo.add_argument("--timeout", type=float, default=120, help="seconds to wait for the result")

    publish = commands.add_parser("publish", help="publish a payload file to a topic (acks=all)")
    publish.add_argument("file", type=Path)
    publish.add_argument("--topic", help="default: the raw alerts topic (alerts.raw)")
    publish.add_argument("--key", help="message key")
    publish.add_argument("--source", help="sets the alertmesh-source header, as the webhook bridge does")

    results = commands.add_parser(
        "results", help="print WorkflowResult events: a table on a terminal, JSON lines when piped or with --json"
    )
    results.add_argument("--follow", action="store_true", help="keep waiting for new results")
    results.add_argument("--count", type=int, help="stop after this many results")
    results.add_argument("--timeout", type=float, help="give up after this many seconds (exit code 1)")
    results.add_argument("--topic", help="default: the results topic (alertmesh.results)")
    results.add_argument(
        "--resolve", action="store_true", help='replace {"$stored": ...} results with their JSON (EXECUTOR_BLOB_*)'
    )
    results.add_argument("--json", action="store_true", help="JSON lines (the result events) even on a terminal")

    rerun = commands.add_parser(
        "rerun",
        help="run a finished workflow again under the same id (e.g. after the executor was down); uses TEMPORAL_*",
    )
    rerun.add_argument("workflow_id", metavar="WORKFLOW_ID", help="the workflow id (the trigger's idempotency key)")
    rerun.add_argument("--reason", default="rerun requested", help="recorded in the workflow's history")
    run_file = commands.add_parser(
        "run", help="run one workflow file on the running stack, print its WorkflowResult JSON (exit 1 if failed)"
    )
    run_file.add_argument("file", type=Path, metavar="FILE", help="the workflow definition (YAML)")
    run_file.add_argument(
        "--trigger", default="{}", help="JSON object {inputs, alert, route}, or @file holding one (default: {})"
    )
    run_file.add_argument("--vars", type=Path, help="workspace variables (YAML/JSON); default ORCHESTRATOR_VARS_FILE")
    run_file.add_argument("--workflows", type=Path, help="where child workflows are (default: FILE's folder)")
    run_file.add_argument("--timeout", type=float, help="seconds to wait for the result (default: until it ends)")
    actions = commands.add_parser("actions", help="list the actions workflows can use, with their arguments")
    actions.add_argument("--json", action="store_true", help="as JSON: name, description, pure, args JSON Schema")
    validate = commands.add_parser(
        "validate", help="check workflow files (and folders of them) together; print file:line:col: problem"
    )
    validate.add_argument("paths", nargs="+", type=Path, metavar="FILE", help="workflow YAML files or folders")
    route = commands.add_parser(
        "route", help="show what ingest would do with a payload: its alerts, each rule's verdict, the triggers"
    )
    route.add_argument("payload", type=Path, metavar="PAYLOAD_FILE", help="a raw alert payload (as on alerts.raw)")
    route.add_argument("--routing", type=Path, metavar="FILE", help="default: INGEST_ROUTING_FILE or routing.yaml")
    route.add_argument("--source", help="as the webhook path's {source} (the alertmesh-source header)")
    route.add_argument(
        "--header", action="append", default=[], metavar="NAME=VALUE", help="a Kafka header, e.g. ce_type=... (repeat)"
    )
    _status_options(commands.add_parser("status", help="health, restarts, rates, lag, workflows, recent failures"))
    _dlq_options(commands.add_parser("dlq", help="list dead letters, replay them after a fix; uses KAFKA_*"))
    _chaos_options(commands.add_parser("chaos", help="run the mesh under faults and check nothing is lost"))
    asyncapi = commands.add_parser(
        "asyncapi", help="write the AsyncAPI 3.0 document of every topic (asyncapi.yaml), or --check it is current"
    )
    asyncapi.add_argument("--check", action="store_true", help="exit 1 if the file is not what the code generates")
    asyncapi.add_argument("--output", type=Path, metavar="FILE", help="default: asyncapi.yaml at the repository root")
    _trace_options(commands.add_parser("trace", help="show an alert's path: hops, actions, result or dead letter"))
    bench = commands.add_parser(
        "bench", help="measure the mesh against the raw ceilings it stands on; writes BENCHMARKS.md and plots"
    )
    bench.add_argument("--quick", action="store_true", help="small sizes, short phases (under 3 minutes)")
    bench.add_argument("--out", type=Path, help="where BENCHMARKS.md and the plots go (the repository root)")
    bench.add_argument("--state-dir", type=Path, help="default: a fresh temporary directory, removed after")
    return root


def _status_options(status: argparse.ArgumentParser) -> None:
    status.add_argument("--watch", action="store_true", help="refresh until Ctrl-C (in place on a terminal)")
    status.add_argument("--interval", type=float, default=2.0, help="seconds between readings (rates span it)")
    status.add_argument("--json", action="store_true", help="one JSON object per report")
    status.add_argument("--state-dir", type=Path, help="where `alertmesh up` keeps mesh.json (.alertmesh/)")
    for name, path in (("health", "/healthz"), ("metrics", "/metrics")):
        status.add_argument(
            f"--{name}", action="append", default=[], metavar="NAME=URL",
            help=f"a part's {path} URL, for a mesh not started by `alertmesh up` (repeat)",
        )  # fmt: skip


def _status(args: argparse.Namespace) -> int:
    from alertmesh.status import report as status_cmd

    if args.interval <= 0:
        print("alertmesh status: --interval must be more than 0 seconds", file=sys.stderr)
        return 2
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # an unreachable broker is shown in the report
    state_dir = args.state_dir if args.state_dir is not None else _mesh_settings(args).state_dir
    where = status_cmd.Where(state_dir, tuple(args.health), tuple(args.metrics))
    code = status_cmd.main(where, watch=args.watch, interval_s=args.interval, as_json=args.json)
    return _exit_without_teardown(code)  # it used a Temporal client


#: Dead-letter stages (``schemas.deadletter.STAGES``), spelled out so the command line loads no schema module.
DLQ_STAGES = ("parse", "validate", "route", "start", "publish")


def _trace_options(trace: argparse.ArgumentParser) -> None:
    trace.add_argument(
        "id", help="alert event id, correlation id, idempotency key, workflow id, trace id, or topic@partition/offset"
    )
    trace.add_argument("--state-dir", type=Path, help="the mesh's state directory (.alertmesh/)")
    trace.add_argument("--traces-dir", type=Path, help="span store (default: ALERTMESH_TRACES_DIR or <state>/traces)")
    trace.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help="wait this long for the trace to end")
    trace.add_argument("--temporal-ui", help="Temporal UI base URL (default: TEMPORAL_UI_URL, or the running mesh's)")


def _dlq_options(dlq: argparse.ArgumentParser) -> None:
    actions = dlq.add_subparsers(dest="dlq_command", required=True)
    listing = actions.add_parser("list", help="a table on a terminal, JSON lines when piped or with --json")
    replay = actions.add_parser("replay", help="send the originals again (acks=all) to their topic or --to")
    for sub in (listing, replay):
        sub.add_argument("--since", help="only those received since: a duration (15m, 2h, 1d) or an ISO 8601 time")
        sub.add_argument("--stage", choices=DLQ_STAGES, help="only those that failed at this stage")
    listing.add_argument("--json", action="store_true", help="JSON lines (the dead letter events) even on a terminal")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", action="append", metavar="ID", help="a dead letter id or a unique prefix (repeatable)")
    which.add_argument("--all", action="store_true", help="every dead letter --since/--stage select")
    replay.add_argument("--to", metavar="TOPIC", help="default: the topic each original was read from")


def _dlq(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from alertmesh.commands import dlq as dlq_cmd
    from services.shared.kafka import KafkaSettings
    from services.shared.topics import TopicSettings

    try:
        since = dlq_cmd.parse_since(args.since, datetime.now(UTC)) if args.since else None
        selection = dlq_cmd.Selection(stage=args.stage, since=since, ids=tuple(getattr(args, "id", None) or ()))
        kafka, topic = KafkaSettings(), TopicSettings().dlq
        if args.dlq_command == "list":
            return asyncio.run(dlq_cmd.list_letters(kafka, topic, selection, as_json=True if args.json else None))
        return asyncio.run(dlq_cmd.replay_letters(kafka, topic, selection, to=args.to))
    except dlq_cmd.SelectionError as error:
        print(f"alertmesh dlq: {error}", file=sys.stderr)
        return 2


def _chaos_options(chaos: argparse.ArgumentParser) -> None:
    from alertmesh.chaos.options import SCENARIOS, ChaosOptions

    default = ChaosOptions()
    add = chaos.add_argument
    add(
        "--scenario",
        choices=SCENARIOS,
        default=default.scenario,
        help="kills (default): SIGKILL parts while alerts flow",
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


def _chaos(args: argparse.Namespace) -> int:
    from alertmesh.chaos import runner
    from alertmesh.chaos.options import ChaosOptions

    # The chaos run stops Kafka on purpose; its clients' reconnect errors would bury the progress lines.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per webhook request otherwise
    names = ["scenario", "alerts", "kills", "seed", "rate", "outage_s", "quiet_s", "drain_timeout_s"]
    names += ["recovery_timeout_s", "action_seconds", "webhook_every", "state_dir", "report"]
    return asyncio.run(runner.run(ChaosOptions(**{name: getattr(args, name) for name in names})))


def _bench(args: argparse.Namespace) -> int:
    from bench import runner
    from bench.options import BenchOptions

    logging.getLogger("httpx").setLevel(logging.WARNING)
    out = {"out": args.out} if args.out is not None else {}
    options = BenchOptions(quick=args.quick, state_dir=args.state_dir, **out)
    # The run used Temporal clients: end without the interpreter's teardown (see _exit_without_teardown).
    return _exit_without_teardown(asyncio.run(runner.run(options)))


def _demo(args: argparse.Namespace) -> int:
    """The demo starts from a clean slate unless told otherwise: a fresh Temporal state, so the demo alert is
    new to it (a kept state would rightly treat it as already handled and start nothing)."""
    from alertmesh import run

    alert = args.alert.read_bytes()
    if args.state_dir is not None:
        return asyncio.run(run.demo(_mesh_settings(args), alert, args.timeout))
    with tempfile.TemporaryDirectory(prefix="alertmesh-demo-") as state_dir:
        args.state_dir = Path(state_dir)
        return asyncio.run(run.demo(_mesh_settings(args), alert, args.timeout))


def _exit_without_teardown(code: int) -> NoReturn:
    """End a process that used a Temporal client right away: the SDK's native threads can abort the interpreter
    while it finalizes (temporalio sdk-python issue #300), turning a clean exit code into SIGABRT."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _configure_logging() -> int:
    """The command's own lines: short text (``name | message``, like ``up``'s parts), or with
    ALERTMESH_LOG_FORMAT=json the services' JSON lines. 2 (after saying why) for an unknown format."""
    from services.shared import logs

    try:
        fmt = logs.log_format()
    except logs.LogFormatError as error:
        print(f"alertmesh: {error}", file=sys.stderr)
        return 2
    if fmt == "json":
        logs.configure("alertmesh")
    else:
        logging.basicConfig(level=logging.INFO, format="%(name)-13s| %(message)s")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "validate":  # no logging set-up, no event loop: it only reads files
        from alertmesh.commands.validate import validate

        return validate(args.paths)
    if args.command == "trace":  # likewise: it reads the span store
        from alertmesh.commands.trace import trace

        return trace(args)
    if args.command == "route":  # likewise: it publishes nothing
        from alertmesh.commands.route import route

        return route(args.payload, args.routing, args.source, args.header)
    if args.command == "asyncapi":  # likewise: it reads the code and writes one file
        from alertmesh.asyncapi import command

        return command.main(args.check, args.output)
    if _configure_logging() != 0:
        return 2
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    # Imported here, not at the top: they load the Kafka and Temporal clients, which `validate` never needs.
    from alertmesh import run
    from alertmesh.commands import run_file as run_workflow

    try:
        if args.command == "up":
            return asyncio.run(run.up(_mesh_settings(args)))
        if args.command == "demo":
            return _demo(args)
        if args.command == "chaos":
            return _chaos(args)
        if args.command == "dlq":
            return _dlq(args)
        if args.command == "status":
            return _status(args)
        if args.command == "bench":
            return _bench(args)
        if args.command == "publish":
            return asyncio.run(run.publish(args.file.read_bytes(), args.topic, args.key, args.source))
        if args.command == "run":
            code = asyncio.run(run_workflow.run_file(args.file, args.trigger, args.vars, args.workflows, args.timeout))
            return _exit_without_teardown(code)
        if args.command == "actions":
            from alertmesh.commands import actions as actions_catalog

            return actions_catalog.main(args.json)
        if args.command == "rerun":
            return _exit_without_teardown(asyncio.run(run.rerun(args.workflow_id, args.reason)))
        as_json = True if args.json else None
        return asyncio.run(run.results(args.topic, args.follow, args.count, args.timeout, args.resolve, as_json))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
