"""The webhook's credentials file and request authentication, without any server."""

from __future__ import annotations

import hmac
import stat
from pathlib import Path

import pytest
from starlette.datastructures import Headers

from alertmesh.cli import main as alertmesh_cli
from services.webhook import auth as webhook_auth
from services.webhook.auth import WebhookAuth
from services.webhook.body import Rejected
from services.webhook.credentials import CredentialsFileError, hash_key, load_credentials
from tests.webhook.credentials import (
    GITHUB_SECRET,
    GRAFANA_SECRET,
    GRAFANA_SIGNATURE,
    GRAFANA_TIMESTAMP,
    KEY,
    OLD_KEY,
    hmac_hex,
    write_credentials,
)

BODY = b'{"alerts": []}'
NOW = 1_800_000_000.0


@pytest.fixture
def auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WebhookAuth:
    monkeypatch.setenv("TEST_GRAFANA_WEBHOOK_SECRET", GRAFANA_SECRET)
    return WebhookAuth(load_credentials(write_credentials(tmp_path / "creds.yaml")), 300, clock=lambda: NOW)


def accepted(auth: WebhookAuth, source: str, headers: dict[str, str], body: bytes = BODY) -> bool:
    """The handler's order: the key from headers alone, then the signature over the body."""
    credentials = auth.credentials_for(source)
    assert credentials is not None
    request_headers = Headers(headers)  # case-insensitive, as a request's headers are
    if not auth.check_without_body(credentials, request_headers):
        auth.check_signature(credentials, request_headers, body)
    return True


def refusal(auth: WebhookAuth, source: str, headers: dict[str, str], body: bytes = BODY) -> Rejected:
    with pytest.raises(Rejected) as refused:
        accepted(auth, source, headers, body)
    return refused.value


@pytest.mark.parametrize(
    "headers", [{"authorization": f"Bearer {KEY}"}, {"x-api-key": KEY}, {"authorization": f"bearer  {KEY} "}]
)
def test_the_key_is_accepted_as_bearer_or_x_api_key(auth: WebhookAuth, headers: dict[str, str]) -> None:
    assert accepted(auth, "prometheus", headers)


def test_every_listed_key_works_so_keys_can_be_rotated(auth: WebhookAuth) -> None:
    assert accepted(auth, "prometheus", {"authorization": f"Bearer {OLD_KEY}"})
    assert accepted(auth, "prometheus", {"x-api-key": KEY})


def test_keys_are_compared_by_digest_with_compare_digest_against_every_stored_key(
    auth: WebhookAuth, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(webhook_auth.hmac, "compare_digest", spy)
    assert accepted(auth, "prometheus", {"x-api-key": KEY})  # the first key: the second is still compared
    stored = {bytes.fromhex(hash_key(KEY)), bytes.fromhex(hash_key(OLD_KEY))}
    assert {b for _, b in compared} == stored
    assert all(a == bytes.fromhex(hash_key(KEY)) for a, _ in compared), "the presented key is hashed first"


def test_wrong_or_missing_key_is_401_with_a_challenge(auth: WebhookAuth) -> None:
    wrong = refusal(auth, "prometheus", {"authorization": "Bearer nope"})
    assert (wrong.status, wrong.reason) == (401, "invalid API key")
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer ")
    missing = refusal(auth, "prometheus", {})
    assert missing.status == 401 and missing.reason.startswith("missing credentials")
    basic = refusal(auth, "prometheus", {"authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status == 401, "only Bearer carries an API key"


def test_a_key_of_another_source_is_refused(auth: WebhookAuth) -> None:
    assert refusal(auth, "github", {"x-api-key": KEY}).status == 401


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": KEY}, {"authorization": f"Bearer {OLD_KEY}"}, {"x-hub-signature-256": "sha256=" + "0" * 64}],
)
def test_an_unknown_source_is_refused_like_a_wrong_credential(auth: WebhookAuth, headers: dict[str, str]) -> None:
    # Was a 404 naming the source. Now it is checked against a decoy no request can satisfy: the same 401.
    assert not auth.knows("nobody") and auth.knows("prometheus")
    refused = refusal(auth, "nobody", headers)
    assert (refused.status, refused.public, refused.headers) == (401, webhook_auth.UNAUTHORIZED, webhook_auth.CHALLENGE)


def test_github_style_signature(auth: WebhookAuth) -> None:
    signature = "sha256=" + hmac_hex(GITHUB_SECRET, BODY)
    assert accepted(auth, "github", {"x-hub-signature-256": signature})
    bad = refusal(auth, "github", {"x-hub-signature-256": signature}, body=BODY + b" ")
    assert (bad.status, bad.reason) == (401, "invalid signature in X-Hub-Signature-256")
    assert refusal(auth, "github", {}).reason == "missing credentials: send a signature in X-Hub-Signature-256"


def grafana_headers(body: bytes, sent: float, secret: str = GRAFANA_SECRET) -> dict[str, str]:
    """What Grafana 12+ sends with an HMAC config and a timestamp header: hex HMAC of "{timestamp}:{body}"."""
    stamp = str(int(sent))
    return {GRAFANA_SIGNATURE: hmac_hex(secret, f"{stamp}:".encode() + body), GRAFANA_TIMESTAMP: stamp}


def test_grafana_signature_with_timestamp(auth: WebhookAuth) -> None:
    assert accepted(auth, "grafana", grafana_headers(BODY, NOW - 10))
    assert refusal(auth, "grafana", grafana_headers(BODY, NOW, secret="x" * 20)).status == 401
    # The timestamp is part of what is signed: changing it breaks the signature.
    headers = grafana_headers(BODY, NOW) | {GRAFANA_TIMESTAMP: str(int(NOW) - 1)}
    assert refusal(auth, "grafana", headers).reason == f"invalid signature in {GRAFANA_SIGNATURE}"
    # The body alone (no timestamp) is not what this source signs.
    body_only = {GRAFANA_SIGNATURE: hmac_hex(GRAFANA_SECRET, BODY), GRAFANA_TIMESTAMP: str(int(NOW))}
    assert refusal(auth, "grafana", body_only).status == 401


@pytest.mark.parametrize(("offset", "word"), [(-301, "old"), (301, "in the future")])
def test_stale_and_far_future_timestamps_are_refused(auth: WebhookAuth, offset: int, word: str) -> None:
    refused = refusal(auth, "grafana", grafana_headers(BODY, NOW + offset))
    assert refused.status == 401
    assert word in refused.reason and "replay" in refused.reason


def test_missing_or_malformed_timestamp_is_refused(auth: WebhookAuth) -> None:
    signature = hmac_hex(GRAFANA_SECRET, BODY)
    missing = refusal(auth, "grafana", {GRAFANA_SIGNATURE: signature})
    assert GRAFANA_TIMESTAMP in missing.reason
    garbled = refusal(auth, "grafana", {GRAFANA_SIGNATURE: signature, GRAFANA_TIMESTAMP: "yesterday"})
    assert "Unix seconds" in garbled.reason


def test_auth_off_admits_every_source() -> None:
    assert WebhookAuth(None).credentials_for("anything") is None


# The file itself.


def test_env_referenced_secret_must_be_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_GRAFANA_WEBHOOK_SECRET", raising=False)
    path = write_credentials(tmp_path / "creds.yaml")
    with pytest.raises(CredentialsFileError, match=r"creds.yaml:\d+:\d+: sources.grafana.signatures\[0\].secret: "):
        load_credentials(path)


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ({"p": {"api_keys": [{"sha256": "abc"}]}}, r"sources\.p\.api_keys\[0\]\.sha256: .*64 hex"),
        ({"p": {"api_keys": [{"key": KEY}]}}, r"sources\.p\.api_keys\[0\]\.key: Extra inputs"),
        ({"p": {}}, r"sources\.p: .*nothing could ever authenticate"),
        ({"bad name": {"api_keys": [{"sha256": hash_key(KEY)}]}}, r"source name 'bad name'"),
        ({"p": {"signatures": [{"secret": {"value": "short"}}]}}, r"signatures\[0\]\.secret\.value"),
        ({"p": {"signatures": [{"secret": {}}]}}, r"exactly one of `value`"),
    ],
)
def test_invalid_entries_are_named(tmp_path: Path, sources: dict[str, object], message: str) -> None:
    path = write_credentials(tmp_path / "creds.yaml", sources)
    with pytest.raises(
        CredentialsFileError,
        match=rf"invalid webhook credentials \(\d problems?\):\n(.*\n)*.*creds\.yaml:\d+:\d+: .*{message}",
    ):
        load_credentials(path)


def test_missing_file_and_bad_yaml_are_named(tmp_path: Path) -> None:
    with pytest.raises(CredentialsFileError, match=r"absent\.yaml: cannot read"):
        load_credentials(tmp_path / "absent.yaml")
    (tmp_path / "bad.yaml").write_text("sources: [unclosed")
    with pytest.raises(CredentialsFileError, match=r"bad\.yaml:1:19: invalid YAML"):
        load_credentials(tmp_path / "bad.yaml")


def test_an_inline_secret_in_a_world_readable_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_GRAFANA_WEBHOOK_SECRET", GRAFANA_SECRET)
    path = write_credentials(tmp_path / "creds.yaml", mode=0o644)
    with pytest.raises(CredentialsFileError, match=r"inline secret \(sources.github.signatures\[0\]\).*chmod o-r"):
        load_credentials(path)
    # Hashed keys only: nothing usable to read, so a world-readable file (e.g. a container mount) is fine.
    only_hashes = write_credentials(tmp_path / "keys.yaml", {"p": {"api_keys": [{"sha256": hash_key(KEY)}]}}, 0o644)
    assert set(load_credentials(only_hashes)) == {"p"}


def test_add_key_creates_a_private_file_and_keeps_old_keys_for_rotation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "creds.yaml"
    assert alertmesh_cli(["webhook-key", "add", str(path), "alertmanager", "grafana"]) == 0
    first = capsys.readouterr().out.strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first not in path.read_text()
    path.chmod(0o644)  # e.g. for a container mount: an existing file keeps its mode
    assert alertmesh_cli(["webhook-key", "add", str(path), "alertmanager"]) == 0
    second = capsys.readouterr().out.strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    auth = WebhookAuth(load_credentials(path))
    for key in (first, second):
        assert accepted(auth, "alertmanager", {"authorization": f"Bearer {key}"})
    assert refusal(auth, "grafana", {"authorization": f"Bearer {second}"}).status == 401


PAGERDUTY_SECRET = "pagerduty-secret-0123456789"
SENTRY_SECRET = "sentry-secret-0123456789"


@pytest.fixture
def vendor_auth(tmp_path: Path) -> WebhookAuth:
    sources = {
        "pagerduty": {"signatures": [{"header": "X-PagerDuty-Signature", "secret": {"value": PAGERDUTY_SECRET}}]},
        "sentry": {"signatures": [{"header": "Sentry-Hook-Signature", "secret": {"value": SENTRY_SECRET}}]},
    }
    return WebhookAuth(load_credentials(write_credentials(tmp_path / "creds.yaml", sources)), 300, clock=lambda: NOW)


@pytest.mark.parametrize(
    "signature",
    [
        "v1=" + hmac_hex(PAGERDUTY_SECRET, BODY),
        "v1=" + "0" * 64 + ",v1=" + hmac_hex(PAGERDUTY_SECRET, BODY),  # a secret being rotated: one of two is ours
        "v1=" + hmac_hex(PAGERDUTY_SECRET, BODY) + ", v1=" + "0" * 64,
    ],
)
def test_pagerduty_signatures_with_their_v1_prefix_and_several_per_header(
    vendor_auth: WebhookAuth, signature: str
) -> None:
    assert accepted(vendor_auth, "pagerduty", {"X-PagerDuty-Signature": signature})


def test_several_signatures_that_are_all_wrong_are_refused(vendor_auth: WebhookAuth) -> None:
    wrong = "v1=" + "0" * 64 + ",v1=" + hmac_hex("another secret", BODY)
    assert refusal(vendor_auth, "pagerduty", {"X-PagerDuty-Signature": wrong}).reason.startswith("invalid signature")
    # Only the first few are checked, so a header cannot make the bridge compute without bound.
    buried = ",".join(["v1=" + "0" * 64] * webhook_auth.MAX_SIGNATURES_PER_HEADER + [hmac_hex(PAGERDUTY_SECRET, BODY)])
    assert refusal(vendor_auth, "pagerduty", {"X-PagerDuty-Signature": buried}).reason.startswith("invalid signature")


def test_sentry_signs_the_body_as_plain_hex(vendor_auth: WebhookAuth) -> None:
    assert accepted(vendor_auth, "sentry", {"Sentry-Hook-Signature": hmac_hex(SENTRY_SECRET, BODY)})


def test_the_vendor_credentials_example_accepts_each_senders_own_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGERDUTY_WEBHOOK_SECRET", PAGERDUTY_SECRET)
    monkeypatch.setenv("SENTRY_CLIENT_SECRET", SENTRY_SECRET)
    example = Path(__file__).parents[2] / "docs" / "examples" / "webhook" / "vendor-credentials.yaml"
    auth = WebhookAuth(load_credentials(example), 300, clock=lambda: NOW)
    rotating = "v1=" + hmac_hex("the old secret", BODY) + ",v1=" + hmac_hex(PAGERDUTY_SECRET, BODY)
    assert accepted(auth, "pagerduty", {"X-PagerDuty-Signature": rotating})
    assert accepted(auth, "sentry", {"Sentry-Hook-Signature": hmac_hex(SENTRY_SECRET, BODY)})
    for source in ("datadog", "opsgenie", "elastic"):
        assert accepted(auth, source, {"X-API-Key": "example-key-shown-in-the-docs"})
