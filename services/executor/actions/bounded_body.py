"""Reading an HTTP answer's body within a limit on its decoded size, however it is compressed.

httpx decodes ``Content-Encoding`` a whole received chunk at a time: one 64 KiB chunk of a gzip bomb inflates to
about 64 MiB before a caller counting decoded bytes sees any of it, so a 1 MiB ``max_bytes`` still let an answer
take about 128 MiB. Here the raw bytes are decoded step by step, no step making more than the room left under the
limit, and reading stops as soon as the limit is passed.
"""

from __future__ import annotations

import importlib.util
import zlib
from collections.abc import Sequence
from typing import Protocol

import httpx

#: Largest piece an encoding layer hands to the next one (only when several encodings are stacked).
_STEP = 64 * 1024
#: What httpx would decode if the library for it were installed; we cannot bound those libraries' output.
_UNBOUNDED_LIBRARIES = {"br": ("brotli", "brotlicffi"), "zstd": ("zstandard",)}


class BodyTooLarge(Exception):
    """The body, decoded, is larger than the limit (or its raw bytes are: see ``raw_limit``)."""


class _Layer(Protocol):
    def feed(self, data: bytes) -> None:
        """Take more encoded bytes."""

    def take(self, size: int) -> bytes:
        """At most ``size`` (>= 1) decoded bytes of what was fed; empty when it needs more input."""


class _Identity:
    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> None:
        self._pending += data

    def take(self, size: int) -> bytes:
        out, self._pending = self._pending[:size], self._pending[size:]
        return out


class _Inflate:
    """gzip or deflate; deflate as servers send it, zlib-wrapped or raw (httpx accepts both, so do we)."""

    def __init__(self, gzip: bool) -> None:
        self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)
        # Until zlib has checked the 2-byte header, what came so far is kept to start over as raw deflate.
        self._seen: bytes | None = None if gzip else b""
        self._pending = b""

    def feed(self, data: bytes) -> None:
        self._pending += data
        if self._seen is not None:
            self._seen += data

    def take(self, size: int) -> bytes:
        if self._decoder.eof:  # what follows the end of the stream is not body (httpx ignores it too)
            return b""
        try:
            out = self._decoder.decompress(self._pending, size)
        except zlib.error as exc:
            if self._seen is None:
                raise httpx.DecodingError(str(exc)) from exc
            self._decoder, self._pending, self._seen = zlib.decompressobj(-zlib.MAX_WBITS), self._seen, None
            return self.take(size)
        if self._seen is not None and len(self._seen) >= 2:
            self._seen = None
        self._pending = self._decoder.unconsumed_tail
        return out


def _layers(response: httpx.Response) -> list[_Layer]:
    """One decoding layer per encoding the answer names, in the order they come off (the reverse of the header)."""
    names = [name.strip().lower() for value in response.headers.get_list("content-encoding") for name in
             value.split(",")]  # fmt: skip
    layers: list[_Layer] = []
    for name in reversed(names):
        if name in ("gzip", "x-gzip", "deflate"):
            layers.append(_Inflate(gzip=name != "deflate"))
        elif any(importlib.util.find_spec(module) for module in _UNBOUNDED_LIBRARIES.get(name, ())):
            raise httpx.DecodingError(f"a {name}-encoded answer cannot be decoded within a size limit")
        # Any other name (identity, or one httpx does not decode either) leaves the bytes as they are.
    return layers or [_Identity()]


def raw_limit(limit: int) -> int:
    """Most raw bytes read for a ``limit`` of decoded ones: compressing never grows data by more than a few bytes
    per block, so past this the rest is padding after the compressed stream (which decodes to nothing)."""
    return limit + limit // 64 + 4096


def _drain(layers: Sequence[_Layer], body: bytearray, limit: int) -> None:
    """Move everything the layers can decode now into ``body``, the last layer never asked for more than fits."""
    first, rest = layers[0], layers[1:]
    while True:
        if not rest:
            chunk = first.take(limit - len(body) + 1)  # one byte more than fits: enough to tell it is too large
            body += chunk
            if len(body) > limit:
                raise BodyTooLarge(f"body exceeds {limit} bytes (decoded)")
        else:
            chunk = first.take(_STEP)
            rest[0].feed(chunk)
            _drain(rest, body, limit)  # each piece goes all the way down before the next is made
        if not chunk:
            return


async def read_decoded(response: httpx.Response, limit: int) -> bytes:
    """The body of ``response`` (a streamed one), decoded as its ``Content-Encoding`` says; ``BodyTooLarge`` as
    soon as more than ``limit`` bytes of it are decoded, or more than ``raw_limit(limit)`` raw bytes arrive."""
    layers = _layers(response)
    body = bytearray()
    received = 0
    async for raw in response.aiter_raw():
        received += len(raw)
        if received > raw_limit(limit):
            raise BodyTooLarge(f"body exceeds {limit} bytes ({received} bytes received)")
        layers[0].feed(raw)
        _drain(layers, body, limit)
    return bytes(body)
