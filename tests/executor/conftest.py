"""Executor test fixtures: a local HTTP server, and one Ray instance shared by the whole test session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import ray

from .local_http import local_http_server


@pytest.fixture(scope="session")
def http_base_url() -> Iterator[str]:
    """Base URL of a real HTTP server on 127.0.0.1 (routes in ``local_http``)."""
    with local_http_server() as url:
        yield url


@pytest.fixture(scope="session")
def ray_session() -> Iterator[str]:
    """Local Ray started once per session (about 4 s); yields its GCS address so subprocesses can join it."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not ray.is_initialized():
        ray.init(num_cpus=1, include_dashboard=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
