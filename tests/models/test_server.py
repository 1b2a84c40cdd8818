"""The OpenAI-compatible server: the official `openai` client (streaming and not) against uvicorn on
loopback with the tiny model, `behaviorbench serve` as a subprocess called with curl, and the
served decisions compared with the benchmark's own fast path."""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import httpx
import openai
import pytest
from loopback import running_server
from model_helpers import make_case

from behaviorbench.conversation import case_messages, system_prompt
from behaviorbench.models.base import GenerationParams
from behaviorbench.models.hf import HFBackend
from behaviorbench.models.reply import Decision, End, Piece, ReplyOptions, reply, with_system_prompt
from behaviorbench.models.server import create_app
from behaviorbench.taxonomy import BEHAVIOR_TAGS, Behavior

PARAMS = GenerationParams(max_tokens=6)
SPEAK = 4.0
"""A proactivity dial that makes the random tiny model speak up, so responses are generated."""


@pytest.fixture(scope="module")
def served(tiny_backend):
    """(backend, openai client, base URL) of a tagged agent with the dial at SPEAK."""
    with running_server(create_app(tiny_backend, "tagged", proactive_bias=SPEAK)) as url:
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
        yield tiny_backend, client, url
        client.close()


def ask(client: openai.OpenAI, messages: list[dict], **kw):
    return client.chat.completions.create(model="any", messages=messages, max_tokens=6, **kw)


def streamed(client: openai.OpenAI, messages: list[dict], **kw) -> list:
    return list(ask(client, messages, stream=True, **kw))


def in_process(backend, messages, style, options) -> tuple[Decision, str, End]:
    events = []
    reply(backend, messages, style, options, events.append)
    return events[0], "".join(e.text for e in events if isinstance(e, Piece)), events[-1]


def test_served_turns_are_the_benchmark_decisions(served):
    backend, client, _ = served
    case = make_case(0)
    slots = list(range(len(case.slots)))
    reference = backend.decide_slot_by_slot(case, "tagged", slots, PARAMS, proactive_bias=SPEAK)
    fast = backend.decide_case(case, "tagged", slots, PARAMS, proactive_bias=SPEAK)
    for slot, expected, quick in zip(slots, reference, fast, strict=True):
        answer = ask(client, case_messages(case, "tagged", upto=slot))
        [choice] = answer.choices
        behavior = choice.message.behavior
        assert behavior["behavior"] == expected.behavior.value
        for b in Behavior:
            assert behavior["probabilities"][b.value] == pytest.approx(quick.probabilities[b], abs=1e-4)
        assert choice.message.content == expected.raw_output
        assert behavior["response"] == expected.response
        assert choice.finish_reason in ("stop", "length") and choice.logprobs is None
        assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens
    assert {d.behavior for d in reference} != {Behavior.silent}  # responses were generated and compared


def test_stream_carries_the_same_turn_in_standard_chunks(served):
    _, client, url = served
    messages = case_messages(make_case(1), "tagged", upto=3)
    whole = ask(client, messages)
    chunks = streamed(client, messages, stream_options={"include_usage": True})
    assert {c.object for c in chunks} == {"chat.completion.chunk"} and len({c.id for c in chunks}) == 1
    first, *middle, last_choice, usage = chunks
    assert first.choices[0].delta.role == "assistant" and first.choices[0].delta.content == ""
    assert first.choices[0].delta.behavior == {
        k: v for k, v in whole.choices[0].message.behavior.items() if k != "response"
    }
    pieces = [c.choices[0].delta.content for c in middle]
    assert len(pieces) >= 2 and all(pieces)  # the mark, then the response as it is generated
    assert "".join(pieces) == whole.choices[0].message.content
    assert all(c.choices[0].finish_reason is None and c.usage is None for c in [first, *middle])
    assert last_choice.choices[0].finish_reason == whole.choices[0].finish_reason
    assert usage.choices == [] and usage.usage == whole.usage
    # The wire format itself: data lines, ending with [DONE].
    with httpx.stream(
        "POST", f"{url}/chat/completions", json={"messages": messages, "max_tokens": 3, "stream": True}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines) and lines[-1] == "data: [DONE]"
    assert all("usage" not in json.loads(line[6:]) for line in lines[:-1])


def test_logprobs_give_the_behavior_distribution_and_each_token(served):
    _, client, _ = served
    messages = case_messages(make_case(0), "tagged", upto=3)
    answer = ask(client, messages, logprobs=True, top_logprobs=3)
    [choice] = answer.choices
    probabilities = choice.message.behavior["probabilities"]
    mark, *tokens = choice.logprobs.content
    chosen = choice.message.behavior["behavior"]
    assert mark.token == BEHAVIOR_TAGS[Behavior(chosen)]
    assert math.exp(mark.logprob) == pytest.approx(probabilities[chosen])
    assert {t.token for t in mark.top_logprobs} == set(BEHAVIOR_TAGS.values())
    assert sum(math.exp(t.logprob) for t in mark.top_logprobs) == pytest.approx(1.0)
    mark_tokens = len(served[0].marks("tagged").ids[Behavior(chosen)])
    assert tokens and answer.usage.completion_tokens == mark_tokens + len(tokens)
    for token in tokens:  # temperature 0: every token is the most likely one
        assert len(token.top_logprobs) == 3 and token.logprob <= 0
        assert token.logprob == pytest.approx(max(t.logprob for t in token.top_logprobs))
        assert token.top_logprobs[0].token == token.token
    chunks = streamed(client, messages, logprobs=True, top_logprobs=3)
    streamed_entries = [
        e for c in chunks if c.choices and c.choices[0].logprobs for e in c.choices[0].logprobs.content
    ]
    assert [(e.token, round(e.logprob, 5)) for e in streamed_entries] == [
        (e.token, round(e.logprob, 5)) for e in choice.logprobs.content
    ]


def test_default_system_prompt_names_the_assistant(tiny_backend):
    conversation = [{"role": "user", "content": "Dr. Lee (attending): Ada, what is the potassium?"}]
    with running_server(create_app(tiny_backend, "tagged", names=("Ada",))) as url:
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
        bare = ask(client, conversation).choices[0].message.behavior
        named = [{"role": "system", "content": system_prompt("tagged", ["Ada"])}, *conversation]
        explicit = ask(client, named).choices[0].message.behavior
        other = [{"role": "system", "content": system_prompt("tagged", ["Assistant"])}, *conversation]
        unnamed = ask(client, other).choices[0].message.behavior
    assert bare == explicit
    assert bare["probabilities"] != unnamed["probabilities"]  # the name reached the model


def test_a_reply_waits_while_the_model_is_held(tiny_backend):
    """`reply` takes the backend through its public `exclusive()`: a request arriving while another
    holds the model decides nothing until it is released."""
    messages = with_system_prompt([{"role": "user", "content": "Nurse: BP 90/60."}], "tagged", ["Assistant"])
    events: list = []
    worker = threading.Thread(
        target=reply, args=(tiny_backend, messages, "tagged", ReplyOptions(PARAMS), events.append)
    )
    with tiny_backend.exclusive():
        worker.start()
        worker.join(timeout=1.0)
        assert worker.is_alive() and events == []
    worker.join()
    assert isinstance(events[0], Decision) and isinstance(events[-1], End)


def test_stop_sequences_end_the_response_where_they_start(served):
    _, client, _ = served
    messages = case_messages(make_case(0), "tagged", upto=3)
    full = ask(client, messages).choices[0].message
    response = full.content.removeprefix(BEHAVIOR_TAGS[Behavior(full.behavior["behavior"])])
    assert len(response) >= 4
    stop = response[2:4]
    cut = full.content[: len(full.content) - len(response) + response.index(stop)]
    stopped = ask(client, messages, stop=[stop, "never-generated"])
    assert stopped.choices[0].message.content == cut and stopped.choices[0].finish_reason == "stop"
    pieces = streamed(client, messages, stop=stop)
    assert "".join(c.choices[0].delta.content or "" for c in pieces if c.choices) == cut


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({"n": 2}, "n", "n=2 is not supported"),
        ({"response_format": {"type": "json_object"}}, "response_format", "unsupported parameter"),
        ({"tools": []}, "tools", "unsupported parameter"),
        ({"top_logprobs": 2}, None, "top_logprobs needs logprobs=true"),
        ({"top_p": 0.5}, "top_p", "only top_p=1"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop", "at most 4"),
        ({"stream_options": {"include_usage": True}}, None, "stream_options needs stream=true"),
        ({"messages": [{"role": "user"}]}, "messages.0.content", "Field required"),
        ({"max_tokens": 100_000}, None, "exceeds the model's"),
    ],
)
def test_unsupported_requests_get_a_400_in_openai_shape(served, body, param, words):
    _, client, url = served
    request = {"model": "any", "messages": [{"role": "user", "content": "hello"}], **body}
    response = httpx.post(f"{url}/chat/completions", json=request)
    assert response.status_code == 400
    error = response.json()["error"]
    assert words in error["message"] and error["type"] == "invalid_request_error" and error["param"] == param
    if body == {"n": 2}:
        with pytest.raises(openai.BadRequestError, match="n=2"):
            ask(client, request["messages"], n=2)


def test_models_endpoint_lists_the_one_model(served):
    backend, client, _ = served
    assert [m.id for m in client.models.list()] == [backend.model_id]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "behaviorbench.cli", *args], capture_output=True, text=True, env=env, **kw
    )


def start_serve(*args: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "behaviorbench.cli", "serve", *args, "--port", str(port)],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 300
    while True:
        assert server.poll() is None, server.stdout.read()
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return server, url
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "server did not come up"
        time.sleep(0.3)


def curl(*args: str) -> str:
    return subprocess.run(
        ["curl", "-sS", *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_serve_command_with_curl(tiny_model_dir):
    server, url = start_serve("--model", str(tiny_model_dir), "--name", "Ada", "--proactive-bias", str(SPEAK))
    conversation = [{"role": "user", "content": "Nurse Lee (nurse): Ada, potassium is 6.9 on the gas."}]
    body = {"messages": conversation, "max_tokens": 5}
    try:
        plain = json.loads(
            curl(f"{url}/chat/completions", "-H", "Content-Type: application/json", "-d", json.dumps(body))
        )
        events = curl(
            "-N",
            f"{url}/chat/completions",
            "-H",
            "Content-Type: application/json",
            "-d",
            json.dumps({**body, "stream": True}),
        )
        refused = curl(
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            f"{url}/chat/completions",
            "-H",
            "Content-Type: application/json",
            "-d",
            json.dumps({**body, "n": 3}),
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    backend = HFBackend(str(tiny_model_dir), device="cpu")
    messages = with_system_prompt(conversation, "tagged", ["Ada"])
    decision, text, end = in_process(
        backend, messages, "tagged", ReplyOptions(GenerationParams(max_tokens=5), proactive_bias=SPEAK)
    )
    [choice] = plain["choices"]
    assert choice["message"]["content"] == text and choice["finish_reason"] == end.finish_reason
    assert choice["message"]["behavior"]["behavior"] == decision.behavior.value
    assert plain["usage"]["prompt_tokens"] == decision.prompt_tokens
    data = [line.removeprefix("data: ") for line in events.splitlines() if line]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == text
    assert refused == "400"


def test_serve_refuses_a_public_interface_without_allow_remote():
    result = run_cli("serve", "--model", "hf:smollm2-135m", "--host", "0.0.0.0", timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "--allow-remote" in result.stderr


def test_serve_refuses_a_remote_model_spec():
    result = run_cli("serve", "--model", "openai:gpt-4o", timeout=60)
    assert result.returncode == 2 and "local model" in result.stderr


@pytest.mark.slow
def test_serve_subprocess_on_smollm2_gives_the_benchmark_decisions():
    from behaviorbench.generation import generate_case

    case = generate_case(0, 0, scenes=2)
    slots = list(range(min(12, len(case.slots))))
    params = GenerationParams(max_tokens=8)
    server, url = start_serve("--model", "smollm2-135m")
    try:
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
        served = [
            client.chat.completions.create(
                model="smollm2", messages=case_messages(case, "tagged", upto=slot), max_tokens=8
            ).choices[0]
            for slot in slots
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)
    local = HFBackend("smollm2-135m", device="cpu")
    expected = local.decide_slot_by_slot(case, "tagged", slots, params)
    assert [c.message.content for c in served] == [d.raw_output for d in expected]
    assert [c.message.behavior["behavior"] for c in served] == [d.behavior.value for d in expected]
