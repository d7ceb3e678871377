"""The generated reference pages under ``docs/reference/``: what the code already knows, written down.

``write`` writes every page, ``check`` names the checked-in pages that differ from what the code gives now (a test
runs it), and ``main`` is the command behind ``alertmesh docs [--check]``. Each page is rendered from one source:
the ``FN.*`` functions from the function registry's docstrings, the actions from the executor's action registry
and their arguments models, the environment variables from every settings class.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from alertmesh.checkout import PACKAGES_ROOT, output_root
from alertmesh.reference import actions, functions, settings

#: The folder holding the packages: the settings classes are found in their source.
SOURCE_ROOT = PACKAGES_ROOT

#: Where the pages live in the repository (an installed copy writes them under the working directory).
DEFAULT_OUT_DIR = output_root() / "docs" / "reference"

#: The command that writes the pages again, for every message that says a page is stale.
REGENERATE = "alertmesh docs"

#: Each page's file name and how it is rendered.
PAGES: dict[str, Callable[[], str]] = {
    "functions.md": functions.render,
    "actions.md": actions.render,
    "environment.md": lambda: settings.render(SOURCE_ROOT),
}


def render_all() -> dict[str, str]:
    """Every page's Markdown by file name."""
    return {name: render() for name, render in PAGES.items()}


def write(out_dir: Path) -> list[Path]:
    """Write every page into ``out_dir`` (made if missing); the paths written, in page order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_all().items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def check(out_dir: Path) -> list[str]:
    """The pages in ``out_dir`` that are missing or differ from what the code gives now (file names; empty when
    every page is current)."""
    return stale_pages(out_dir)


def stale_pages(out_dir: Path) -> list[str]:
    """``check`` under a name ``main``'s ``check`` flag does not hide."""
    stale = []
    for name, text in render_all().items():
        path = out_dir / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale


def main(check: bool, out_dir: Path | None) -> int:
    """``alertmesh docs``: write the pages (exit 0), or with ``check`` exit 1 naming each stale page."""
    target = out_dir if out_dir is not None else DEFAULT_OUT_DIR
    if check:
        stale = stale_pages(target)
        for name in stale:
            print(f"{target / name} is not current: run `{REGENERATE}` and commit the result", file=sys.stderr)
        return 1 if stale else 0
    for path in write(target):
        print(path)
    return 0
