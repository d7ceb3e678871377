"""The webhook's credentials file: which sources may post, and how each proves who it is.

```yaml
sources:
  alertmanager:
    api_keys:                       # SHA-256 (hex) of each accepted key; several at once for rotation
      - sha256: 9b74c9897bac770ffc029102a200c5de...
  grafana:
    signatures:                     # HMAC-SHA256 of the body; several entries for secret rotation
      - header: X-Grafana-Alerting-Signature
        timestamp_header: X-Grafana-Alerting-Timestamp
        secret: {env: GRAFANA_WEBHOOK_SECRET}    # or {value: "..."} inline
```

API keys are stored hashed: the file never holds a usable key. HMAC secrets cannot be hashed (the bridge needs
them to compute the signature), so they are inline or, better, a reference to an environment variable; a file
holding an inline secret must be readable by its owner only (no group or other read bit). No credentials file
may be writable by every user: whoever can write it can add a key of their own.

The file is read by ``dsl.files``, as every file a user writes is: each problem is ``file:line:col: message``.

``alertmesh webhook-key add FILE SOURCE...`` generates a key, adds its hash for each source (creating the file,
0600, if needed) and prints the key: the only time it is shown.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import ErrorDetails

from dsl.files import ConfigFileError, Invalid, describe, load_file, problems_at_keys
from dsl.problems import Problem
from schemas.sources import SOURCE_PATTERN

HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")
GITHUB_SIGNATURE_HEADER = "X-Hub-Signature-256"


class CredentialsFileError(ConfigFileError):
    """The credentials file cannot be used; ``problems`` name the file, the line and column, and the entry."""

    headline = "invalid webhook credentials"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiKeyEntry(_Strict):
    """One accepted API key, as the hex SHA-256 digest of the key (read in lower case, surrounding spaces dropped)."""

    sha256: str

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        value = value.strip().lower()
        if not HEX_SHA256.fullmatch(value):
            raise ValueError("must be the 64 hex characters of the key's SHA-256 digest")
        return value


class SecretRef(_Strict):
    """A secret inline (``value``) or read from an environment variable (``env``) when the file is loaded."""

    value: str | None = Field(None, min_length=16)
    env: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.value is None) == (self.env is None):
            raise ValueError("give exactly one of `value` (inline) or `env` (environment variable name)")
        return self


class SignatureEntry(_Strict):
    """An HMAC-SHA256 signature of the body (or of ``"{timestamp}:{body}"`` with ``timestamp_header``)."""

    header: str = GITHUB_SIGNATURE_HEADER
    timestamp_header: str | None = None
    secret: SecretRef


class SourceEntry(_Strict):
    """One source's credentials: its API keys and its signatures, any of which authenticates it; at least one."""

    api_keys: list[ApiKeyEntry] = []
    signatures: list[SignatureEntry] = []

    @model_validator(mode="after")
    def _has_a_credential(self) -> SourceEntry:
        if not self.api_keys and not self.signatures:
            raise ValueError("no api_keys and no signatures: nothing could ever authenticate as this source")
        return self


class CredentialsFile(_Strict):
    """The whole file: each source that may post, by name (the path's ``{source}``, matching ``SOURCE_PATTERN``)."""

    sources: dict[str, SourceEntry]

    @field_validator("sources")
    @classmethod
    def _source_names(cls, sources: dict[str, SourceEntry]) -> dict[str, SourceEntry]:
        if bad := [name for name in sources if not SOURCE_PATTERN.fullmatch(name)]:
            wrong = [(name, f"source name {name!r} must match {SOURCE_PATTERN.pattern}") for name in bad]
            raise problems_at_keys("source_name", wrong)
        return sources


@dataclass(frozen=True)
class SignatureRule:
    """One accepted signature: where it is, whether a timestamp is signed with the body, and the secret."""

    header: str
    timestamp_header: str | None
    secret: bytes


@dataclass(frozen=True)
class SourceCredentials:
    """What one source may present: any of its API keys (SHA-256 digests), or a valid signature."""

    key_digests: tuple[bytes, ...]
    signatures: tuple[SignatureRule, ...]


def hash_key(key: str) -> str:
    """The hex SHA-256 of an API key, as the credentials file stores it."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A random API key: 256 bits as hex, so it fits a header, a URL and a shell line unquoted, and never starts
    with a dash a command line would take for an option."""
    return secrets.token_hex(32)


def add_key(path: Path, sources: Sequence[str], key: str) -> None:
    """Add ``key``'s hash to each source's ``api_keys`` (keys already there stay: rotation). A new file is
    created 0600; an existing one keeps its mode. The result is validated before it replaces the file."""
    document: dict[str, Any] = {"sources": {}}
    if path.exists():
        document = yaml.safe_load(path.read_text()) or document
    for source in sources:
        entry = document.setdefault("sources", {}).setdefault(source, {})
        entry.setdefault("api_keys", []).append({"sha256": hash_key(key)})
    CredentialsFile.model_validate(document)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o600
    staging = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    # Created with its final mode (never briefly readable by others), then renamed over the old file.
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "w") as out:
        out.write(yaml.safe_dump(document, sort_keys=False))
    os.chmod(staging, mode)  # the umask may have narrowed os.open's mode
    os.replace(staging, path)


def load_credentials(path: Path) -> dict[str, SourceCredentials]:
    """Read and validate the file; raises ``CredentialsFileError`` naming the file, the place and the bad entry."""

    def validate(document: Any) -> dict[str, SourceCredentials]:
        parsed = CredentialsFile.model_validate(document)
        _refuse_unsafe_modes(path, parsed)
        resolved = {name: _resolve(name, entry) for name, entry in parsed.sources.items()}
        problems = [problem for found in resolved.values() if isinstance(found, list) for problem in found]
        if problems:
            raise Invalid(problems)
        return {name: found for name, found in resolved.items() if isinstance(found, SourceCredentials)}

    return load_file(path, validate, CredentialsFileError, describe=_describe)


def _location(loc: Sequence[int | str]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".") or "(top level)"


def _describe(details: ErrorDetails) -> list[Problem]:
    return describe(details, _location)


def _refuse_unsafe_modes(path: Path, parsed: CredentialsFile) -> None:
    mode = path.stat().st_mode
    writers = [who for bit, who in ((stat.S_IWGRP, "its group"), (stat.S_IWOTH, "every user")) if mode & bit]
    if writers:
        # Anyone who can write it could add the hash of a key of their own, or delete every key.
        raise Invalid(
            [
                Problem(
                    (),
                    f"is writable by {' and '.join(writers)} (mode {stat.S_IMODE(mode):04o}); run `chmod go-w {path}`",
                )
            ]
        )
    # Hashed API keys and env references reveal nothing usable; an inline HMAC secret does.
    inline = [
        ("sources", name, "signatures", index, "secret")
        for name, entry in parsed.sources.items()
        for index, signature in enumerate(entry.signatures)
        if signature.secret.value is not None
    ]
    readers = [who for bit, who in ((stat.S_IRGRP, "its group"), (stat.S_IROTH, "every user")) if mode & bit]
    if inline and readers:
        first = inline[0]
        raise Invalid(
            [
                Problem(
                    first,
                    f"holds an inline secret ({_location(first[:-1])}) but is readable by {' and '.join(readers)} "
                    f"(mode {stat.S_IMODE(mode):04o}); run `chmod go-r {path}` (or `chmod o-r` where only "
                    "other users may read it) or reference the secret as `secret: {env: NAME}`",
                )
            ]
        )


def _resolve(name: str, entry: SourceEntry) -> SourceCredentials | list[Problem]:
    """What ``entry`` accepts, or a problem for each ``secret: {env: NAME}`` whose variable is not set (or empty)."""
    rules = []
    problems = []
    for index, signature in enumerate(entry.signatures):
        secret = signature.secret.value
        if signature.secret.env is not None:
            secret = os.environ.get(signature.secret.env)
            if not secret:
                problems.append(
                    Problem(
                        ("sources", name, "signatures", index, "secret", "env"),
                        f"sources.{name}.signatures[{index}].secret: "
                        f"environment variable {signature.secret.env} is not set or empty",
                    )
                )
                continue
        assert secret is not None  # exactly one of value/env, checked by SecretRef
        rules.append(SignatureRule(signature.header, signature.timestamp_header, secret.encode()))
    if problems:
        return problems
    digests = tuple(bytes.fromhex(key.sha256) for key in entry.api_keys)
    return SourceCredentials(key_digests=digests, signatures=tuple(rules))
