"""The bridge's answers that are not a plain 202: refusals (``Rejected``, with their ``WWW-Authenticate`` or
``Retry-After`` headers) and "Kafka did not take it" (503), each ``{"status": ..., "reason": ...}``."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from services.webhook.body import Rejected

log = logging.getLogger("services.webhook")


def answer(status: str, rejected: Rejected) -> JSONResponse:
    """``rejected`` as the JSON answer the sender gets, ``status`` naming the kind (rejected, unavailable)."""
    return JSONResponse({"status": status, "reason": rejected.public}, rejected.status, headers=rejected.headers)


def refused(rejected: Rejected) -> JSONResponse:
    """The answer to a request an admission check refused: nothing was written."""
    return answer("rejected", rejected)


def unavailable(source: str, reason: str, retry_after_s: int) -> JSONResponse:
    """503 with ``Retry-After``: Kafka did not acknowledge the write, so the sender must send it again."""
    log.warning("could not accept alert from %r: %s", source, reason)
    return answer("unavailable", Rejected(503, reason, {"Retry-After": str(retry_after_s)}))


def log_refusal(request: Request, rejected: Rejected) -> None:
    """One INFO line for a refused POST, with the full reason (which the sender may not have been told)."""
    source = request.path_params.get("source", "?")
    client = request.client.host if request.client else "?"
    log.info("refused POST for source %r from %s: %s %s", source[:200], client, rejected.status, rejected.reason)
    rejected.logged = True


#: The Alertmanager API's paths: its errors are a JSON string, as its OpenAPI document says, not our object.
API_PREFIX = "/api/v2/"


async def answer_rejected(request: Request, error: Exception) -> Response:
    """Exception handler: a ``Rejected`` raised by an admission dependency becomes its answer. Refusals before
    authentication have no span (``alert_span``): they are logged here, and counted by ``metrics``."""
    assert isinstance(error, Rejected)  # registered for Rejected only
    if not error.logged:
        log_refusal(request, error)
    if request.url.path.startswith(API_PREFIX):
        return JSONResponse(error.public, error.status, headers=error.headers)
    return refused(error)
