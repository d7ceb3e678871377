"""Fixtures for webhook tests: the real sample payloads as raw bytes (the bridge writes them unchanged)."""

from __future__ import annotations

import pytest

from tests.ingest.conftest import sample


@pytest.fixture
def alertmanager_bytes() -> bytes:
    return sample("alertmanager-v4-firing.json")


@pytest.fixture
def cloudevent_bytes() -> bytes:
    return sample("cloudevents-structured.json")


@pytest.fixture
def grafana_bytes() -> bytes:
    return sample("grafana-v1-firing.json")
