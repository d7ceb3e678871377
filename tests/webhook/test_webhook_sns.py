"""SNS deliveries on the webhook: signatures checked (401 when forged), SNS's text/plain taken, subscriptions
confirmed through SNS's own URL only, with a self-made key and certificate standing in for SNS's."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from services.webhook import sns
from services.webhook.body import Rejected
from services.webhook.sns import check_sns_url, string_to_sign
from tests.webhook.test_webhook import SETTINGS, serving

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
SUBSCRIBE_URL = (
    "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:eu-west-1:1:t&Token=abc"
)
ALARM = {
    "AlarmName": "api errors",
    "NewStateValue": "ALARM",
    "AlarmArn": "arn:aws:cloudwatch:eu-west-1:1:alarm:api errors",
}
SNS_HEADERS = {"content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification"}


def _certificate() -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    builder = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(KEY.public_key())
    builder = (
        builder.serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
    )
    return builder.sign(KEY, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


PEM = _certificate()


def signed(message: dict[str, Any], version: str = "1", key: rsa.RSAPrivateKey = KEY) -> dict[str, Any]:
    message = {"SignatureVersion": version, "SigningCertURL": CERT_URL} | message
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.sign(string_to_sign(message), padding.PKCS1v15(), algorithm)
    return message | {"Signature": base64.b64encode(signature).decode()}


def notification(**fields: Any) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": "arn:aws:sns:eu-west-1:1:t",
        "Subject": "ALARM: api errors",
        "Message": orjson.dumps(ALARM).decode(),
        "Timestamp": "2026-03-02T10:15:04.000Z",
    } | fields


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Stands in for the network: the certificate at CERT_URL, an empty page elsewhere; records each URL."""
    urls: list[str] = []

    async def fetch(url: str) -> bytes:
        urls.append(url)
        return PEM if url == CERT_URL else b"<ConfirmSubscriptionResponse/>"

    monkeypatch.setattr(sns, "fetch_through_egress", fetch)
    yield urls


@pytest.mark.parametrize("version", ["1", "2"])
async def test_a_signed_notification_is_written_whatever_its_text_content_type(
    fetched: list[str], version: str
) -> None:
    body = orjson.dumps(signed(notification(), version))
    async with serving(SETTINGS) as (client, raw):
        response = await client.post("/v1/alerts/aws", content=body, headers=SNS_HEADERS)
    assert response.status_code == 202, response.text
    assert [message for message, _, _ in raw.messages] == [body]
    assert fetched == [CERT_URL]


async def test_the_certificate_is_fetched_once(fetched: list[str]) -> None:
    async with serving(SETTINGS) as (client, _):
        for message_id in ("m-1", "m-2"):
            body = orjson.dumps(signed(notification(MessageId=message_id)))
            assert (await client.post("/v1/alerts/aws", content=body, headers=SNS_HEADERS)).status_code == 202
    assert fetched == [CERT_URL]


def _forgeries() -> list[tuple[dict[str, Any], str]]:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = signed(notification())
    return [
        (good | {"Message": orjson.dumps(ALARM | {"NewStateValue": "OK"}).decode()}, "does not match"),
        (signed(notification(), key=other_key), "does not match"),
        (good | {"SignatureVersion": "3"}, "SignatureVersion"),
        (good | {"Signature": "not base64!"}, "malformed"),
        (good | {"SigningCertURL": "https://evil.example.com/cert.pem"}, "sns.<region>.amazonaws.com"),
        (good | {"SigningCertURL": CERT_URL.replace("https", "http")}, "not an https URL"),
        (good | {"SigningCertURL": "https://sns.eu-west-1.amazonaws.com.evil.example/c.pem"}, "amazonaws.com host"),
        ({k: v for k, v in good.items() if k != "SigningCertURL"}, "SigningCertURL is missing"),
        (good | {"Type": "Other"}, "Type"),
    ]


@pytest.mark.parametrize(("message", "reason"), _forgeries())
async def test_a_forged_sns_message_is_401_and_not_written(
    fetched: list[str], message: dict[str, Any], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="services.webhook")
    async with serving(SETTINGS) as (client, raw):
        response = await client.post("/v1/alerts/aws", content=orjson.dumps(message), headers=SNS_HEADERS)
    assert response.status_code == 401 and raw.messages == []
    assert reason in caplog.text
    assert all(url == CERT_URL for url in fetched)  # nothing but SNS's certificate URL is ever fetched


async def test_a_subscription_is_confirmed_and_not_written(fetched: list[str]) -> None:
    message = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "c-1",
        "Token": "abc",
        "TopicArn": "arn:aws:sns:eu-west-1:1:t",
        "Message": "You have chosen to subscribe to the topic arn:aws:sns:eu-west-1:1:t.",
        "SubscribeURL": SUBSCRIBE_URL,
        "Timestamp": "2026-03-02T10:00:00.000Z",
    }
    headers = SNS_HEADERS | {"x-amz-sns-message-type": "SubscriptionConfirmation"}
    async with serving(SETTINGS) as (client, raw):
        response = await client.post("/v1/alerts/aws", content=orjson.dumps(signed(message)), headers=headers)
        forged = signed(message | {"SubscribeURL": "https://169.254.169.254/latest/meta-data/"})
        refused = await client.post("/v1/alerts/aws", content=orjson.dumps(forged), headers=headers)
    assert response.status_code == 200 and "confirmed" in response.json()["reason"]
    assert refused.status_code == 401
    assert fetched == [CERT_URL, SUBSCRIBE_URL] and raw.messages == []


async def test_raw_delivery_is_unsigned_and_left_to_the_sources_credentials(fetched: list[str]) -> None:
    headers = SNS_HEADERS | {"x-amz-sns-rawdelivery": "true"}
    async with serving(SETTINGS) as (client, raw):
        response = await client.post("/v1/alerts/aws", content=orjson.dumps(ALARM), headers=headers)
    assert response.status_code == 202 and len(raw.messages) == 1 and fetched == []


async def test_text_plain_without_the_sns_header_is_still_refused() -> None:
    async with serving(SETTINGS) as (client, _):
        response = await client.post(
            "/v1/alerts/aws", content=orjson.dumps(ALARM), headers={"content-type": "text/plain"}
        )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.eu-west-1.amazonaws.com:8443/c.pem",
        "https://user@sns.eu-west-1.amazonaws.com/c.pem",
        "https://sns.amazonaws.com/c.pem",
        "https://sns.eu-west-1.amazonaws.com:99999/c.pem",
        "ftp://sns.eu-west-1.amazonaws.com/c.pem",
    ],
)
def test_only_sns_https_urls_pass(url: str) -> None:
    with pytest.raises(Rejected) as refused:
        check_sns_url(url, "SigningCertURL")
    assert refused.value.status == 401
    assert check_sns_url("https://sns.us-gov-west-1.amazonaws.com/c.pem", "x")


async def test_the_default_fetch_refuses_private_addresses() -> None:
    # The egress check itself: an SNS-looking name cannot lead to a loopback address.
    with pytest.raises(Rejected, match="loopback") as refused:
        await sns.fetch_through_egress("https://127.0.0.1/c.pem")
    assert refused.value.status == 401


async def test_sns_unreachable_is_a_503_sns_retries() -> None:
    # A name that never resolves (RFC 2606 .invalid): a network failure, not a forgery.
    with pytest.raises(Rejected) as refused:
        await sns.fetch_through_egress("https://sns.eu-west-1.amazonaws.com.invalid/c.pem")
    assert refused.value.status == 503 and refused.value.headers["Retry-After"] == "5"
