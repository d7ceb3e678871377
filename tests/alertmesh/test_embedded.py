"""The embedded Temporal server's command line: durable SQLite tuned for throughput, task polling tuned for latency."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertmesh.stack import embedded
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


def test_a_port_is_never_handed_out_twice_even_when_the_kernel_gives_it_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel may give a just-released port to the next bind: a plan picking two ports before either is
    listened on got the same one for Temporal and the webhook's metrics, and the mesh could not start."""
    given = iter([50001, 50001, 50002])

    class Kernel:
        def __enter__(self) -> Kernel:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def bind(self, address: tuple[str, int]) -> None:
            self.port = next(given)

        def getsockname(self) -> tuple[str, int]:
            return ("127.0.0.1", self.port)

    monkeypatch.setattr(embedded, "_HANDED_OUT", set())
    monkeypatch.setattr(embedded.socket, "socket", Kernel)
    assert [embedded.free_port(), embedded.free_port()] == [50001, 50002]
