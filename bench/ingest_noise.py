"""``python -m bench.ingest_noise [--alerts N]``: ingest throughput with noise control off and on.

The ingest phase of ``alertmesh bench`` on its own, once per setting: an embedded Tansu broker (3 partitions per
topic, as ``alertmesh up`` makes them), ``N`` bench alerts (``bench.payloads``) preloaded on a fresh raw topic with
ingest stopped, then ``python -m services.ingest`` started as ``alertmesh up`` runs it (tracing on, to a local span
store). The rate is alerts consumed per second,
counted from ingest's committed offsets (the records it made durable and committed) between the first commit seen
and the last, so start-up and the group join are left out; over the same span, the ingest process's CPU time per
alert (user and system), which other work on a shared machine hardly moves. Raw records are keyed by fingerprint,
as the webhook bridge keys by source: one partition owns each alert. Prints one line per setting and a JSON line last.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import orjson
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from alertmesh import kafka_tools
from alertmesh.stack.embedded import free_port, tansu_command, wait_for_port
from bench.kafka_io import topic_size
from bench.payloads import HEADERS, bench_alerts
from services.shared.kafka import KafkaSettings
from services.shared.topics import TopicSettings

PARTITIONS = 3
ROUTE = """\
routes:
  - name: bench
    match: {{labels.bench: ingest}}
    workflow: bench-ingest-only
{grouping}"""
GROUPING = "    group_by: [alertname, job]\n    group_wait: 1\n    group_interval: 60\n"


@dataclass(frozen=True)
class Setting:
    """One noise-control setting to measure: its name, the environment ingest runs with, and how the alerts repeat."""

    name: str
    env: dict[str, str]
    grouping: bool = False
    #: Each distinct alert is sent this many times in a row (a flood of repeats).
    copies: int = 1


SETTINGS = [
    Setting("noise control off", {"INGEST_DEDUP_WINDOW_S": "0"}),
    Setting("dedup window on (300 s), distinct alerts", {}),
    Setting("dedup window on, each alert 10 times", {}, copies=10),
    Setting("dedup on + grouping (group_by alertname, job)", {}, grouping=True),
]


async def committed_total(kafka: KafkaSettings, group_id: str, topic: str) -> int:
    """The group's committed offsets summed over the topic's partitions: how many records it consumed and committed."""
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        offsets = [await consumer.committed(TopicPartition(topic, p)) for p in range(PARTITIONS)]
        return sum(offset or 0 for offset in offsets)
    finally:
        await consumer.stop()


async def preload(kafka: KafkaSettings, topic: str, payloads: list[tuple[bytes, bytes]]) -> None:
    """Publish ``(key, value)`` records to ``topic`` (acks=all) and wait until every one is acknowledged."""
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all", max_batch_size=kafka.producer_batch_size())
    await producer.start()
    try:
        sent = [await producer.send(topic, value, key=key, headers=HEADERS) for key, value in payloads]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def measure(kafka: KafkaSettings, setting: Setting, count: int, workdir: Path) -> dict[str, object]:
    """One setting on fresh topics: preload ``count`` records, run ingest over them; the JSON figure (alerts, triggers
    made, alerts per second)."""
    tag = uuid.uuid4().hex[:8]
    topics = TopicSettings.tagged(tag)
    await kafka_tools.ensure_topics(kafka, topics.all(), PARTITIONS)
    alerts = bench_alerts(tag, "ingest", count // setting.copies)
    payloads = [
        (orjson.loads(alert.payload)["alerts"][0]["fingerprint"].encode(), alert.payload)
        for alert in alerts
        for _ in range(setting.copies)
    ]
    await preload(kafka, topics.raw, payloads)
    routing = workdir / f"routing-{tag}.yaml"
    routing.write_text(ROUTE.format(grouping=GROUPING if setting.grouping else ""))
    group_id = f"bench-ingest-{tag}"
    env = os.environ | setting.env | {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers, "INGEST_GROUP_ID": group_id,
        "INGEST_ROUTING_FILE": str(routing), "ALERTMESH_TRACES_DIR": str(workdir / "traces"),
        "INGEST_HEALTH_PORT": str(free_port()), "INGEST_LOG_LEVEL": "WARNING",
        **topics.env(),
    }  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "services.ingest"], env=env)
    ingest = psutil.Process(process.pid)
    first: tuple[float, int] | None = None
    cpu: list[float] = []  # ingest's CPU seconds at the first commit seen and once both stages are done
    done_at, routed = None, None
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            done = await committed_total(kafka, group_id, topics.raw)
            now = time.monotonic()
            if done and first is None:
                first = (now, done)
                cpu.append(_cpu_s(ingest))
            # Both stages: every raw record committed by stage 1 (then stage 1 writes no more routed records), and
            # every routed record by stage 2.
            if done >= len(payloads) and routed is None:
                routed = await topic_size(kafka, topics.routed)
            if routed is not None and await committed_total(kafka, f"{group_id}-decide", topics.routed) >= routed:
                done_at = now
                cpu.append(_cpu_s(ingest))
                break
            await asyncio.sleep(0.05)
        if setting.grouping:
            await asyncio.sleep(2.5)  # let the last groups flush (group_wait 1 s, ticks every 0.5 s)
    finally:
        process.terminate()
        process.wait(timeout=30)
    rate, cpu_us = 0.0, 0.0
    if first is not None and done_at is not None and done_at > first[0]:
        rate = (len(payloads) - first[1]) / (done_at - first[0])
        cpu_us = (cpu[-1] - cpu[0]) / (len(payloads) - first[1]) * 1e6
    triggers = await topic_size(kafka, topics.triggers)
    return {
        "setting": setting.name, "alerts": len(payloads), "triggers": triggers, "alerts_per_s": round(rate),
        "ingest_cpu_us_per_alert": round(cpu_us, 1),
    }  # fmt: skip


def _cpu_s(process: psutil.Process) -> float:
    """The process's CPU seconds so far, user and system: unlike its rate, hardly moved by other work on the
    machine."""
    times = process.cpu_times()
    return float(times.user + times.system)


async def main(count: int, only: str | None = None) -> None:
    """Start a Tansu broker, measure every setting (those whose name holds ``only``, when given) with ``count``
    alerts, print the figures; stops the broker."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-noise-"))
    with (workdir / "tansu.log").open("wb") as log:
        broker = subprocess.Popen(tansu_command("127.0.0.1", port), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}")
        figures = []
        for setting in [setting for setting in SETTINGS if only is None or only in setting.name]:
            figure = await measure(kafka, setting, count, workdir)
            print(
                f"bench        | ingest, {figure['setting']}: {figure['alerts']} alerts -> {figure['triggers']} "
                f"triggers at {figure['alerts_per_s']} alerts/s, {figure['ingest_cpu_us_per_alert']} us of ingest's "
                "CPU per alert",
                flush=True,
            )
            figures.append(figure)
        print(orjson.dumps(figures).decode(), flush=True)
    finally:
        broker.terminate()
        broker.wait(timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--alerts", type=int, default=20000, help="alerts per setting (default: the full bench's)")
    parser.add_argument("--only", help="measure only the settings whose name holds this text, e.g. 'distinct'")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.alerts, arguments.only))
