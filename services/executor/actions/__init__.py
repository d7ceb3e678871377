"""The action library. Importing this package registers every built-in action (``core.*``)."""

from services.executor.actions import http, text, transform
from services.executor.actions.registry import (
    ActionSpec,
    InvalidArguments,
    UnknownAction,
    action,
    action_names,
    get_action,
    is_pure,
)

__all__ = [
    "ActionSpec",
    "InvalidArguments",
    "UnknownAction",
    "action",
    "action_names",
    "get_action",
    "http",
    "is_pure",
    "text",
    "transform",
]
