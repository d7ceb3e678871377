"""Amazon SNS deliveries: their signatures, checked before anything is written, and subscription confirmation.

SNS signs every message it posts (``Signature``, base64 RSA PKCS#1 v1.5 over a string built from the message's
fields, SHA1 for ``SignatureVersion`` 1 and SHA256 for 2) with the key of a certificate it publishes at
``SigningCertURL``. A body that claims to be an SNS message (the ``x-amz-sns-message-type`` header SNS always
sends) is accepted only when that signature is valid, so a forged SNS message is a 401 like any bad credential.

Both URLs a message names are fetched by the webhook, so both are held to what SNS uses: ``https`` on a host
``sns.<region>.amazonaws.com``, default port, no user info; and each connection goes through the executor's egress
check (public addresses only), so a message cannot make the webhook reach anything else. Certificates are cached
by URL (SNS rotates them rarely). A ``SubscriptionConfirmation`` is confirmed by fetching its ``SubscribeURL``
once its signature is valid; it is not an alert and is not written. An ``UnsubscribeConfirmation`` is answered
and not written either.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from services.shared.egress import PUBLIC_ONLY, EgressCheckedTransport, EgressRefused
from services.webhook.auth import unauthorized
from services.webhook.body import Rejected

#: The header SNS puts on every HTTP/S delivery: Notification, SubscriptionConfirmation or UnsubscribeConfirmation.
MESSAGE_TYPE_HEADER = "x-amz-sns-message-type"
#: Set (``true``) on a raw message delivery: the body is the message alone, unsigned.
RAW_DELIVERY_HEADER = "x-amz-sns-rawdelivery"
#: SNS's HTTPS endpoints, e.g. sns.eu-west-1.amazonaws.com.
SNS_HOST = re.compile(r"sns\.[a-z]{2}(?:-[a-z]+)+-\d\.amazonaws\.com")
#: The fields signed, in this order, per message type (AWS: "Verifying the signatures of Amazon SNS messages").
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
#: A signing certificate is a few KiB; more is not one.
MAX_CERTIFICATE_BYTES = 64 * 1024
FETCH_TIMEOUT_S = 5.0
#: When SNS could not be reached for a certificate: SNS retries a 5xx delivery on its own schedule.
RETRY_AFTER_S = 5
CACHED_CERTIFICATES = 32

Fetch = Callable[[str], Awaitable[bytes]]


def is_sns_delivery(headers: Mapping[str, str]) -> bool:
    """Whether the request says it is an SNS delivery (SNS sends ``x-amz-sns-message-type`` on every one)."""
    return bool(headers.get(MESSAGE_TYPE_HEADER))


def check_sns_url(url: Any, field: str) -> str:
    """``url`` when it is ``https://sns.<region>.amazonaws.com/...`` (default port, no user info), else a 401."""
    if not isinstance(url, str):
        raise unauthorized(f"SNS {field} is missing")
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme != "https" or parts.username or parts.password or port not in (None, 443):
        raise unauthorized(f"SNS {field} {url[:200]!r} is not an https URL of SNS")
    if not SNS_HOST.fullmatch(parts.hostname or ""):
        raise unauthorized(f"SNS {field} {url[:200]!r} is not on an sns.<region>.amazonaws.com host")
    return url


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    """What SNS signed: each field of the message type, in order, as ``name\\nvalue\\n`` (``Subject`` only when the
    message has one)."""
    fields = SIGNED_FIELDS.get(str(message.get("Type")))
    if fields is None:
        raise unauthorized(f"SNS message Type {str(message.get('Type'))[:60]!r} is not one SNS sends")
    signed = []
    for field in fields:
        value = message.get(field)
        if field == "Subject" and value is None:
            continue
        if not isinstance(value, str):
            raise unauthorized(f"SNS message field {field} is missing or not a string")
        signed.append(f"{field}\n{value}\n")
    return "".join(signed).encode("utf-8")


def verify_signature(message: Mapping[str, Any], certificate_pem: bytes) -> None:
    """Nothing when ``message``'s ``Signature`` is valid under the certificate's key; a 401 otherwise."""
    algorithm = HASHES.get(str(message.get("SignatureVersion")))
    if algorithm is None:
        raise unauthorized(f"SNS SignatureVersion {str(message.get('SignatureVersion'))[:20]!r} is not 1 or 2")
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
        key = x509.load_pem_x509_certificate(certificate_pem).public_key()
    except (binascii.Error, ValueError):
        raise unauthorized("SNS Signature or signing certificate is malformed") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise unauthorized("SNS signing certificate has no RSA key")
    try:
        key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise unauthorized("SNS signature does not match the message") from None


async def fetch_through_egress(url: str) -> bytes:
    """GET ``url`` (already checked to be SNS's) through the egress check, no redirects, at most
    ``MAX_CERTIFICATE_BYTES``. A refused address or an answer SNS would not give is a 401; SNS unreachable or
    failing (a network error, a 5xx) is a 503, which SNS retries."""
    transport = EgressCheckedTransport(PUBLIC_ONLY)
    try:
        async with (
            httpx.AsyncClient(transport=transport, timeout=FETCH_TIMEOUT_S, follow_redirects=False) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 500:
                raise _unavailable(f"SNS URL {url[:200]!r} answered {response.status_code}")
            if response.status_code != 200:
                raise unauthorized(f"SNS URL {url[:200]!r} answered {response.status_code}")
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_CERTIFICATE_BYTES:
                    raise unauthorized(f"SNS URL {url[:200]!r} answered more than {MAX_CERTIFICATE_BYTES} bytes")
            return body
    except EgressRefused as error:
        raise unauthorized(f"SNS URL {url[:200]!r} could not be fetched: {error}") from None
    except httpx.HTTPError as error:
        raise _unavailable(f"SNS URL {url[:200]!r} could not be fetched: {error!r}") from None


def _unavailable(reason: str) -> Rejected:
    return Rejected(503, reason, {"Retry-After": str(RETRY_AFTER_S)})


class SnsVerifier:
    """Checks SNS deliveries and confirms subscriptions; certificates cached by URL (the newest few)."""

    def __init__(self, fetch: Fetch | None = None) -> None:
        self._given_fetch = fetch
        self._certificates: OrderedDict[str, bytes] = OrderedDict()

    async def _fetch(self, url: str) -> bytes:
        # Looked up on each call (not bound at construction) so tests can stand in for the network.
        return await (self._given_fetch or fetch_through_egress)(url)

    async def certificate(self, url: Any) -> bytes:
        """The PEM at ``url`` once ``url`` is SNS's, from the cache when it was fetched before."""
        url = check_sns_url(url, "SigningCertURL")
        if url in self._certificates:
            self._certificates.move_to_end(url)
            return self._certificates[url]
        pem = await self._fetch(url)
        self._certificates[url] = pem
        if len(self._certificates) > CACHED_CERTIFICATES:
            self._certificates.popitem(last=False)
        return pem

    async def verified(self, body: bytes) -> dict[str, Any]:
        """The SNS message in ``body`` once its signature is valid: 400 when it is not a JSON object, 401 when the
        signature, its certificate URL or its fields are wrong."""
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise Rejected(400, f"not valid JSON: {error}") from None
        if not isinstance(message, dict):
            raise Rejected(400, "an SNS message must be a JSON object")
        verify_signature(message, await self.certificate(message.get("SigningCertURL")))
        return message

    async def confirm(self, message: Mapping[str, Any]) -> None:
        """Confirm the subscription a verified ``SubscriptionConfirmation`` asks for, by fetching its
        ``SubscribeURL`` (SNS's own URL only)."""
        await self._fetch(check_sns_url(message.get("SubscribeURL"), "SubscribeURL"))
