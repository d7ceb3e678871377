"""Reading the repository's Markdown for the docs tests: which pages, their fenced blocks, links and headings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
DOCS = REPO / "docs"
EXAMPLES = DOCS / "examples"
REFERENCE = DOCS / "reference"

#: The hand-written pages: the front page, the top-level documents and the manual (generated pages excluded).
HAND_WRITTEN = sorted(
    [
        REPO / "README.md",
        REPO / "ARCHITECTURE.md",
        REPO / "RELIABILITY.md",
        REPO / "BENCHMARKS.md",
        REPO / "deploy" / "README.md",
        *(path for path in DOCS.rglob("*.md") if REFERENCE not in path.parents),
    ]
)

#: Every page whose links must resolve: the hand-written ones and the generated reference.
ALL_PAGES = sorted([*HAND_WRITTEN, *REFERENCE.glob("*.md")])

EXAMPLE_MARKER = re.compile(r"^<!-- example: (?P<path>\S+) -->$")
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")
LINK = re.compile(r"(?<!!)\[(?:[^\]\[]|\[[^\]]*\])*\]\((?P<target>[^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6}) +(?P<text>.+?) *#*$")
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


@dataclass(frozen=True)
class Block:
    """A fenced code block: its page, the line its fence opens on, its language, its text and its example marker."""

    page: Path
    line: int
    lang: str
    text: str
    example: str | None

    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page``, with the example file the line right above it names (if any)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        marker = EXAMPLE_MARKER.match(lines[index - 1]) if index else None
        body = "\n".join(lines[index + 1 : end]) + "\n"
        found.append(Block(page, index + 1, opening["lang"], body, marker["path"] if marker else None))
        index = end + 1
    return found


def prose(page: Path) -> str:
    """``page`` without its fenced blocks and HTML comments: where links and headings are."""
    lines = page.read_text(encoding="utf-8").splitlines()
    kept = []
    inside = False
    for line in lines:
        if FENCE.match(line) or (inside and line.strip() == "```"):
            inside = not inside
            continue
        if not inside:
            kept.append(line)
    return COMMENT.sub("", "\n".join(kept))


def links(page: Path) -> list[str]:
    """Every Markdown link target in ``page``'s prose (inline code spans removed first)."""
    text = re.sub(r"`[^`\n]*`", "", prose(page))
    return [match["target"] for match in LINK.finditer(text)]


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"`", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor ``page`` has: its headings' slugs (a repeated one gets ``-1``, ``-2``...)."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose(page).splitlines():
        heading = HEADING.match(line)
        if not heading:
            continue
        base = slug(heading["text"])
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found
