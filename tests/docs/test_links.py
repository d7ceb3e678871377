"""Every link in the documentation leads somewhere inside the repository, to a heading that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.markdown_files import ALL_PAGES, HAND_WRITTEN, REPO, anchors, links

PAGE_IDS = [str(page.relative_to(REPO)) for page in ALL_PAGES]


def _problems(page: Path, root: Path = REPO) -> list[str]:
    problems = []
    for target in links(page):
        if re.match(r"^[a-z]+:", target):  # http:, https:, mailto: lead outside on purpose
            continue
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        if root.resolve() not in [destination, *destination.parents]:
            problems.append(f"{target}: outside the repository")
            continue
        if not destination.exists():
            problems.append(f"{target}: no such file")
            continue
        if anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            problems.append(f"{target}: no heading with the anchor #{anchor} in {destination.relative_to(root)}")
    return problems


@pytest.mark.parametrize("page", ALL_PAGES, ids=PAGE_IDS)
def test_every_link_resolves(page: Path) -> None:
    assert _problems(page) == []


def test_the_link_check_catches_a_broken_file_an_anchor_and_an_escape(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "routing.md").write_text("# Routing\n\n## The routing file\n", encoding="utf-8")
    page = root / "docs" / "page.md"
    page.write_text(
        "[a](routing.md#no-such-heading) [b](missing.md) [c](../../outside.md) [d](routing.md#the-routing-file)\n"
        "`[not a link](nowhere.md)` [web](https://example.org)\n\n```\n[in a block](nowhere.md)\n```\n",
        encoding="utf-8",
    )
    assert _problems(page, root) == [
        "routing.md#no-such-heading: no heading with the anchor #no-such-heading in docs/routing.md",
        "missing.md: no such file",
        "../../outside.md: outside the repository",
    ]


def test_links_are_found_in_the_manual() -> None:
    # Guards the check itself: a parser that found no links would pass every page.
    assert "docs/sources.md" in links(REPO / "README.md")
    assert "reference/environment.md" in links(REPO / "docs" / "deployment.md")


@pytest.mark.parametrize("page", HAND_WRITTEN, ids=[str(page.relative_to(REPO)) for page in HAND_WRITTEN])
def test_no_page_names_where_the_repository_sits_on_this_machine(page: Path) -> None:
    # Documentation is read anywhere: a path from the machine it was written on (the checkout or anything beside
    # it) means nothing to a reader. Links are checked above; this catches paths written as text or in examples.
    text = page.read_text(encoding="utf-8")
    for place in {REPO.resolve().parent, REPO.parent}:
        assert f"{place}/" not in text, f"{page.relative_to(REPO)} names a path on this machine"
