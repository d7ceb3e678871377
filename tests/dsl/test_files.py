"""``dsl.files``: the one loader and the one error of every file a user writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

from dsl.files import OFFSET, PROBLEMS, ConfigFileError, Invalid, count_problems, load_file, load_text
from dsl.problems import Problem

FILE = Path("f.yaml")


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: int
    word: str = "x"

    @field_validator("word")
    @classmethod
    def _no_spaces(cls, word: str) -> str:
        if " " in word:
            # Where inside the string the problem is: dsl.files points at that character.
            raise PydanticCustomError("spaces", "no spaces", {OFFSET: word.index(" ")})
        return word


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[Entry]
    tags: dict[str, Any] = {}

    @field_validator("tags")
    @classmethod
    def _lower_tags(cls, tags: dict[str, Any]) -> dict[str, Any]:
        wrong = [((name,), f"tag {name!r} must be lower case", True) for name in tags if name != name.lower()]
        if wrong:
            raise PydanticCustomError("tags", "{text}", {"text": "tags", PROBLEMS: wrong})
        return tags


class FileOfWords(ConfigFileError):
    headline = "invalid words file"


def test_the_count_of_problems() -> None:
    assert [count_problems(n) for n in (0, 1, 2)] == ["0 problems", "1 problem", "2 problems"]


def test_the_error_lists_every_problem_under_its_headline() -> None:
    error = FileOfWords(["f.yaml:1:1: a", "f.yaml:2:1: b"])
    assert str(error) == "invalid words file (2 problems):\nf.yaml:1:1: a\nf.yaml:2:1: b"
    assert error.problems == error.lines == ["f.yaml:1:1: a", "f.yaml:2:1: b"]
    assert isinstance(error, ConfigFileError) and isinstance(error, ValueError)
    assert str(ConfigFileError(["f.yaml: x"])) == "invalid file (1 problem):\nf.yaml: x"


def test_every_pydantic_error_is_placed_in_line_order() -> None:
    text = "entries:\n  - {size: 1}\n  - {size: 2, colour: red}\n  - {size: big}\ntags: {ok: 1, Bad: 2}\n"
    with pytest.raises(FileOfWords) as caught:
        load_text(text, FILE, Document.model_validate, FileOfWords)
    assert caught.value.problems == [
        "f.yaml:3:15: entries.1.colour: Extra inputs are not permitted",
        "f.yaml:4:12: entries.2.size: Input should be a valid integer, unable to parse string as an integer",
        "f.yaml:5:15: tags: tag 'Bad' must be lower case",
    ]


def test_an_offset_points_inside_the_string() -> None:
    with pytest.raises(ConfigFileError) as caught:
        load_text("entries:\n  - {size: 1, word: 'two words'}\n", FILE, Document.model_validate)
    assert caught.value.problems == ["f.yaml:2:25: entries.0.word: no spaces"]


def test_a_missing_key_points_at_its_mapping() -> None:
    with pytest.raises(ConfigFileError) as caught:
        load_text("entries:\n  - {size: 1}\n  - word: w\n", FILE, Document.model_validate)
    assert caught.value.problems == ["f.yaml:3:5: entries.1.size: Field required"]


def test_a_validator_of_its_own_raises_invalid_with_paths() -> None:
    def names(document: Any) -> list[str]:
        bad = [Problem((i,), "not a name") for i, item in enumerate(document) if not isinstance(item, str)]
        if bad:
            raise Invalid(bad)
        return list(document)

    assert load_text('["a", "b"]', FILE, names) == ["a", "b"]  # JSON is YAML
    with pytest.raises(ConfigFileError) as caught:
        load_text("- a\n- 2\n- c\n- [d]\n", FILE, names)
    assert caught.value.problems == ["f.yaml:2:3: not a name", "f.yaml:4:3: not a name"]


def test_text_that_must_not_be_quoted_gives_only_kinds_and_places() -> None:
    with pytest.raises(ConfigFileError) as caught:
        load_text("entries:\n  - {size: 1, word: 'sec ret'}\n", FILE, Document.model_validate, quote=False)
    assert caught.value.problems == ["f.yaml:2:21: entries.0.word: spaces"]
    with pytest.raises(ConfigFileError) as caught:
        load_text("a: {sec: 1, sec: 2}\n", FILE, dict, quote=False)
    assert caught.value.problems == ["f.yaml:1:13: duplicate key (YAML would keep only the last)"]
    with pytest.raises(ConfigFileError) as caught:
        load_text('a: "sec\\qret"\n', FILE, dict, quote=False)
    assert caught.value.problems == ["f.yaml:1:9: invalid YAML (ScannerError)"]
    assert "sec" not in str(caught.value)


def test_a_key_given_twice_is_named_where_it_is_quoted() -> None:
    with pytest.raises(ConfigFileError) as caught:
        load_text("a: {b: 1, b: 2}\n", FILE, dict)
    assert caught.value.problems == ["f.yaml:1:11: duplicate key 'b' (also on line 1; YAML would keep only the last)"]


def test_dates_stay_text_and_an_empty_file_is_none(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("when: 2026-01-01\n")
    assert load_file(path, dict) == {"when": "2026-01-01"}
    path.write_text("")
    assert load_file(path, lambda document: document) is None


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileOfWords) as caught:
        load_file(tmp_path / "absent.yaml", dict, FileOfWords)
    assert caught.value.problems == [f"{tmp_path / 'absent.yaml'}: cannot read it: No such file or directory"]
