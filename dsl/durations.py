"""Durations users write in seconds (timeouts, retry intervals, timers, grouping windows): finite and at most a year.

YAML reads ``.inf`` and ``1e15`` as numbers, and a definition carrying one used to validate, then fail its workflow
task forever: Temporal cannot express the timer or timeout (its protobuf durations stop at 10,000 years, and a
Python ``timedelta`` at 999,999,999 days). A year is far beyond any sensible alert workflow and far within what
Temporal and Python take, so every duration-like key is refused above it, and below zero, at ``file:line:col``.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AfterValidator

#: The longest duration any key takes: 366 days, in seconds.
MAX_SECONDS = 366 * 24 * 3600
#: The largest backoff coefficient: larger ones reach ``maximum_interval`` after one retry anyway, and an unbounded
#: one overflows a float (``coefficient ** attempt``).
MAX_BACKOFF = 100.0


def check_seconds(value: float) -> float:
    """``value`` if it is a finite, non-negative number of seconds no longer than ``MAX_SECONDS``."""
    if not math.isfinite(value):
        raise ValueError(f"a duration must be a finite number of seconds (at most {MAX_SECONDS}, 366 days)")
    if value < 0:
        raise ValueError("a duration cannot be negative")
    if value > MAX_SECONDS:
        raise ValueError(f"a duration must be at most {MAX_SECONDS} seconds (366 days), not {value:g}")
    return value


#: A duration key's type: seconds, finite, 0 to ``MAX_SECONDS`` (a key may also refuse 0 with ``Field(gt=0)``).
Seconds = Annotated[float, AfterValidator(check_seconds)]
