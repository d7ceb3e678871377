"""The checked-in JSON Schema files, one per event type: ``python -m schemas.jsonschema`` rewrites them."""

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


def main() -> None:
    DIRECTORY.mkdir(exist_ok=True)
    for event_type in EVENTS:
        path_for(event_type).write_bytes(render(event_type))
        print(f"wrote {path_for(event_type)}")


if __name__ == "__main__":
    main()
