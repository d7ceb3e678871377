"""The embedded Temporal server's command line: durable SQLite tuned for throughput, task polling tuned for latency."""

from __future__ import annotations

from pathlib import Path

from alertmesh.stack.embedded import temporal_command


def _values(command: list[str], flag: str) -> list[str]:
    return [command[i + 1] for i, part in enumerate(command) if part == flag]


def test_a_state_file_gets_the_wal_pragmas() -> None:
    command = temporal_command("127.0.0.1", 7233, 8233, Path("/state/temporal.db"))
    assert _values(command, "--db-filename") == ["/state/temporal.db"]
    assert _values(command, "--sqlite-pragma") == ["journal_mode=wal", "synchronous=normal"]


def test_in_memory_state_has_no_pragmas_but_the_same_task_polling() -> None:
    in_memory = temporal_command("127.0.0.1", 7233, 8233, None)
    on_file = temporal_command("127.0.0.1", 7233, 8233, Path("/state/temporal.db"))
    assert _values(in_memory, "--sqlite-pragma") == [] and _values(in_memory, "--db-filename") == []
    polling = _values(in_memory, "--dynamic-config-value")
    assert "history.transferProcessorMaxPollRPS=1000" in polling
    assert polling == _values(on_file, "--dynamic-config-value")
