"""What every request to the bridge shares, built once per app: settings, authentication, the broker and the raw
topic's publisher; ``bridge_of`` finds it for routes and admission checks."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from fastapi import Request
from faststream.kafka import KafkaBroker

from services.shared.kafka import ProducerPublisher
from services.webhook.auth import WebhookAuth
from services.webhook.config import WebhookSettings
from services.webhook.credentials import load_credentials
from services.webhook.reload import CredentialsReloader, version
from services.webhook.sns import SnsVerifier

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
    #: Keeps ``auth`` on the credentials file's newest valid version (None: no file, or ``auth`` given in code).
    reloader: CredentialsReloader | None = None
    #: Checks SNS deliveries' signatures (its certificate cache lives as long as the app).
    sns: SnsVerifier = field(default_factory=SnsVerifier)

    @classmethod
    def build(cls, settings: WebhookSettings, auth: WebhookAuth | None = None) -> Bridge:
        """The parts ``settings`` configure; ``auth`` defaults to the one the credentials file gives (and is then
        reloaded when the file changes)."""
        broker = settings.kafka.broker(client_id=CLIENT_ID)
        reloader = None
        if auth is None:
            auth, reloader = build_auth(settings)
        return cls(settings, auth, broker, ProducerPublisher(broker, settings.topics.raw), reloader)


def build_auth(settings: WebhookSettings) -> tuple[WebhookAuth, CredentialsReloader | None]:
    """Load and validate the credentials file (``CredentialsFileError`` names the file and entry), with the
    reloader that follows it, or, only when explicitly allowed, run without authentication, loudly."""
    if settings.credentials_file is None:
        log.warning(
            "AUTHENTICATION IS OFF (WEBHOOK_ALLOW_UNAUTHENTICATED=true): anyone who can reach %s:%d can write "
            "alerts that start workflows. Set WEBHOOK_CREDENTIALS_FILE for anything but a closed test setup.",
            settings.host, settings.port,
        )  # fmt: skip
        return WebhookAuth(None), None
    loaded = version(settings.credentials_file)
    credentials = load_credentials(settings.credentials_file)
    if settings.allow_unauthenticated:
        log.warning("WEBHOOK_ALLOW_UNAUTHENTICATED is ignored: the credentials file is used")
    log.info("webhook authentication: %d sources from %s", len(credentials), settings.credentials_file)
    unwindowed = sorted(
        name for name, found in credentials.items() if any(rule.timestamp_header is None for rule in found.signatures)
    )
    if unwindowed:
        # GitHub-style signatures cover the body only: a captured request stays valid for ever.
        log.info(
            "webhook sources %s accept signatures without a signed timestamp: no replay window for those "
            "(set timestamp_header where the sender signs one; see docs/security.md)", ", ".join(unwindowed),
        )  # fmt: skip
    auth = WebhookAuth(credentials, max_skew_s=settings.signature_max_age_s)
    return auth, CredentialsReloader(settings.credentials_file, auth, loaded)


def bridge_of(request: Request) -> Bridge:
    """The ``Bridge`` of the app serving ``request`` (``create_app`` puts it in the app's state). Read directly
    rather than as a dependency of its own: each dependency of a POST costs FastAPI a solving step per request."""
    found: Bridge = request.app.state.bridge
    return found
