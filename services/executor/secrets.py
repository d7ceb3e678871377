"""Where ``SECRETS.<name>.<KEY>`` come from, and the view of them one step's templates get.

Secrets are resolved only here, in the executor process, while an action's args are rendered: the workflow
sends templates, never values, so a secret never enters Temporal's history. What reaches the Ray task is the
rendered args (Ray task arguments are not persisted by Temporal). The values a step read are then masked in
its report (``masking``), so they do not leave the executor in a result, an error or a log line either.

The default backend reads environment variables and, if set, a secrets file:
- ``ALERTMESH_SECRET_<NAME>__<KEY>``: ``<NAME>`` is the secret's name upper-cased with ``-`` written as ``_``,
  ``<KEY>`` is the key exactly as templates spell it (``ALERTMESH_SECRET_VIRUSTOTAL__API_KEY`` is
  ``SECRETS.virustotal.API_KEY``);
- ``EXECUTOR_SECRETS_FILE``: YAML or JSON ``{name: {KEY: value}}``, read again whenever it changes on disk. A file
  that cannot be read or parsed (missing, half-written while being replaced, malformed) logs one warning and the
  last good copy stays in use (kept in memory only); until a first good copy, it holds no secret.
An environment variable wins over the file for the same name and key.

A secret that cannot be found fails only the action whose templates read it, with an error naming the secret and
key (``SecretNotFound``), never its value; a backend that fails for one lookup is the same.

The file is read by ``dsl.files`` as every file a user writes is (a problem is ``file:line:col: message``), but
with ``quote=False``: no message about it ever quotes its text, since any of it may be a secret.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from dsl.files import ConfigFileError, Invalid, load_file
from dsl.problems import Problem

log = logging.getLogger(__name__)

#: Prefix of the environment variables the default backend reads.
ENV_PREFIX = "ALERTMESH_SECRET_"


class SecretsBackend(Protocol):
    """A source of secrets: each name maps to a set of keys and their string values."""

    def get(self, name: str) -> Mapping[str, str] | None:
        """Every key of secret ``name`` with its value, or None when there is no such secret."""
        ...


def env_variable(name: str, key: str) -> str:
    """The environment variable that holds ``SECRETS.<name>.<key>``."""
    return f"{ENV_PREFIX}{name.upper().replace('-', '_')}__{key}"


class EnvironmentSecrets:
    """Secrets from ``ALERTMESH_SECRET_<NAME>__<KEY>`` variables (read at lookup, so a restart is not needed
    in tests; a running process's environment does not change otherwise)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def get(self, name: str) -> Mapping[str, str] | None:
        """``{KEY: value}`` of every ``ALERTMESH_SECRET_<NAME>__<KEY>`` variable of secret ``name``, or None when
        there is none."""
        prefix = env_variable(name, "")
        keys = {var[len(prefix) :]: value for var, value in self._environ.items() if var.startswith(prefix)}
        return {key: value for key, value in keys.items() if key} or None


class InvalidSecretsFile(ConfigFileError):
    """The secrets file is not a mapping of names to mappings of string keys and values; its ``problems`` say
    where, never what a value is."""

    headline = "invalid secrets file"


class EmptySecretsFile(ValueError):
    """The secrets file, which held secrets, is empty now: most likely caught in the middle of a rewrite."""


class FileSecrets:
    """Secrets from a YAML or JSON file ``{name: {KEY: value}}``; re-read when its size or mtime changes, so a
    rotated secret is picked up without restarting the executor.

    A file that cannot be read or parsed (missing, half-written by a deploy tool, malformed) does not fail anyone:
    one warning is logged (naming the file and the problem, never a value) and the last good copy stays in use
    until the file changes again. Before any good copy, the file holds no secret."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        #: What the file was (mtime, size) when last read, or the problem last warned about: read again on change.
        self._stamp: tuple[int, int] | str | None = None
        self._secrets: dict[str, dict[str, str]] = {}

    def get(self, name: str) -> Mapping[str, str] | None:
        """Secret ``name`` as the last good copy of the file says (read again if the file changed), or None when
        it has no such secret."""
        return self._current().get(name)

    def _current(self) -> dict[str, dict[str, str]]:
        with self._lock:
            try:
                stat = self._path.stat()
                stamp: tuple[int, int] | str = (stat.st_mtime_ns, stat.st_size)
                if stamp != self._stamp:
                    if stat.st_size == 0 and self._secrets:
                        # Truncated, the first step of rewriting it in place: not "no secrets any more".
                        raise EmptySecretsFile("the file is empty (being rewritten?); write {} for no secrets")
                    self._secrets = parse_secrets_file(self._path)
                    self._stamp = stamp
            except (OSError, InvalidSecretsFile, EmptySecretsFile) as error:
                self._keep_last_good(error)
            return self._secrets

    def _keep_last_good(self, error: Exception) -> None:
        # Warned once per problem (not at every lookup), and again for a new one. The message of an
        # InvalidSecretsFile quotes no value (``quote=False``), an OSError's only the path.
        problem = f"{type(error).__name__}: {error}"
        if problem != self._stamp:
            kept = "keeping the last good copy" if self._secrets else "no secret from it until it is valid"
            log.warning("secrets file %s could not be read, %s: %s", self._path, kept, problem)
            self._stamp = problem


def parse_secrets_file(path: Path) -> dict[str, dict[str, str]]:
    """The secrets in ``path``; InvalidSecretsFile (naming the file and the entry, never a value) if malformed."""
    return load_file(path, _secrets, InvalidSecretsFile, quote=False)


def _secrets(document: Any) -> dict[str, dict[str, str]]:
    # Every message here is written from names and keys only: a value, even a misplaced one, is never quoted.
    data = document or {}
    if not isinstance(data, dict):
        raise Invalid([Problem((), "expected a mapping of secret names to {KEY: value} mappings")])
    problems: list[Problem] = []
    for name, keys in data.items():
        message = f"secret {name!r} must map string keys to string values"
        if not isinstance(keys, dict):
            problems.append(Problem((name,), message))
            continue
        problems += [
            Problem((name, key), message, at_key=not isinstance(key, str))
            for key, value in keys.items()
            if not (isinstance(key, str) and isinstance(value, str))
        ]
    if problems:
        raise Invalid(problems)
    return {str(name): dict(keys) for name, keys in data.items()}


class LayeredSecrets:
    """The default backend: environment variables over the secrets file (if any)."""

    def __init__(self, *backends: SecretsBackend) -> None:
        self._backends = backends

    def get(self, name: str) -> Mapping[str, str] | None:
        """Secret ``name`` with the keys of every backend; a key several have takes the first one's value. None
        when no backend has any key of it."""
        merged: dict[str, str] = {}
        for backend in reversed(self._backends):  # the first backend wins, so it is merged last
            merged.update(backend.get(name) or {})
        return merged or None


def default_backend(secrets_file: Path | None) -> SecretsBackend:
    """Environment variables, over ``secrets_file`` when one is configured."""
    if secrets_file is None:
        return EnvironmentSecrets()
    return LayeredSecrets(EnvironmentSecrets(), FileSecrets(secrets_file))


class SecretNotFound(LookupError):
    """A template reads a secret (or a key of one) the backend does not have."""


class StepSecrets(Mapping[str, Mapping[str, str]]):
    """What one step's templates see as ``SECRETS``: looked up in the backend only when read, so a step that
    reads no secret costs nothing, and every value read is remembered for masking (``used``)."""

    def __init__(self, backend: SecretsBackend) -> None:
        self._backend = backend
        self._found: dict[str, _RecordingKeys] = {}
        self.used: set[str] = set()
        #: The first ``(name, key)`` a template asked for and did not get, for the error message.
        self.missing: tuple[str, str | None] | None = None
        #: Why the backend failed to answer, when it raised instead (the exception's type).
        self.unavailable: str | None = None

    def __getitem__(self, name: str) -> Mapping[str, str]:
        if name not in self._found:
            try:
                keys = self._backend.get(name)
            except Exception as error:
                # A backend that fails (a vault down, a file it cannot read) fails this step only, naming the
                # secret; the type of the failure only, since its message is the backend's and may quote anything.
                if self.missing is None:
                    self.unavailable = type(error).__name__
                keys = None
            if keys is None:
                self.missing = self.missing or (name, None)
                raise KeyError(name)
            self._found[name] = _RecordingKeys(name, keys, self)
        return self._found[name]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self[name]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        # Only the names read so far: the backend is not asked to list what it holds.
        return iter(self._found)

    def __len__(self) -> int:
        return len(self._found)

    def missing_error(self) -> SecretNotFound | None:
        """A SecretNotFound naming the secret a template asked for and did not get (None if none was)."""
        if self.missing is None:
            return None
        name, key = self.missing
        if key is None and self.unavailable:
            return SecretNotFound(f"secret '{name}' could not be read: the secrets backend failed ({self.unavailable})")
        if key is None:
            return SecretNotFound(
                f"secret '{name}' is not defined: set {env_variable(name, '<KEY>')} or add '{name}' to the "
                "secrets file (EXECUTOR_SECRETS_FILE)"
            )
        return SecretNotFound(
            f"secret '{name}' has no key '{key}': set {env_variable(name, key)} or add it under '{name}' in the "
            "secrets file (EXECUTOR_SECRETS_FILE)"
        )


class _RecordingKeys(Mapping[str, str]):
    def __init__(self, name: str, keys: Mapping[str, str], owner: StepSecrets) -> None:
        self._name = name
        self._keys = keys
        self._owner = owner

    def __getitem__(self, key: str) -> str:
        if key not in self._keys:
            self._owner.missing = self._owner.missing or (self._name, key)
            raise KeyError(key)
        value = self._keys[key]
        self._owner.used.add(value)
        return value

    def __contains__(self, key: object) -> bool:
        if key not in self._keys:
            self._owner.missing = self._owner.missing or (self._name, str(key))
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)
