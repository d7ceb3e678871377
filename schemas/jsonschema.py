"""The checked-in JSON Schema files, one per event type: ``alertmesh schemas`` rewrites them (``--check``: are they
current)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import orjson

from schemas import EVENTS

# A path, not a resource handle: ``main`` rewrites the files in a checkout; an install reads them (package data).
DIRECTORY = Path(str(files("schemas"))) / "json"


def render(event_type: str) -> bytes:
    """The schema file's exact bytes for one event type."""
    schema = EVENTS[event_type].model_json_schema(mode="serialization")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": event_type, **schema}
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def path_for(event_type: str) -> Path:
    """The checked-in schema file of one event type."""
    return DIRECTORY / f"{event_type}.json"
