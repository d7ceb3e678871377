"""Session fixtures for tests that run through the real servers (marker ``integration``).

Each server is started once per test session on free ports and stopped at the end. Unit tests use none of them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from alertmesh.stack.embedded import free_port, tansu_command, temporal_command, wait_for_port

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
REPO = Path(__file__).resolve().parent.parent

# A longer search for every property test, not only those that use ``FUZZ``: ALERTMESH_FUZZ_EXAMPLES=5000 makes
# each property draw 5,000 examples (tests that set their own smaller budget on purpose, for huge inputs, keep it).
if os.environ.get("ALERTMESH_FUZZ_EXAMPLES"):
    settings.register_profile("long-search", max_examples=int(os.environ["ALERTMESH_FUZZ_EXAMPLES"]), deadline=None)
    settings.load_profile("long-search")


def _start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Kafka-protocol broker (embedded Tansu); yields its bootstrap address."""
    port = free_port()
    process = _start(tansu_command("127.0.0.1", port), tmp_path_factory.mktemp("tansu") / "tansu.log")
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        yield f"127.0.0.1:{port}"
    finally:
        _stop(process)


@dataclass(frozen=True)
class TemporalServer:
    address: str
    ui_port: int


@pytest.fixture(scope="session")
def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalServer]:
    """A real Temporal dev server (in-memory persistence); yields its address."""
    port, ui_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("temporal") / "temporal.log"
    process = _start(temporal_command("127.0.0.1", port, ui_port, db_file=None), log)
    try:
        wait_for_port("127.0.0.1", port, timeout=60)
        yield TemporalServer(address=f"127.0.0.1:{port}", ui_port=ui_port)
    finally:
        _stop(process)
