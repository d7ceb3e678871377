"""A route's threshold: trigger only once an alert has been seen ``occurrences`` times within ``within``::

    threshold: {occurrences: 3, within: 10m}            # page only after 3 in 10 minutes
    threshold: {occurrences: 5, within: 300, per: group} # 5 alerts of one group (needs group_by) in 300 s

``per: fingerprint`` (the default) counts one alert (its source and fingerprint) on this route, ``per: group`` the
alerts of one group (the route's ``group_by`` values). The counting itself is ``services.ingest.noise.counting``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from dsl.durations import Seconds

__all__ = ["MAX_OCCURRENCES", "MIN_OCCURRENCES", "Threshold", "duration_seconds"]

#: Two at least (one is no threshold); at most 10,000, which bounds the timestamps kept per counted key.
MIN_OCCURRENCES, MAX_OCCURRENCES = 2, 10_000
#: Prometheus's durations as Alertmanager writes them (``10m``, ``1h30m``, ``1d``, ``500ms``): units in this
#: order, each at most once. Fixed and linear on text of at most 64 characters: stays ``re``.
_DURATION = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)


def duration_seconds(value: object) -> object:
    """A duration as seconds: a number is seconds already; a text is a Prometheus duration (``10m``, ``1h30m``).
    Anything else is left for the number check to refuse."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    found = _DURATION.fullmatch(text) if 0 < len(text) <= 64 else None
    if found is None or not any(found.groups()):
        raise PydanticCustomError(
            "duration", "{text}", {"text": f"{value!r} is not a duration: write seconds (600) or like 10m, 1h30m, 1d"}
        )
    return sum(int(amount) * unit for amount, unit in zip(found.groups(), _UNITS, strict=True) if amount)


#: Seconds, from a number or a Prometheus duration text; finite and at most 366 days (``dsl.durations``).
Duration = Annotated[Seconds, BeforeValidator(duration_seconds)]


class Threshold(BaseModel):
    """Trigger only from the ``occurrences``-th time an alert (or a group's alerts) is seen within ``within``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    occurrences: int = Field(ge=MIN_OCCURRENCES, le=MAX_OCCURRENCES, strict=True)
    within: Duration = Field(gt=0)
    per: Literal["fingerprint", "group"] = "fingerprint"

    @property
    def within_ms(self) -> float:
        """``within`` in milliseconds (record times are)."""
        return self.within * 1000

    def describe(self) -> str:
        """``3 occurrences within 600s per fingerprint``: for ``alertmesh route`` and logs."""
        return f"{self.occurrences} occurrences within {self.within:g}s per {self.per}"
