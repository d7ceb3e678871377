"""Checking YAML text as the loader does, returning ``file:line:col: message`` lines relative to a folder."""

from __future__ import annotations

import textwrap
from pathlib import Path

from dsl.loader import check_files
from services.executor.catalog import action_catalog


def problems(folder: Path, text: str, *others: str, closed: bool = False) -> list[str]:
    """The problem lines of ``text`` (as ``w.yaml``) checked with ``others`` (``o0.yaml``...); a set of several
    files, or ``closed``, resolves the workflow names it uses."""
    paths = [folder / "w.yaml", *(folder / f"o{i}.yaml" for i in range(len(others)))]
    for path, content in zip(paths, (text, *others), strict=True):
        path.write_text(textwrap.dedent(content))
    report = check_files(paths, closed=closed or bool(others), catalog=action_catalog)
    return [line.removeprefix(f"{folder}/") for line in report.lines]
