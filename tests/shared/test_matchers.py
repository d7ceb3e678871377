"""Alertmanager's matcher syntax (the cases of its ``pkg/labels/parse_test.go``) and matching."""

from __future__ import annotations

import pytest

from schemas.silence import Matcher
from services.shared.matchers import (
    MAX_MATCHERS,
    MatcherError,
    matches,
    matches_all,
    matches_empty,
    parse_matcher,
    parse_matchers,
    text,
)


def m(name: str, op: str, value: str) -> Matcher:
    regex, equal = {"=": (False, True), "!=": (False, False), "=~": (True, True), "!~": (True, False)}[op]
    return Matcher(name=name, value=value, is_regex=regex, is_equal=equal)


@pytest.mark.parametrize(
    ("source", "want"),
    [
        ('{foo="bar"}', [m("foo", "=", "bar")]),
        ('{foo=~"bar.*"}', [m("foo", "=~", "bar.*")]),
        ('{foo!="bar"}', [m("foo", "!=", "bar")]),
        ('{foo!~"bar.*"}', [m("foo", "!~", "bar.*")]),
        ('{foo="bar", baz!="quux"}', [m("foo", "=", "bar"), m("baz", "!=", "quux")]),
        ('{foo="bar",baz!~".*quux"}', [m("foo", "=", "bar"), m("baz", "!~", ".*quux")]),
        ('{foo="bar,quux", job="job1"}', [m("foo", "=", "bar,quux"), m("job", "=", "job1")]),
        ('{foo = "bar", dings != "bums", }', [m("foo", "=", "bar"), m("dings", "!=", "bums")]),
        ('foo=bar,dings!=bums', [m("foo", "=", "bar"), m("dings", "!=", "bums")]),
        ("{quote=\"She said: \\\"Hi, ladies! That's gender-neutral…\\\"\"}",
         [m("quote", "=", "She said: \"Hi, ladies! That's gender-neutral…\"")]),
        ('statuscode=~"5.."', [m("statuscode", "=~", "5..")]),
        ('tags=~"^(.*,)?foo(,.*)?$"', [m("tags", "=~", "^(.*,)?foo(,.*)?$")]),
        ('tags=~"\\\\s+"', [m("tags", "=~", "\\s+")]),
        ('{foo=bar}}', [m("foo", "=", "bar}")]),
        ('{foo=bar}},}', [m("foo", "=", "bar}}")]),
        ('{foo=,bar=}}', [m("foo", "=", ""), m("bar", "=", "}")]),
        ("job=", [m("job", "=", "")]),
        ('{name-with-dashes = "bar"}'.replace("-", "_"), [m("name_with_dashes", "=", "bar")]),
        ('{foo="\\n"}', [m("foo", "=", "\n")]),
        ('{foo="\\\\"}', [m("foo", "=", "\\")]),
        ('{foo="a\\qb"}', [m("foo", "=", "a\\qb")]),  # a spurious escape keeps its backslash
        ("foo=a\\", [m("foo", "=", "a\\")]),  # a trailing backslash is literal
        ('contains_quote != "\\"" , contains_comma !~ "foo,bar" , ',
         [m("contains_quote", "!=", '"'), m("contains_comma", "!~", "foo,bar")]),
        ('{ns:sub="x"}', [m("ns:sub", "=", "x")]),
        ("{}", []),
        ("", []),
    ],
)  # fmt: skip
def test_parses_as_alertmanager(source: str, want: list[Matcher]) -> None:
    assert parse_matchers(source) == want


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ('job="value', "no closing double quote"),
        ('job=value"', "unescaped double quote"),
        ('job="val"ue"', "unescaped double quote"),
        ("job", "bad matcher format"),
        ('=~"x"', "bad matcher format"),
        ('1job="x"', "bad matcher format"),
        ('job=="x"', "unescaped double quote"),
        ('{foo=~"invalid[regexp"}', "invalid regex"),
        ('foo="a",,bar="b"', "bad matcher format"),
    ],
)
def test_refuses_bad_input(source: str, reason: str) -> None:
    with pytest.raises(MatcherError, match=reason):
        parse_matchers(source)


def test_too_many_matchers() -> None:
    with pytest.raises(MatcherError, match="more than"):
        parse_matchers(",".join(f"l{i}=x" for i in range(MAX_MATCHERS + 1)))


def test_regex_is_anchored_and_absent_label_is_empty() -> None:
    assert matches(parse_matcher('a=~"b.*"'), {"a": "bcd"})
    assert not matches(parse_matcher('a=~"b"'), {"a": "abc"})
    assert matches(parse_matcher('a!~"b"'), {"a": "abc"})
    assert matches(parse_matcher('a=""'), {})
    assert matches(parse_matcher('a!="x"'), {})
    assert not matches(parse_matcher('a="x"'), {})
    assert matches_all(parse_matchers('a="1", b=~"2|3"'), {"a": "1", "b": "3"})
    assert not matches_all(parse_matchers('a="1", b=~"2|3"'), {"a": "1", "b": "4"})
    assert matches_all([], {"a": "1"})


@pytest.mark.parametrize(("source", "empty"), [('a=""', True), ('a=~".*"', True), ('a!="x"', True), ('a="x"', False),
                                               ('a=~".+"', False), ('a!~""', False)])  # fmt: skip
def test_matches_empty(source: str, empty: bool) -> None:
    assert matches_empty(parse_matcher(source)) is empty


def test_text_round_trips() -> None:
    matchers = parse_matchers('{a="x,\\"y\\"", b!~"c\\\\d+", n="line\\nbreak"}')
    assert parse_matchers(text(matchers)) == matchers
    assert text(matchers) == '{a="x,\\"y\\"", b!~"c\\\\d+", n="line\\nbreak"}'


def test_regex_is_re2() -> None:
    with pytest.raises(MatcherError):
        parse_matcher('a=~"(a)\\\\1"')  # a backreference: not RE2
