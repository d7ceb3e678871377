"""The functions expressions call as ``FN.<name>(...)``, by theme; ``FUNCTIONS`` maps each name to its entry.

Every function is pure, checks its argument types (a TemplateError naming the function on misuse), returns a
JSON value, and caps what it builds (``limits``).
"""

from __future__ import annotations

from dsl.functions import casts, collection, dates, encoding, ioc, network, regex, strings
from dsl.functions.registry import FUNCTIONS, Function

__all__ = ["FUNCTIONS", "Function", "casts", "collection", "dates", "encoding", "ioc", "network", "regex", "strings"]
