"""A real HTTP server on 127.0.0.1 for the http_request tests: JSON, text, errors, slow and large answers."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_COUNTS: dict[str, int] = {}
_COUNTS_LOCK = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/echo":
            echo = {
                "method": self.command,
                "query": parse_qs(url.query),
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode(),
            }
            self._send(200, json.dumps(echo).encode(), "application/json", {"X-Echo": "yes"})
        elif url.path == "/counter":
            # Counts calls per name: a job that is "done" from the ``done_at``-th poll on.
            query = parse_qs(url.query)
            name, done_at = query["name"][0], int(query.get("done_at", ["3"])[0])
            with _COUNTS_LOCK:
                _COUNTS[name] = _COUNTS.get(name, 0) + 1
                count = _COUNTS[name]
            state = {"count": count, "state": "done" if count >= done_at else "running"}
            self._send(200, json.dumps(state).encode(), "application/json")
        elif url.path == "/text":
            self._send(200, b"hello, plain text", "text/plain; charset=utf-8")
        elif url.path == "/broken-json":
            self._send(200, b"{not json", "application/json")
        elif url.path == "/fail":
            self._send(500, json.dumps({"error": "boom"}).encode(), "application/json")
        elif url.path == "/redirect":
            self._send(302, b"", "text/plain", {"Location": "/text"})
        elif url.path == "/redirect-to":
            self._send(302, b"", "text/plain", {"Location": parse_qs(url.query)["location"][0]})
        elif url.path == "/slow":
            time.sleep(float(parse_qs(url.query).get("seconds", ["2"])[0]))
            self._send(200, b"late", "text/plain")
        elif url.path == "/big":
            self._send(200, b"x" * int(parse_qs(url.query)["bytes"][0]), "text/plain")
        else:
            self._send(404, b"not found", "text/plain")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _route

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@contextmanager
def local_http_server(tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve the routes above on a free port in a thread (HTTPS with ``tls``); yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    if tls:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
