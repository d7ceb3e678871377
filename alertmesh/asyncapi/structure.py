"""Structural checks of an AsyncAPI 3.0 document: the fields the specification requires, and every ``$ref``
resolving (inside the document, or to a file next to it and a place in that file).

Not a full validation against the specification's JSON Schema (that needs the AsyncAPI tooling); it catches what
goes wrong when the document is generated: a missing required field, an operation pointing at a channel or a
message that is not there, a schema file renamed or moved.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

#: The specification's rule for the keys of ``components`` maps.
COMPONENT_KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")
ACTIONS = ("send", "receive")


def problems(document: Any, base: Path) -> list[str]:
    """Everything wrong with ``document``; ``base`` is the folder relative ``$ref`` files are resolved from."""
    if not isinstance(document, dict):
        return ["the document is not a mapping"]
    found = list(_required(document))
    found += [problem for where, target in _refs(document, "#") for problem in _resolve(document, base, where, target)]
    return found


def _required(document: dict[str, Any]) -> Iterator[str]:
    for section in (_version_and_info, _servers, _channels, _operations, _components):
        yield from section(document)


def _version_and_info(document: dict[str, Any]) -> Iterator[str]:
    if document.get("asyncapi") != "3.0.0":
        yield f"asyncapi is {document.get('asyncapi')!r}, not '3.0.0'"
    info = document.get("info")
    if not isinstance(info, dict) or not all(isinstance(info.get(name), str) for name in ("title", "version")):
        yield "info needs a title and a version"


def _servers(document: dict[str, Any]) -> Iterator[str]:
    for name, server in _mapping(document, "servers"):
        if not isinstance(server, dict) or not server.get("host") or not server.get("protocol"):
            yield f"server {name} needs a host and a protocol"


def _channels(document: dict[str, Any]) -> Iterator[str]:
    for name, channel in _mapping(document, "channels"):
        if not isinstance(channel, dict) or not isinstance(channel.get("messages", {}), dict):
            yield f"channel {name} is not a mapping with a messages mapping"


def _operations(document: dict[str, Any]) -> Iterator[str]:
    for name, operation in _mapping(document, "operations"):
        yield from _operation(name, operation)


def _components(document: dict[str, Any]) -> Iterator[str]:
    for kind, entries in _mapping(document, "components"):
        for key in entries if isinstance(entries, dict) else ():
            if not COMPONENT_KEY.match(key):
                yield f"components.{kind} key {key!r} has characters the specification does not allow"


def _operation(name: str, operation: Any) -> Iterator[str]:
    if not isinstance(operation, dict):
        yield f"operation {name} is not a mapping"
        return
    if operation.get("action") not in ACTIONS:
        yield f"operation {name}: action must be send or receive, not {operation.get('action')!r}"
    channel = operation.get("channel")
    if not isinstance(channel, dict) or not isinstance(channel.get("$ref"), str):
        yield f"operation {name} needs a channel $ref"
        return
    # The specification: an operation's messages must be messages of its channel.
    for message in operation.get("messages", []):
        target = message.get("$ref", "") if isinstance(message, dict) else ""
        if not target.startswith(channel["$ref"] + "/messages/"):
            yield f"operation {name}: message {target!r} is not one of channel {channel['$ref']}'s messages"


def _mapping(document: dict[str, Any], name: str) -> Iterator[tuple[str, Any]]:
    value = document.get(name, {})
    if isinstance(value, dict):
        yield from value.items()


def _refs(node: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        target = node.get("$ref")
        if isinstance(target, str):
            yield where, target
        for key, value in node.items():
            yield from _refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, f"{where}/{index}")


def _resolve(document: dict[str, Any], base: Path, where: str, target: str) -> Iterator[str]:
    location, _, fragment = target.partition("#")
    if location:
        path = base / unquote(location)
        if not path.is_file():
            yield f"{where}: $ref {target!r}: no file {path.name} next to the document"
            return
        try:
            root: Any = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            yield f"{where}: $ref {target!r}: {path.name} is not JSON: {error}"
            return
        if not fragment and isinstance(root, dict):
            # A referenced schema file must resolve its own internal references too.
            yield from (p for w, t in _refs(root, "#") for p in _resolve(root, path.parent, f"{path.name}{w}", t))
            return
    else:
        root = document
    if _pointer(root, fragment) is None:
        yield f"{where}: $ref {target!r} points at nothing"


def _pointer(root: Any, fragment: str) -> Any:
    """The node a JSON Pointer fragment names, or None."""
    node = root
    for part in [p for p in fragment.split("/") if p]:
        key = unquote(part).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node
