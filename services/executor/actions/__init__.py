"""The action library. Importing this package registers every built-in action (``core.*``)."""

from services.executor.actions import http, http_poll, kafka, require, text, transform
from services.executor.actions.registry import (
    ENTRY_POINT_GROUP,
    ActionPluginError,
    ActionSpec,
    InvalidArguments,
    UnknownAction,
    action,
    action_names,
    describe_actions,
    get_action,
    is_pure,
    load_plugins,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "ActionPluginError",
    "ActionSpec",
    "InvalidArguments",
    "UnknownAction",
    "action",
    "action_names",
    "describe_actions",
    "get_action",
    "http",
    "http_poll",
    "is_pure",
    "kafka",
    "load_plugins",
    "require",
    "text",
    "transform",
]
