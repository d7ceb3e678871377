"""The Docker build context as Docker sees it: what the Dockerfile's ``COPY``/``ADD`` lines take from it, and
what ``.dockerignore`` keeps out of it (Docker's own rules), so tests can check one against the other."""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath

from tests.checkout import checkout_files

REPO = Path(__file__).resolve().parents[2]


def copy_sources(dockerfile: str) -> list[str]:
    """The build-context paths of every ``COPY``/``ADD`` (shell or JSON form, flags skipped), as written.
    ``--from`` copies come from another stage or image, not the context, and URLs are downloaded: neither is
    listed."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    sources: list[str] = []
    for line in joined.splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) != 2 or parts[0].upper() not in {"COPY", "ADD"}:
            continue
        rest = parts[1].strip()
        flags: list[str] = []
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            flags.append(flag)
            rest = rest.strip()
        if any(flag.startswith("--from=") for flag in flags):
            continue
        words = json.loads(rest) if rest.startswith("[") else rest.split()
        sources += [word for word in words[:-1] if "://" not in word and not word.startswith("git@")]
    return sources


def copied_paths() -> list[str]:
    """The Dockerfile's context sources, normalized the way Docker resolves them (relative to the context root)."""
    dockerfile = (REPO / "Dockerfile").read_text()
    return [str(PurePosixPath("/", source)).lstrip("/") or "." for source in copy_sources(dockerfile)]


def dockerignore_patterns(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """``(excludes, regex)`` per pattern, in order, as Docker reads the file: ``#`` lines are comments, a leading
    ``!`` re-includes, patterns are cleaned paths relative to the context (a leading or trailing ``/`` is
    dropped); ``*`` and ``?`` never match ``/``, ``**`` matches any number of folders, ``[...]`` is a class."""
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        excludes = not line.startswith("!")
        pattern = line if excludes else line[1:].strip()
        pattern = str(PurePosixPath("/", pattern)).lstrip("/") or "."
        patterns.append((excludes, re.compile(_regex(pattern))))
    return patterns


def _regex(pattern: str) -> str:
    out, i = "^", 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1  # "**/" is "**": any folders, or none
            out += ".*" if i == len(pattern) else "(.*/)?"
            continue
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = pattern.find("]", i + 1)
            assert end > i, f"unclosed class in .dockerignore pattern {pattern!r}"
            body = pattern[i + 1 : end]
            out += "[" + ("^" + body[1:] if body.startswith("^") else body) + "]"
            i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(char)
        i += 1
    return out + "$"


def excluded(path: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether ``path`` stays out of the build context: a pattern applies when it matches the path or one of its
    parent folders, and the last pattern that applies decides."""
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for excludes, regex in patterns:
        if any(regex.match(candidate) for candidate in candidates):
            result = excludes
    return result


def files_under(source: str) -> list[str]:
    """The repository files a COPY source names: the file itself, or every file under the folder (a source may
    be a glob; ``*`` and ``?`` then match within one path segment, as in Docker)."""
    if source == ".":
        return list(checkout_files())
    regex = re.compile(_regex(source).removesuffix("$") + "(/.*)?$")
    return [path for path in checkout_files() if regex.match(path)]


def context_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    return dockerignore_patterns((REPO / ".dockerignore").read_text())
