"""A real OpenAI-compatible HTTP server on 127.0.0.1 that replays recorded replies to case reports.

Each report is recognised by a phrase of its text; its recorded replies are given in turn (the
last one repeats), so a first malformed reply followed by a good one exercises the one retry.
A request to rewrite a line (any other system prompt) is answered by the `rewrite` function
given, since the lines come from the generator rather than from a recording. Every request body is
kept, to check what the client sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from behaviorbench.importing.reports import SYSTEM


class ReplayServer:
    """Start with `with ReplayServer(path) as server:`; `server.url` is the base URL for the client."""

    def __init__(self, recorded: Path, rewrite: Callable[[str], str] | None = None):
        data = json.loads(Path(recorded).read_text(encoding="utf-8"))
        self.keys: dict[str, str] = data["keys"]
        self.replies: dict[str, list[str]] = data["replies"]
        self.rewrite = rewrite
        self.requests: list[dict] = []
        self.rewrites: list[str] = []
        self.served: dict[str, int] = dict.fromkeys(self.replies, 0)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> ReplayServer:
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reply_to(self, request: dict) -> str:
        if request["messages"][0]["content"] != SYSTEM and self.rewrite is not None:
            line = request["messages"][1]["content"]
            with self._lock:
                self.rewrites.append(line)
            return self.rewrite(line)
        report = request["messages"][1]["content"]
        report_id = next(rid for rid, phrase in self.keys.items() if phrase in report)
        with self._lock:
            self.requests.append(request)
            turn = self.served[report_id]
            self.served[report_id] += 1
        replies = self.replies[report_id]
        return replies[min(turn, len(replies) - 1)]

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                body = {
                    "id": f"chatcmpl-{len(server.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": request["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": server.reply_to(request)},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
