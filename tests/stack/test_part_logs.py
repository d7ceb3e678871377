"""Each supervised part's own log file: private, bounded, and never in the way of the part's output."""

from __future__ import annotations

import stat
from pathlib import Path

from alertmesh.stack.part_logs import PartLogs


def test_each_part_writes_its_own_private_file(tmp_path: Path) -> None:
    logs = PartLogs(tmp_path / "logs")
    seen: list[tuple[str, str]] = []
    write = logs.tee(lambda part, line: seen.append((part, line)))
    write("ingest", "one")
    write("ingest-2", "two")
    write("ingest", "three")
    logs.close()
    assert (tmp_path / "logs" / "ingest.log").read_text() == "one\nthree\n"
    assert (tmp_path / "logs" / "ingest-2.log").read_text() == "two\n"
    assert seen == [("ingest", "one"), ("ingest-2", "two"), ("ingest", "three")]
    assert stat.S_IMODE((tmp_path / "logs").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "logs" / "ingest.log").stat().st_mode) == 0o600


def test_a_full_file_is_rotated_once(tmp_path: Path) -> None:
    logs = PartLogs(tmp_path, max_bytes=100)
    for n in range(60):
        logs.write("executor", f"line {n:04d}")
    logs.close()
    current, older = (tmp_path / "executor.log").read_text(), (tmp_path / "executor.log.1").read_text()
    assert current.endswith("line 0059\n") and len(older) <= 120 and len(current) <= 120
    assert not (tmp_path / "executor.log.2").exists()


def test_a_failing_write_still_passes_the_line_on(tmp_path: Path) -> None:
    logs = PartLogs(tmp_path / "logs")
    (tmp_path / "logs" / "webhook.log").mkdir()  # cannot be opened as a file (even by root): writing fails
    seen: list[str] = []
    logs.tee(lambda part, line: seen.append(line))("webhook", "still here")
    assert seen == ["still here"], "the part's output keeps flowing (a relay that raised would block the part)"
