"""What every request to the bridge shares, built once per app: settings, authentication, the broker and the raw
topic's publisher; ``bridge_of`` finds it for routes and admission checks."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import Request
from faststream.kafka import KafkaBroker

from services.shared.kafka import ProducerPublisher
from services.webhook.auth import WebhookAuth
from services.webhook.config import WebhookSettings
from services.webhook.credentials import load_credentials

log = logging.getLogger("services.webhook")
#: The bridge's Kafka client id (named in the AsyncAPI document).
CLIENT_ID = "alertmesh-webhook"


@dataclass(frozen=True)
class Bridge:
    """One webhook app's parts. ``raw`` writes to the raw topic, single documents and NDJSON lines alike (the lines
    of a batch straight to the producer, queued in order from one task: see ``ndjson``)."""

    settings: WebhookSettings
    auth: WebhookAuth
    broker: KafkaBroker
    raw: ProducerPublisher

    @classmethod
    def build(cls, settings: WebhookSettings, auth: WebhookAuth | None = None) -> Bridge:
        """The parts ``settings`` configure; ``auth`` defaults to the one the credentials file gives."""
        broker = settings.kafka.broker(client_id=CLIENT_ID)
        return cls(settings, auth if auth is not None else build_auth(settings), broker,
                   ProducerPublisher(broker, settings.topics.raw))  # fmt: skip


def build_auth(settings: WebhookSettings) -> WebhookAuth:
    """Load and validate the credentials file (``CredentialsFileError`` names the file and entry), or, only when
    explicitly allowed, run without authentication, loudly."""
    if settings.credentials_file is None:
        log.warning(
            "AUTHENTICATION IS OFF (WEBHOOK_ALLOW_UNAUTHENTICATED=true): anyone who can reach %s:%d can write "
            "alerts that start workflows. Set WEBHOOK_CREDENTIALS_FILE for anything but a closed test setup.",
            settings.host, settings.port,
        )  # fmt: skip
        return WebhookAuth(None)
    credentials = load_credentials(settings.credentials_file)
    if settings.allow_unauthenticated:
        log.warning("WEBHOOK_ALLOW_UNAUTHENTICATED is ignored: the credentials file is used")
    log.info("webhook authentication: %d sources from %s", len(credentials), settings.credentials_file)
    return WebhookAuth(credentials, max_skew_s=settings.signature_max_age_s)


def bridge_of(request: Request) -> Bridge:
    """The ``Bridge`` of the app serving ``request`` (``create_app`` puts it in the app's state). Read directly
    rather than as a dependency of its own: each dependency of a POST costs FastAPI a solving step per request."""
    found: Bridge = request.app.state.bridge
    return found
