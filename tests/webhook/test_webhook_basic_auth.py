"""HTTP Basic authentication with the source's API key as password: how SNS, Cloud Monitoring and Grafana legacy
channels send credentials (they can only put them in the URL)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from services.webhook.auth import WebhookAuth
from services.webhook.credentials import load_credentials
from tests.webhook.credentials import KEY, write_credentials
from tests.webhook.test_webhook_auth import accepted, refusal


def basic(user_and_password: bytes) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(user_and_password).decode()}


@pytest.fixture
def auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WebhookAuth:
    monkeypatch.setenv("TEST_GRAFANA_WEBHOOK_SECRET", "unused-secret-0123456789")
    return WebhookAuth(load_credentials(write_credentials(tmp_path / "creds.yaml")))


@pytest.mark.parametrize("user", [b"aws-sns", b""])
def test_the_key_is_accepted_as_the_basic_password(auth: WebhookAuth, user: bytes) -> None:
    assert accepted(auth, "prometheus", basic(user + b":" + KEY.encode()))


@pytest.mark.parametrize(
    "headers",
    [
        basic(b"prometheus:wrong-key"),
        basic(KEY.encode()),  # no colon: a user name alone
        basic(b"user:"),
        basic(b"any:thing:" + KEY.encode()),  # RFC 7617: the password is all after the first colon
        {"authorization": "Basic not-base64!"},
        {"authorization": "Basic " + base64.b64encode(b"u:\xff").decode()},
        {"authorization": "Basic"},
    ],
)
def test_a_wrong_or_malformed_basic_credential_is_refused(auth: WebhookAuth, headers: dict[str, str]) -> None:
    assert refusal(auth, "prometheus", headers).status == 401


def test_a_basic_key_of_another_source_is_refused(auth: WebhookAuth) -> None:
    assert refusal(auth, "github", basic(b"x:" + KEY.encode())).status == 401
