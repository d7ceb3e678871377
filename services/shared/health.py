"""A tiny HTTP endpoint so supervisors, compose health checks and Prometheus can ask a service: ``GET /healthz``
and ``GET /metrics`` (``services.shared.metrics``).

Services that already serve HTTP (the webhook bridge) expose their own routes; the others start this.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from services.shared import metrics

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[bool]]


class HealthServer:
    """``GET /healthz`` answers 200 while ``probe()`` returns True, 503 otherwise; ``GET /metrics`` the metrics;
    anything else 404."""

    def __init__(self, host: str, port: int, probe: Probe) -> None:
        self._host, self._port, self._probe = host, port, probe
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen on the host and port given; OSError when the port is taken."""
        self._server = await asyncio.start_server(self._handle, self._host, self._port)
        log.info("health endpoint on http://%s:%d/healthz", self._host, self._port)

    async def stop(self) -> None:
        """Stop listening and wait for the server to close (nothing if it never started)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), timeout=5)
            parts = request_line.decode("latin-1").split()
            method, path = (parts[0], parts[1].partition("?")[0]) if len(parts) >= 2 else ("", "")
            content_type = "text/plain; charset=utf-8"
            if method == "GET" and path == "/healthz":
                healthy = await self._safe_probe()
                status, body = ("200 OK", b"ok\n") if healthy else ("503 Service Unavailable", b"unhealthy\n")
            elif method == "GET" and path == "/metrics":
                status, body, content_type = "200 OK", await metrics.render(), metrics.CONTENT_TYPE
            else:
                status, body = "404 Not Found", b"not found\n"
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _safe_probe(self) -> bool:
        try:
            return await asyncio.wait_for(self._probe(), timeout=5)
        except Exception:
            log.exception("health probe failed")
            return False
