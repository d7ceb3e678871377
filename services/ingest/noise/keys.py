"""Bounded state keys: every part of a noise-control key that comes from the input (fingerprint, source, route
name, a group's members) is kept as it is when short and printable, else replaced by its SHA-256.

Keys are kept in memory per partition and written to the state topic with every entry: a 400 KB fingerprint made
a 1.2 MB state entry that Kafka refused, and the batch was read again forever. Hashing rather than refusing: a
long fingerprint is a sender's quirk, not poison, and its hash identifies the alert just as well (two distinct
parts share a key only on a SHA-256 collision). A part that already looks hashed is hashed again, so a sender
cannot pose as another alert's hash.
"""

from __future__ import annotations

import hashlib

#: Longest key part kept as it is (characters); longer ones are hashed.
MAX_KEY_PART_CHARS = 128
#: How a hashed part begins, followed by 40 hex digits of its SHA-256 (160 bits).
HASHED = "sha256:"


def key_part(text: str) -> str:
    """``text`` when at most ``MAX_KEY_PART_CHARS`` printable characters, else ``sha256:<40 hex digits>``."""
    if len(text) <= MAX_KEY_PART_CHARS and text.isprintable() and not text.startswith(HASHED):
        return text
    return HASHED + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]
