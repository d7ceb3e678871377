"""Text from data made safe to print: every control character shown as an escape instead of being sent to the
terminal.

Dead-letter reasons quote keys and values of the alert that failed, span attributes and result errors come from
alerts and the services they reached: any of them may hold an escape sequence (which can rewrite the screen,
the window title or the clipboard), a carriage return or backspace (which hide what was printed before), a bidi
override (which shows text in another order than it is) or a line separator. Every command that prints data
(``dlq``, ``status``, ``trace``) passes it through here.
"""

from __future__ import annotations

import re

#: C0, DEL, C1, the bidi embeddings, overrides, isolates and marks, and the Unicode line and paragraph separators.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_CONTROL_BUT_NEWLINE = re.compile(CONTROL.pattern.replace("\x00-\x1f", "\x00-\x09\x0b-\x1f"))


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def escape(text: str) -> str:
    """``text`` with every control character (newlines too) written as ``\\xNN`` or ``\\uNNNN``: one cell, one line."""
    return CONTROL.sub(_shown, text)


def escape_lines(text: str) -> str:
    """``text`` made of lines the command wrote: newlines kept, every other control character escaped."""
    return _CONTROL_BUT_NEWLINE.sub(_shown, text)


def escape_json(text: str) -> str:
    """JSON text (one document, or JSON lines) with every control character but the newlines between documents
    written as a ``\\uNNNN`` escape: the same JSON values, with nothing a terminal acts on. (Outside strings JSON
    holds no such character, and a JSON encoder already escapes C0 ones inside them.)"""
    return _CONTROL_BUT_NEWLINE.sub(_json_escape, text)
