"""How ``alertmesh silence list`` prints silences: a table on a terminal or a JSON array (Alertmanager's
``gettableSilence``). Every field is operator input (matchers, author, comment): each is escaped
(``alertmesh.views.safe_text``) so none can move the cursor or rewrite the screen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import orjson

from alertmesh.views.safe_text import escape, escape_json
from schemas.silence import Silence
from services.shared.matchers import text
from services.webhook.alertmanager.shapes import gettable_silence

HEADER = ("ID", "STATE", "MATCHERS", "STARTS", "ENDS", "AUTHOR", "COMMENT")
#: A comment longer than this is cut in the table (``--json`` has it whole).
COMMENT_WIDTH = 60


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def row(silence: Silence, now: datetime) -> tuple[str, ...]:
    """One silence's cells, escaped."""
    comment = silence.comment if len(silence.comment) <= COMMENT_WIDTH else silence.comment[: COMMENT_WIDTH - 1] + "…"
    cells = (silence.id, silence.state(now), text(silence.matchers), _when(silence.starts_at),
             _when(silence.ends_at), silence.created_by, comment)  # fmt: skip
    return tuple(escape(cell) for cell in cells)


def table(silences: Sequence[Silence], now: datetime) -> str:
    """An aligned table, or a line saying there are none."""
    if not silences:
        return "no silences"
    rows = [HEADER, *(row(silence, now) for silence in silences)]
    widths = [max(len(cells[column]) for cells in rows) for column in range(len(HEADER))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip() for cells in rows
    )


def json_text(silences: Sequence[Silence], now: datetime) -> str:
    """A JSON array of ``gettableSilence``, with nothing a terminal acts on."""
    return escape_json(orjson.dumps([gettable_silence(silence, now) for silence in silences]).decode())
