"""``alertmesh actions``: the actions this installation offers (built-in and from installed packages), with what
each does and its arguments, as text or as JSON (for editors, docs and tooling)."""

from __future__ import annotations

import argparse
import json
from typing import Any

NAME = "actions"
HELP = "list the actions workflows can use, with their arguments"
NEEDS_SETUP = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="as JSON: name, description, pure, args JSON Schema")


def _type(schema: dict[str, Any]) -> str:
    if "type" in schema:
        kind = schema["type"]
        return "|".join(kind) if isinstance(kind, list) else str(kind)
    if "enum" in schema:
        return "|".join(json.dumps(value) for value in schema["enum"])
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return "|".join(_type(option) for option in options)
    return "any"


def render_text(actions: list[dict[str, Any]]) -> str:
    """One block per action: its name (and whether it is pure), its description, then each argument."""
    blocks = []
    for entry in actions:
        lines = [f"{entry['name']}{'  (pure)' if entry['pure'] else ''}", f"  {entry['description']}"]
        schema = entry["args"]
        required = set(schema.get("required", []))
        for name, field in schema.get("properties", {}).items():
            if name in required:
                default = "required"
            else:
                default = f"default {json.dumps(field['default'])}" if "default" in field else "optional"
            described = f" - {field['description']}" if field.get("description") else ""
            lines.append(f"    {name}: {_type(field)} ({default}){described}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def run(args: argparse.Namespace) -> int:
    """Print the catalog; 0."""
    from services.executor.actions import describe_actions

    actions = describe_actions()
    print(json.dumps(actions, indent=2) if args.json else render_text(actions))
    return 0
