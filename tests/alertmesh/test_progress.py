"""Progress lines: one refreshing line on a terminal, a plain line every few seconds otherwise, on the stream
given (stderr by default), never on stdout."""

from __future__ import annotations

import asyncio
import io

import pytest

from alertmesh.views import progress
from alertmesh.views.progress import ERASE, Progress, polled


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_stream_gets_a_line_every_interval_and_a_last_one() -> None:
    clock, out = Clock(), io.StringIO()
    bar = Progress("replaying", total=10, stream=out, every_s=5, clock=clock)
    bar.update(1)
    clock.now += 4.9
    bar.update(2)
    assert out.getvalue() == ""  # nothing before the first interval
    clock.now += 0.2
    bar.update(3, note="2 failed")
    clock.now += 1
    bar.update(4)
    clock.now += 5
    bar.advance()
    bar.close()
    assert out.getvalue().splitlines() == [
        "replaying: 3/10 (30%), 2 failed, 5s",
        "replaying: 5/10 (50%), 2 failed, 11s",
        "replaying: 5/10 (50%), 2 failed, 11s",
    ]


def test_short_work_on_a_plain_stream_writes_nothing() -> None:
    out = io.StringIO()
    with Progress("replaying", total=2, stream=out, every_s=5, clock=Clock()) as bar:
        bar.update(2)
    assert out.getvalue() == ""


def test_terminal_line_is_rewritten_in_place_and_ended_once() -> None:
    clock, out = Clock(), Terminal()
    with Progress("chaos: published", stream=out, clock=clock) as bar:
        bar.update(1)
        bar.update(2)  # within the refresh interval: not drawn
        clock.now += 0.3
        bar.update(3, total=40)
        progress.clear_line()  # a message is about to be printed
        out.write("chaos        | SIGKILL ingest\n")
        clock.now += 0.3
        bar.update(4)
    assert out.getvalue() == (
        f"{ERASE}chaos: published: 1, 0s"
        f"{ERASE}chaos: published: 3/40 (8%), 0s"
        f"{ERASE}chaos        | SIGKILL ingest\n"
        f"{ERASE}chaos: published: 4/40 (10%), 1s"
        f"{ERASE}chaos: published: 4/40 (10%), 1s\n"
    )
    assert progress._drawn is None  # closed: nothing left to erase


def test_default_stream_is_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    with Progress("bench", total=1, every_s=1, clock=clock) as bar:
        clock.now += 2
        bar.update(1)
    captured = capsys.readouterr()
    assert captured.out == "" and "bench: 1/1 (100%)" in captured.err


async def test_polled_reads_counters_while_the_work_runs() -> None:
    out, counter = io.StringIO(), {"n": 0}

    def poll(bar: Progress) -> None:
        bar.update(counter["n"], total=3)

    async with polled(Progress("load", stream=out, every_s=0.01), poll):
        for _ in range(3):
            counter["n"] += 1
            await asyncio.sleep(0.05)
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("load: 3/3 (100%)")
    assert len(lines) >= 2
