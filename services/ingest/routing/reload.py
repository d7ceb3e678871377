"""Hot reload of the routing file: the rules in force change when the file does, without restarting ingest.

Ingest checks the file every ``INGEST_ROUTING_RELOAD_S`` seconds. A changed file (its bytes' hash differs from
the one in force: an editor's save, a ConfigMap update swapping a symlink, ``cp``) is checked exactly as at
start-up; a valid one replaces the rules for the next batch, an invalid or unreadable one is refused with a log
line naming every problem (``file:line:col: message``) and the rules in force stay. The same broken content is
reported once, not at every poll.

Why hash the bytes rather than compare mtimes: a routing file is a few kilobytes, so reading it every few seconds
costs nothing, and a hash also sees a change that keeps the mtime (a copy with ``cp -p``, a clock step, two writes
within the file system's timestamp resolution) and ignores a touch that changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from services.ingest.routing.table import RoutingFileError, RoutingTable, parse_routing
from services.shared.reloading import FileReloader

log = logging.getLogger("services.ingest.routing")


class RoutingReloader(FileReloader):
    """The routing table in force for one file, replaced when the file changes to another valid one."""

    kind = "routing file"
    log = log

    def __init__(self, path: Path, table: RoutingTable, digest: str) -> None:
        self.path = path
        self.table = table
        self._digest = digest

    @classmethod
    def load(cls, path: Path) -> RoutingReloader:
        """The file's rules in force; ``RoutingFileError`` when it cannot be used (ingest must not start)."""
        data = _read(path)
        return cls(path, parse_routing(_text(path, data), path), _hash(data))

    @classmethod
    def fixed(cls, table: RoutingTable) -> RoutingReloader:
        """Rules given in code rather than read from a file: never to be started."""
        return cls(Path(), table, digest="")

    def check(self) -> bool:
        """Read the file again; True when it changed and its new rules are now in force."""
        try:
            data = _read(self.path)
        except RoutingFileError as error:
            digest = f"unreadable: {error}"
            if digest != self._digest:
                self._digest = digest
                log.error("%s; the routing rules loaded before stay in force", error.lines[0])
            return False
        digest = _hash(data)
        if digest == self._digest:
            return False
        self._digest = digest
        try:
            table = parse_routing(_text(self.path, data), self.path)
        except RoutingFileError as error:
            log.error("routing file %s changed but is refused; the rules loaded before stay in force. %s",
                      self.path, error)  # fmt: skip
            return False
        self.table = table
        log.info("routing file %s reloaded: %s", self.path, table.summary())
        return True


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise RoutingFileError([f"{path}: cannot read it: {error.strerror or error}"]) from None


def _text(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RoutingFileError(
            [f"{path}: cannot read it: not UTF-8 text ({error.reason} at byte {error.start})"]
        ) from None


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
