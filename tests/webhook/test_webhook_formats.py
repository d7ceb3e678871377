"""NDJSON batches and CloudEvents HTTP binary mode on the webhook, against FastStream's in-memory broker."""

import asyncio
from typing import Any

import orjson
import pytest
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import RecordMetadata, TopicPartition

from services.webhook.headers import raw_record_headers
from services.webhook.ndjson import is_ndjson, line_problem, publish_lines, split_lines
from tests.webhook.test_webhook import JSON, SETTINGS, serving

NDJSON = {"content-type": "application/x-ndjson"}


async def test_every_line_of_a_batch_is_written_and_accepted(alertmanager_bytes: bytes, grafana_bytes: bytes) -> None:
    first, second = orjson.dumps(orjson.loads(alertmanager_bytes)), orjson.dumps(orjson.loads(grafana_bytes))
    async with serving(SETTINGS) as (client, raw):
        response = await client.post("/v1/alerts/mixed", content=first + b"\n\r\n" + second + b"\n", headers=NDJSON)
    assert response.status_code == 202
    answer = response.json()
    assert (answer["status"], answer["accepted"], answer["rejected"]) == ("accepted", 2, 0)
    assert [line["line"] for line in answer["lines"]] == [1, 3]
    assert [body for body, _, _ in raw.messages] == [first, second]
    assert all(headers["content-type"] == "application/json" for _, _, headers in raw.messages)
    assert all(headers["alertmesh-source"] == "mixed" and not key for _, key, headers in raw.messages)


async def test_bad_lines_get_their_own_400_and_the_rest_is_written(cloudevent_bytes: bytes) -> None:
    event = orjson.dumps(orjson.loads(cloudevent_bytes))
    body = b"\n".join([event, b"{not json", b"[1, 2]", event])
    async with serving(SETTINGS) as (client, raw):
        response = await client.post("/v1/alerts/edr", content=body, headers=NDJSON)
    assert response.status_code == 207
    answer = response.json()
    assert (answer["status"], answer["accepted"], answer["rejected"]) == ("partial", 2, 2)
    statuses = [(line["line"], line["status"]) for line in answer["lines"]]
    assert statuses == [(1, 202), (2, 400), (3, 400), (4, 202)]
    assert answer["lines"][1]["reason"].startswith("not valid JSON")
    assert answer["lines"][2]["reason"] == "must be a JSON object, got a JSON list"
    assert [body for body, _, _ in raw.messages] == [event, event]


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason"),
    [
        (b"\n \n", NDJSON, 400, "has no lines"),
        (b"{}\n" * 1001, NDJSON, 413, "1001 lines is more than the 1000-line limit"),
        (b"{}\n", NDJSON | {"ce-specversion": "1.0"}, 400, "binary mode is one event"),
    ],
)
async def test_unusable_batches_are_refused_whole(
    body: bytes, headers: dict[str, str], status: int, reason: str
) -> None:
    async with serving(SETTINGS) as (client, raw):
        response = await client.post("/v1/alerts/edr", content=body, headers=headers)
    assert response.status_code == status and reason in response.json()["reason"]
    assert raw.messages == []


async def test_binary_cloudevent_attributes_become_kafka_ce_headers() -> None:
    attributes = {
        "ce-specversion": "1.0",
        "ce-id": "evt-1",
        "ce-source": "/edr/host-1",
        "ce-type": "com.example.detection",
        "ce-subject": "caf%C3%A9",  # the HTTP binding percent-encodes non-ASCII values
    }
    async with serving(SETTINGS) as (client, raw):
        response = await client.post("/v1/alerts/edr", content=b'{"title": "x"}', headers=JSON | attributes)
    assert response.status_code == 202
    [(_, _, headers)] = raw.messages
    assert headers["ce_specversion"] == "1.0" and headers["ce_id"] == "evt-1" and headers["ce_subject"] == "café"
    assert "ce-id" not in headers


def test_structured_requests_keep_only_source_and_content_type() -> None:
    headers = raw_record_headers("s", "application/json", {"ce-id": "no specversion", "x-other": "1"})
    assert headers == {"alertmesh-source": "s", "content-type": "application/json"}


def test_line_helpers() -> None:
    assert is_ndjson("application/x-ndjson; charset=utf-8") and is_ndjson("application/jsonl")
    assert not is_ndjson("application/json")
    assert split_lines(b'{"a":1}\r\n\n{"b":2}') == [(1, b'{"a":1}'), (3, b'{"b":2}')]
    assert line_problem(b"{}") is None and line_problem(b'"x"') == "must be a JSON object, got a JSON str"


class _Flaky:
    """A producer that refuses line 2 before queueing it, fails line 3's ack and never acknowledges line 4."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.loop = asyncio.get_running_loop()

    async def publish(
        self,
        message: bytes,
        *,
        key: bytes | None = None,
        headers: dict[str, str] | None = None,
        no_confirm: bool = False,
    ) -> asyncio.Future[Any]:
        self.sent.append(message)
        if message == b'{"n": 2}':
            raise KafkaConnectionError("buffer full")
        future: asyncio.Future[Any] = self.loop.create_future()
        if message == b'{"n": 3}':
            future.set_exception(KafkaConnectionError("broker went away"))
        elif message != b'{"n": 4}':  # line 4 is never acknowledged
            future.set_result(RecordMetadata("raw", 0, TopicPartition("raw", 0), len(self.sent) - 1, -1, 0, 0))
        return future


async def test_a_line_is_202_only_once_acknowledged() -> None:
    lines = [(number, f'{{"n": {number}}}'.encode()) for number in range(1, 6)]
    results = await publish_lines(_Flaky(), lines, b"k", {"alertmesh-source": "s"}, timeout_s=0.2)
    assert [result.status for result in results] == [202, 503, 503, 503, 202]
    assert "buffer full" in (results[1].reason or "") and "broker went away" in (results[2].reason or "")
    assert results[3].reason == "Kafka did not acknowledge the write within 0.2s"
    assert (results[0].offset, results[4].offset) == (0, 4)
