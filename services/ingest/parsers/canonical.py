"""One text per JSON value, whatever the order of its keys: what identities (fingerprints) are hashed from."""

from __future__ import annotations

import json
from typing import Any

import orjson


def canonical_json(value: Any) -> str | None:
    """``value`` as compact JSON with sorted keys; None when even the standard library cannot write it (nested past
    Python's recursion limit), so the caller falls back to an identity that cannot merge it with anything else."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:  # nested past orjson's 255 levels, or an integer past 64 bits
        try:
            return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        except (RecursionError, ValueError, TypeError):
            return None
