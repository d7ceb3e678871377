"""``alertmesh dlq`` through the real broker, ingest, orchestrator and Temporal: an alert no route matches is
dead-lettered, ``dlq list`` shows it, the routing is fixed, ``dlq replay`` sends it through to a workflow, and a
second replay starts nothing. Poison keeps its exact bytes and non-UTF-8 headers through the DLQ and back."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import pty
import sys
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import orjson
import pytest
from temporalio.client import Client

from alertmesh.commands.dlq.letters import REPLAY_HEADER, Selection, list_letters
from alertmesh.kafka_tools import ensure_topics
from alertmesh.samples import sample
from dsl.loader import load_workflows
from schemas import DeadLetter, WorkflowResult, WorkflowTrigger
from services.executor.catalog import action_catalog
from services.ingest.app import build_app
from services.ingest.config import IngestSettings
from services.ingest.defaults import ROUTING_FILE
from services.orchestrator.service import Orchestrator, connect_temporal
from services.shared.deadletter import ConsumedRecord, dead_letter
from services.shared.kafka import KafkaSettings
from services.shared.topics import TopicSettings
from tests.conftest import REPO, TemporalServer
from tests.ingest.kafka_io import committed, create_topics, end_offset, produce, produce_all, read
from tests.orchestrator.conftest import Mesh, running_mesh, running_worker, unique_settings
from tests.orchestrator.factories import definition, make_trigger
from tests.orchestrator.fake_executor import fake_executor_worker
from tests.shared.strategies import controls_in

pytestmark = pytest.mark.integration

#: Routes only the database team's alerts: the probe alert below matches nothing (stage ``route``).
NARROW_ROUTING = """\
routes:
  - name: database-only
    match:
      labels.team: database
    workflow: triage
"""


def read_terminal(controller: int) -> bytes:
    """Everything written to the pseudo-terminal until its other end is closed (then reading fails with EIO)."""
    output = b""
    with contextlib.suppress(OSError):
        while chunk := os.read(controller, 65536):
            output += chunk
    return output


class Placed(Protocol):
    """Settings that say where the broker and the topics are (the orchestrator's, the ingest's)."""

    @property
    def kafka(self) -> KafkaSettings: ...
    @property
    def topics(self) -> TopicSettings: ...


@contextlib.asynccontextmanager
async def running_ingest(mesh: Mesh, routing_file: Path, group_id: str) -> AsyncIterator[IngestSettings]:
    """Ingest on the mesh's topics with ``routing_file``; the same ``group_id`` resumes where the last one left."""
    # No dedup window: a replay must reach the orchestrator, whose idempotency these tests check.
    settings = IngestSettings(
        group_id=group_id,
        routing_file=routing_file,
        kafka=mesh.settings.kafka,
        topics=mesh.settings.topics,
        dedup_window_s=0,
    )
    app, _ = build_app(settings)
    await app.start()
    try:
        yield settings
    finally:
        await app.stop()


async def dlq(settings: Placed, *args: str, terminal: bool = False) -> tuple[int, str, str]:
    """Run ``alertmesh dlq ...`` as a user would, against the broker and dead-letter topic of ``settings``: output
    piped, or on a pseudo-terminal of 160 columns (what a person at a shell sees) with ``terminal``."""
    env = os.environ | {
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        # The dead-letter topic, and the topics the mesh reads: where a replay without --to may write.
        **settings.topics.env(),
        "COLUMNS": "160",
    }
    controller, screen = pty.openpty() if terminal else (-1, -1)
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "alertmesh.cli", "dlq", *args, env=env, cwd=REPO,
            stdout=screen if terminal else asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        if not terminal:
            out, err = await asyncio.wait_for(process.communicate(), timeout=120)
        else:
            os.close(screen)
            # Read the terminal while the command runs: a full terminal buffer would block the command.
            screen_text = asyncio.create_task(asyncio.to_thread(read_terminal, controller))
            _, err = await asyncio.wait_for(process.communicate(), timeout=120)
            out = await asyncio.wait_for(screen_text, timeout=30)
    finally:
        if terminal:
            os.close(controller)
    assert process.returncode is not None
    return process.returncode, out.decode().replace("\r\n", "\n"), err.decode()


def unique_alert() -> tuple[bytes, str]:
    """The Alertmanager sample with a fingerprint no other test uses (a fresh workflow id), and that fingerprint."""
    document = orjson.loads(sample("alertmanager-v4-firing.json").read_bytes())
    fingerprint = uuid.uuid4().hex[:16]
    document["alerts"][0]["fingerprint"] = fingerprint
    return orjson.dumps(document), fingerprint


async def executions(client: Client, workflow_id: str) -> int:
    return len([w async for w in client.list_workflows(f'WorkflowId="{workflow_id}"')])


async def test_a_route_dead_letter_flows_to_its_workflow_after_the_fix_and_a_second_replay_starts_nothing(
    kafka_bootstrap: str, temporal_server: TemporalServer, tmp_path: Path
) -> None:
    async with running_mesh(kafka_bootstrap, temporal_server.address) as mesh:
        topics = mesh.settings.topics
        narrow = tmp_path / "routing.yaml"
        narrow.write_text(NARROW_ROUTING)
        group = f"ingest-{uuid.uuid4().hex[:8]}"
        alert, fingerprint = unique_alert()
        headers = [("content-type", b"application/json"), ("alertmesh-source", b"prometheus-eu"), ("x-sig", b"\xfe")]

        async with running_ingest(mesh, narrow, group):
            await produce(kafka_bootstrap, topics.raw, alert, key=b"am", headers=headers)
            [dead] = await read(kafka_bootstrap, topics.dlq, 1)
        assert DeadLetter.from_json(dead.value).data.stage == "route"

        code, out, err = await dlq(mesh.settings, "list", "--stage", "route", "--since", "10m")  # piped: JSON lines
        assert code == 0, err
        [line] = out.splitlines()
        letter = DeadLetter.from_json(line)
        assert (letter.data.stage, letter.data.alert_source, letter.data.original) == ("route", "prometheus-eu", alert)
        assert "no route matches alert 'ProbeFailure'" in letter.data.reason
        assert letter.data.original_headers_base64 == {"x-sig": b"\xfe"}
        code, out, _ = await dlq(mesh.settings, "list", "--stage", "parse")
        assert (code, out) == (0, "")

        # The fix: the repository's routing (a catch-all). Ingest resumes in its group, past the dead letter.
        async with running_ingest(mesh, ROUTING_FILE, group):
            code, out, err = await dlq(mesh.settings, "replay", "--id", letter.id[:8])
            assert code == 0, err
            assert out.startswith(f"replayed {letter.id} (route) to {topics.raw}[0] at 1")
            [(result, _)] = await mesh.read(topics.results, WorkflowResult, 1, timeout=90)
            assert isinstance(result, WorkflowResult) and result.data.status == "completed"
            key = result.data.workflow_id
            assert fingerprint in key

            code, _, err = await dlq(mesh.settings, "replay", "--all", "--stage", "route")  # the same record, once more
            assert code == 0, err
            triggers = await read(kafka_bootstrap, topics.triggers, 2, timeout=60)
            assert [WorkflowTrigger.from_json(t.value).data.idempotency_key for t in triggers] == [key, key]
            async with asyncio.timeout(60):  # the orchestrator handled (and committed) the second trigger
                while await committed(kafka_bootstrap, mesh.settings.group_id, topics.triggers) != 2:
                    await asyncio.sleep(0.2)
        raw = await read(kafka_bootstrap, topics.raw, 3)
        assert [(r.value, r.key) for r in raw] == [(alert, b"am")] * 3
        assert dict(raw[2].headers)[REPLAY_HEADER] == letter.id.encode()
        assert dict(raw[2].headers)["x-sig"] == b"\xfe"  # byte for byte, not U+FFFD
        for _ in range(50):  # visibility catches up asynchronously
            if await executions(mesh.orchestrator.client, key) == 1:
                break
            await asyncio.sleep(0.1)
        assert await executions(mesh.orchestrator.client, key) == 1
        assert await end_offset(kafka_bootstrap, topics.dlq) == 1  # nothing failed again


async def test_poison_keeps_its_exact_bytes_and_headers_through_the_dlq_and_a_replay_elsewhere(
    kafka_bootstrap: str, temporal_server: TemporalServer
) -> None:
    async with running_mesh(kafka_bootstrap, temporal_server.address, with_executor=False) as mesh:
        topics = mesh.settings.topics
        scratch = f"scratch-{uuid.uuid4().hex[:8]}"
        await create_topics(kafka_bootstrap, type(topics)(raw=scratch, triggers=scratch + "-t", results=scratch + "-r",
                                                          dlq=scratch + "-d"))  # fmt: skip
        poison, headers = b"\xff\x00poison", [("x-junk", b"\xfe\xff"), ("x-text", b"caf\xc3\xa9")]
        group = f"ingest-{uuid.uuid4().hex[:8]}"
        async with running_ingest(mesh, ROUTING_FILE, group):
            await produce(kafka_bootstrap, topics.raw, poison, key=b"bad", headers=headers)
            await read(kafka_bootstrap, topics.dlq, 1)
        code, out, err = await dlq(mesh.settings, "list", "--json")
        assert code == 0, err
        [letter] = [DeadLetter.from_json(line) for line in out.splitlines()]
        assert (letter.data.stage, letter.data.original, letter.data.alert_source) == ("parse", poison, None)
        assert letter.data.original_headers == {"x-junk": "\ufffd\ufffd", "x-text": "café"}

        code, out, err = await dlq(mesh.settings, "replay", "--all", "--to", scratch)
        assert code == 0, err
        assert out.startswith(f"replayed {letter.id} (parse) to {scratch}[0] at 0")
        [copy] = await read(kafka_bootstrap, scratch, 1)
        assert (copy.value, copy.key) == (poison, b"bad")
        assert list(copy.headers) == [*headers, (REPLAY_HEADER, letter.id.encode())]


#: The workflow the trigger below names, loaded only after the fix.
LATER = definition(
    [{"ref": "echo", "action": "core.transform.reshape", "args": {"value": "${{ TRIGGER.alert.name }}"}}],
    returns="${{ ACTIONS.echo.result }}",
    name="later",
)


async def test_a_start_dead_letter_starts_its_workflow_once_the_orchestrator_knows_it(
    kafka_bootstrap: str, temporal_server: TemporalServer
) -> None:
    settings = unique_settings(kafka_bootstrap, temporal_server.address)
    topics = settings.topics
    await ensure_topics(settings.kafka, topics.all(), partitions=1)
    client = await connect_temporal(settings)
    trigger = make_trigger(workflow="later")
    key = trigger.data.idempotency_key
    async with Orchestrator(settings, client, load_workflows(settings.workflows_dir, action_catalog), {}):
        await produce(kafka_bootstrap, topics.triggers, trigger.to_json(), key=key.encode(),
                      headers=[(k, v.encode()) for k, v in trigger.kafka_headers().items()])  # fmt: skip
        [dead] = await read(kafka_bootstrap, topics.dlq, 1)
    letter = DeadLetter.from_json(dead.value)
    assert (letter.data.stage, letter.data.alert_source) == ("start", "alertmanager")
    assert letter.data.reason.startswith("unknown workflow 'later'")

    code, table, err = await dlq(settings, "list", terminal=True)
    assert code == 0, err
    head, row, total = table.splitlines()
    assert head.split()[:4] == ["ID", "TIME", "(UTC)", "STAGE"] and total == "1 dead letter"
    assert row.startswith(letter.id[:8]) and "  start  " in row and f"{topics.triggers}@0/0" in row
    assert "unknown workflow 'later'" in row

    definitions = {**load_workflows(settings.workflows_dir, action_catalog), "later": LATER}
    async with (
        Orchestrator(settings, client, definitions, {}),
        running_worker(fake_executor_worker(client, settings.temporal.action_task_queue)),
    ):
        code, out, err = await dlq(settings, "replay", "--all", "--stage", "start")
        assert code == 0, err
        assert out.startswith(f"replayed {letter.id} (start) to {topics.triggers}[0] at 1")
        [result] = await read(kafka_bootstrap, topics.results, 1, timeout=90)
    outcome = WorkflowResult.from_json(result.value)
    assert (outcome.data.workflow_id, outcome.data.status, outcome.data.returns) == (key, "completed", "ProbeFailure")


@dataclass(frozen=True)
class Topics:
    """Where a test's dead letters are: the broker and fresh topic names."""

    kafka: KafkaSettings
    topics: TopicSettings


async def fresh_topics(kafka_bootstrap: str, *extra: str) -> Topics:
    tag = uuid.uuid4().hex[:8]
    topics = TopicSettings.tagged(tag)
    await create_topics(kafka_bootstrap, topics)
    if extra:
        await ensure_topics(KafkaSettings(bootstrap_servers=kafka_bootstrap), list(extra), partitions=1)
    return Topics(KafkaSettings(bootstrap_servers=kafka_bootstrap), topics)


def letter_from(topic: str, offset: int, reason: str, value: bytes = b"{}") -> DeadLetter:
    record = ConsumedRecord(value=value, headers={}, topic=topic, received_at=datetime.now(UTC), partition=0,
                            offset=offset, key=b"k")  # fmt: skip
    return dead_letter(record, source="alertmesh/ingest", stage="parse", reason=reason, max_bytes=1 << 20)


async def test_a_replay_writes_only_to_the_topics_the_mesh_reads_unless_to_says_otherwise(kafka_bootstrap: str) -> None:
    elsewhere = f"elsewhere-{uuid.uuid4().hex[:8]}"
    placed = await fresh_topics(kafka_bootstrap, elsewhere)
    topics = placed.topics
    # Anyone who can write the dead-letter topic chooses the topic a letter names.
    letters = [letter_from(topics.raw, 1, "a"), letter_from(topics.triggers, 2, "b"), letter_from(elsewhere, 3, "c"),
               letter_from(topics.results, 4, "d")]  # fmt: skip
    for one in letters:
        await produce(kafka_bootstrap, topics.dlq, one.to_json())

    code, out, err = await dlq(placed, "replay", "--all")
    assert code == 1, err  # not everything was replayed
    lines = out.splitlines()
    assert lines[0].startswith(f"replayed {letters[0].id} (parse) to {topics.raw}[0] at 0")
    assert lines[1].startswith(f"replayed {letters[1].id} (parse) to {topics.triggers}[0] at 0")
    for skipped, line in zip(letters[2:], lines[2:], strict=True):
        assert line == (
            f"skipped {skipped.id}: its original topic {skipped.data.original_topic!r} is not one the mesh reads "
            f"({topics.raw}, {topics.routed}, {topics.triggers}); give --to to send it there"
        )
    assert (await end_offset(kafka_bootstrap, elsewhere), await end_offset(kafka_bootstrap, topics.results)) == (0, 0)

    code, out, err = await dlq(placed, "replay", "--id", letters[2].id, "--to", elsewhere)
    assert code == 0, err
    assert out.startswith(f"replayed {letters[2].id} (parse) to {elsewhere}[0] at 0")
    assert await end_offset(kafka_bootstrap, elsewhere) == 1


async def test_list_streams_escapes_what_the_records_hold_and_stops_at_the_limit(kafka_bootstrap: str) -> None:
    placed = await fresh_topics(kafka_bootstrap)
    reasons = [f"no route for key '\x1b]0;owned\x07{n}\u202e' (\r\n)" for n in range(30)]
    letters = [letter_from(placed.topics.raw, n, reason) for n, reason in enumerate(reasons)]
    for one in letters:
        await produce(kafka_bootstrap, placed.topics.dlq, one.to_json())

    code, out, err = await dlq(placed, "list", "--limit", "5", "--json")
    assert code == 0, err
    assert [DeadLetter.from_json(line) for line in out.splitlines()] == letters[:5]  # the same events
    assert not controls_in(out.replace("\n", ""))

    code, screen, err = await dlq(placed, "list", terminal=True)
    assert code == 0, err
    rows = screen.split("\n")
    assert len(rows) == 1 + 30 + 2 and rows[-2] == "30 dead letters" and rows[-1] == ""
    assert [row for row in rows if controls_in(row)] == []
    assert "no route for key '\\x1b]0;owned\\x070\\u202e' (\\r\\n)" in rows[1]  # escaped when the letter was built


class Discard(io.StringIO):
    """Output that keeps nothing (what a terminal keeps is not the command's memory)."""

    def write(self, text: str) -> int:
        return len(text)


async def test_list_holds_one_batch_not_the_whole_topic(kafka_bootstrap: str) -> None:
    placed = await fresh_topics(kafka_bootstrap)
    big = bytes(range(256)) * 400  # 100 KiB a record, about 135 KiB a dead letter: 42 MiB of them in all
    letters = [letter_from(placed.topics.raw, n, "big", big).to_json() for n in range(320)]
    await produce_all(kafka_bootstrap, placed.topics.dlq, letters)
    del letters
    tracemalloc.start()
    try:
        code = await list_letters(placed.kafka, placed.topics.dlq, Selection(), as_json=True, out=Discard())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 0
    # A few fetches of about 1 MiB and the letter being printed (it was the whole topic, twice: records and letters).
    assert peak < 12 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for 42 MiB of dead letters"
