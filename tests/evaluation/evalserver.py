"""A real OpenAI-compatible HTTP server on 127.0.0.1 that answers by simple rules, and can misbehave.

The rules stand in for a model: answer when the assistant is addressed, flag the amoxicillin order,
otherwise stay silent; as a judge, label replies by their words. With `failure_rate` > 0 a seeded
share of requests fails with HTTP 500, HTTP 429, a reply slower than the client's timeout, or a
body that is not JSON.
"""

from __future__ import annotations

import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from behaviorbench.evaluation.protocols import JUDGE_SYSTEM

FAILURES = ("500", "429", "slow", "malformed")
ANSWER = "Potassium is high. Likely community-acquired pneumonia. Give 1050 mg. Atrial fibrillation."


def model_reply(messages: list[dict]) -> str:
    system = messages[0]["content"]
    last = messages[-1]["content"]
    text = last if isinstance(last, str) else " ".join(p.get("text", "") for p in last)
    if system == JUDGE_SYSTEM:
        reply = text.split("Assistant's reply:", 1)[1]
        if "GARBLE" in reply:
            return "Hard to say."
        if "allergy" in reply.lower():
            return "PROACTIVE"
        return "SILENT" if "no comment" in reply.lower() or "(empty)" in reply else "REACTIVE"
    tagged = "[REACTIVE]" in system
    if "Assistant," in text:
        return f"[REACTIVE] {ANSWER}" if tagged else ANSWER
    if "Start amoxicillin" in text:
        flag = "Amoxicillin conflicts with the penicillin allergy."
        return f"[PROACTIVE] {flag}" if tagged else flag
    if "Bed 5" in text and not tagged:
        return "GARBLE"
    return "[SILENT]" if tagged else "No comment."


class ChatServer:
    """Start with `with ChatServer(...) as server:`; `server.url` is the base URL for the client."""

    def __init__(self, failure_rate: float = 0.0, seed: int = 0, slow_seconds: float = 1.5, secret: str = ""):
        self.failure_rate, self.slow_seconds, self.secret = failure_rate, slow_seconds, secret
        self.requests = 0
        self.failed: dict[str, int] = dict.fromkeys(FAILURES, 0)
        self.images_seen = 0
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _draw(self) -> str | None:
        with self._lock:
            self.requests += 1
            failure = self._random.choice(FAILURES) if self._random.random() < self.failure_rate else None
            if failure:
                self.failed[failure] += 1
            return failure

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                messages = request["messages"]
                failure = server._draw()
                try:
                    if failure == "slow":
                        time.sleep(server.slow_seconds)
                    if failure in ("500", "429"):
                        error = {"error": {"message": "try again", "type": "server_error"}}
                        return self._send(int(failure), json.dumps(error).encode())
                    if failure == "malformed":
                        return self._send(200, b'{"id": "x", "choices": [')
                    if server.secret and "Bed 3:" in json.dumps(messages):
                        leak = f"bad request from key {self.headers.get('Authorization', '')}"
                        return self._send(400, json.dumps({"error": {"message": leak}}).encode())
                    server.images_seen += sum(
                        1
                        for m in messages
                        if isinstance(m["content"], list)
                        for p in m["content"]
                        if p["type"] == "image_url"
                        and p["image_url"]["url"].startswith("data:image/png;base64,")
                    )
                    body = {
                        "id": f"chatcmpl-{server.requests}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": request["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": model_reply(messages)},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                    self._send(200, json.dumps(body).encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on a slow reply

        return Handler
