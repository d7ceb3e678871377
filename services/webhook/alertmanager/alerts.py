"""``/api/v2/alerts``: posting alerts (what Prometheus sends an Alertmanager), listing them and their groups.

A posted array is checked at the edge (``postable``) and its valid alerts written to the raw topic exactly as the
webhook writes a body (``routes.write_alert``: unkeyed, acks=all, the size limit, 413 for a record Kafka can never
take, 503 with ``Retry-After`` when Kafka did not acknowledge it), with the API's source in ``alertmesh-source``:
ingest reads the array with its ``prometheus`` parser. 200 (no body) only once Kafka acknowledged the write; an
empty array is 200 and writes nothing.

The lists come from the alerts table (every alert as ingest last saw it); only alerts firing now are listed, as
Alertmanager lists no resolved alert. Whether an alert is silenced is decided now, from the silences in force now
(a silence created a second ago shows at once); whether it is inhibited is what ingest decided when it read it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from dsl.patterns import Pattern
from schemas.alert_state import AlertState
from services.shared import tracing
from services.webhook.alert_span import opened, record_answer
from services.webhook.alertmanager.access import ApiSource
from services.webhook.alertmanager.filters import filter_matches, filters, flag, receiver_pattern
from services.webhook.alertmanager.postable import checked, reasons_text
from services.webhook.alertmanager.shapes import alert_groups, gettable_alert
from services.webhook.alertmanager.stores import ApiStores, stores_of
from services.webhook.body import Rejected, read_limited
from services.webhook.bridge import bridge_of
from services.webhook.headers import raw_record_headers
from services.webhook.routes import write_alert

ROUTE = "/api/v2/alerts"
alerts_api = APIRouter()


@alerts_api.post(ROUTE)
async def post_alerts(source: ApiSource, request: Request) -> Response:
    """Write the valid alerts of a postable array to the raw topic; 200 once Kafka acknowledged them, 400 naming
    the refused ones (the valid ones are written all the same, as Alertmanager keeps them)."""
    bridge = bridge_of(request)
    settings = bridge.settings
    body = await read_limited(request, settings.max_body_bytes, settings.body_read_timeout_s)
    async with opened(source, request, ROUTE) as span:
        answer = await write_postable(request, source, body, span)
        record_answer(span, answer)
    return answer


async def write_postable(request: Request, source: str, body: bytes, span: Any) -> Response:
    """The answer to a postable array whose request was authenticated (see ``post_alerts``)."""
    bridge = bridge_of(request)
    settings = bridge.settings
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise Rejected(400, f"the body is not JSON: {error}") from None
    valid, reasons = checked(document, settings.max_alerts_per_request)
    if valid:
        value = body if not reasons else orjson.dumps(valid)
        headers = raw_record_headers(source, "application/json", {}) | tracing.span_headers(span)
        written = await write_alert(bridge, source, value, headers)
        if written.status_code != 202:
            reason = orjson.loads(bytes(written.body)).get("reason", "not written")
            return JSONResponse(reason, written.status_code, headers=_kept(written.headers))
    if reasons:
        return JSONResponse(reasons_text(reasons), 400)
    return Response(status_code=200)


def _kept(headers: Any) -> dict[str, str]:
    return {"Retry-After": headers["retry-after"]} if "retry-after" in headers else {}


def listed(request: Request, stores: ApiStores, now: datetime, receiver: Pattern | None) -> list[dict[str, Any]]:
    """The firing alerts the query's filters keep (one of whose receivers ``receiver`` matches, when given), as
    ``gettableAlert``s, oldest first."""
    query = request.query_params
    matchers = filters(query)
    active, silenced, inhibited = flag(query, "active"), flag(query, "silenced"), flag(query, "inhibited")
    kept: list[tuple[AlertState, list[str]]] = []
    for row in stores.alerts.firing(now):
        if receiver is not None and not any(receiver.fullmatches(route) for route in row.routes):
            continue
        if not filter_matches(matchers, row.labels):
            continue
        silenced_by = stores.silences.silencing(row.labels, now)
        suppressed = bool(silenced_by or row.inhibited_by)
        if (not active and not suppressed) or (not silenced and silenced_by) or (not inhibited and row.inhibited_by):
            continue
        kept.append((row, silenced_by))
    kept.sort(key=lambda pair: (pair[0].starts_at, pair[0].source, pair[0].fingerprint))
    return [gettable_alert(row, silenced_by) for row, silenced_by in kept]


@alerts_api.get(ROUTE)
async def get_alerts(_: ApiSource, request: Request) -> JSONResponse:
    """The firing alerts (``gettableAlerts``), filtered by ``filter``, ``active``, ``silenced``, ``inhibited``,
    ``receiver`` (``unprocessed`` is read and has no effect: every listed alert was processed by ingest)."""
    stores = stores_of(request)
    flag(request.query_params, "unprocessed")
    return JSONResponse(listed(request, stores, datetime.now(UTC), receiver_pattern(request.query_params)))


@alerts_api.get(ROUTE + "/groups")
async def get_alert_groups(_: ApiSource, request: Request) -> JSONResponse:
    """The listed alerts grouped by receiver and ``alertname`` (``alertGroups``); ``receiver`` keeps the groups of
    the receivers it matches, as Alertmanager filters its routes."""
    stores = stores_of(request)
    receiver = receiver_pattern(request.query_params)
    groups = alert_groups(listed(request, stores, datetime.now(UTC), None))
    return JSONResponse([g for g in groups if receiver is None or receiver.fullmatches(g["receiver"]["name"])])
