"""Every FN.* function: at least one positive case and one misuse case each, and the library's own rules."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsl.functions import FUNCTIONS
from dsl.functions.limits import MAX_ITEMS, MAX_TEXT
from dsl.functions.previews import values_hidden
from dsl.templates import TemplateContext, TemplateError, render
from tests.shared.strategies import FUZZ, SECRET_VALUES

CONTEXT = TemplateContext(
    trigger={
        "big": "a" * 600_000,
        "text": (
            "see https://evil.example.com/a?b=1). mail bob@Example.org from 10.0.0.5 and 2001:db8::1, "
            "md5 d41d8cd98f00b204e9800998ecf8427e sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 "
            "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 std::dec 1.2.3.999"
        ),
    },
    env={"start_time": "2026-01-01T00:00:00+00:00"},
)


def ev(text: str) -> Any:
    return render("${{ " + text + " }}", CONTEXT)


POSITIVE: list[tuple[str, Any]] = [
    # strings
    ("FN.lower('AbC')", "abc"),
    ("FN.upper('AbC')", "ABC"),
    ("FN.title('hello world')", "Hello World"),
    ("FN.strip('  x ')", "x"),
    ("FN.strip('--x--', '-')", "x"),
    ("FN.replace('a.b.c', '.', '/')", "a/b/c"),
    ("FN.split('a,b,,c', ',')", ["a", "b", "", "c"]),
    ("FN.split(' a  b ')", ["a", "b"]),
    ("FN.split('a,b,c', ',', 1)", ["a", "b,c"]),
    ("FN.join(['a', 1, null, true], '-')", "a-1--true"),
    ("FN.startswith('alertmesh', 'alert')", True),
    ("FN.endswith('alertmesh', 'mesh')", True),
    ("FN.contains('alertmesh', 'tm')", True),
    ("FN.contains([1, 2], 2)", True),
    ("FN.contains({'a': 1}, 'b')", False),
    ("FN.slice('abcdef', 1, 3)", "bc"),
    ("FN.slice([1, 2, 3], -2)", [2, 3]),
    ("FN.length('abc')", 3),
    ("FN.len({'a': 1, 'b': 2})", 2),
    ("FN.concat('a', 1, null, [2])", "a1[2]"),
    ("FN.format('{} has {} alerts {{ok}}', 'web', 3)", "web has 3 alerts {ok}"),
    ("FN.repeat('ab', 3)", "ababab"),
    # regex
    ("FN.regex_match('ab+', 'abbbc')", True),
    ("FN.regex_match('b+', 'abbbc')", False),
    ("FN.regex_search('b+', 'abbbc')", True),
    ("FN.regex_extract('id=(\\\\d+)', 'x id=42 y')", "42"),
    ("FN.regex_extract('(\\\\w)=(\\\\d)', 'a=1')", ["a", "1"]),
    ("FN.regex_extract('z', 'abc')", None),
    ("FN.regex_findall('\\\\d+', 'a1b22c333')", ["1", "22", "333"]),
    ("FN.regex_replace('(\\\\d+)', 'a1b22', '<\\\\1>')", "a<1>b<22>"),
    ("FN.regex_replace('', 'ab', '-')", "-a-b-"),
    # JSON
    ("FN.to_json({'a': [1, true, null]})", '{"a":[1,true,null]}'),
    ("FN.from_json('{\"a\": [1, 2.5]}')", {"a": [1, 2.5]}),
    # dates
    ("FN.parse_datetime('2026-05-01T12:00:00+02:00')", "2026-05-01T10:00:00+00:00"),
    ("FN.parse_datetime('2026-05-01T12:00:00Z')", "2026-05-01T12:00:00+00:00"),
    ("FN.parse_datetime('2026-05-01 12:00')", "2026-05-01T12:00:00+00:00"),
    ("FN.format_datetime(ENV.start_time, '%Y/%m/%d %H:%M')", "2026/01/01 00:00"),
    ("FN.to_timestamp('1970-01-02T00:00:00Z')", 86400),
    ("FN.to_timestamp('1970-01-01T00:00:00.5Z')", 0.5),
    ("FN.from_timestamp(86400)", "1970-01-02T00:00:00+00:00"),
    ("FN.from_epoch(1733570102)", "2024-12-07T11:15:02+00:00"),
    ("FN.from_epoch('1733570102123')", "2024-12-07T11:15:02.123000+00:00"),
    ("FN.from_epoch('1733570102123456789')", "2024-12-07T11:15:02.123456+00:00"),
    ("FN.from_epoch('1733570102.5', 's')", "2024-12-07T11:15:02.500000+00:00"),
    ("FN.from_epoch(1733570102000, 'ms')", "2024-12-07T11:15:02+00:00"),
    ("FN.from_epoch(86400, 'ns')", "1970-01-01T00:00:00.000086+00:00"),
    (
        "FN.parse_tags(['env:prod', 'monitor', 'role:a', 'role:b', 'url:http://x'])",
        {"env": "prod", "monitor": "", "role": "a,b", "url": "http://x"},
    ),
    ("FN.parse_tags([['level', 'error'], ['n', 3], ['bad']])", {"level": "error", "n": "3"}),
    ("FN.parse_tags('env:prod, team:db')", {"env": "prod", "team": "db"}),
    ("FN.parse_tags([{'Key': 'team', 'Value': 'db'}, {'key': 'env', 'value': null}])", {"team": "db", "env": ""}),
    ("FN.parse_tags(['env=prod'], '=')", {"env": "prod"}),
    ("FN.parse_tags({'a': 1, 'b': 'x'})", {"a": "1", "b": "x"}),
    ("FN.parse_tags(null)", {}),
    ("FN.add_seconds(ENV.start_time, -60)", "2025-12-31T23:59:00+00:00"),
    ("FN.add_duration(ENV.start_time, '1h30m')", "2026-01-01T01:30:00+00:00"),
    ("FN.add_duration(ENV.start_time, '-1d')", "2025-12-31T00:00:00+00:00"),
    ("FN.parse_duration('1w2d3h4m5.5s')", 788645.5),
    ("FN.parse_duration('90s')", 90),
    ("FN.diff_seconds('2026-01-01T01:00:00Z', ENV.start_time)", 3600),
    # hashing and encoding
    ("FN.sha256('')", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("FN.sha1('')", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    ("FN.md5('')", "d41d8cd98f00b204e9800998ecf8427e"),
    ("FN.b64encode('héllo')", "aMOpbGxv"),
    ("FN.b64decode('aMOpbGxv')", "héllo"),
    ("FN.urlencode('a b/é?')", "a%20b%2F%C3%A9%3F"),
    ("FN.urlencode({'q': 'a b', 'n': 1})", "q=a%20b&n=1"),
    ("FN.urldecode('a%20b+c%2F%C3%A9%zz')", "a b c/é%zz"),
    ("FN.hex('Az')", "417a"),
    # collections
    ("FN.keys({'a': 1, 'b': 2})", ["a", "b"]),
    ("FN.values({'a': 1, 'b': 2})", [1, 2]),
    ("FN.get({'a': 1}, 'b', 'dflt')", "dflt"),
    ("FN.get([1, 2], -1)", 2),
    ("FN.get(null, 'x', 0)", 0),
    ("FN.lookup({'a': {'b': [5, 6]}}, 'a.b.1')", 6),
    ("FN.lookup({'a': 1}, 'a.x', 'none')", "none"),
    ("FN.merge({'a': 1, 'b': 1}, {'b': 2})", {"a": 1, "b": 2}),
    ("FN.flatten([[1, 2], 3, [[4]]])", [1, 2, 3, [4]]),
    ("FN.unique([1, 'a', 1, {'k': 1}, {'k': 1}, true])", [1, "a", {"k": 1}, True]),
    ("FN.sort([3, 1.5, 2])", [1.5, 2, 3]),
    ("FN.sort(['b', 'a'], true)", ["b", "a"]),
    ("FN.reverse([1, 2])", [2, 1]),
    ("FN.reverse('ab')", "ba"),
    ("FN.first([7, 8])", 7),
    ("FN.first([])", None),
    ("FN.last([7, 8])", 8),
    ("FN.filter_empty([0, '', null, [], {}, false, 'x'])", [0, False, "x"]),
    ("FN.filter_empty({'a': '', 'b': 1})", {"b": 1}),
    ("FN.zip([1, 2, 3], ['a', 'b'])", [[1, "a"], [2, "b"]]),
    ("FN.range(3)", [0, 1, 2]),
    ("FN.range(5, 0, -2)", [5, 3, 1]),
    ("FN.sum([1, 2, 3])", 6),
    ("FN.sum([0.5, 1])", 1.5),
    ("FN.min([3, 1, 2])", 1),
    ("FN.min('b', 'a')", "a"),
    ("FN.max(3, 7)", 7),
    ("FN.count([1, 2, 1], 1)", 2),
    ("FN.count('banana', 'an')", 2),
    # IP and CIDR
    ("FN.is_ip('::1')", True),
    ("FN.is_ip('999.1.1.1')", False),
    ("FN.is_ipv4('10.0.0.1')", True),
    ("FN.is_ipv4('::1')", False),
    ("FN.is_ipv6('2001:db8::1')", True),
    ("FN.ip_in_cidr('10.1.2.3', '10.0.0.0/8')", True),
    ("FN.ip_in_cidr('10.1.2.3', '192.168.0.1/16')", False),
    ("FN.ip_in_cidr('::1', '10.0.0.0/8')", False),
    ("FN.is_private_ip('192.168.1.1')", True),
    ("FN.is_private_ip('8.8.8.8')", False),
    ("FN.is_public_ip('8.8.8.8')", True),
    ("FN.is_public_ip('127.0.0.1')", False),
    # IOC extraction
    ("FN.extract_urls(TRIGGER.text)", ["https://evil.example.com/a?b=1"]),
    ("FN.extract_domains(TRIGGER.text)", ["evil.example.com", "example.org"]),
    ("FN.extract_ipv4(TRIGGER.text)", ["10.0.0.5"]),
    ("FN.extract_ipv6(TRIGGER.text)", ["2001:db8::1"]),
    ("FN.extract_emails(TRIGGER.text)", ["bob@example.org"]),
    ("FN.extract_md5(TRIGGER.text)", ["d41d8cd98f00b204e9800998ecf8427e"]),
    ("FN.extract_sha1(TRIGGER.text)", ["da39a3ee5e6b4b0d3255bfef95601890afd80709"]),
    ("FN.extract_sha256(TRIGGER.text)", ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]),
    (
        "FN.extract_cves('patch cve-2024-3094 and CVE-2021-44228, CVE-2021-44228; not CVE-21-1')",
        ["CVE-2024-3094", "CVE-2021-44228"],
    ),
    # casts
    ("FN.to_int('42')", 42),
    ("FN.to_int(3.9)", 3),
    ("FN.to_int(true)", 1),
    ("FN.to_float('2.5')", 2.5),
    ("FN.to_float(2)", 2.0),
    ("FN.to_str([1, 'a'])", '[1,"a"]'),
    ("FN.to_str(null)", ""),
    ("FN.to_bool('Yes')", True),
    ("FN.to_bool(0)", False),
    ("FN.to_bool(null)", False),
]

MISUSE: list[tuple[str, str]] = [
    ("FN.lower(1)", "must be a string, not a number"),
    ("FN.upper(null)", "must be a string, not a null"),
    ("FN.title([])", "must be a string, not a list"),
    ("FN.strip('x', 1)", "chars must be a string"),
    ("FN.replace('a', '', 'b')", "old must not be empty"),
    ("FN.split('a', '')", "separator must not be empty"),
    ("FN.join('abc', ',')", "must be a list, not a string"),
    ("FN.startswith('a', 1)", "prefix must be a string"),
    ("FN.endswith(1, 'a')", "must be a string"),
    ("FN.contains(1, 1)", "container must be a string, list or object"),
    ("FN.slice({}, 1)", "value must be a string or a list"),
    ("FN.length(1)", "value must be a string, list or object"),
    ("FN.len(true)", "value must be a string, list or object"),
    ("FN.concat(TRIGGER.big, TRIGGER.big)", f"longer than {MAX_TEXT} characters"),
    ("FN.format('{} {}', 1)", "more '{}' than the 1 values"),
    ("FN.repeat('ab', 600000)", f"longer than {MAX_TEXT} characters"),
    ("FN.regex_match('(', 'x')", "invalid pattern"),
    ("FN.regex_search(FN.repeat('a', 1001), 'x')", "pattern is longer than 1000 characters"),
    ("FN.regex_extract('a', 1)", "text must be a string"),
    ("FN.regex_findall('', TRIGGER.big)", f"more than {MAX_ITEMS} matches"),
    ("FN.regex_replace('a', TRIGGER.big, FN.repeat('x', 100))", f"longer than {MAX_TEXT} characters"),
    ("FN.to_json([TRIGGER.big, TRIGGER.big])", "longer than"),
    ("FN.from_json('{nope')", "invalid JSON"),
    ("FN.from_json('NaN')", "NaN is not valid JSON"),
    ("FN.parse_datetime('yesterday')", "'yesterday' is not an ISO-8601 datetime"),
    ("FN.format_datetime(ENV.start_time, '%A')", "unsupported directive '%A'"),
    ("FN.to_timestamp(5)", "datetime must be a string"),
    ("FN.from_timestamp(1e15)", "outside the years 1 to 9999"),
    ("FN.from_epoch('soon')", "'soon' is not a number"),
    ("FN.from_epoch(1, 'h')", "unit 'h' is not one of s, ms, us, ns"),
    ("FN.from_epoch(1000000000000000000, 's')", "outside the years 1 to 9999"),
    ("FN.from_epoch(true)", "must be a number"),
    ("FN.parse_tags(42)", "tags must be a list"),
    ("FN.parse_tags(['a:b'], '')", "separator must not be empty"),
    ("FN.add_seconds(ENV.start_time, 'x')", "seconds must be a number"),
    ("FN.add_duration(ENV.start_time, '1x')", "not like '1h30m'"),
    ("FN.parse_duration('')", "not like '1h30m'"),
    ("FN.diff_seconds('x', ENV.start_time)", "later 'x' is not an ISO-8601 datetime"),
    ("FN.sha256(1)", "must be a string"),
    ("FN.sha1(null)", "must be a string"),
    ("FN.md5([])", "must be a string"),
    ("FN.b64encode(1)", "must be a string"),
    ("FN.b64decode('***')", "invalid base64"),
    ("FN.urlencode(1)", "must be a string"),
    ("FN.urldecode('%ff')", "not UTF-8"),
    ("FN.hex(1)", "must be a string"),
    ("FN.keys([])", "must be an object, not a list"),
    ("FN.values('x')", "must be an object"),
    ("FN.get(1, 'a')", "container must be an object or a list"),
    ("FN.lookup({}, 1)", "path must be a string"),
    ("FN.merge({}, [])", "argument 2 must be an object"),
    ("FN.flatten({})", "must be a list"),
    ("FN.unique('ab')", "must be a list"),
    ("FN.sort([1, 'a'])", "only numbers or only strings"),
    ("FN.reverse(1)", "must be a list or a string"),
    ("FN.first('ab')", "must be a list"),
    ("FN.last({})", "must be a list"),
    ("FN.filter_empty('x')", "must be a list or an object"),
    ("FN.zip([1], 2)", "argument 2 must be a list"),
    ("FN.range(0, 20000)", f"more than {MAX_ITEMS} items"),
    ("FN.range(0, 5, 0)", "step must not be 0"),
    ("FN.sum([1, 'a'])", "every item must be a number"),
    ("FN.min([])", "needs at least one value"),
    ("FN.max(1, 'a')", "all numbers or all strings"),
    ("FN.count(1, 1)", "container must be a list"),
    ("FN.is_ip(1)", "must be a string"),
    ("FN.is_ipv4(null)", "must be a string"),
    ("FN.is_ipv6([])", "must be a string"),
    ("FN.ip_in_cidr('10.0.0.1', 'nope')", "'nope' is not a network"),
    ("FN.is_private_ip('nope')", "'nope' is not an IP address"),
    ("FN.is_public_ip('')", "is not an IP address"),
    ("FN.extract_urls([TRIGGER.big, TRIGGER.big])", f"more than {MAX_TEXT} characters"),
    ("FN.extract_domains([TRIGGER.big, TRIGGER.big])", "more than"),
    ("FN.extract_ipv4([TRIGGER.big, TRIGGER.big])", "more than"),
    ("FN.extract_ipv6([TRIGGER.big, TRIGGER.big])", "more than"),
    ("FN.extract_emails([TRIGGER.big, TRIGGER.big])", "more than"),
    ("FN.extract_md5([TRIGGER.big, TRIGGER.big])", "more than"),
    ("FN.extract_sha1([TRIGGER.big, TRIGGER.big])", "more than"),
    ("FN.extract_sha256([TRIGGER.big, TRIGGER.big])", "more than"),
    ("FN.extract_cves([TRIGGER.big, TRIGGER.big])", "more than"),
    ("FN.to_int('4x')", 'cannot convert "4x" to an integer'),
    ("FN.to_float('inf')", "to a finite number"),
    ("FN.to_str([TRIGGER.big, TRIGGER.big])", "longer than"),
    ("FN.to_bool('maybe')", "cannot convert"),
]


def _function_of(call: str) -> str:
    match = re.match(r"FN\.(\w+)\(", call)
    assert match is not None
    return match.group(1)


@pytest.mark.parametrize(("call", "expected"), POSITIVE)
def test_function_results(call: str, expected: Any) -> None:
    result = ev(call)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(("call", "problem"), MISUSE)
def test_function_misuse_is_a_template_error_naming_it(call: str, problem: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(problem)) as caught:
        ev(call)
    assert f"FN.{_function_of(call)}: " in str(caught.value)


def test_every_function_is_tested_and_documented() -> None:
    positive = {_function_of(call) for call, _ in POSITIVE}
    misused = {_function_of(call) for call, _ in MISUSE}
    assert set(FUNCTIONS) <= positive, sorted(set(FUNCTIONS) - positive)
    assert set(FUNCTIONS) <= misused, sorted(set(FUNCTIONS) - misused)
    assert len(FUNCTIONS) >= 45
    assert all(function.doc for function in FUNCTIONS.values())


def test_url_extraction_follows_the_executor_rules() -> None:
    """The same URLs as the core.text.extract_urls action: balanced brackets kept, JSON escapes decoded, unique."""
    from services.executor.actions.text import ExtractUrlsArgs, extract_urls

    texts = [
        "x https://en.wikipedia.org/wiki/A_(b) and (https://a.example/x).",
        '{"u": "https:\\/\\/b.example\\/p?q=1\\u0026r=2"}',
        "https://c.example/<tag> https://c.example/<tag> http:// http://",
    ]
    expected = extract_urls(ExtractUrlsArgs(texts=texts))
    assert render("${{ FN.extract_urls(TRIGGER.t) }}", TemplateContext(trigger={"t": texts})) == expected
    assert expected[:3] == ["https://en.wikipedia.org/wiki/A_(b)", "https://a.example/x", "https://b.example/p?q=1&r=2"]


def test_b64decode_accepts_url_safe_and_missing_padding() -> None:
    assert ev("FN.b64decode(FN.b64encode('??>'))") == "??>"
    assert ev("FN.b64decode('Pz8-')") == "??>"


def test_extraction_is_linear_on_hostile_input() -> None:
    """Long runs that almost match (no '@' after a long local part, a long hex run, many dots) finish: each
    candidate run is scanned once. Quadratic patterns would take minutes at this size."""
    hostile = {
        "t": [
            "a" * 300_000 + " x",
            "0" * 100_000 + "@",
            "1." * 100_000,
            ":" * 100_000,
            "a." * 100_000,
        ]
    }
    context = TemplateContext(trigger=hostile)
    for name in ("extract_emails", "extract_md5", "extract_ipv4", "extract_ipv6", "extract_domains", "extract_urls"):
        assert isinstance(render("${{ FN." + name + "(TRIGGER.t) }}", context), list)


# -- previews of values a step read from SECRETS -------------------------------------------------------------------
#: Expressions that hand a value derived from a secret to a function (or a lookup) that refuses it.
DERIVED = [
    "FN.{name}({args})",
    "FN.{name}(FN.upper(SECRETS.s.K))",
    "FN.{name}(FN.slice(SECRETS.s.K, 1))",
    "FN.{name}(FN.strip(SECRETS.s.K) + 'x')",
    "FN.{name}([SECRETS.s.K])",
    "FN.{name}({{'k': SECRETS.s.K}})",
]


def _derived(secret: str) -> list[str]:
    return [secret, secret.upper(), secret[1:], secret.strip() + "x", json.dumps(secret), repr(secret)]


@FUZZ
@given(secret=SECRET_VALUES, name=st.sampled_from(sorted(FUNCTIONS)), shape=st.sampled_from(DERIVED))
def test_no_function_quotes_a_value_derived_from_a_secret_when_values_are_hidden(
    secret: str, name: str, shape: str
) -> None:
    function = FUNCTIONS[name]
    count = (
        max(function.min_args, 1) if function.max_args is None else min(max(function.min_args, 1), function.max_args)
    )
    args = ", ".join(["SECRETS.s.K"] * count)
    context = TemplateContext(trigger={"labels": {}}, secrets={"s": {"K": secret}})
    expressions = [shape.format(name=name, args=args), "TRIGGER.labels[FN.upper(SECRETS.s.K)]"]
    for expression in expressions:
        with values_hidden():
            try:
                render("${{ " + expression + " }}", context)
            except TemplateError as error:
                message = str(error).replace(expression, "")
                for derived in _derived(secret):
                    windows = {derived[i : i + 8] for i in range(max(len(derived) - 7, 0))}
                    assert not any(window in message for window in windows if window.strip()), message


@pytest.mark.parametrize("call", ["FN.to_int(SECRETS.s.K)", "FN.to_float(SECRETS.s.K)", "FN.to_bool(SECRETS.s.K)"])
def test_a_cast_previews_the_value_unless_values_are_hidden(call: str) -> None:
    secret = "tok-" + "9" * 40 + "-abcdefghijklmnop"  # 61 characters: the old preview showed 56 of them
    context = TemplateContext(trigger={}, secrets={"s": {"K": secret}})
    with pytest.raises(TemplateError) as shown:
        render("${{ " + call + " }}", context)
    assert secret[:20] in str(shown.value)
    with values_hidden(), pytest.raises(TemplateError) as hidden:
        render("${{ " + call + " }}", context)
    assert secret[:8] not in str(hidden.value) and "a string of 61 characters" in str(hidden.value)
