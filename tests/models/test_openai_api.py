"""OpenAIBackend against real loopback servers: a flaky one, a broken one, and none at all."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from loopback import running_server

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.models import load_backend
from behaviorbench.models.base import GenerationParams
from behaviorbench.models.errors import BackendError, BackendUnreachable
from behaviorbench.models.openai_api import OpenAIBackend

FAKE_KEY = "sk-test-RECOGNISABLE-0123456789"
FAILURES = ("500", "429", "timeout", "bad-json", "no-choices", "no-content")


def reply(text: str) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "echo",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }


def flaky_app(every: int, sleep: float = 1.0) -> tuple[FastAPI, Counter]:
    """Echoes the last user message, except every `every`-th request fails, in turn in one of six ways."""
    app, seen = FastAPI(), Counter()

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        seen["requests"] += 1
        seen["auth-ok"] += request.headers.get("authorization") == f"Bearer {FAKE_KEY}"
        n = seen["requests"]
        failure = FAILURES[(n // every) % len(FAILURES)] if n % every == 0 else None
        seen[failure or "ok"] += 1
        if failure in ("500", "429"):
            return JSONResponse({"error": {"message": f"failure {failure}"}}, status_code=int(failure))
        if failure == "timeout":
            await asyncio.sleep(sleep)
        if failure == "bad-json":
            return Response('{"choices": [', media_type="application/json")
        if failure == "no-choices":
            return JSONResponse({**reply(""), "choices": []})
        if failure == "no-content":
            return JSONResponse({**reply(""), "choices": [{"index": 0, "message": {"role": "assistant"}}]})
        return JSONResponse(reply("echo: " + body["messages"][-1]["content"]))

    return app, seen


def backend(url: str, **kw) -> OpenAIBackend:
    return OpenAIBackend("echo", base_url=url, timeout=0.3, backoff=0.01, max_backoff=0.05, **kw)


async def run_all(client: OpenAIBackend, n: int) -> list[str | BackendError]:
    async def one(i: int):
        try:
            return await client.complete([{"role": "user", "content": f"q{i}"}], GenerationParams())
        except BackendError as error:
            return error

    try:
        return await asyncio.gather(*(one(i) for i in range(n)))
    finally:
        await client.aclose()


def test_flaky_server_every_call_succeeds_or_fails_cleanly(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    app, seen = flaky_app(every=5)
    with running_server(app) as url:
        results = asyncio.run(run_all(backend(url, concurrency=4), 60))
    for i, result in enumerate(results):
        assert result == f"echo: q{i}" or isinstance(result, BackendError)
    assert sum(isinstance(r, str) for r in results) >= 55
    assert all(seen[f] for f in FAILURES), seen  # every kind of failure was exercised and survived
    assert seen["requests"] <= 60 * 5
    assert seen["auth-ok"] == seen["requests"]


def test_always_failing_server_raises_after_bounded_retries_without_the_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    app, seen = flaky_app(every=1, sleep=0.5)
    with running_server(app) as url:
        results = asyncio.run(run_all(backend(url, max_retries=2), 5))
    assert all(isinstance(r, BackendError) for r in results)
    assert seen["requests"] == 5 * 3
    for error in results:
        text = str(error)
        assert "\n" not in text and url in text and "after 3 attempts" in text
        assert FAKE_KEY not in text and error.__cause__ is None and error.__context__ is None


def test_client_errors_are_not_retried_and_never_echo_the_key(monkeypatch):
    monkeypatch.setenv("MY_KEY", FAKE_KEY)
    app, seen = FastAPI(), Counter()

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        seen["requests"] += 1
        token = request.headers["authorization"].removeprefix("Bearer ")
        return JSONResponse({"error": {"message": f"Incorrect API key provided: {token}"}}, status_code=401)

    with running_server(app) as url:
        results = asyncio.run(run_all(backend(url, api_key_env="MY_KEY"), 1))
    assert seen["requests"] == 1
    assert isinstance(results[0], BackendError) and "HTTP 401" in str(results[0])
    assert FAKE_KEY not in str(results[0])


def test_unreachable_server_fails_fast_naming_the_url():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens on this port now
    url = f"http://127.0.0.1:{port}/v1"
    client = backend(url)
    started = time.monotonic()
    results = asyncio.run(run_all(client, 3))
    assert all(isinstance(r, BackendUnreachable) for r in results)
    assert f"cannot reach {url}" in str(results[0])
    assert time.monotonic() - started < 5
    with pytest.raises(BackendUnreachable, match=f"cannot reach {url}"):
        asyncio.run(backend(url).check())


def test_load_backend_specs(tmp_path):
    remote = load_backend("openai:gpt-x", base_url="http://127.0.0.1:9/v1")
    assert isinstance(remote, OpenAIBackend) and remote.model_id == "openai:gpt-x@127.0.0.1:9"
    with pytest.raises(BehaviorBenchError, match="model 'llama:7b': expected 'hf:"):
        load_backend("llama:7b")
    with pytest.raises(BehaviorBenchError, match="not found offline"):
        load_backend(f"hf:{tmp_path / 'missing'}")
