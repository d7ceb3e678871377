"""Parsers: raw bytes and Kafka headers in, normalized ``schemas.Alert`` objects out."""

from schemas.sources import SOURCE_HEADER
from services.ingest.parsers.errors import InvalidAlert, ParseError, RefusedAlert, TooManyAlerts
from services.ingest.parsers.registry import PARSERS, parse_alerts, parsers_for, read_alerts

__all__ = [
    "PARSERS",
    "SOURCE_HEADER",
    "InvalidAlert",
    "ParseError",
    "RefusedAlert",
    "TooManyAlerts",
    "parse_alerts",
    "parsers_for",
    "read_alerts",
]
