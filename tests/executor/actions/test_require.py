"""``core.require``: all named conditions must hold; the failure names the first that does not."""

from __future__ import annotations

import re
from typing import Any

import pytest

from services.executor.actions import get_action
from services.executor.actions.require import RequirementFailed


def require(**raw: Any) -> Any:
    spec = get_action("core.require")
    return spec.func(spec.parse_args(raw))


def test_every_condition_holds() -> None:
    assert require(conditions={"has_ip": ["10.0.0.1"], "critical": True}) == {"held": ["has_ip", "critical"]}
    listed = [{"name": "one", "value": 1}, {"name": "text", "value": "x"}]
    assert require(conditions=listed) == {"held": ["one", "text"]}


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"has_ip": [], "critical": False}, "condition 'has_ip' did not hold (it is a falsy list)"),
        ([{"name": "ok", "value": 1}, {"name": "owner", "value": None}], "condition 'owner' did not hold"),
        ({"s": "", "t": 0}, "condition 's' did not hold (it is a falsy string)"),
    ],
)
def test_the_first_falsy_condition_is_named(conditions: Any, message: str) -> None:
    with pytest.raises(RequirementFailed, match=re.escape(message)):
        require(conditions=conditions)


def test_the_message_is_added_and_the_action_is_pure() -> None:
    with pytest.raises(RequirementFailed, match=r"did not hold \(it is a falsy boolean\): need a critical alert$"):
        require(conditions={"critical": False}, message="need a critical alert")
    assert get_action("core.require").pure
