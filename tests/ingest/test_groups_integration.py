"""Groups on the real (embedded Tansu) broker: one bad alert of an Alertmanager or Grafana group is its own dead
letter naming its index, its valid neighbours become triggers, the record's bytes are kept once, the next record
of the partition is processed, and replaying any letter of a group sends its original once with the same ids."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from alertmesh.commands.dlq.letters import Selection, replay_letters
from schemas import DeadLetter, WorkflowTrigger
from services.ingest.app import build_app
from services.ingest.config import IngestSettings
from services.ingest.routing import RoutingTable
from tests.ingest.kafka_io import committed, create_topics, fresh_ingest_settings, read

pytestmark = pytest.mark.integration
#: Critical alerts start the triage workflow; the others match no route (a ``route`` dead letter each).
ROUTING = RoutingTable.model_validate(
    {"routes": [{"name": "crit", "match": {"severity": "critical"}, "workflow": "triage"}]}
)


@pytest.fixture
async def ingest(kafka_bootstrap: str) -> AsyncIterator[IngestSettings]:
    """The ingest app on fresh topics (one partition each), routing only critical alerts."""
    # No dedup window: the replay's routed alert must be written again, to show it is the same trigger.
    settings = fresh_ingest_settings(kafka_bootstrap).model_copy(update={"dedup_window_s": 0})
    await create_topics(kafka_bootstrap, settings.topics)
    app, _ = build_app(settings, ROUTING)
    await app.start()
    try:
        yield settings
    finally:
        await app.stop()


def falco(rule: str, **labels: str) -> dict[str, object]:
    """A Falco detection as Falcosidekick's Alertmanager output sends it."""
    return {
        "status": "firing",
        "labels": {"rule": rule, "priority": "Critical", **labels},
        "annotations": {"summary": rule},
        "startsAt": "2026-03-02T10:15:03Z",
    }


async def test_a_bad_alert_of_a_group_is_its_own_letter_and_its_neighbour_and_the_next_record_go_through(
    ingest: IngestSettings, kafka_bootstrap: str
) -> None:
    topics = ingest.topics
    group = orjson.dumps(
        {
            "version": "4",
            "status": "firing",
            "receiver": "falco",
            "groupKey": '{}:{source="falco"}',
            "alerts": [
                falco("Write below etc"),  # no alertname: Falcosidekick's relabelling dropped it
                falco("Terminal shell", alertname="Terminal shell in container", severity="critical"),
            ],
        }
    )
    grafana = orjson.dumps(
        {
            "version": "1",
            "status": "firing",
            "title": "[FIRING:3] Disk",
            "truncatedAlerts": 4,
            "alerts": [
                {"status": "firing", "labels": {"alertname": "Disk", "host": "a"}},  # no severity: no route
                {"status": "firing", "labels": {"alertname": "Disk", "host": "b", "severity": "critical"}},
                {"status": "firing", "labels": {"alertname": "Disk", "host": "c"}},  # no route
            ],
        }
    )
    after = orjson.dumps(
        {"version": "4", "alerts": [{"status": "firing", "labels": {"alertname": "Next", "severity": "critical"}}]}
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in ((b"g1", group), (b"g2", grafana), (b"n", after)):
            await producer.send_and_wait(topics.raw, value, key=key)
    finally:
        await producer.stop()

    triggers = [WorkflowTrigger.from_json(t.value) for t in await read(kafka_bootstrap, topics.triggers, 3, 60)]
    assert [t.data.alert.name for t in triggers] == ["Terminal shell in container", "Disk", "Next"]
    assert triggers[0].data.alert.group is not None and triggers[0].data.alert.group.receiver == "falco"
    assert triggers[1].data.alert.group is not None and triggers[1].data.alert.group.truncated_alerts == 4
    letters = [DeadLetter.from_json(d.value) for d in await read(kafka_bootstrap, topics.dlq, 3, 60)]

    falco_letter, first_disk, second_disk = letters
    assert (falco_letter.data.stage, falco_letter.data.alert_index) == ("parse", 0)
    assert "alerts[0].labels.alertname is required" in falco_letter.data.reason
    assert falco_letter.data.original == group and falco_letter.data.original_in is None
    assert orjson.loads(falco_letter.data.alert_element or b"")["labels"]["rule"] == "Write below etc"

    assert [first_disk.data.alert_index, second_disk.data.alert_index] == [0, 2]
    assert [first_disk.data.alert_name, second_disk.data.alert_name] == ["Disk", "Disk"]
    assert first_disk.data.stage == second_disk.data.stage == "route"
    # The Grafana record's bytes once: in its first letter; the second names it.
    assert first_disk.data.original == grafana
    assert second_disk.data.original == b"" and second_disk.data.original_in == first_disk.id
    assert second_disk.data.original_offset == first_disk.data.original_offset == 1

    async with asyncio.timeout(30):  # every record was committed: nothing stalls behind a group
        while await committed(kafka_bootstrap, ingest.group_id, topics.raw) != 3:
            await asyncio.sleep(0.2)

    # Replaying the second letter (and the first with it) sends the Grafana record once: the same trigger id for
    # its routed alert (the orchestrator starts nothing new for it) and the same letters again.
    replayed = await replay_letters(
        ingest.kafka, topics.dlq, Selection(ids=(second_disk.id, first_disk.id)), replayable=(topics.raw,)
    )
    assert replayed == 0
    again = [WorkflowTrigger.from_json(t.value) for t in await read(kafka_bootstrap, topics.triggers, 4, 60)][3]
    assert (again.id, again.data.idempotency_key) == (triggers[1].id, triggers[1].data.idempotency_key)
    more = [DeadLetter.from_json(d.value) for d in await read(kafka_bootstrap, topics.dlq, 5, 60)][3:]
    assert [letter.data.alert_index for letter in more] == [0, 2]
    assert more[1].data.original_in == more[0].id and more[0].data.original == grafana
