"""The checkout as a clean clone would hold it: the files the Docker build context and the wheel are made from."""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@cache
def checkout_files() -> tuple[str, ...]:
    """The files of the checkout git knows (tracked, or new and not ignored), as paths relative to it."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    return tuple(path for path in listed if (REPO / path).is_file())
