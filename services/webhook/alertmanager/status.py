"""``GET /api/v2/status`` and the probes ``/-/healthy`` and ``/-/ready``.

The status is Alertmanager's ``alertmanagerStatus``: the cluster ``ready`` with no peers (replicas of the bridge
share state through Kafka, not gossip), the version of alertmesh, the time this process started, and as
``config.original`` a short YAML text saying what this is: alertmesh's routing, grouping and inhibition are in its
routing file, not in an Alertmanager configuration, so the text names the API's source and topics and says so.

The probes are not authenticated (like ``/healthz``): ``/-/healthy`` says the process serves, ``/-/ready`` that
Kafka answers and the silences and alerts tables were read to their end.
"""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib import metadata

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from services.webhook.alertmanager.access import ApiSource
from services.webhook.alertmanager.shapes import RESOLVE_TIMEOUT, timestamp
from services.webhook.bridge import bridge_of
from services.webhook.config import WebhookSettings

status_api = APIRouter()
api_probes = APIRouter()
#: When this process started serving (the status's ``uptime``).
STARTED = datetime.now(UTC)
#: How long ``/-/ready`` waits for the broker to answer.
PROBE_TIMEOUT_S = 3.0


def version() -> str:
    """alertmesh's installed version."""
    try:
        return metadata.version("alertmesh")
    except metadata.PackageNotFoundError:
        return "unknown"


def original_config(settings: WebhookSettings) -> str:
    """The ``config.original`` text (see the module's docstring)."""
    described = {
        "global": {"resolve_timeout": f"{int(RESOLVE_TIMEOUT.total_seconds() // 60)}m"},
        "route": {"receiver": "alertmesh"},
        "receivers": [{"name": "alertmesh"}],
    }
    header = (
        "# alertmesh: the Alertmanager API v2 subset served by the webhook bridge (docs/alertmanager-api.md).\n"
        "# Alerts posted here go to the raw topic "
        f"{settings.topics.raw!r} as source {settings.alertmanager_source!r};\n"
        "# routes, grouping, inhibition and time windows are alertmesh's routing file, not this configuration.\n"
        f"# Silences: compacted topic {settings.topics.silences!r}; "
        f"alerts: compacted topic {settings.topics.alerts!r}.\n"
    )
    return header + yaml.safe_dump(described, sort_keys=False)


@status_api.get("/api/v2/status")
async def get_status(_: ApiSource, request: Request) -> JSONResponse:
    """``alertmanagerStatus``."""
    settings = bridge_of(request).settings
    return JSONResponse(
        {
            "cluster": {"name": "alertmesh", "status": "ready", "peers": []},
            "versionInfo": {
                "version": version(), "revision": "", "branch": "", "buildUser": "", "buildDate": "",
                "goVersion": f"python{platform.python_version()}",
            },
            "config": {"original": original_config(settings)},
            "uptime": timestamp(STARTED),
        }
    )  # fmt: skip


@api_probes.api_route("/-/healthy", methods=["GET", "HEAD"], include_in_schema=False)
async def healthy() -> PlainTextResponse:
    """200 while the process serves."""
    return PlainTextResponse("OK")


@api_probes.api_route("/-/ready", methods=["GET", "HEAD"], include_in_schema=False)
async def ready(request: Request) -> PlainTextResponse:
    """200 when Kafka answers and both tables were read to their end, else 503 saying which is missing."""
    connected = await bridge_of(request).broker.ping(timeout=PROBE_TIMEOUT_S)
    stores = getattr(request.app.state, "alertmanager", None)
    if not connected:
        return PlainTextResponse("Kafka unreachable", 503)
    if stores is not None and not stores.ready:
        return PlainTextResponse("silences and alerts tables still being read", 503)
    return PlainTextResponse("OK")
