"""What a parser is: one module per input format, registered in ``registry.PARSERS``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from schemas.alert import Alert
from services.ingest.parsers.errors import RefusedAlert


class Parser(Protocol):
    """Turns one decoded JSON document (plus its Kafka headers) into normalized alerts.

    The document is what the body decodes to: a JSON object (most formats) or a JSON array (Prometheus's
    postable alerts, a CloudEvents batch); ``accepts`` checks which before reading it.

    ``accepts`` must be cheap and must not raise: it only says whether the document is this parser's format.
    ``parse`` raises ``ParseError`` with a precise reason when the document is that format but invalid.
    """

    #: The value parsed alerts carry in ``Alert.format``, e.g. 'alertmanager.v4'.
    format: str

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """Whether ``document`` is this parser's format; cheap, and never raises."""

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """How many alerts ``parse`` would give for an accepted ``document``, read without normalizing any (cheap),
        so a message over the per-record limit is refused before it costs anything; 1 when it cannot tell."""

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """The normalized alerts of ``document`` (at least one); ``ParseError`` naming what is invalid."""
