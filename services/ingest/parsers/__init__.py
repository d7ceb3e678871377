"""Parsers: raw bytes and Kafka headers in, normalized ``schemas.Alert`` objects out."""

from services.ingest.parsers.errors import InvalidAlert, ParseError
from services.ingest.parsers.registry import PARSERS, SOURCE_HEADER, parse_alerts

__all__ = ["PARSERS", "SOURCE_HEADER", "InvalidAlert", "ParseError", "parse_alerts"]
