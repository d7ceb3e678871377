"""Parsers: raw bytes and Kafka headers in, normalized ``schemas.Alert`` objects out."""

from services.ingest.parsers.errors import ParseError
from services.ingest.parsers.registry import PARSERS, SOURCE_HEADER, parse_alerts

__all__ = ["PARSERS", "SOURCE_HEADER", "ParseError", "parse_alerts"]
