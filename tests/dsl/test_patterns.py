"""User patterns run on RE2 (``dsl.patterns``): linear time on any alert text, ``re``'s answers where both run a
pattern, and a refusal with a reason (at ``file:line:col`` in validation) for what RE2 cannot run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsl.errors import TemplateError, TemplateSyntaxError
from dsl.evaluator import Scope, evaluate
from dsl.expressions import parse_expression
from dsl.functions import FUNCTIONS
from dsl.patterns import Pattern, PatternError, compile_pattern
from tests.dsl.validate_helpers import problems
from tests.shared.strategies import (
    FUZZ,
    FUZZ_EXAMPLES,
    PATHOLOGICAL_PATTERNS,
    RE2_REFUSED_PATTERNS,
    REGEX_PATTERNS,
    REGEX_TEXT,
)

MIB = 1 << 20
#: Each example matches a mebibyte several times: a tenth of the fuzz budget covers the patterns and pieces.
BIG_TEXT = settings(FUZZ, max_examples=max(10, FUZZ_EXAMPLES // 10))


def _call(name: str, *args: Any) -> Any:
    return FUNCTIONS[name].call(*args)


@pytest.mark.parametrize(
    ("pattern", "text", "whole", "found"),
    [
        # ".*disk.*full.*" on 128K characters took 1.8 s with re; on 1 MiB about 110 s.
        (".*disk.*full.*", "disk " * (MIB // 5), False, False),
        (".*disk.*full.*", "disk " * (MIB // 5 - 1) + "full", True, True),
        ("(a+)+b", "a" * MIB, False, False),
        ("(a|aa)+b", "a" * (MIB - 1) + "b", True, True),
        ("(x+x+)+y", "x" * MIB, False, False),
        ("(.*a){12}", "a" * MIB, True, True),
        ("(\\w+\\s?)+$", "word " * (MIB // 5) + "!", False, False),
        ("(\\w+\\s?)+$", "word " * (MIB // 5 - 1) + "word", True, True),
    ],
)
def test_pathological_patterns_answer_on_a_mebibyte(pattern: str, text: str, whole: bool, found: bool) -> None:
    compiled = compile_pattern(pattern)
    assert compiled.fullmatches(text) is whole
    assert (compiled.search(text) is not None) is found
    assert _call("regex_search", pattern, text) is found


#: Replacement templates: group references (some to groups a pattern lacks), escapes, non-ASCII text.
REPLACEMENTS = st.lists(
    st.sampled_from(["é", "x", "€ ", "<", "\\g<0>", "\\1", "\\g<1>", "\\2", "\\n", "\\\\", "\\0", "\\.",
                     "\\q", "\\g<name>"]),
    max_size=4,
).map("".join)  # fmt: skip


@given(pattern=REGEX_PATTERNS, text=REGEX_TEXT, replacement=REPLACEMENTS)
@FUZZ
def test_re2_answers_as_re_does_where_both_run_the_pattern(pattern: str, text: str, replacement: str) -> None:
    compiled, python = compile_pattern(pattern), re.compile(pattern)
    assert compiled.fullmatches(text) is (python.fullmatch(text) is not None)
    ours, theirs = compiled.search(text), python.search(text)
    assert (ours is None) is (theirs is None)
    if ours is not None and theirs is not None:
        assert ours.span() == theirs.span()
    matches = list(python.finditer(text))
    if any(match.end() == match.start() for match in matches):
        # After an empty match RE2 moves on one character; Python's re (3.7+) may take a non-empty match at the
        # same place. The one documented difference in what findall and replace give.
        return
    assert _call("regex_findall", pattern, text) == [_found(match) for match in matches]
    assert _call("regex_replace", pattern, text, "<\\g<0>>") == python.sub("<\\g<0>>", text)
    try:
        expected = python.sub(replacement, text)
    except (re.error, IndexError):
        with pytest.raises(TemplateError, match=r"FN\.regex_replace"):
            _call("regex_replace", pattern, text, replacement)
        return
    assert _call("regex_replace", pattern, text, replacement) == expected


@given(pattern=PATHOLOGICAL_PATTERNS | REGEX_PATTERNS, piece=st.sampled_from(["a", "ab", "x", "disk ", "a1.", "aaab"]))
@BIG_TEXT
def test_any_pattern_completes_on_a_mebibyte_of_alert_text(pattern: str, piece: str) -> None:
    text = piece * (MIB // len(piece))
    compiled = compile_pattern(pattern)
    whole = compiled.fullmatches(text)
    # The same answer through the match object as through the fast yes/no path, and through the FN functions.
    assert whole is (compiled._regexp.fullmatch(text) is not None)
    found = compiled.search(text)
    assert _call("regex_search", pattern, text) is (found is not None)
    assert _call("regex_extract", pattern, text) == (None if found is None else _found(found))


def _found(match: Any) -> Any:
    groups = match.groups()
    if not groups:
        return match.group(0)
    return groups[0] if len(groups) == 1 else list(groups)


@given(pattern=RE2_REFUSED_PATTERNS)
@FUZZ
def test_what_re2_cannot_run_is_refused_with_a_reason(pattern: str) -> None:
    with pytest.raises(PatternError, match="RE2"):
        compile_pattern(pattern)
    with pytest.raises(TemplateError, match="invalid pattern: RE2"):
        _call("regex_search", pattern, "a")
    # A literal pattern is refused when the expression is parsed, at the pattern's column.
    with pytest.raises(TemplateSyntaxError, match=r"at column 17: FN\.regex_search: invalid pattern: RE2") as caught:
        parse_expression(f"FN.regex_search({pattern!r}, TRIGGER.x)")
    assert caught.value.column == 17


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(a)\\1", "backreferences"),
        ("(?P<w>a)(?P=w)", "named backreferences"),
        ("a(?=b)", "lookahead"),
        ("a(?!b)", "negative lookahead"),
        ("(?<=a)b", "lookbehind"),
        ("(?<!a)b", "negative lookbehind"),
        ("(?>a)", "atomic groups"),
        ("a++", "possessive"),
        ("a\\Z", "\\\\z, not \\\\Z"),
        ("a{1001}", "limited to"),
        ("x" * 1001, "longer than 1000 characters"),
        ("\ud800", "lone surrogate"),
    ],
)
def test_refusals_say_why(pattern: str, reason: str) -> None:
    with pytest.raises(PatternError, match=reason):
        compile_pattern(pattern)


def test_a_lone_surrogate_in_the_text_is_matched_as_a_replacement_character() -> None:
    compiled = compile_pattern("disk.full")
    assert compiled.fullmatches("disk\ud800full")
    assert compiled.search("a disk\udfffful") is None
    assert _call("regex_extract", "d(.)", "d\ud800") == "\ufffd"


def _scope(trigger: dict[str, Any]) -> Scope:
    return Scope(trigger=trigger, results={}, errors={}, secrets={}, env={}, vars={}, loop={})


def test_a_computed_pattern_is_checked_when_evaluated() -> None:
    expression = parse_expression("FN.regex_search(TRIGGER.p, 'aa')")
    with pytest.raises(TemplateError, match="lookahead"):
        evaluate(expression.tree, expression.text, _scope({"p": "a(?=a)"}))
    assert evaluate(expression.tree, expression.text, _scope({"p": "a+"})) is True


def test_compiled_patterns_are_shared() -> None:
    assert compile_pattern("abc+") is compile_pattern("abc+")
    assert isinstance(compile_pattern("abc+"), Pattern)


def test_validate_refuses_a_literal_pattern_re2_cannot_run_at_its_position(tmp_path: Path) -> None:
    text = """\
    name: x
    actions:
      - ref: a
        action: core.transform.reshape
        args:
          value: "${{ FN.regex_extract('(a+)(?=b)', TRIGGER.alert.summary) }}"
    """
    [line] = problems(tmp_path, text)
    assert line.startswith("w.yaml:6:36: invalid expression")
    assert "FN.regex_extract: invalid pattern: RE2 (linear-time matching) cannot run it: lookahead" in line
