"""The checked-in JSON Schema files, one per event type: ``alertmesh schemas`` rewrites them (``--check``: are they
current)."""

from __future__ import annotations

from pathlib import Path

import orjson

from schemas import EVENTS

DIRECTORY = Path(__file__).parent / "json"


def render(event_type: str) -> bytes:
    """The schema file's exact bytes for one event type."""
    schema = EVENTS[event_type].model_json_schema(mode="serialization")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": event_type, **schema}
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def path_for(event_type: str) -> Path:
    return DIRECTORY / f"{event_type}.json"
