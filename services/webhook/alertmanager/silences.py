"""``/api/v2/silences`` and ``/api/v2/silence/{id}``: listing, creating or updating, reading and expiring
silences, answered as Alertmanager 0.25 answers (``services.shared.silences`` holds its rules): ``{"silenceID"}``
on a create or update, 400 with the reason for a silence it refuses, 404 for an unknown id; expiring one that
already expired is Alertmanager's 500 with the reason."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.silence import Matcher
from services.shared.backoff import GaveUp
from services.shared.silences import SilenceError, SilenceNotFound
from services.webhook.alertmanager.access import ApiSource
from services.webhook.alertmanager.filters import filter_matches, filters, silence_labels
from services.webhook.alertmanager.shapes import gettable_silence, silence_order
from services.webhook.alertmanager.stores import stores_of
from services.webhook.body import Rejected, read_limited
from services.webhook.bridge import bridge_of

silences_api = APIRouter()


class PostableSilence(BaseModel):
    """Alertmanager's ``postableSilence``: a silence, with the ``id`` of the one it updates."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    id: str | None = Field(None, max_length=64)
    matchers: list[Matcher] = Field(min_length=1, max_length=64)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime = Field(alias="endsAt")
    created_by: str = Field(alias="createdBy", max_length=1024)
    comment: str = Field(max_length=16384)


def refused_body(error: ValidationError) -> str:
    """The first problem of a body that is not a ``postableSilence``, with where."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


@silences_api.get("/api/v2/silences")
async def get_silences(_: ApiSource, request: Request) -> JSONResponse:
    """Every silence (expired ones within the retention) whose matchers the ``filter`` matchers match, in
    Alertmanager's order."""
    stores = stores_of(request)
    matchers = filters(request.query_params)
    now = datetime.now(UTC)
    found = [s for s in stores.silences.all() if filter_matches(matchers, silence_labels(s.matchers))]
    found.sort(key=lambda silence: silence_order(silence, now))
    return JSONResponse([gettable_silence(silence, now) for silence in found])


@silences_api.post("/api/v2/silences")
async def post_silence(source: ApiSource, request: Request) -> JSONResponse:
    """Create a silence, or update the one its ``id`` names; ``{"silenceID": ...}``."""
    stores = stores_of(request)
    settings = bridge_of(request).settings
    body = await read_limited(request, settings.max_body_bytes, settings.body_read_timeout_s)
    try:
        posted = PostableSilence.model_validate(orjson.loads(body))
    except orjson.JSONDecodeError as error:
        raise Rejected(400, f"the body is not JSON: {error}") from None
    except ValidationError as error:
        raise Rejected(400, refused_body(error)) from None
    try:
        silence = await stores.silences.create(
            posted.matchers, posted.starts_at, posted.ends_at, posted.created_by, posted.comment,
            silence_id=posted.id, now=datetime.now(UTC),
        )  # fmt: skip
    except SilenceNotFound as error:
        return JSONResponse(str(error.args[0]), 404)
    except SilenceError as error:
        return JSONResponse(f"Failed to create silence: {error}", 400)
    except GaveUp as error:
        return unwritten(error, settings.retry_after_s)
    return JSONResponse({"silenceID": silence.id})


def unwritten(error: GaveUp, retry_after_s: int) -> JSONResponse:
    """503 with ``Retry-After``: Kafka did not take the silence's write, so nothing changed."""
    return JSONResponse(f"the silence was not written: {error}", 503, headers={"Retry-After": str(retry_after_s)})


@silences_api.get("/api/v2/silence/{silence_id}")
async def get_silence(_: ApiSource, silence_id: str, request: Request) -> Response:
    """The silence (``gettableSilence``), or 404."""
    found = stores_of(request).silences.get(silence_id)
    if found is None:
        return Response(status_code=404)
    return JSONResponse(gettable_silence(found, datetime.now(UTC)))


@silences_api.delete("/api/v2/silence/{silence_id}")
async def delete_silence(_: ApiSource, silence_id: str, request: Request) -> Response:
    """Expire the silence: 200, 404 for an unknown id, 500 with the reason (Alertmanager's) for one already
    expired."""
    stores = stores_of(request)
    try:
        await stores.silences.expire(silence_id, datetime.now(UTC))
    except SilenceNotFound:
        return Response(status_code=404)
    except SilenceError as error:
        return JSONResponse(str(error), 500)
    except GaveUp as error:
        return unwritten(error, bridge_of(request).settings.retry_after_s)
    return Response(status_code=200)
