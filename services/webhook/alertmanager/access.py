"""Who may use the Alertmanager API: a request carries one of the API keys of the API's source, exactly as a
webhook POST carries its source's (``Authorization: Bearer``, which Prometheus's ``authorization`` and amtool's
``--http.config.file`` send; Basic authentication with the key as password, which their ``basic_auth`` sends;
or ``X-API-Key``). The source is ``WEBHOOK_ALERTMANAGER_SOURCE`` unless a Basic-auth user name is a source the
credentials file knows: then that one, so two Prometheus servers can post under their own names with their own
keys. Signatures are not accepted here: no Alertmanager client signs.

Every failure gets the webhook's one 401 (``auth.UNAUTHORIZED``): a user name that is no source falls back to the
default source and is refused as a wrong key is, so the answer tells a stranger nothing about which sources exist.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request

from services.webhook.auth import WebhookAuth, unauthorized
from services.webhook.bridge import bridge_of


def basic_user(headers: Mapping[str, str]) -> str | None:
    """The user name of HTTP Basic authentication, or None."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, _ = decoded.partition(":")
    return user if colon and user else None


def chosen_source(auth: WebhookAuth, headers: Mapping[str, str], default: str) -> str:
    """The source whose credentials apply: a Basic user name that is a known source, else ``default``."""
    user = basic_user(headers)
    return user if user is not None and auth.knows(user) else default


async def api_source(request: Request) -> str:
    """FastAPI dependency: the request's source, once one of its API keys is presented (401 otherwise)."""
    bridge = bridge_of(request)
    source = chosen_source(bridge.auth, request.headers, bridge.settings.alertmanager_source)
    credentials = bridge.auth.credentials_for(source)
    if credentials is not None and not bridge.auth.key_accepted(credentials, request.headers):
        raise unauthorized(f"Alertmanager API: no valid API key of source {source!r}")
    return source


#: A route parameter: the authenticated source of an Alertmanager API request.
ApiSource = Annotated[str, Depends(api_source)]
