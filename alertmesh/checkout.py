"""Where the commands that write the project's generated files (``asyncapi``, ``docs``, ``bench``) put them.

Run from a checkout, the packages sit beside ``pyproject.toml`` and the files belong there. An installed copy's
packages sit in site-packages, which no command may write into: there the files go to the working directory.
"""

from __future__ import annotations

from pathlib import Path

#: The folder holding the packages: a checkout's root, or site-packages in an installed copy.
PACKAGES_ROOT = Path(__file__).resolve().parent.parent


def is_checkout() -> bool:
    """Whether alertmesh runs from a checkout (its ``pyproject.toml`` beside the packages)."""
    return (PACKAGES_ROOT / "pyproject.toml").is_file()


def output_root() -> Path:
    """The checkout's root, or the working directory for an installed copy."""
    return PACKAGES_ROOT if is_checkout() else Path.cwd()
