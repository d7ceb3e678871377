"""Fixtures for ingest tests: the real sample payloads as raw bytes."""

from __future__ import annotations

import pytest

from alertmesh import samples


def sample(name: str) -> bytes:
    """A sample payload (alertmesh.samples), byte for byte."""
    return samples.sample(name).read_bytes()


@pytest.fixture
def alertmanager_bytes() -> bytes:
    return sample("alertmanager-v4-firing.json")


@pytest.fixture
def cloudevent_bytes() -> bytes:
    return sample("cloudevents-structured.json")


@pytest.fixture
def grafana_bytes() -> bytes:
    return sample("grafana-v1-firing.json")
