"""The Alertmanager API v2 on the webhook: shapes, status codes, filters and authentication, against injected
in-memory tables and FastStream's in-memory broker (the real broker, amtool and Prometheus are in
``test_alertmanager_api_integration``)."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from schemas.alert_state import AlertState
from schemas.silence import Silence
from services.shared.alert_table import AlertTable
from services.shared.matchers import parse_matchers
from services.shared.memory_table import MemoryTable
from services.shared.silences import Silences
from services.shared.topics import TopicSettings
from services.webhook.alertmanager import ApiStores
from services.webhook.app import create_app
from services.webhook.auth import UNAUTHORIZED
from services.webhook.config import WebhookSettings
from services.webhook.credentials import hash_key
from tests.webhook.credentials import KEY, write_credentials

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def _now() -> None:
    """``NOW`` is each test's start: an alert without an end time fires for 5 minutes after it was last seen, and the
    whole suite runs far longer than that after this module is imported."""
    global NOW
    NOW = datetime.now(UTC).replace(microsecond=0)


HOUR = timedelta(hours=1)
OTHER_KEY = "other-key-0123456789abcdef"
BEARER = {"authorization": f"Bearer {KEY}"}
#: RFC 3339 as Go's strfmt.DateTime writes it: UTC, milliseconds, Z.
GO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def row(fingerprint: str, labels: dict[str, str], **extra: Any) -> AlertState:
    fields: dict[str, Any] = {
        "source": "prometheus", "fingerprint": fingerprint, "name": labels.get("alertname", "x"),
        "severity": "critical", "status": "firing", "labels": labels, "annotations": {"summary": "s"},
        "starts_at": NOW - HOUR, "updated_at": NOW - timedelta(minutes=1), "routes": ["oncall"],
    }  # fmt: skip
    return AlertState.model_validate(fields | extra)


def silence(id_: str, text: str, start: datetime | None = None, end: datetime | None = None) -> Silence:
    start, end = start or NOW - HOUR, end or NOW + HOUR
    return Silence(
        id=id_, matchers=parse_matchers(text), starts_at=start, ends_at=end, created_by="ann", comment="why",
        updated_at=start,
    )  # fmt: skip


class Raw:
    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes | None, dict[str, str]]] = []


class Api:
    def __init__(self, client: httpx.AsyncClient, raw: Raw, stores: ApiStores) -> None:
        self.client, self.raw, self.stores = client, raw, stores

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, headers=kwargs.pop("headers", BEARER), **kwargs)

    async def post(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", BEARER) | {"content-type": "application/json"}
        return await self.client.post(path, content=orjson.dumps(body), headers=headers, **kwargs)


def settings(tmp_path: Path, **extra: Any) -> WebhookSettings:
    sources = {
        "prometheus": {"api_keys": [{"sha256": hash_key(KEY)}]},
        "prom-eu": {"api_keys": [{"sha256": hash_key(OTHER_KEY)}]},
    }
    credentials = write_credentials(tmp_path / "credentials.yaml", sources)
    return WebhookSettings(topics=TopicSettings(raw="am.raw"), credentials_file=credentials, **extra)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    stores = ApiStores(
        Silences.in_memory(
            [silence("s-disk", 'alertname="Disk"'), silence("s-old", 'alertname="Cpu"', NOW - 3 * HOUR, NOW - 2 * HOUR)]
        ),
        AlertTable.in_memory(
            [
                row("f1", {"alertname": "Disk", "env": "prod"}),
                row("f2", {"alertname": "Cpu", "env": "prod"}, inhibited_by=["f9"]),
                row("f3", {"alertname": "Mem", "env": "dev"}, routes=["oncall", "chat"], generator_url="http://p/g"),
                row("f4", {"alertname": "Gone"}, status="resolved", ends_at=NOW - timedelta(minutes=1)),
            ]
        ),
    )  # fmt: skip
    app = create_app(settings(tmp_path), stores=stores)
    raw = Raw()
    broker: KafkaBroker = app.state.bridge.broker

    @broker.subscriber("am.raw")
    async def on_raw(message: KafkaMessage) -> None:
        raw.records.append((message.body, message.raw_message.key, dict(message.headers)))  # type: ignore[union-attr]

    async with (
        TestKafkaBroker(broker),
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bridge") as client,
    ):
        yield Api(client, raw, stores)


def fingerprints(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [alert["fingerprint"] for alert in response.json()]


# --- authentication -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer wrong"}, basic("prometheus", "wrong"), basic("nobody", KEY.upper()),
     basic("prom-eu", KEY), {"x-api-key": "nope"}, {"authorization": "Basic !!!"}],
)  # fmt: skip
@pytest.mark.parametrize("path", ["/api/v2/alerts", "/api/v2/silences", "/api/v2/status", "/api/v2/alerts/groups"])
async def test_every_failure_is_the_same_401(api: Api, headers: dict[str, str], path: str) -> None:
    response = await api.get(path, headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "headers",
    [BEARER, {"x-api-key": KEY}, basic("anyone", KEY), basic("prom-eu", OTHER_KEY)],
)
async def test_accepted_credentials(api: Api, headers: dict[str, str]) -> None:
    assert (await api.get("/api/v2/status", headers=headers)).status_code == 200


async def test_probes_need_no_credentials(api: Api) -> None:
    assert (await api.client.get("/-/healthy")).status_code == 200
    assert (await api.client.head("/-/healthy")).status_code == 200
    ready = await api.client.get("/-/ready")
    assert ready.status_code == 200 and ready.text == "OK"


# --- POST /api/v2/alerts ----------------------------------------------------------------------------------------

POSTABLE = [
    {
        "labels": {"alertname": "Disk", "instance": "db-1"}, "annotations": {"summary": "full"},
        "startsAt": "2026-12-07T10:00:00.123456789Z", "endsAt": "2026-12-07T10:04:00Z", "generatorURL": "http://p/g",
    }
]  # fmt: skip


async def test_posted_alerts_are_written_unkeyed_under_the_api_source(api: Api) -> None:
    body = orjson.dumps(POSTABLE)
    response = await api.client.post(
        "/api/v2/alerts", content=body, headers=BEARER | {"content-type": "application/json"}
    )
    assert response.status_code == 200 and response.content == b""
    [(value, key, headers)] = api.raw.records
    assert value == body and not key
    assert headers["alertmesh-source"] == "prometheus" and headers["content-type"] == "application/json"


async def test_basic_user_that_is_a_source_posts_as_that_source(api: Api) -> None:
    assert (await api.post("/api/v2/alerts", POSTABLE, headers=basic("prom-eu", OTHER_KEY))).status_code == 200
    assert api.raw.records[0][2]["alertmesh-source"] == "prom-eu"


async def test_empty_array_is_ok_and_writes_nothing(api: Api) -> None:
    assert (await api.post("/api/v2/alerts", [])).status_code == 200
    assert api.raw.records == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"labels": {"a": "b"}}, "must be a JSON array"),
        ([{"annotations": {}}], "labels in body is required"),
        ([{"labels": {}}], "at least one label pair required"),
        ([{"labels": {"a": ""}}], "at least one label pair required"),
        ([{"labels": {"a-b": "x"}}], "invalid labels: invalid name"),
        ([{"labels": {"a": 1}}], "must be a string"),
        ([{"labels": {"a": "b"}, "annotations": []}], "annotations must be an object"),
        ([{"labels": {"a": "b"}, "startsAt": "yesterday"}], "not an RFC 3339"),
        ([{"labels": {"a": "b"}, "startsAt": "2026-01-02T00:00:00Z", "endsAt": "2026-01-01T00:00:00Z"}],
         "start time must be before end time"),
        (["x"], "must be a JSON object"),
    ],
)  # fmt: skip
async def test_refused_alerts(api: Api, body: Any, reason: str) -> None:
    response = await api.post("/api/v2/alerts", body)
    assert response.status_code == 400
    assert reason in response.json()
    assert api.raw.records == []


async def test_valid_alerts_of_a_partly_invalid_array_are_written(api: Api) -> None:
    response = await api.post("/api/v2/alerts", [{"labels": {}}, *POSTABLE])
    assert response.status_code == 400 and "alert 0: at least one label pair" in response.json()
    [(value, _, _)] = api.raw.records
    assert orjson.loads(value) == POSTABLE


async def test_not_json_and_too_large(api: Api, tmp_path: Path) -> None:
    response = await api.client.post("/api/v2/alerts", content=b"{", headers=BEARER)
    assert response.status_code == 400 and "not JSON" in response.json()
    big = [{"labels": {"alertname": "x" * 1000}}] * 2000
    assert (await api.post("/api/v2/alerts", big)).status_code == 413


async def test_too_many_alerts_is_413(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, max_alerts_per_request=2), stores=ApiStores.in_memory())
    async with (
        TestKafkaBroker(app.state.bridge.broker),
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as client,
    ):
        response = await client.post("/api/v2/alerts", content=orjson.dumps(POSTABLE * 3), headers=BEARER)
    assert response.status_code == 413 and "3 alerts" in response.json()


# --- GET /api/v2/alerts -----------------------------------------------------------------------------------------


async def test_alert_shape(api: Api) -> None:
    response = await api.get("/api/v2/alerts")
    alerts = {alert["fingerprint"]: alert for alert in response.json()}
    assert set(alerts) == {"f1", "f2", "f3"}  # f4 is resolved: Alertmanager lists no resolved alert
    disk = alerts["f1"]
    assert disk["status"] == {"state": "suppressed", "silencedBy": ["s-disk"], "inhibitedBy": []}
    assert disk["receivers"] == [{"name": "oncall"}] and disk["labels"] == {"alertname": "Disk", "env": "prod"}
    assert disk["annotations"] == {"summary": "s"} and "generatorURL" not in disk
    for field in ("startsAt", "updatedAt", "endsAt"):
        assert GO_TIME.fullmatch(disk[field]), disk[field]
    assert alerts["f2"]["status"] == {"state": "suppressed", "silencedBy": [], "inhibitedBy": ["f9"]}
    assert alerts["f3"]["status"] == {"state": "active", "silencedBy": [], "inhibitedBy": []}
    assert alerts["f3"]["generatorURL"] == "http://p/g"


async def test_alert_filters(api: Api) -> None:
    assert fingerprints(await api.get("/api/v2/alerts", params={"filter": 'env="prod"'})) == ["f1", "f2"]
    assert fingerprints(
        await api.get("/api/v2/alerts", params=[("filter", "env=prod"), ("filter", "alertname=~D.*")])
    ) == ["f1"]
    assert fingerprints(await api.get("/api/v2/alerts", params={"filter": '{env!="prod"}'})) == ["f3"]
    assert fingerprints(await api.get("/api/v2/alerts", params={"silenced": "false"})) == ["f2", "f3"]
    assert fingerprints(await api.get("/api/v2/alerts", params={"inhibited": "false"})) == ["f1", "f3"]
    assert fingerprints(await api.get("/api/v2/alerts", params={"active": "false"})) == ["f1", "f2"]
    assert fingerprints(await api.get("/api/v2/alerts", params={"silenced": "f", "inhibited": "0"})) == ["f3"]
    assert fingerprints(await api.get("/api/v2/alerts", params={"receiver": "chat"})) == ["f3"]
    assert fingerprints(await api.get("/api/v2/alerts", params={"receiver": "on"})) == []  # anchored
    assert fingerprints(await api.get("/api/v2/alerts", params={"unprocessed": "false"})) == ["f1", "f2", "f3"]


@pytest.mark.parametrize("params", [{"filter": "env"}, {"filter": 'a=~"("'}, {"active": "maybe"}, {"receiver": "("}])
async def test_bad_query_is_400(api: Api, params: dict[str, str]) -> None:
    response = await api.get("/api/v2/alerts", params=params)
    assert response.status_code == 400 and isinstance(response.json(), str)


async def test_silence_created_now_shows_at_once(api: Api) -> None:
    created = await api.post("/api/v2/silences", {
        "matchers": [{"name": "alertname", "value": "Mem", "isRegex": False}],
        "startsAt": NOW.isoformat(), "endsAt": (NOW + HOUR).isoformat(), "createdBy": "bob", "comment": "c",
    })  # fmt: skip
    silence_id = created.json()["silenceID"]
    [mem] = [a for a in (await api.get("/api/v2/alerts")).json() if a["fingerprint"] == "f3"]
    assert mem["status"]["silencedBy"] == [silence_id] and mem["status"]["state"] == "suppressed"


async def test_groups(api: Api) -> None:
    response = await api.get("/api/v2/alerts/groups")
    assert response.status_code == 200
    groups = [(g["receiver"]["name"], g["labels"], [a["fingerprint"] for a in g["alerts"]]) for g in response.json()]
    assert groups == [
        ("chat", {"alertname": "Mem"}, ["f3"]),
        ("oncall", {"alertname": "Cpu"}, ["f2"]),
        ("oncall", {"alertname": "Disk"}, ["f1"]),
        ("oncall", {"alertname": "Mem"}, ["f3"]),
    ]
    filtered = await api.get("/api/v2/alerts/groups", params={"receiver": "chat"})
    assert [g["receiver"]["name"] for g in filtered.json()] == ["chat"]


async def test_unrouted_alert_is_grouped_under_unrouted(tmp_path: Path) -> None:
    stores = ApiStores(Silences.in_memory(), AlertTable.in_memory([row("u", {"alertname": "U"}, routes=[])]))
    app = create_app(settings(tmp_path), stores=stores)
    async with (
        TestKafkaBroker(app.state.bridge.broker),
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as client,
    ):
        [group] = (await client.get("/api/v2/alerts/groups", headers=BEARER)).json()
    assert group["receiver"] == {"name": "unrouted"} and group["alerts"][0]["receivers"] == []


# --- silences ---------------------------------------------------------------------------------------------------


def postable_silence(**extra: Any) -> dict[str, Any]:
    return {
        "matchers": [{"name": "alertname", "value": "Net.*", "isRegex": True, "isEqual": True}],
        "startsAt": NOW.isoformat(), "endsAt": (NOW + HOUR).isoformat(), "createdBy": "bob", "comment": "deploy",
    } | extra  # fmt: skip


async def test_silence_round_trip(api: Api) -> None:
    created = await api.post("/api/v2/silences", postable_silence())
    assert created.status_code == 200
    silence_id = created.json()["silenceID"]
    got = await api.get(f"/api/v2/silence/{silence_id}")
    assert got.status_code == 200
    body = got.json()
    assert body["id"] == silence_id and body["status"] == {"state": "active"}
    assert body["matchers"] == [{"name": "alertname", "value": "Net.*", "isRegex": True, "isEqual": True}]
    assert body["createdBy"] == "bob" and body["comment"] == "deploy"
    assert all(GO_TIME.fullmatch(body[field]) for field in ("startsAt", "endsAt", "updatedAt"))
    assert (await api.client.delete(f"/api/v2/silence/{silence_id}", headers=BEARER)).status_code == 200
    assert (await api.get(f"/api/v2/silence/{silence_id}")).json()["status"] == {"state": "expired"}
    again = await api.client.delete(f"/api/v2/silence/{silence_id}", headers=BEARER)
    assert again.status_code == 500 and "already expired" in again.json()


async def test_unknown_silence_is_404(api: Api) -> None:
    assert (await api.get("/api/v2/silence/00000000-0000-0000-0000-000000000000")).status_code == 404
    assert (await api.client.delete("/api/v2/silence/nope", headers=BEARER)).status_code == 404
    update = await api.post("/api/v2/silences", postable_silence(id="nope"))
    assert update.status_code == 404


async def test_update_in_place_keeps_the_id(api: Api) -> None:
    later = (NOW + 3 * HOUR).isoformat()
    updated = await api.post("/api/v2/silences", postable_silence(
        id="s-disk", matchers=[{"name": "alertname", "value": "Disk", "isRegex": False}],
        startsAt=(NOW - HOUR).isoformat(), endsAt=later,
    ))  # fmt: skip
    assert updated.json() == {"silenceID": "s-disk"}
    replaced = await api.post("/api/v2/silences", postable_silence(id="s-disk"))
    assert replaced.status_code == 200 and replaced.json()["silenceID"] != "s-disk"
    assert (await api.get("/api/v2/silence/s-disk")).json()["status"]["state"] == "expired"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"matchers": []}, "matchers"),
        ({"matchers": [{"name": "a", "value": "", "isRegex": False}]}, "must not match the empty string"),
        ({"matchers": [{"name": "a", "value": "(", "isRegex": True}]}, "invalid"),
        ({"matchers": [{"name": "a b", "value": "x", "isRegex": False}]}, "invalid label name"),
        ({"endsAt": (NOW - HOUR).isoformat(), "startsAt": (NOW - 2 * HOUR).isoformat()}, "can't be in the past"),
        ({"endsAt": NOW.isoformat()}, "start time must be before end time"),
        ({"createdBy": None}, "createdBy"),
        ({"startsAt": "soon"}, "startsAt"),
    ],
)  # fmt: skip
async def test_refused_silences(api: Api, extra: dict[str, Any], reason: str) -> None:
    response = await api.post("/api/v2/silences", postable_silence(**extra))
    assert response.status_code == 400
    assert reason in response.json()


async def test_silence_list_filter_and_order(api: Api) -> None:
    pending = await api.post(
        "/api/v2/silences", postable_silence(startsAt=(NOW + HOUR).isoformat(), endsAt=(NOW + 2 * HOUR).isoformat())
    )
    listed = (await api.get("/api/v2/silences")).json()
    assert [(s["id"], s["status"]["state"]) for s in listed] == [
        ("s-disk", "active"), (pending.json()["silenceID"], "pending"), ("s-old", "expired"),
    ]  # fmt: skip
    assert [s["id"] for s in (await api.get("/api/v2/silences", params={"filter": "alertname=Cpu"})).json()] == [
        "s-old"
    ]
    assert [s["id"] for s in (await api.get("/api/v2/silences", params={"filter": 'alertname=~"C.*|D.*"'})).json()] == [
        "s-disk",
        "s-old",
    ]


async def test_status(api: Api) -> None:
    response = await api.get("/api/v2/status")
    status = response.json()
    assert status["cluster"] == {"name": "alertmesh", "status": "ready", "peers": []}
    assert set(status["versionInfo"]) == {"version", "revision", "branch", "buildUser", "buildDate", "goVersion"}
    assert GO_TIME.fullmatch(status["uptime"])
    config = yaml.safe_load(status["config"]["original"])
    assert config["route"] == {"receiver": "alertmesh"}
    assert "am.raw" in status["config"]["original"]


async def test_unready_tables_answer_503(tmp_path: Path) -> None:
    stores = ApiStores.in_memory()
    app = create_app(settings(tmp_path), stores=stores)

    class Unready(MemoryTable[Silence]):
        ready = False  # type: ignore[assignment]

    stores.silences._table = Unready(lambda key, value: None)
    async with (
        TestKafkaBroker(app.state.bridge.broker),
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as client,
    ):
        assert (await client.get("/-/ready")).status_code == 503
        listed = await client.get("/api/v2/silences", headers=BEARER)
        assert listed.status_code == 503 and listed.headers["retry-after"]
        assert (await client.get("/api/v2/status", headers=BEARER)).status_code == 200


async def test_api_can_be_turned_off(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, alertmanager_api=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as client:
        assert (await client.get("/api/v2/status", headers=BEARER)).status_code == 404
        assert (await client.get("/-/ready")).status_code == 404


def test_a_default_source_without_keys_is_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    create_app(settings(tmp_path, alertmanager_source="nobody"), stores=ApiStores.in_memory())
    assert "'nobody' (WEBHOOK_ALERTMANAGER_SOURCE) has no entry" in caplog.text
