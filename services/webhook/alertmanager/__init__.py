"""The Alertmanager API v2 on the webhook bridge: the part Prometheus and ``amtool`` use, with the shapes, status
codes and matcher syntax of Alertmanager 0.25's OpenAPI document (``api/v2/openapi.yaml``).

- ``alerts``: ``POST /api/v2/alerts`` (Prometheus's postable alerts, written to the raw topic as the webhook writes
  a body), ``GET /api/v2/alerts`` and ``GET /api/v2/alerts/groups`` (from the alerts table);
- ``silences``: ``GET``/``POST /api/v2/silences``, ``GET``/``DELETE /api/v2/silence/{id}`` (the silence store);
- ``status``: ``GET /api/v2/status``, and the unauthenticated probes ``/-/healthy`` and ``/-/ready``.

Every ``/api/v2`` request is authenticated like a webhook POST (``access``), against the credentials of the API's
source (``WEBHOOK_ALERTMANAGER_SOURCE``, or the source a Basic-auth user name names). The tables are
``stores.ApiStores``, read whole from their compacted topics by every replica; ``create_app`` takes injected
stores for tests.
"""

from __future__ import annotations

from services.webhook.alertmanager.alerts import alerts_api
from services.webhook.alertmanager.silences import silences_api
from services.webhook.alertmanager.status import api_probes, status_api
from services.webhook.alertmanager.stores import ApiStores

__all__ = ["ApiStores", "alerts_api", "api_probes", "silences_api", "status_api"]
