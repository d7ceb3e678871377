"""What every hot-reloaded file shares: check it every few seconds in the background until stopped.

The routing file (ingest) and the webhook's credentials file are each re-read on a timer; what a check reads and
how it decides differs, the loop around it does not. A check that raises is logged and the next one runs: a bug
in reloading must never stop reloading, nor the service, and what was loaded before stays in force.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar


class FileReloader(ABC):
    """Polls ``check`` for one file; subclasses say what a check does and name the file in log lines."""

    #: What the file is, for log lines and the polling task's name: ``"routing file"``.
    kind: ClassVar[str]
    #: The logger of the service that owns the file.
    log: ClassVar[logging.Logger]
    path: Path
    _task: asyncio.Task[None] | None = None

    @abstractmethod
    def check(self) -> bool:
        """Read the file again; True when it changed and its new version is now in force."""

    async def poll(self, interval_s: float) -> None:
        """``check`` every ``interval_s`` seconds, for ever (cancel to stop); a failed check never ends it."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                self.check()
            except Exception:
                self.log.exception("checking %s %s failed; what was loaded before stays in force", self.kind, self.path)

    def start(self, interval_s: float) -> None:
        """Poll in the background of the running event loop."""
        if self._task is None:
            name = f"{self.kind.replace(' ', '-')}-reload"
            self._task = asyncio.get_running_loop().create_task(self.poll(interval_s), name=name)

    async def stop(self) -> None:
        """Stop polling."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
