"""Hot reload of the webhook's credentials file: a revoked key stops working and a new one starts, without a restart.

The bridge checks the file every ``WEBHOOK_CREDENTIALS_RELOAD_S`` seconds. A changed file (its bytes or its mode
differ from the version in force: an editor's save, ``alertmesh webhook-key add``, a Secret or ConfigMap update
swapping a symlink, a ``chmod``) is checked exactly as at start-up, its permissions included; a valid one is in
force for the next request, an invalid, unsafe or unreadable one is refused with one ERROR line naming every
problem (``file:line:col: message``) and the credentials in force stay. The same broken version is reported once,
not at every poll.

Why hash the bytes rather than compare mtimes (as ingest's routing file reload does): the file is small, so
reading it every few seconds costs nothing, and a hash also sees a change that keeps the mtime (``cp -p``, two
writes within the file system's timestamp resolution). The mode is part of the version, so a file made
world-writable after start-up is refused even though its content did not change.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from services.shared.reloading import FileReloader
from services.webhook.auth import WebhookAuth
from services.webhook.credentials import CredentialsFileError, load_credentials

log = logging.getLogger("services.webhook")


class CredentialsReloader(FileReloader):
    """Keeps ``auth`` on the newest valid version of the credentials file at ``path``."""

    kind = "webhook credentials file"
    log = log

    def __init__(self, path: Path, auth: WebhookAuth, loaded: str) -> None:
        """``loaded``: the ``version`` of the file read before ``auth``'s credentials were loaded from it (read
        before, so a change in between is seen at the first check rather than missed)."""
        self.path, self.auth = path, auth
        self._version = loaded

    def check(self) -> bool:
        """Read the file again; True when it changed and its new credentials are now in force."""
        current = version(self.path)
        if current == self._version:
            return False
        self._version = current
        try:
            credentials = load_credentials(self.path)
        except CredentialsFileError as error:
            log.error(
                "webhook credentials file %s changed but is refused; the credentials loaded before stay in force. %s",
                self.path, error,
            )  # fmt: skip
            return False
        self.auth.replace(credentials)
        log.info("webhook credentials file %s reloaded: %d sources", self.path, len(credentials))
        return True


def version(path: Path) -> str:
    """What identifies one version of the file: the hash of its bytes and its mode, or why it cannot be read."""
    try:
        data, mode = path.read_bytes(), path.stat().st_mode
    except OSError as error:
        return f"unreadable: {error.strerror or error}"
    return f"{hashlib.sha256(data).hexdigest()} {mode:o}"
