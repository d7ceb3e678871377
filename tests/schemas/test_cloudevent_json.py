"""``CloudEvent.to_json`` writes exactly what ``orjson.dumps(event.model_dump(mode="json", exclude_none=True))``
wrote before it took pydantic's faster serializer: the same bytes, or the same error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.alert import Alert
from schemas.trigger import Trigger, WorkflowTrigger
from tests.shared.strategies import FUZZ, TEXT, nested

#: Integers on both sides of what orjson writes (-(2**63) to 2**64 - 1), and strings holding long digit runs.
WIDE_INT = st.integers(-(2**70), 2**70) | st.sampled_from([2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**19])
LEAF = (
    st.none() | st.booleans() | WIDE_INT | st.floats() | TEXT
    | st.text(st.characters(codec="utf-8"), max_size=30) | st.from_regex(r"[0-9]{15,25}", fullmatch=True)
)  # fmt: skip
VALUES = st.recursive(LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3))


def _event(payload: dict[str, Any], inputs: dict[str, Any] | None = None) -> WorkflowTrigger:
    alert = Alert(source="s", format="f", status="firing", name="n", fingerprint="x", payload=payload)
    data = Trigger(workflow="w", idempotency_key="k", route="r", inputs=inputs or {}, alert=alert)
    return WorkflowTrigger(id="i", source="alertmesh/ingest", time=datetime(2026, 1, 2, tzinfo=UTC), correlationid="c",
                           data=data)  # fmt: skip


def _original(event: WorkflowTrigger) -> bytes | type[BaseException]:
    try:
        return orjson.dumps(event.model_dump(mode="json", exclude_none=True))
    except Exception as error:
        return type(error)


def _written(event: WorkflowTrigger) -> bytes | type[BaseException]:
    try:
        return event.to_json()
    except Exception as error:
        return type(error)


@FUZZ
@given(payload=st.dictionaries(TEXT, VALUES, max_size=4), inputs=st.dictionaries(TEXT, VALUES, max_size=2))
def test_the_same_bytes_or_the_same_error_as_before(payload: dict[str, Any], inputs: dict[str, Any]) -> None:
    event = _event(payload, inputs)
    assert _written(event) == _original(event)


@pytest.mark.parametrize(
    "payload",
    [
        {"big": 2**64},  # orjson refuses it; pydantic alone would write it
        {"small": -(2**63) - 1},
        {"route input": [1, {"n": 10**30}]},
        {"lone surrogate": "\ud800"},  # neither can write it
        {"deep": nested(300)},
    ],
)
def test_what_orjson_refused_is_still_refused(payload: dict[str, Any]) -> None:
    event = _event(payload)
    original = _original(event)
    assert isinstance(original, type)
    with pytest.raises(original):
        event.to_json()


def test_integers_orjson_writes_are_written_fast_and_the_same() -> None:
    event = _event({"edges": [2**64 - 1, -(2**63), 0], "id": "123456789012345678"})
    assert event.to_json() == orjson.dumps(event.model_dump(mode="json", exclude_none=True))
    assert WorkflowTrigger.from_json(event.to_json()) == event
