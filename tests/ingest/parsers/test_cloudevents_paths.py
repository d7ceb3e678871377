"""A CloudEvent through the webhook, as ingest then reads the record it wrote: the content type the sender gave
decides the mode on both hops, whatever ``ce-*`` headers travel with it."""

import orjson

from alertmesh.samples import DIRECTORY
from schemas.alert import Alert
from services.ingest.parsers import RefusedAlert, read_alerts
from tests.webhook.test_webhook import SETTINGS, serving


async def test_a_structured_event_with_ce_headers_keeps_its_title_through_the_webhook(cloudevent_bytes: bytes) -> None:
    headers = {
        "content-type": "application/cloudevents+json",
        "ce-specversion": "1.0",
        "ce-id": "added-by-a-proxy",
        "ce-source": "/proxy",
        "ce-type": "com.example.forwarded",
    }
    async with serving(SETTINGS) as (client, raw):
        response = await client.post("/v1/alerts/edr", content=cloudevent_bytes, headers=headers)
    assert response.status_code == 202
    [(body, _, written)] = raw.messages
    [alert] = read_alerts(body, written)
    assert isinstance(alert, Alert)
    assert (alert.source, alert.name, alert.severity) == ("edr", "Suspicious PowerShell download cradle", "high")
    assert alert.event_id == orjson.loads(cloudevent_bytes)["id"]


async def test_a_batch_through_the_webhook_is_one_alert_per_event() -> None:
    batch = (DIRECTORY / "cloudevents" / "batch-two-valid-one-without-source.json").read_bytes()
    async with serving(SETTINGS) as (client, raw):
        response = await client.post(
            "/v1/alerts/storage", content=batch, headers={"content-type": "application/cloudevents-batch+json"}
        )
    assert response.status_code == 202
    [(body, _, written)] = raw.messages
    entries = read_alerts(body, written)
    assert [type(entry) for entry in entries] == [Alert, RefusedAlert, Alert]
