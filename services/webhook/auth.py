"""Who may post to the webhook: per-source API keys and HMAC-SHA256 body signatures (``webhook_credentials``).

A request is accepted when it carries one valid credential of its source:
- an API key as ``Authorization: Bearer <key>`` (what Alertmanager's ``http_config.authorization`` sends, and
  Grafana's "Authorization header") or ``X-API-Key: <key>``, or as the password of HTTP Basic authentication (any
  user name) for senders that can only put credentials in the URL (Amazon SNS, Cloud Monitoring's basic-auth
  webhooks, Grafana legacy channels); compared by SHA-256 digest in constant time;
- a signature in the configured header: hex HMAC-SHA256, with or without GitHub's ``sha256=`` or PagerDuty's
  ``v1=`` prefix, of the body, or of ``"{timestamp}:{body}"`` when a timestamp header is configured (Grafana
  12+). The header may hold several signatures, comma-separated (PagerDuty signs with each of a subscription's
  secrets while one is rotated): one valid among the first few is enough. A signed timestamp
  must be Unix seconds (ASCII digits, an optional fraction: no ``nan``, ``inf``, exponent or sign) within the
  replay window of this server's clock, in both directions. A signature without a timestamp (GitHub's style)
  has no replay window: a captured request can be sent again (ingest's deduplication then drops it as a
  repeat only within its window).

One answer for every failure: an unknown source, a missing, wrong or revoked key, a bad or stale signature all
get the same 401 and body (``UNAUTHORIZED``), so the port does not tell a stranger which sources exist or what
they use; the full reason is logged. An unknown source is checked against a decoy entry (an unguessable key and
a signature rule for every signature header the file uses) so that it costs the same work as a known one: the
body is read (to check a signature) exactly when the request carries a signature header the file uses, whatever
its source.

Every comparison goes through ``hmac.compare_digest`` and visits every stored key, so timing says nothing
about how close a guess was or which key matched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import secrets
import time
from collections.abc import Callable, Mapping

from services.webhook.body import Rejected
from services.webhook.credentials import SignatureRule, SourceCredentials

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="alertmesh webhook"'}
API_KEY_HEADER = "x-api-key"
SIGNATURE_PREFIXES = ("sha256=", "v1=")
#: At most this many comma-separated signatures of one header are checked (PagerDuty sends two while rotating).
MAX_SIGNATURES_PER_HEADER = 4
#: What every refused credential is answered (the reason is in the log only).
UNAUTHORIZED = "missing or invalid credentials for this source"
#: A signed timestamp as senders write it: Unix seconds in ASCII digits, optionally with a fraction. Anything
#: else (``nan``, ``inf``, ``1e9``, ``-5``, ``1_700_000_000``, other scripts' digits) is refused before parsing.
UNIX_SECONDS = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")


def unauthorized(reason: str) -> Rejected:
    """A 401 refusal: ``reason`` is logged, the sender is told only ``UNAUTHORIZED``, with the
    ``WWW-Authenticate`` challenge a 401 must carry."""
    return Rejected(401, reason, CHALLENGE, public=UNAUTHORIZED)


def decoy(credentials: Mapping[str, SourceCredentials]) -> SourceCredentials:
    """Credentials nothing can present (random key digest and secrets), with one signature rule per signature
    header the file uses: an unknown source is checked against them, doing the work a known source's check does."""
    used = {(rule.header.lower(), rule.timestamp_header): rule for c in credentials.values() for rule in c.signatures}
    rules = tuple(SignatureRule(rule.header, rule.timestamp_header, secrets.token_bytes(32)) for rule in used.values())
    return SourceCredentials(key_digests=(secrets.token_bytes(32),), signatures=rules)


class WebhookAuth:
    """Checks requests against the loaded credentials; ``None`` credentials means authentication is off.
    ``replace`` swaps in a reloaded file's credentials (one assignment: a request sees the old or the new)."""

    def __init__(
        self,
        credentials: Mapping[str, SourceCredentials] | None,
        max_skew_s: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._max_skew_s = max_skew_s
        self._clock = clock
        self._credentials: Mapping[str, SourceCredentials] | None = None
        self._decoy = SourceCredentials((), ())
        self._signature_headers: frozenset[str] = frozenset()
        if credentials is not None:
            self.replace(credentials)

    def replace(self, credentials: Mapping[str, SourceCredentials]) -> None:
        """Put ``credentials`` in force for the next request (a reloaded file); authentication must be on."""
        signature_headers = frozenset(rule.header.lower() for c in credentials.values() for rule in c.signatures)
        # Built first, assigned last: the credentials and their decoy change together for any request.
        self._decoy, self._signature_headers = decoy(credentials), signature_headers
        self._credentials = credentials

    @property
    def enabled(self) -> bool:
        """Whether credentials are loaded; without them every request is accepted from any well-formed source."""
        return self._credentials is not None

    def knows(self, source: str) -> bool:
        """Whether the credentials file has an entry for ``source`` (always False with authentication off)."""
        return self._credentials is not None and source in self._credentials

    def credentials_for(self, source: str) -> SourceCredentials | None:
        """The source's credentials; ``None`` when authentication is off. A source not in the file gets the decoy,
        which no request can satisfy: it is refused exactly as a wrong credential is (``unauthorized``)."""
        if self._credentials is None:
            return None
        found = self._credentials.get(source)
        return self._decoy if found is None else found

    def key_accepted(self, credentials: SourceCredentials, headers: Mapping[str, str]) -> bool:
        """True when the request carries one of the source's API keys (checked before the body is read)."""
        presented = _presented_key(headers)
        if presented is None:
            return False
        digest = hashlib.sha256(presented.encode()).digest()
        matched = False
        for stored in credentials.key_digests:  # no early exit: every key is compared
            matched |= hmac.compare_digest(digest, stored)
        return matched

    def check_without_body(self, credentials: SourceCredentials, headers: Mapping[str, str]) -> bool:
        """Decide from headers alone where possible: True if a key matched; False when the request carries a
        signature header the file uses (the body must be read to check it, whatever the source); else 401.
        The choice depends on the request's headers only, never on which source it names."""
        if self.key_accepted(credentials, headers):
            return True
        # Header names as the request has them (lower case from ASGI; ``Headers`` also compares case-blind).
        if not any(header in headers for header in self._signature_headers):
            raise unauthorized(self._refusal(credentials, headers))
        return False

    def check_signature(self, credentials: SourceCredentials, headers: Mapping[str, str], body: bytes) -> None:
        """Accept a valid signature of ``body``, else 401 saying (in the log) what was wrong. A source without
        signature rules is checked against the decoy's, so its refusal costs what a signed source's does."""
        problems: list[str] = []
        accepted = False
        for rule in credentials.signatures or self._decoy.signatures:
            verdict = self._verify(rule, headers, body)
            if verdict is None:
                accepted = True
            else:
                problems.append(verdict)
        if not accepted:
            presented = [p for p in problems if not p.startswith("missing")]
            raise unauthorized(presented[0] if presented else self._refusal(credentials, headers))

    def _verify(self, rule: SignatureRule, headers: Mapping[str, str], body: bytes) -> str | None:
        """None when ``rule`` accepts the request, else why not."""
        signature = headers.get(rule.header)
        if signature is None:
            return f"missing {rule.header}"
        signed = body
        if rule.timestamp_header is not None:
            stamp = headers.get(rule.timestamp_header)
            if stamp is None:
                return f"{rule.header} needs the signed timestamp in {rule.timestamp_header}, which is missing"
            stale = self._outside_window(stamp, rule.timestamp_header)
            if stale is not None:
                return stale
            signed = stamp.encode() + b":" + body
        expected = hmac.new(rule.secret, signed, hashlib.sha256).hexdigest().encode()
        matched = False
        for candidate in signature.split(",")[:MAX_SIGNATURES_PER_HEADER]:  # every one compared: timing says nothing
            matched |= hmac.compare_digest(expected, _signature_value(candidate))
        return None if matched else f"invalid signature in {rule.header}"

    def _outside_window(self, stamp: str, header: str) -> str | None:
        text = stamp.strip()
        sent = float(text) if UNIX_SECONDS.fullmatch(text) else math.nan
        if not math.isfinite(sent):  # NaN compares False with everything: it would pass any window check
            return f"{header} must be Unix seconds, got {stamp[:40]!r}"
        skew = sent - self._clock()
        if not abs(skew) <= self._max_skew_s:
            direction = "old" if skew < 0 else "in the future"
            return (
                f"{header} is {abs(skew):.0f}s {direction}; signed requests are accepted within "
                f"{self._max_skew_s:.0f}s of the server's clock (replay protection)"
            )
        return None

    @staticmethod
    def _refusal(credentials: SourceCredentials, headers: Mapping[str, str]) -> str:
        if _presented_key(headers) is not None:
            return "invalid API key"
        ways = ["`Authorization: Bearer <key>`, `X-API-Key: <key>` or Basic auth with the key as password"]
        ways = ways if credentials.key_digests else []
        ways += [f"a signature in {rule.header}" for rule in credentials.signatures]
        return "missing credentials: send " + " or ".join(dict.fromkeys(ways))


def _signature_value(candidate: str) -> bytes:
    value = candidate.strip()
    for prefix in SIGNATURE_PREFIXES:
        value = value.removeprefix(prefix)
    return value.lower().encode("utf-8", "replace")


def _presented_key(headers: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if scheme.lower() == "basic" and token.strip():
        return _basic_password(token.strip())
    key = headers.get(API_KEY_HEADER, "").strip()
    return key or None


def _basic_password(token: str) -> str | None:
    # "user:password" in base64; the password is the key (the user name is the sender's to choose).
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    _, colon, password = decoded.partition(":")
    return password if colon and password else None
