"""Executor test fixtures: a local HTTP server, and one Ray instance shared by the whole test session."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

from services.executor.__main__ import start_ray
from services.executor.config import ExecutorSettings

from .local_http import local_http_server

REPO = Path(__file__).resolve().parents[2]
#: A directory holding an installed-looking package (a .dist-info with an ``alertmesh.actions`` entry point and
#: its module), on this process's path and on Ray workers', as ``pip install`` would put it on site-packages.
PLUGIN_SITE = Path(__file__).resolve().parent / "plugin_site"
if str(PLUGIN_SITE) not in sys.path:
    sys.path.append(str(PLUGIN_SITE))


@pytest.fixture(scope="session")
def http_base_url() -> Iterator[str]:
    """Base URL of a real HTTP server on 127.0.0.1 (routes in ``local_http``)."""
    with local_http_server() as url:
        yield url


@pytest.fixture(scope="session")
def ray_session() -> Iterator[str]:
    """Local Ray started once per session (about 4 s), as the executor starts it; yields its GCS address so
    subprocesses can join it. Its workers import the test-only actions (``ray_test_actions``)."""
    if not ray.is_initialized():
        # Ray workers inherit this environment: make the repository (and so ``tests``) importable there.
        paths = [str(REPO), os.environ.get("PYTHONPATH"), str(PLUGIN_SITE)]
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
        start_ray(
            ExecutorSettings(ray_num_cpus=1),
            runtime_env={"worker_process_setup_hook": "tests.executor.ray_test_actions.register"},
        )
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
