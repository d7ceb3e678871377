"""The webhook's tests post the same real sample payloads as ingest's tests read."""

from tests.ingest.conftest import alertmanager_bytes, cloudevent_bytes, grafana_bytes

__all__ = ["alertmanager_bytes", "cloudevent_bytes", "grafana_bytes"]
