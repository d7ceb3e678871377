"""One log file per supervised part (``<state-dir>/logs/<part>.log``): with several replicas of a service, the
console interleaves their lines, and a replica's own history is what one reads after it crashed.

Each file is bounded: past ``MAX_BYTES`` it becomes ``<part>.log.1`` (replacing the older one) and a new file
starts, so a part that logs in a loop fills at most twice that.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

#: Size of a part's log file before it is rotated (one older file is kept).
MAX_BYTES = 20_000_000
LOGS_DIR_NAME = "logs"


class PartLogs:
    """Appends each part's output lines to its own file in ``directory`` (created 0700)."""

    def __init__(self, directory: Path, max_bytes: int = MAX_BYTES) -> None:
        self.directory = directory
        self._max_bytes = max_bytes
        self._files: dict[str, TextIO] = {}
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def path(self, part: str) -> Path:
        """The current log file of ``part``."""
        return self.directory / f"{part}.log"

    def write(self, part: str, line: str) -> None:
        """Append ``line`` to ``part``'s file, rotating it first when it has grown past the limit."""
        out = self._files.get(part)
        if out is None or out.tell() > self._max_bytes:
            if out is not None:
                out.close()
                os.replace(self.path(part), self.path(part).with_suffix(".log.1"))
            # 0600 whatever the umask: logs may quote alerts and errors.
            fd = os.open(self.path(part), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            out = self._files[part] = os.fdopen(fd, "a", encoding="utf-8")
        out.write(line + "\n")
        out.flush()

    def close(self) -> None:
        """Close every open file (later lines reopen them)."""
        for out in self._files.values():
            out.close()
        self._files.clear()

    def tee(self, output: Callable[[str, str], None]) -> Callable[[str, str], None]:
        """An output callback that writes each line to its part's file, then passes it on to ``output``."""

        def both(part: str, line: str) -> None:
            # A full disk must not stop the relay (the part would block on its full pipe).
            with contextlib.suppress(OSError):
                self.write(part, line)
            output(part, line)

        return both
