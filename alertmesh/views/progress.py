"""Progress of a long command (``bench``, ``chaos``, ``dlq replay``) on stderr, never on stdout, where the
command's data goes (a JSON summary, replayed ids) and a pipe may read it.

On a terminal it is one line rewritten in place (at most every ``TTY_EVERY_S``); otherwise (a log file, CI) it is a
plain line every ``PLAIN_EVERY_S``, so a log shows the run moving without being flooded. The last state is always
written when the progress ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import TextIO

TTY_EVERY_S = 0.2
PLAIN_EVERY_S = 5.0
#: Erase the terminal line (carriage return, then ANSI "erase to end of line").
ERASE = "\r\x1b[K"

#: The progress currently drawn on a terminal line, which other output must erase first (see ``clear_line``).
_drawn: Progress | None = None


def clear_line() -> None:
    """Erase a progress line drawn on the terminal, so a message printed next starts on a clean line (the
    progress draws itself again at its next update)."""
    if _drawn is not None:
        _drawn.erase()


class Progress:
    """``label: done/total (pct%) note, elapsed``; call ``update`` as often as convenient, it draws only when due."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        stream: TextIO | None = None,
        every_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.done, self.note = label, total, 0, ""
        self._stream = stream if stream is not None else sys.stderr
        self._tty = _is_tty(self._stream)
        self._every_s = every_s if every_s is not None else (TTY_EVERY_S if self._tty else PLAIN_EVERY_S)
        self._clock = clock
        self._started = clock()
        self._last_drawn: float | None = None
        self._on_line = False

    def update(self, done: int | None = None, *, total: int | None = None, note: str | None = None) -> None:
        """Record the new state; draw it if the last drawing is ``every_s`` old (a plain stream's first line waits
        that long too: a short step needs no progress at all)."""
        if done is not None:
            self.done = done
        if total is not None:
            self.total = total
        if note is not None:
            self.note = note
        if self.due():
            self._draw(self._clock())

    @property
    def every_s(self) -> float:
        """Seconds between two lines when the output is not a terminal."""
        return self._every_s

    def due(self) -> bool:
        """Whether an ``update`` now would draw: callers whose counts cost something to compute ask first."""
        since = self._clock() - (self._last_drawn if self._last_drawn is not None else self._started)
        return since >= self._every_s or (self._tty and self._last_drawn is None)

    def advance(self, count: int = 1) -> None:
        """Count ``count`` more done, drawing if due."""
        self.update(self.done + count)

    def line(self) -> str:
        """The progress as text, e.g. ``replaying: 3/10 (30%), 4s``."""
        count = f"{self.done}/{self.total} ({100 * self.done / self.total:.0f}%)" if self.total else f"{self.done}"
        parts = [f"{self.label}: {count}"]
        if self.note:
            parts.append(self.note)
        parts.append(f"{self._clock() - self._started:.0f}s")
        return ", ".join(parts)

    def erase(self) -> None:
        """Clear the refreshing line (on a terminal), so other output starts on a clean line."""
        if self._on_line:
            self._stream.write(ERASE)
            self._stream.flush()
            self._on_line = False

    def close(self) -> None:
        """Write the final state, ending the terminal line (on a plain stream only if a line was written before:
        work done before its first line was due needs none)."""
        global _drawn
        if self._tty:
            self._stream.write(ERASE + self.line() + "\n")
        elif self._last_drawn is not None:
            self._stream.write(self.line() + "\n")
        self._stream.flush()
        self._on_line = False
        if _drawn is self:
            _drawn = None

    def _draw(self, now: float) -> None:
        global _drawn
        self._last_drawn = now
        if self._tty:
            self._stream.write(ERASE + self.line())
            self._on_line = True
            _drawn = self
        else:
            self._stream.write(self.line() + "\n")
        self._stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


@contextlib.asynccontextmanager
async def polled(progress: Progress, poll: Callable[[Progress], None]) -> AsyncIterator[Progress]:
    """Call ``poll(progress)`` (which reads counters and calls ``update``) at the progress' drawing rate while
    the block runs, for work that has counters but no loop of its own to report from; closes the progress."""

    async def keep_polling() -> None:
        while True:
            poll(progress)
            await asyncio.sleep(min(progress.every_s, 1.0))

    task = asyncio.create_task(keep_polling(), name=f"progress-{progress.label}")
    try:
        with progress:
            yield progress
            poll(progress)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False
