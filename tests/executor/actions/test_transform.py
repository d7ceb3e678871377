"""``core.transform.reshape`` returns the value it is given."""

from __future__ import annotations

import pytest

from services.executor.actions import InvalidArguments, get_action
from services.executor.actions.transform import ReshapeArgs, reshape


@pytest.mark.parametrize("value", [{"a": [1, {"b": None}]}, [1, "two"], "text", 3.5, None, True])
def test_reshape_returns_value(value: object) -> None:
    assert reshape(ReshapeArgs(value=value)) == value


def test_reshape_needs_value() -> None:
    with pytest.raises(InvalidArguments, match="value: Field required"):
        get_action("core.transform.reshape").parse_args({})
