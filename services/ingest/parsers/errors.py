"""The one error every parser raises, so the pipeline can dead-letter bad input with a precise reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


class ParseError(ValueError):
    """Input that cannot become alerts; ``reason`` says exactly what is wrong, for a human to fix it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TooManyAlerts(ParseError):
    """The message carries more alerts than ingest takes from one record (``INGEST_MAX_ALERTS_PER_RECORD``); found
    before any of them is normalized, so refusing a flood costs little."""


class InvalidAlert(ParseError):
    """The input is a format ingest reads, but an alert in it breaks the Alert contract (stage ``validate``)."""


@dataclass(frozen=True)
class RefusedAlert:
    """One alert of a message that cannot become an alert, while its neighbours do: a group (Alertmanager,
    Grafana, a field map's ``each``) is a bundle of independent alerts, and one without ``alertname`` must not sink
    the valid critical one beside it. ``index`` is its place in the message's list."""

    index: int
    reason: str
    #: ``parse`` (the element is not an alert of this format), ``validate`` (it breaks the Alert contract).
    stage: Literal["parse", "validate"] = "parse"
    #: The element as the sender wrote it (decoded JSON), for its own dead letter; None when not known.
    element: Any = field(default=None, compare=False, repr=False)
