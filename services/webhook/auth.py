"""Who may post to the webhook: per-source API keys and HMAC-SHA256 body signatures (``webhook_credentials``).

A request is accepted when it carries one valid credential of its source:
- an API key as ``Authorization: Bearer <key>`` (what Alertmanager's ``http_config.authorization`` sends, and
  Grafana's "Authorization header") or ``X-API-Key: <key>``; compared by SHA-256 digest in constant time;
- a signature in the configured header: hex HMAC-SHA256, with or without GitHub's ``sha256=`` prefix, of the
  body, or of ``"{timestamp}:{body}"`` when a timestamp header is configured (Grafana 12+). A signed timestamp
  must be within the replay window of this server's clock, in both directions.

Every comparison goes through ``hmac.compare_digest`` and visits every stored key, so timing says nothing
about how close a guess was or which key matched.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

from services.webhook.body import Rejected
from services.webhook.credentials import SignatureRule, SourceCredentials

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="alertmesh webhook"'}
API_KEY_HEADER = "x-api-key"
SIGNATURE_PREFIX = "sha256="


def unauthorized(reason: str) -> Rejected:
    """A 401 refusal saying ``reason``, with the ``WWW-Authenticate`` challenge a 401 must carry."""
    return Rejected(401, reason, CHALLENGE)


class WebhookAuth:
    """Checks requests against the loaded credentials; ``None`` credentials means authentication is off."""

    def __init__(
        self,
        credentials: Mapping[str, SourceCredentials] | None,
        max_skew_s: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials
        self._max_skew_s = max_skew_s
        self._clock = clock

    @property
    def enabled(self) -> bool:
        """Whether credentials are loaded; without them every request is accepted from any well-formed source."""
        return self._credentials is not None

    def credentials_for(self, source: str) -> SourceCredentials | None:
        """The source's credentials; ``None`` when authentication is off; 404 for a source not in the file."""
        if self._credentials is None:
            return None
        found = self._credentials.get(source)
        if found is None:
            raise Rejected(404, f"unknown source {source!r}: it has no entry in the webhook credentials file")
        return found

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
        """Decide from headers alone where possible: True if a key matched; 401 if nothing else could pass."""
        if self.key_accepted(credentials, headers):
            return True
        if not credentials.signatures:
            raise unauthorized(self._refusal(credentials, headers))
        return False

    def check_signature(self, credentials: SourceCredentials, headers: Mapping[str, str], body: bytes) -> None:
        """Accept a valid signature of ``body``, else 401 saying what was wrong."""
        problems: list[str] = []
        accepted = False
        for rule in credentials.signatures:
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
        value = signature.strip().removeprefix(SIGNATURE_PREFIX).lower().encode("utf-8", "replace")
        return None if hmac.compare_digest(expected, value) else f"invalid signature in {rule.header}"

    def _outside_window(self, stamp: str, header: str) -> str | None:
        try:
            sent = float(stamp.strip())
        except ValueError:
            return f"{header} must be Unix seconds, got {stamp[:40]!r}"
        skew = sent - self._clock()
        if abs(skew) > self._max_skew_s:
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
        ways = ["`Authorization: Bearer <key>` or `X-API-Key: <key>`"] if credentials.key_digests else []
        ways += [f"a signature in {rule.header}" for rule in credentials.signatures]
        return "missing credentials: send " + " or ".join(dict.fromkeys(ways))


def _presented_key(headers: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    key = headers.get(API_KEY_HEADER, "").strip()
    return key or None
