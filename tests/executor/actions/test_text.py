"""``core.text.extract_urls`` on the real sample alerts and on tricky text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertmesh import samples
from services.executor.actions import InvalidArguments, get_action
from services.executor.actions.text import MAX_TEXT_CHARS, ExtractUrlsArgs, extract_urls, find_urls


def sample(name: str) -> Any:
    return json.loads(samples.sample(name).read_text())


def test_alertmanager_sample() -> None:
    assert extract_urls(ExtractUrlsArgs(texts=sample("alertmanager-v4-firing.json"))) == [
        "https://server.example.org",
        "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0&g0.tab=1",
        "http://alertmanager.example.org:9093",
    ]


def test_grafana_sample_keeps_decoded_ampersand() -> None:
    assert extract_urls(ExtractUrlsArgs(texts=sample("grafana-v1-firing.json"))) == [
        "https://myrunbook.com/runbook/1234",
        "https://play.grafana.org/alerting/1afz29v7z/edit",
        "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matcher=alertname%3DHigh+memory+usage",
        "https://play.grafana.org/",
    ]


def test_cloudevent_sample_scans_lists() -> None:
    assert extract_urls(ExtractUrlsArgs(texts=sample("cloudevents-structured.json"))) == [
        "http://evil.example.com/payload.ps1"
    ]


def test_raw_json_text_with_escapes_gives_the_same_urls() -> None:
    raw = samples.sample("grafana-v1-firing.json").read_text()
    assert "\\u0026" in raw
    assert extract_urls(ExtractUrlsArgs(texts=raw)) == extract_urls(
        ExtractUrlsArgs(texts=sample("grafana-v1-firing.json"))
    )
    assert find_urls('"u": "https:\\/\\/a.example\\/x?y=1\\u0026z=2"') == ["https://a.example/x?y=1&z=2"]


def test_unique_false_keeps_repeats_in_order() -> None:
    texts = sample("alertmanager-v4-firing.json")
    urls = extract_urls(ExtractUrlsArgs(texts=texts, unique=False))
    assert urls[:2] == ["https://server.example.org", "https://server.example.org"]


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        (
            "Down: https://a.example/x. Retry at https://b.example/y, now",
            ["https://a.example/x", "https://b.example/y"],
        ),
        ("(see https://a.example/p)", ["https://a.example/p"]),
        ("https://en.wikipedia.org/wiki/Foo_(bar).", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("quoted 'https://a.example/q' and \"http://b.example/r\";", ["https://a.example/q", "http://b.example/r"]),
        ("[link](https://a.example/md)]", ["https://a.example/md"]),
        ("<https://a.example/angle>", ["https://a.example/angle"]),
        ("HTTPS://A.EXAMPLE:8443/UP", ["HTTPS://A.EXAMPLE:8443/UP"]),
        ("ftp://no.example and mailto:x@y and https:// alone", []),
    ],
)
def test_find_urls_trims_punctuation(text: str, urls: list[str]) -> None:
    assert find_urls(text) == urls


def test_non_strings_and_dict_keys_are_ignored() -> None:
    texts = {"https://key.example": [1, None, True, {"deep": ["see https://deep.example/a"]}]}
    assert extract_urls(ExtractUrlsArgs(texts=texts)) == ["https://deep.example/a"]


def test_texts_over_the_cap_are_refused() -> None:
    spec = get_action("core.text.extract_urls")
    assert spec.parse_args({"texts": ["x" * (MAX_TEXT_CHARS // 2)] * 2})
    with pytest.raises(InvalidArguments, match=f"texts hold {MAX_TEXT_CHARS + 1} characters; the limit is"):
        spec.parse_args({"texts": {"a": "x" * MAX_TEXT_CHARS, "b": ["y"]}})


# Inputs that made the old trailing-punctuation loop quadratic (it re-sliced and re-counted the URL for every
# dropped character: 100k closing brackets took 8.5 s, so the cap-sized input below would take about an hour).
# At the cap a linear scan takes well under a second; the timeout is a guard two orders of magnitude away from
# that, not a speed measurement.
@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("http://a" + ")" * (MAX_TEXT_CHARS - 8), ["http://a"]),
        ("http://a" + "." * (MAX_TEXT_CHARS - 8), ["http://a"]),
        ("http://a" + "\\u0029" * ((MAX_TEXT_CHARS - 8) // 6), ["http://a"]),
        ("http://a(" + ")" * (MAX_TEXT_CHARS - 9), ["http://a()"]),
        ("https:" * (MAX_TEXT_CHARS // 6), []),
    ],
    ids=["closing-brackets", "dots", "escaped-brackets", "one-balanced-bracket", "bare-prefixes"],
)
def test_adversarial_text_at_the_cap_is_scanned_in_one_pass(text: str, urls: list[str]) -> None:
    assert len(text) <= MAX_TEXT_CHARS
    assert extract_urls(ExtractUrlsArgs(texts=text)) == urls


def trimmed_the_old_way(url: str) -> str:
    """The previous (quadratic) trailing-punctuation loop, kept as the reference for what trimming means."""
    while url and url[-1] in ".,;:!?'\")]}>":
        closer = url[-1]
        if closer in ")]}" and url.count({")": "(", "]": "[", "}": "{"}[closer]) >= url.count(closer):
            break
        url = url[:-1]
    return url


@given(st.text(alphabet="a/().,;:!?)]}[{", max_size=40))  # quotes and > end a URL before trimming
def test_linear_trim_keeps_the_old_results(tail: str) -> None:
    expected = trimmed_the_old_way("http://x" + tail)
    assert find_urls("http://x" + tail) == [expected]


TEXT = (
    "Beacon from 10.0.0.5 and 2001:db8::1 to evil.example.com (https://evil.example.com/x?a=1), "
    "mail admin@Corp.Example; CVE-2024-3094 and cve-2021-44228; md5 d41d8cd98f00b204e9800998ecf8427e, "
    "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709, "
    "sha256 E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855. Again 10.0.0.5."
)


def extract(kind: str, **raw: Any) -> Any:
    spec = get_action(f"core.text.extract_{kind}")
    return spec.func(spec.parse_args(raw))


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("urls", ["https://evil.example.com/x?a=1"]),
        ("domains", ["evil.example.com", "corp.example"]),
        ("ipv4", ["10.0.0.5"]),
        ("ipv6", ["2001:db8::1"]),
        ("emails", ["admin@corp.example"]),
        ("cves", ["CVE-2024-3094", "CVE-2021-44228"]),
    ],
)
def test_each_extractor_takes_text_or_texts(kind: str, expected: list[str]) -> None:
    assert extract(kind, text=TEXT) == expected
    assert extract(kind, texts={"a": [TEXT], "b": TEXT}) == expected
    assert get_action(f"core.text.extract_{kind}").pure


def test_extract_hashes_by_kind() -> None:
    assert extract("hashes", text=TEXT) == {
        "md5": ["d41d8cd98f00b204e9800998ecf8427e"],
        "sha1": ["da39a3ee5e6b4b0d3255bfef95601890afd80709"],
        "sha256": ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    }
    assert extract("hashes", texts=[TEXT], kinds=["sha1"]) == {"sha1": ["da39a3ee5e6b4b0d3255bfef95601890afd80709"]}


@pytest.mark.parametrize("raw", [{}, {"text": "a", "texts": ["b"]}])
def test_exactly_one_of_text_and_texts(raw: dict[str, Any]) -> None:
    with pytest.raises(InvalidArguments, match="give either text or texts"):
        get_action("core.text.extract_ipv4").parse_args(raw)
