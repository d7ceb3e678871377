"""Runs ``alertmesh up`` (or ``demo``) as a real child process and watches its output, for end-to-end tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STARTED = re.compile(r"started (\S+) \(pid (\d+)\)")


@dataclass
class MeshProcess:
    """An ``alertmesh`` command running in the repo, with its output collected line by line."""

    args: list[str]
    env: dict[str, str]
    log: Path
    lines: list[str] = field(default_factory=list)
    process: subprocess.Popen[str] | None = None

    def start(self) -> MeshProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "alertmesh.cli", *self.args],
            cwd=REPO,
            env={**os.environ, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._collect, daemon=True).start()
        return self

    def _collect(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        with self.log.open("a") as out:
            for line in self.process.stdout:
                self.lines.append(line.rstrip("\n"))
                out.write(line)
                out.flush()

    def wait_for(self, pattern: str, timeout: float, after: int = 0) -> re.Match[str]:
        """The first output line (from index ``after``) matching ``pattern``; fails with the tail of the log."""
        regex, deadline = re.compile(pattern), time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[after:]:
                if match := regex.search(line):
                    return match
            assert self.process is not None
            if self.process.poll() is not None and not any(regex.search(x) for x in self.lines[after:]):
                break
            time.sleep(0.1)
        tail = "\n".join(self.lines[-60:])
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s; output tail:\n{tail}")

    def pids(self) -> dict[str, int]:
        """The latest pid of every part the supervisor started."""
        return {m.group(1): int(m.group(2)) for line in self.lines if (m := STARTED.search(line))}

    def stop(self, timeout: float = 60) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def processes_in_group(pgid: int) -> list[int]:
    """Live processes whose process group is ``pgid`` (each supervised part leads its own group)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:  # state, ppid, pgrp
            found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children, grandchildren, ...), whatever their process group."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"
