"""A loopback HTTP proxy in front of an OpenAI-compatible server that breaks a seeded share of requests.

Faults: HTTP 429, 500 and 503, a reply slower than the client's timeout, an HTML error page, a
JSON body cut short, a completion with no choices, and a connection closed without a reply.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("429", "500", "503", "slow", "html", "truncated", "no_choices", "dropped")


class FaultProxy:
    """`with FaultProxy(upstream_url, rate) as proxy:`; point the client at `proxy.url`."""

    def __init__(self, upstream: str, rate: float, seed: int = 0, slow_seconds: float = 1.0):
        self.upstream, self.rate, self.slow_seconds = upstream.rstrip("/"), rate, slow_seconds
        self.requests = 0
        self.faults: dict[str, int] = dict.fromkeys(FAULTS, 0)
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> FaultProxy:
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _draw(self) -> str | None:
        with self._lock:
            self.requests += 1
            fault = self._random.choice(FAULTS) if self._random.random() < self.rate else None
            if fault:
                self.faults[fault] += 1
            return fault

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fault = proxy._draw()
                try:
                    if fault == "dropped":
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    if fault == "slow":
                        time.sleep(proxy.slow_seconds)
                    if fault in ("429", "500", "503"):
                        error = {"error": {"message": "try again later", "type": "server_error"}}
                        return self._send(int(fault), json.dumps(error).encode())
                    if fault == "html":
                        return self._send(502, b"<html><body>Bad gateway</body></html>", "text/html")
                    upstream = urllib.request.Request(
                        proxy.upstream + self.path.removeprefix("/v1"),
                        data=body,
                        headers={"Content-Type": "application/json"},
                    )
                    with urllib.request.urlopen(upstream, timeout=30) as response:
                        reply = response.read()
                    if fault == "truncated":
                        reply = reply[: len(reply) // 2]
                    if fault == "no_choices":
                        reply = json.dumps({**json.loads(reply), "choices": []}).encode()
                    self._send(200, reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on a slow reply

        return Handler
