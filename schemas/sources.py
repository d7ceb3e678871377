"""Source names: the webhook path's ``{source}``, a credentials file's and a field map's source keys.

A source name becomes ``Alert.source`` and part of every idempotency key (``schemas.identity``), so every place
that accepts one (the webhook, the credentials file, field maps) checks it against the same rule.
"""

from __future__ import annotations

import re

#: Keep it tame: it is a URL path segment, a metric label value and part of workflow ids.
SOURCE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

#: Header the webhook bridge sets to the path's ``{source}`` (any producer may set it too); it overrides what the
#: parser inferred, and it chooses the field map of a source that has one.
SOURCE_HEADER = "alertmesh-source"
