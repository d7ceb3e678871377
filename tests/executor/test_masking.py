"""Masking finds a secret in every form the mesh and its libraries produce: percent-encoded, JSON- and
repr-escaped, base64, and cut at a message's limit; a property over random secrets and transforms."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import httpx
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.executor.batch import _masked
from services.executor.masking import MASK, MIN_CUT_PREFIX, mask_text, mask_value
from services.executor.outcome import MAX_ERROR_MESSAGE_CHARS, Outcome
from tests.shared.strategies import FUZZ, SECRET_VALUES


def _lower_hex(text: str) -> str:
    # Percent-encoding with lower-case hex digits (some encoders write %2b, not %2B).
    parts = text.split("%")
    return parts[0] + "".join("%" + part[:2].lower() + part[2:] for part in parts[1:])


def _b64(secret: str) -> str:
    return base64.b64encode(secret.encode()).decode()


#: Every transform of a secret the masker must see through, by name.
TRANSFORMS: dict[str, Callable[[str], str]] = {
    "exact": lambda s: s,
    "quote": quote,
    "quote, nothing safe": lambda s: quote(s, safe=""),
    "quote_plus": quote_plus,
    "quote_plus, lower hex": lambda s: _lower_hex(quote_plus(s)),
    "quote, lower hex": lambda s: _lower_hex(quote(s, safe="")),
    "twice percent-encoded": lambda s: quote(quote(s, safe=""), safe=""),
    "httpx query": lambda s: str(httpx.URL("https://api.example/v1").copy_merge_params({"key": s})),
    "httpx path": lambda s: str(httpx.URL(f"https://api.example/{quote(s, safe='')}/x")),
    "json": json.dumps,
    "json, not ascii": lambda s: json.dumps(s, ensure_ascii=False),
    "json in json": lambda s: json.dumps(json.dumps({"key": s})),
    "json escaped slash": lambda s: json.dumps(s).replace("/", "\\/"),
    "repr": repr,
    "ascii": ascii,
    "repr of a dict": lambda s: repr({"token": s}),
    "repr of its bytes": lambda s: repr(s.encode()),
    "header refused": lambda s: f"Illegal header value {(f'Bearer {s}').encode()!r}",
    "base64": _b64,
    "base64 unpadded": lambda s: _b64(s).rstrip("="),
    "base64 urlsafe": lambda s: base64.urlsafe_b64encode(s.encode()).decode(),
    "base64 urlsafe unpadded": lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("="),
    "basic credential": lambda s: "Basic " + _b64(f"user:{s}"),
    "base64 inside": lambda s: _b64(f"xy{s}tail-bytes"),
    "hex": lambda s: s.encode().hex(),
    "hex, upper case": lambda s: s.encode().hex().upper(),
}

#: Surrounding text: a message, a URL, an escaped body.
AROUND = st.sampled_from(["", "GET https://h/x?", 'body={"a": "', "401 for ", "\\", "%", "x" * 50])


def _forms(secret: str) -> dict[str, str]:
    return {name: transform(secret) for name, transform in TRANSFORMS.items()}


def _leaks(masked: str, secret: str) -> list[str]:
    """The transforms of ``secret`` still found in ``masked`` (the surrounding text is part of a URL's form)."""
    found = [
        name for name, form in _forms(secret).items() if name not in ("httpx query", "httpx path") and form in masked
    ]
    return found + (["exact"] if secret in masked else [])


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@pytest.mark.parametrize("secret", ["s3cr3t+K3y/with=padding==", "pa ss'wo\"rd\n", "ключ-🙂-κλειδί %2B"])
def test_each_form_of_a_secret_is_masked(name: str, secret: str) -> None:
    text = f"HTTP 401 for {TRANSFORMS[name](secret)} (see the logs)"
    masked = mask_text(text, {secret})
    assert MASK in masked
    assert not _leaks(masked, secret), masked
    assert masked.endswith(" (see the logs)") or name in ("httpx query", "httpx path")


@FUZZ
@given(secret=SECRET_VALUES, name=st.sampled_from(sorted(TRANSFORMS)), before=AROUND, after=AROUND)
def test_no_transform_of_a_random_secret_survives_masking(secret: str, name: str, before: str, after: str) -> None:
    masked = mask_text(f"{before}{TRANSFORMS[name](secret)}{after}", {secret})
    assert not _leaks(masked, secret), (name, masked)


#: Transforms that escape text for a context (a URL, JSON, Python), applied one after another.
ESCAPES: dict[str, Callable[[str], str]] = {
    name: TRANSFORMS[name]
    for name in ("quote", "quote, nothing safe", "quote_plus", "quote, lower hex", "json", "json, not ascii", "repr")
}
#: What may encode the escaped text as a whole at the end.
ENCODINGS: dict[str, Callable[[str], str]] = {
    name: TRANSFORMS[name]
    for name in ("exact", "base64", "base64 unpadded", "base64 urlsafe unpadded", "basic credential", "hex")
}


@FUZZ
@given(
    secret=SECRET_VALUES,
    chain=st.lists(st.sampled_from(sorted(ESCAPES)), min_size=1, max_size=3),
    encoding=st.sampled_from(sorted(ENCODINGS)),
    before=AROUND,
)
def test_a_secret_escaped_several_times_then_encoded_is_masked(
    secret: str, chain: list[str], encoding: str, before: str
) -> None:
    # A secret quoted into a URL, that URL put in a JSON body, that body in a repr...; and one escaping of it
    # base64- or hex-encoded whole (several escapings then encoded is beyond any masker: not claimed).
    if encoding != "exact":
        chain = chain[:1]
    shown = secret
    for name in chain:
        shown = ESCAPES[name](shown)
    shown = ENCODINGS[encoding](shown)
    masked = mask_text(f"{before}{shown} end", {secret})
    assert shown not in masked and secret not in masked, (chain, encoding, masked)


@FUZZ
@given(secret=SECRET_VALUES, cut=st.integers(MIN_CUT_PREFIX, 47), before=AROUND)
def test_a_secret_cut_at_a_message_limit_is_masked(secret: str, cut: int, before: str) -> None:
    # A preview or a log line cut through the secret: its start, at the cut, is masked.
    start = secret[: min(cut, len(secret) - 1)]
    assume(len(start) >= MIN_CUT_PREFIX)  # shorter starts are ordinary words: not masked
    assume((before + start).find(start) == len(before))  # the surrounding text does not hold it already
    for shown in (f"{before}{start}...", f"{before}{start}", f"{before}{json.dumps(start)}", f"{before}{start}\u2026"):
        masked = mask_text(shown, {secret})
        assert start not in masked, masked


@FUZZ
@given(secret=SECRET_VALUES, padding=st.integers(MAX_ERROR_MESSAGE_CHARS - 48, MAX_ERROR_MESSAGE_CHARS))
def test_an_error_message_is_masked_before_it_is_cut(secret: str, padding: int) -> None:
    # The secret straddles the 4,096-character limit; masked first, no part of it (8+ characters) is left.
    assume(not secret.startswith("x"))
    error = RuntimeError("x" * padding + secret + " and more")
    for outcome in (Outcome.failure(error, {secret}), _masked(Outcome.failure(error), {secret})):
        message = outcome.error_message or ""
        assert len(message) <= MAX_ERROR_MESSAGE_CHARS + 40
        tail = message.removeprefix("x" * padding).rsplit("... (", 1)[0]  # the cut's own marker is not the secret
        assert all(secret[:n] not in tail for n in range(MIN_CUT_PREFIX, len(secret) + 1)), tail[:80]


def test_a_cut_through_the_secret_in_the_ray_task_leaves_nothing_of_it() -> None:
    # Seen: 33 of a 40-character secret came out of a message cut at 4,096 characters before masking.
    secret = "K" * 7 + "-0123456789abcdefghijklmnopqrstuvwx"  # 40 characters
    error = RuntimeError("y" * (MAX_ERROR_MESSAGE_CHARS - 33) + secret)
    message = Outcome.failure(error, {secret}).error_message or ""
    assert secret[:33] not in message and secret[:8] not in message and message.endswith(MASK)


@pytest.mark.parametrize(
    ("shown", "secret"),
    [
        ("S3CR3T+K3Y/WITH=PADDING==", "s3cr3t+K3y/with=padding=="),  # upper-cased
        ("s3cr3t K3y/with=padding==", "s3cr3t+K3y/with=padding=="),  # URL-decoded by a server: '+' is a space
        ("pass+word!", "pass%2Bword%21"),  # a secret stored percent-encoded, decoded on its way
        ("user:hunter22", base64.b64encode(b"user:hunter22").decode()),  # a secret stored as base64 of text
        ("tok-0123456789", "tok-0123456789\n"),  # the file's trailing newline trimmed
    ],
)
def test_a_secret_decoded_or_recased_on_its_way_is_masked(shown: str, secret: str) -> None:
    assert mask_text(f"echo: {shown}!", {secret}) == f"echo: {MASK}!"


def test_masking_a_value_masks_every_form_in_keys_and_strings() -> None:
    secret = "s3cr3t+K3y/=="
    value = {quote_plus(secret): [repr(secret), {"b": _b64(secret)}], "n": 1}
    assert mask_value(value, {secret}) == {MASK: [f"'{MASK}'", {"b": MASK}], "n": 1}


def test_ordinary_text_is_left_alone() -> None:
    secret = "correct horse battery staple"
    text = "correct horse ran; battery low; %63 of staple"
    assert mask_text(text, {secret}) == text
    assert mask_text("the first: correct horse batt, more", {secret}) == "the first: correct horse batt, more"


@pytest.mark.parametrize(
    "hostile", ["\\" * 100_000, "%25" * 50_000, " " * 100_000, "s3cr3t+K" * 12_500, "\\%5C" * 25_000]
)
def test_masking_is_linear_on_hostile_text(hostile: str) -> None:
    # A result of 100,000 backslashes once took minutes (a run matched from every position): bounded now.
    started = time.perf_counter()
    mask_text(hostile, {"s3cr3t+K3y/with=padding==", "        spaced", "pa\\ss"})
    assert time.perf_counter() - started < 10
