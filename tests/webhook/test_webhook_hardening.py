"""The webhook under attack, in process (FastStream's in-memory broker): signed timestamps that are not numbers,
credentials files anyone may write or read, reloading them, one answer for every authentication failure, the cap
on alerts per request, and a public port that serves alerts only."""

from __future__ import annotations

import asyncio
import logging
import math
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import Headers

from services.shared.topics import TopicSettings
from services.webhook.app import create_app
from services.webhook.auth import UNAUTHORIZED, UNIX_SECONDS, WebhookAuth
from services.webhook.body import Rejected, alerts_in, could_exceed
from services.webhook.config import WebhookSettings
from services.webhook.credentials import CredentialsFileError, hash_key, load_credentials
from services.webhook.reload import CredentialsReloader, version
from tests.shared.strategies import FUZZ
from tests.webhook.credentials import (
    GITHUB_SECRET,
    GRAFANA_SECRET,
    GRAFANA_SIGNATURE,
    GRAFANA_TIMESTAMP,
    KEY,
    OLD_KEY,
    SOURCES,
    hmac_hex,
    write_credentials,
)
from tests.webhook.strategies import CREDENTIALS, HOSTILE_STAMPS, documents
from tests.webhook.strategies import SOURCES as SOURCE_NAMES
from tests.webhook.test_webhook import JSON, SETTINGS, RawTopic, serving

BODY = b'{"alerts": []}'
NOW = 1_800_000_000.0
NDJSON = {"content-type": "application/x-ndjson"}


@pytest.fixture(autouse=True)
def grafana_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test credentials file reads one signature secret from the environment."""
    monkeypatch.setenv("TEST_GRAFANA_WEBHOOK_SECRET", GRAFANA_SECRET)


def fixed_auth(tmp_path: Path) -> WebhookAuth:
    return WebhookAuth(load_credentials(write_credentials(tmp_path / "creds.yaml")), 300, clock=lambda: NOW)


def grafana_check(auth: WebhookAuth, stamp: str, body: bytes = BODY) -> Rejected | None:
    """What the Grafana rule says of a correctly signed request carrying ``stamp``: None when accepted."""
    headers = Headers(
        {GRAFANA_SIGNATURE: hmac_hex(GRAFANA_SECRET, stamp.encode() + b":" + body), GRAFANA_TIMESTAMP: stamp}
    )
    credentials = auth.credentials_for("grafana")
    assert credentials is not None
    try:
        assert not auth.check_without_body(credentials, headers)
        auth.check_signature(credentials, headers, body)
    except Rejected as rejected:
        return rejected
    return None


# Item: signed timestamps must be finite Unix seconds within the window.


@pytest.mark.parametrize(
    "stamp", ["nan", "NaN", "-nan", "inf", "-inf", "+inf", "Infinity", "1e400", "9" * 400, "1e9", "1_800_000_000"]
)
def test_a_signed_timestamp_that_is_not_finite_unix_seconds_is_refused(tmp_path: Path, stamp: str) -> None:
    refused = grafana_check(fixed_auth(tmp_path), stamp)
    assert refused is not None and refused.status == 401
    assert "must be Unix seconds" in refused.reason
    assert refused.public == UNAUTHORIZED


@given(stamp=HOSTILE_STAMPS)
@FUZZ
def test_fuzz_a_signed_timestamp_is_accepted_only_as_finite_seconds_within_the_window(stamp: str) -> None:
    auth = WebhookAuth({"grafana": load_credentials_cached()["grafana"]}, max_skew_s=300, clock=lambda: NOW)
    outcome = grafana_check(auth, stamp)
    text = stamp.strip()
    plain = bool(UNIX_SECONDS.fullmatch(text))
    inside = plain and math.isfinite(float(text)) and abs(float(text) - NOW) <= 300
    assert (outcome is None) == inside, (stamp, outcome and outcome.reason)
    if outcome is not None:
        assert outcome.status == 401 and outcome.public == UNAUTHORIZED


@given(offset=st.floats(-1e6, 1e6, allow_nan=False))
@FUZZ
def test_fuzz_the_window_is_exact_for_real_timestamps(offset: float) -> None:
    auth = WebhookAuth({"grafana": load_credentials_cached()["grafana"]}, max_skew_s=300, clock=lambda: NOW)
    stamp = f"{NOW + offset:.3f}"
    assert (grafana_check(auth, stamp) is None) == (abs(float(stamp) - NOW) <= 300)


_CACHE: dict[str, object] = {}


def load_credentials_cached() -> dict[str, object]:
    """The test credentials, loaded once for the fuzz tests (a real file, as operators write it)."""
    if "c" not in _CACHE:
        with tempfile.TemporaryDirectory() as directory:
            _CACHE["c"] = load_credentials(write_credentials(Path(directory) / "c.yaml"))
    loaded = _CACHE["c"]
    assert isinstance(loaded, dict)
    return loaded


# Item: credentials files anyone may write, or others may read when they hold an inline secret.


@pytest.mark.parametrize(
    ("mode", "sources", "problem"),
    [
        (0o602, None, "writable by every user"),
        (0o666, None, "writable by its group and every user"),
        (0o620, {"p": {"api_keys": [{"sha256": hash_key(KEY)}]}}, "writable by its group"),  # hashes only, too
        (0o646, {"p": {"api_keys": [{"sha256": hash_key(KEY)}]}}, "writable by every user"),  # hashes only, too
        (0o640, None, "readable by its group"),
        (0o600 | 0o040, None, "readable by its group"),
        (0o604, None, "readable by every user"),
        (0o644, None, "readable by its group and every user"),
    ],
)
def test_an_unsafe_credentials_file_stops_start_up(
    tmp_path: Path, mode: int, sources: dict[str, object] | None, problem: str
) -> None:
    path = write_credentials(tmp_path / "c.yaml", sources, mode=mode)
    with pytest.raises(CredentialsFileError, match=problem):
        create_app(WebhookSettings(credentials_file=path))


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_a_private_credentials_file_is_used(tmp_path: Path, mode: int) -> None:
    assert create_app(WebhookSettings(credentials_file=write_credentials(tmp_path / "c.yaml", mode=mode)))


@pytest.mark.parametrize("mode", [0o640, 0o644, 0o444])
def test_a_file_of_hashes_only_may_be_read_by_others(tmp_path: Path, mode: int) -> None:
    # Nothing usable to read (e.g. a container mount), so only writing by its group or everyone is refused.
    path = write_credentials(tmp_path / "c.yaml", {"p": {"api_keys": [{"sha256": hash_key(KEY)}]}}, mode=mode)
    assert set(load_credentials(path)) == {"p"}


# Item: the credentials file is reloaded when it changes; an invalid or unsafe new version is refused.


def reloader_for(path: Path) -> tuple[CredentialsReloader, WebhookAuth]:
    loaded = version(path)
    auth = WebhookAuth(load_credentials(path), 300, clock=lambda: NOW)
    return CredentialsReloader(path, auth, loaded), auth


def key_works(auth: WebhookAuth, source: str, key: str) -> bool:
    credentials = auth.credentials_for(source)
    assert credentials is not None
    return auth.key_accepted(credentials, Headers({"x-api-key": key}))


def test_a_changed_file_is_reloaded_and_a_bad_one_keeps_the_old(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_credentials(tmp_path / "c.yaml")
    reloader, auth = reloader_for(path)
    assert not reloader.check()  # unchanged
    write_credentials(
        path,
        SOURCES
        | {
            "prometheus": {"api_keys": [{"sha256": hash_key(KEY)}]},
            "new": {"api_keys": [{"sha256": hash_key(OLD_KEY)}]},
        },
    )
    assert reloader.check()
    assert not key_works(auth, "prometheus", OLD_KEY) and key_works(auth, "prometheus", KEY)
    assert auth.knows("new") and key_works(auth, "new", OLD_KEY)
    with caplog.at_level(logging.INFO, "services.webhook"):
        for broken, mode in [("sources: [", 0o600), ("sources:\n  p: {api_keys: [{sha256: x}]}\n", 0o600)]:
            path.write_text(broken)
            path.chmod(mode)
            assert not reloader.check()
            assert not reloader.check()  # the same broken version is reported once
        path.unlink()
        assert not reloader.check()
    refusals = [r for r in caplog.records if "refused" in r.getMessage() and r.levelno == logging.ERROR]
    assert len(refusals) == 3 and "c.yaml:2:" in refusals[1].getMessage()
    assert key_works(auth, "prometheus", KEY) and auth.knows("new")


@pytest.mark.parametrize("unsafe", [0o666, 0o602, 0o640, 0o604])
def test_a_file_made_unsafe_is_refused_at_reload_and_the_old_credentials_stay(tmp_path: Path, unsafe: int) -> None:
    path = write_credentials(tmp_path / "c.yaml")
    reloader, auth = reloader_for(path)
    # New content and an unsafe mode at once, and the mode alone: both refused.
    write_credentials(
        path, SOURCES | {"prometheus": {"api_keys": [{"sha256": hash_key("attacker-key-0123456789")}]}}, mode=unsafe
    )
    assert not reloader.check()
    assert key_works(auth, "prometheus", KEY) and not key_works(auth, "prometheus", "attacker-key-0123456789")
    path.chmod(0o600)
    assert reloader.check()
    assert key_works(auth, "prometheus", "attacker-key-0123456789") and not key_works(auth, "prometheus", KEY)


async def test_the_running_app_follows_its_credentials_file(tmp_path: Path) -> None:
    path = write_credentials(tmp_path / "c.yaml")
    settings = WebhookSettings(topics=TopicSettings(raw="w.raw"), credentials_file=path, credentials_reload_s=0.05)
    async with serving(settings) as (client, raw):
        assert (
            await client.post("/v1/alerts/prometheus", content=b"{}", headers=JSON | {"x-api-key": OLD_KEY})
        ).status_code == 202
        write_credentials(path, SOURCES | {"prometheus": {"api_keys": [{"sha256": hash_key(KEY)}]}})
        deadline = time.monotonic() + 5
        while (
            await client.post("/v1/alerts/prometheus", content=b"{}", headers=JSON | {"x-api-key": OLD_KEY})
        ).status_code != 401:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    assert len(raw.messages) >= 1


# Item: one answer for an unknown source and for bad or missing credentials.


@pytest.fixture
async def authed(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, RawTopic]]:
    settings = WebhookSettings(
        max_body_bytes=4096, topics=TopicSettings(raw="w.raw"), credentials_file=write_credentials(tmp_path / "c.yaml")
    )
    async with serving(settings) as served:
        yield served


class Served:
    """One app (in-memory broker) kept serving across a fuzz test's examples, on an event loop of its own."""

    def __init__(self, settings: WebhookSettings) -> None:
        self._runner = asyncio.Runner()
        self._serving = serving(settings)
        self.client, self.raw = self._runner.run(self._serving.__aenter__())

    def post(self, source: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self._runner.run(self.client.post(f"/v1/alerts/{source}", content=body, headers=headers))

    def close(self) -> None:
        self._runner.run(self._serving.__aexit__(None, None, None))
        self._runner.close()


def test_fuzz_every_authentication_failure_gets_the_same_answer(tmp_path: Path) -> None:
    settings = WebhookSettings(
        max_body_bytes=4096, topics=TopicSettings(raw="w.raw"), credentials_file=write_credentials(tmp_path / "c.yaml")
    )
    served = Served(settings)

    @given(source=SOURCE_NAMES, credentials=CREDENTIALS, body=st.sampled_from([b"{}", b"x" * 5000, b"[1]"]))
    @FUZZ
    def check(source: str, credentials: dict[str, str], body: bytes) -> None:
        answer = served.post(source, body, JSON | credentials)
        reference = served.post("prometheus", body, JSON | credentials)
        seen = [(r.status_code, r.content, r.headers.get("www-authenticate")) for r in (answer, reference)]
        if 401 in (answer.status_code, reference.status_code):
            # An unknown source, and a known one with the same wrong credentials: one answer, byte for byte.
            assert seen[0] == seen[1], (source, credentials)
            assert orjson.loads(answer.content) == {"status": "rejected", "reason": UNAUTHORIZED}
        assert answer.status_code in (400, 401, 413), answer.text
        assert served.raw.messages == []

    try:
        check()
    finally:
        served.close()


# Item: the public port serves alerts only.


@pytest.mark.parametrize("path", ["/metrics", "/docs", "/redoc", "/openapi.json"])
async def test_the_public_port_serves_no_metrics_and_no_api_description(path: str) -> None:
    async with serving(SETTINGS) as (client, _):
        assert (await client.get(path)).status_code == 404
        assert (await client.get("/healthz")).status_code == 200


async def test_the_api_description_is_served_when_asked_for() -> None:
    async with serving(SETTINGS.model_copy(update={"api_docs": True})) as (client, _):
        assert (await client.get("/openapi.json")).status_code == 200
        assert (await client.get("/docs")).status_code == 200
        assert (await client.get("/metrics")).status_code == 404


# Item: a cap on the alerts one request carries.


@pytest.mark.parametrize(
    ("body", "headers", "count"),
    [
        (b'{"a": 1}\n' * 11, NDJSON, 11),
        (orjson.dumps({"version": "4", "alerts": [{"n": n} for n in range(11)]}), JSON, 11),
        (orjson.dumps({"deep": {"er": {"list": [{"n": n} for n in range(30)]}}}), JSON, 30),
        (orjson.dumps([{"n": n} for n in range(12)]), JSON, 12),
        (b"\n".join([orjson.dumps({"alerts": [{"n": 1}] * 6})] * 2), NDJSON, 12),
    ],
)
async def test_a_request_of_more_alerts_than_the_cap_is_413_naming_it(
    body: bytes, headers: dict[str, str], count: int
) -> None:
    async with serving(SETTINGS.model_copy(update={"max_alerts_per_request": 10})) as (client, raw):
        response = await client.post("/v1/alerts/prom", content=body, headers=headers)
    assert response.status_code == 413
    reason = response.json()["reason"]
    assert f"{count} alerts" in reason and "10-alert limit" in reason and "WEBHOOK_MAX_ALERTS_PER_REQUEST" in reason
    assert raw.messages == []


def test_fuzz_the_alert_cap_counts_every_alert_a_request_can_become() -> None:
    cap = 25
    served = Served(SETTINGS.model_copy(update={"max_alerts_per_request": cap, "max_body_bytes": 1_048_576}))

    @given(document=documents(30), lines=st.integers(1, 4))
    @FUZZ
    def check(document: tuple[object, int], lines: int) -> None:
        value, per_document = document
        assert alerts_in(value) == per_document
        body = b"\n".join([orjson.dumps(value)] * lines)
        before = len(served.raw.messages)
        response = served.post("prom", body, NDJSON if lines > 1 else JSON)
        total = per_document * lines
        assert response.status_code == (202 if total <= cap else 413), (total, response.text)
        assert len(served.raw.messages) - before == (lines if total <= cap else 0)
        if total > cap:
            assert f"{total} alerts" in response.json()["reason"]

    try:
        check()
    finally:
        served.close()


def test_the_default_cap_is_a_thousand_alerts() -> None:
    assert WebhookSettings(allow_unauthenticated=True).max_alerts_per_request == 1000


async def test_github_signed_requests_are_still_accepted_with_a_decoy_in_place(
    authed: tuple[httpx.AsyncClient, RawTopic],
) -> None:
    client, raw = authed
    body = b'{"action": "opened"}'
    headers = JSON | {"x-hub-signature-256": "sha256=" + hmac_hex(GITHUB_SECRET, body)}
    assert (await client.post("/v1/alerts/github", content=body, headers=headers)).status_code == 202
    # The same valid GitHub signature names no other source: refused like anything else.
    assert (await client.post("/v1/alerts/githu8", content=body, headers=headers)).status_code == 401
    assert len(raw.messages) == 1


@given(count=st.integers(0, 400), padding=st.integers(0, 3))
@FUZZ
def test_fuzz_a_body_too_small_to_exceed_the_cap_is_never_counted_wrongly(count: int, padding: int) -> None:
    # The shortcut that skips counting small bodies must never skip one that exceeds the cap.
    body = orjson.dumps([{}] * count) + b" " * padding
    for cap in range(max(1, count - 3), count + 3):
        if not could_exceed(len(body), 1, cap):
            assert max(1, count) <= cap, (count, cap)
