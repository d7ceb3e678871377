"""Admission: the FastAPI dependencies a POST passes before anything is written, in this order, each refusing
with ``Rejected`` (answered by the app's handler, recorded on the alert's span):

1. ``source_name``: the path's source is a valid name (400);
2. ``source_credentials``: the source is in the credentials file (404) and, when an API key can decide, it is
   valid (401), before the body is read;
3. ``limited_body``: the body within ``WEBHOOK_MAX_BODY_BYTES`` (413), whatever Content-Length claims;
4. ``authenticated_body``: a signature, where the source uses one, is valid for that body (401);
5. ``admitted_body``: the content type and the body: one JSON object, or an NDJSON batch within
   ``WEBHOOK_NDJSON_MAX_LINES`` (400, 413; each line is checked on its own, and answered on its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.webhook.alert_span import AlertSpan
from services.webhook.body import Rejected, check_json_object, check_source, json_content_type, read_limited
from services.webhook.bridge import BridgeDep
from services.webhook.credentials import SourceCredentials
from services.webhook.headers import is_binary_cloudevent
from services.webhook.ndjson import is_ndjson, split_lines


async def source_name(source: str, _: AlertSpan) -> str:
    """The path's source, once it is a valid source name; the alert's span is open before this first check."""
    check_source(source)
    return source


SourceName = Annotated[str, Depends(source_name)]


@dataclass(frozen=True)
class Presented:
    """The source's credentials (None: authentication is off) and whether an API key already accepted the call."""

    credentials: SourceCredentials | None
    key_accepted: bool


async def source_credentials(source: SourceName, request: Request, bridge: BridgeDep) -> Presented:
    """404 for a source the credentials file does not know; 401 when nothing but a (wrong or missing) key could
    pass. An API key is checked before the body is read; a signature needs the body, read within the limit."""
    credentials = bridge.auth.credentials_for(source)
    key_ok = credentials is None or bridge.auth.check_without_body(credentials, request.headers)
    return Presented(credentials, key_ok)


SourceCredentialsDep = Annotated[Presented, Depends(source_credentials)]


async def limited_body(_: SourceCredentialsDep, request: Request, bridge: BridgeDep) -> bytes:
    """The body, read only after the checks that need no body passed, refused (413) past the size limit."""
    return await read_limited(request, bridge.settings.max_body_bytes)


LimitedBody = Annotated[bytes, Depends(limited_body)]


async def authenticated_body(
    presented: SourceCredentialsDep, body: LimitedBody, request: Request, bridge: BridgeDep
) -> bytes:
    """The body, once a source that no API key accepted has a valid signature of it (401 otherwise)."""
    if presented.credentials is not None and not presented.key_accepted:
        bridge.auth.check_signature(presented.credentials, request.headers, body)
    return body


AuthenticatedBody = Annotated[bytes, Depends(authenticated_body)]


async def admitted_body(body: AuthenticatedBody, request: Request, bridge: BridgeDep) -> bytes:
    """The body of a request that may be written: an NDJSON batch of usable size, or one JSON object."""
    if is_ndjson(request.headers.get("content-type", "")):
        check_batch(request, body, bridge.settings.ndjson_max_lines)  # each line is checked on its own later
        return body
    json_content_type(request)
    check_json_object(body)
    return body


AdmittedBody = Annotated[bytes, Depends(admitted_body)]


def check_batch(request: Request, body: bytes, max_lines: int) -> None:
    """Refuse an NDJSON batch as a whole: a binary-mode CloudEvent (one event), no lines, or too many lines."""
    if is_binary_cloudevent(request.headers):
        raise Rejected(400, "a CloudEvent in binary mode is one event: send an NDJSON batch in structured mode")
    lines = len(split_lines(body))
    if not lines:
        raise Rejected(400, "the NDJSON body has no lines")
    if lines > max_lines:
        raise Rejected(413, f"{lines} lines is more than the {max_lines}-line limit")
