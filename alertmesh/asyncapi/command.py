"""``alertmesh asyncapi [--check] [--output FILE]``: write the AsyncAPI document, or say whether it is current."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from alertmesh.asyncapi import generate, structure


def main(check: bool, output: Path | None) -> int:
    """Write the document (default ``asyncapi.yaml`` at the repository root), or with ``check`` compare it with
    the file; exit 1 when it is stale or its structure is wrong."""
    target = output or generate.DOCUMENT
    rendered = generate.render(target)
    found = structure.problems(yaml.safe_load(rendered), target.resolve().parent)
    for problem in found:
        print(f"alertmesh asyncapi: {problem}", file=sys.stderr)
    if found:
        return 1
    if check:
        if not target.is_file() or target.read_bytes() != rendered:
            print(f"alertmesh asyncapi: {target} is stale: run `alertmesh asyncapi` and commit it", file=sys.stderr)
            return 1
        print(f"{target} is current")
        return 0
    target.write_bytes(rendered)
    print(f"wrote {target}")
    return 0
