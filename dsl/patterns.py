"""The one regex engine for patterns users write and match against alert data: RE2 (``google-re2``).

Routing's ``{regex: ...}`` tests and the ``FN.regex_*`` functions (so also routing's ``when``) run a pattern a user
wrote against text an alert sender chose. Python's ``re`` backtracks: ``.*disk.*full.*`` on a 128K-character label
took 1.8 s, and a 1 MiB one about 110 s, with ingest's event loop blocked and no way to interrupt it. RE2 matches
in time linear in the text (times the pattern's size), whatever the pattern, so no alert can stall a matcher.

The price is syntax: RE2 has no backreferences (``\\1``, ``(?P=name)``), no lookaround (``(?=``, ``(?!``, ``(?<=``,
``(?<!``), no possessive or atomic groups, no ``\\Z`` (write ``\\z``), no ``(?x)``; ``\\d``, ``\\w``, ``\\s`` and
``\\b`` are ASCII-only (``\\pL``, ``\\p{Greek}`` name Unicode classes), and ``$`` without ``(?m)`` matches only at
the very end (Python's also before a final newline). ``compile_pattern`` refuses what RE2 cannot run with a
reason, so validation (routing file, ``alertmesh validate``) refuses such a pattern before it is ever used.

Fixed patterns inside the code (the expression tokenizer, the IOC extractors, durations) stay Python ``re``: they
are not user-written, and each is linear by construction (said where it is defined).
"""

from __future__ import annotations

import functools
import re
from typing import Any

import re2
from re2 import _re2

#: Longest pattern accepted: a longer one is almost certainly data pasted in by mistake, and RE2's compile time
#: and memory grow with it.
MAX_PATTERN = 1000
#: RE2's memory budget per compiled pattern, its program and its matching caches (RE2's default is 8 MiB): a pattern
#: whose program needs more is refused, and matching past the budget falls back to a slower, still linear, method.
#: With at most ``_CACHED`` patterns kept, the patterns alert data can name hold at most 512 MiB between them.
_MAX_MEM = 4 << 20
#: Compiled patterns kept (RE2's Python wrapper keeps the last 128 too, so this adds none beyond them).
_CACHED = 128
#: Lone surrogates (possible in a Python string decoded from JSON ``\\ud800``) cannot be encoded as UTF-8, which RE2
#: reads; they are matched as U+FFFD. A single character class: linear by construction.
_SURROGATE = re.compile("[\ud800-\udfff]")

#: Why RE2 refuses a construct, by a fragment of RE2's own error message.
_REASONS = (
    ("invalid escape sequence: \\Z", "RE2 writes the end of text as \\z, not \\Z"),
    ("invalid escape sequence: \\", "backreferences (\\1, \\g<1>) and this escape are not supported"),
    ("invalid perl operator: (?=", "lookahead (?=...) is not supported"),
    ("invalid perl operator: (?!", "negative lookahead (?!...) is not supported"),
    ("invalid perl operator: (?<=", "lookbehind (?<=...) is not supported"),
    ("invalid perl operator: (?<!", "negative lookbehind (?<!...) is not supported"),
    ("invalid perl operator: (?>", "atomic groups (?>...) are not supported"),
    ("bad repetition operator", "possessive or doubled repetition (a++, a*+, a**) is not supported"),
    ("pattern too large", f"the compiled pattern needs more than {_MAX_MEM >> 20} MiB (large counted repetitions)"),
    ("invalid repetition size", "a counted repetition is limited to {,1000}"),
)


class PatternError(ValueError):
    """A pattern RE2 cannot run; the message says why (and, for what RE2 leaves out, what to write instead)."""


class Pattern:
    """A compiled pattern: ``fullmatches`` for a yes/no test of a whole value (routing's hot path, without a match
    object), ``match``/``search``/``finditer`` with ``re``-like match objects (``group``, ``groups``, ``start``,
    ``end``, ``expand``)."""

    __slots__ = ("_both", "_regexp", "source")

    def __init__(self, source: str, regexp: Any, both: Any) -> None:
        self.source = source
        self._regexp = regexp
        self._both = both

    def fullmatches(self, text: str) -> bool:
        """Whether the whole of ``text`` matches (about 5 times faster than ``fullmatch``: no match object)."""
        try:
            encoded = text.encode()
        except UnicodeEncodeError:
            encoded = _SURROGATE.sub("\ufffd", text).encode()
        spans = self._both.Match(_re2.RE2.Anchor.ANCHOR_BOTH, encoded, 0, len(encoded))
        return bool(spans[0][0] != -1)

    def match(self, text: str) -> Any:
        """The match at the start of ``text``, or None."""
        return self._regexp.match(_encodable(text))

    def search(self, text: str) -> Any:
        """The first match anywhere in ``text``, or None."""
        return self._regexp.search(_encodable(text))

    def finditer(self, text: str) -> Any:
        """Every non-overlapping match in ``text``, in order (an iterator of match objects)."""
        return self._regexp.finditer(_encodable(text))

    def has_group(self, group: int | str) -> bool:
        """Whether the pattern has this group (a number, 0 the whole match, or a name)."""
        if isinstance(group, int):
            return 0 <= group <= int(self._regexp.groups)
        return group in self._regexp.groupindex

    def __repr__(self) -> str:
        return f"Pattern({self.source!r})"


def _encodable(text: str) -> str:
    """``text`` with lone surrogates as U+FFFD (one character each, so positions do not move)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is the caller's error to report, not a line on stderr
    options.max_mem = _MAX_MEM
    return options


@functools.lru_cache(maxsize=_CACHED)
def compile_pattern(source: str) -> Pattern:
    """``source`` compiled by RE2; ``PatternError`` (with the reason) when RE2 cannot run it. Cached: the
    ``FN.regex_*`` functions compile their pattern at every call."""
    if len(source) > MAX_PATTERN:
        raise PatternError(f"the pattern is longer than {MAX_PATTERN} characters")
    options = _options()
    try:
        regexp = re2.compile(source, options)
    except re2.error as error:
        raise PatternError(_reason(error, source)) from None
    except UnicodeEncodeError:
        raise PatternError("the pattern holds a lone surrogate (not valid Unicode)") from None
    # The wrapper's own RE2 object serves the yes/no path too (one compiled program per pattern, not two).
    return Pattern(source, regexp, regexp._regexp)


def _reason(error: Exception, source: str) -> str:
    raw = error.args[0] if error.args else ""
    message = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    if "(?P=" in source and "(?P" in message:  # RE2 reports only "invalid perl operator: (?P"
        return f"RE2 (linear-time matching) cannot run it: named backreferences (?P=name) are not supported ({message})"
    for fragment, reason in _REASONS:
        if fragment in message:
            return f"RE2 (linear-time matching) cannot run it: {reason} ({message})"
    return f"RE2 cannot compile it: {message}"
