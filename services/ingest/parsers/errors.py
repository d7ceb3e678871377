"""The one error every parser raises, so the pipeline can dead-letter bad input with a precise reason."""

from __future__ import annotations


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
