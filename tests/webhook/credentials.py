"""Credentials files for webhook tests: real files in a temporary directory, the way operators write them."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import yaml

from services.webhook.credentials import hash_key

#: Keys and secrets used across the webhook tests (never used anywhere real).
KEY = "test-key-0123456789abcdef"
OLD_KEY = "old-key-0123456789abcdef"
GITHUB_SECRET = "github-secret-0123456789"
GRAFANA_SECRET = "grafana-secret-0123456789"
GRAFANA_SIGNATURE = "X-Grafana-Alerting-Signature"
GRAFANA_TIMESTAMP = "X-Grafana-Alerting-Timestamp"

#: prometheus: two keys (rotation); github: GitHub-style signature; grafana: Grafana 12 with a signed timestamp.
SOURCES: dict[str, Any] = {
    "prometheus": {"api_keys": [{"sha256": hash_key(KEY)}, {"sha256": hash_key(OLD_KEY)}]},
    "github": {"signatures": [{"secret": {"value": GITHUB_SECRET}}]},
    "grafana": {
        "signatures": [
            {
                "header": GRAFANA_SIGNATURE,
                "timestamp_header": GRAFANA_TIMESTAMP,
                "secret": {"env": "TEST_GRAFANA_WEBHOOK_SECRET"},
            }
        ]
    },
}


def write_credentials(path: Path, sources: dict[str, Any] | None = None, mode: int = 0o600) -> Path:
    path.write_text(yaml.safe_dump({"sources": SOURCES if sources is None else sources}))
    path.chmod(mode)
    return path


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
