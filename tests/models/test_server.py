"""The OpenAI-compatible server: in a thread on the tiny model, and `behaviorbench serve` as a
subprocess on SmolLM2, each compared with the same model called in process."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from model_helpers import make_case, running_server

from behaviorbench.conversation import case_messages
from behaviorbench.models.base import GenerationParams
from behaviorbench.models.hf import HFBackend
from behaviorbench.models.openai_api import OpenAIBackend
from behaviorbench.models.server import create_app

PARAMS = GenerationParams(max_tokens=8)


def slot_prompts(cases, style: str = "tagged") -> list[list[dict]]:
    return [case_messages(case, style, upto=slot.index) for case in cases for slot in case.slots]


async def over_http(url: str, prompts: list[list[dict]]) -> list[str]:
    client = OpenAIBackend("served", base_url=url, concurrency=4)
    try:
        return await asyncio.gather(*(client.complete(messages, PARAMS) for messages in prompts))
    finally:
        await client.aclose()


def test_server_replies_like_the_backend_in_process(tiny_backend):
    prompts = slot_prompts([make_case(0)])
    expected = [asyncio.run(tiny_backend.complete(messages, PARAMS)) for messages in prompts]
    with running_server(create_app(tiny_backend)) as url:
        assert asyncio.run(over_http(url, prompts)) == expected
        listed = httpx.get(f"{url}/models").json()
        assert [m["id"] for m in listed["data"]] == [tiny_backend.model_id]
        body = httpx.post(
            f"{url}/chat/completions", json={"messages": prompts[2], "max_tokens": 3, "temperature": 0}
        ).json()
        choice = body["choices"][0]
        assert choice["message"]["role"] == "assistant" and choice["finish_reason"] in ("stop", "length")
        assert (
            body["usage"]["total_tokens"]
            == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
        )
        assert 0 < body["usage"]["completion_tokens"] <= 3
        bad = httpx.post(f"{url}/chat/completions", json={"messages": [{"role": "user"}]})
        assert bad.status_code == 422


def run_cli(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "behaviorbench.cli", *args], capture_output=True, text=True, env=env, **kw
    )


def test_serve_refuses_a_public_interface_without_allow_remote():
    result = run_cli("serve", "--model", "hf:smollm2-135m", "--host", "0.0.0.0", timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "--allow-remote" in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_serve_subprocess_matches_in_process_smollm2():
    from behaviorbench.generation import generate_case

    cases = [generate_case(0, index, scenes=2) for index in range(2)]
    prompts = slot_prompts(cases)[:20]
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "behaviorbench.cli",
            "serve",
            "--model",
            "hf:smollm2-135m",
            "--port",
            str(port),
        ],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 300
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.5)
        served = asyncio.run(over_http(url, prompts))
    finally:
        server.terminate()
        server.wait(timeout=30)
    local = HFBackend("smollm2-135m", device="cpu")
    in_process = [asyncio.run(local.complete(messages, PARAMS)) for messages in prompts]
    assert served == in_process
    assert len(served) == 20 and len(set(served)) > 1  # the prompts reached the model
