"""An OpenAI-compatible chat server for a local model, so any harness or client can call the agent.

Every reply is an agent turn: the behavior is decided first (as the benchmark decides it) and the
response follows it. `content` is the turn as the model writes it (the behavior mark, then the
response), and `choices[].message.behavior` (in a stream: the first chunk's `delta.behavior`) gives
the behavior, its three probabilities and the response without the mark. Requests are served one
at a time through the backend's lock, so a reply never depends on which other requests arrived with
it and temperature 0 is deterministic. A parameter the server does not implement is refused with a
400 in OpenAI's error shape rather than ignored.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from behaviorbench.agent import DEFAULT_NAMES
from behaviorbench.conversation import Style, strip_behavior
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.models.base import GenerationParams
from behaviorbench.models.hf import HFBackend
from behaviorbench.models.reply import (
    Decision,
    End,
    Piece,
    ReplyOptions,
    TokenLogprob,
    reply,
    with_system_prompt,
)

MAX_STOP_SEQUENCES = 4


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str
    content: str | list[dict]
    name: str | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_usage: bool = False


class ChatRequest(BaseModel):
    """The OpenAI chat parameters this server implements; any other is refused."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    """Any name is accepted: the server has one model, and replies name it."""
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    seed: int | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    logprobs: bool = False
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    stop: str | list[str] | None = None
    n: int = 1
    top_p: float = 1.0
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    user: str | None = None

    @field_validator("n")
    @classmethod
    def _one_choice(cls, n: int) -> int:
        if n != 1:
            raise ValueError(f"n={n} is not supported: this server returns exactly one choice (n=1)")
        return n

    @field_validator("top_p")
    @classmethod
    def _no_nucleus(cls, top_p: float) -> float:
        if top_p != 1:
            raise ValueError(f"top_p={top_p} is not supported: only top_p=1 (use temperature)")
        return top_p

    @field_validator("frequency_penalty", "presence_penalty")
    @classmethod
    def _no_penalty(cls, value: float) -> float:
        if value != 0:
            raise ValueError("penalties are not supported: only 0")
        return value

    @field_validator("stop")
    @classmethod
    def _stop_list(cls, stop: str | list[str] | None) -> list[str] | None:
        stops = [stop] if isinstance(stop, str) else stop
        if stops is not None and (len(stops) > MAX_STOP_SEQUENCES or not all(stops)):
            raise ValueError(f"give at most {MAX_STOP_SEQUENCES} non-empty stop sequences")
        return stops

    @model_validator(mode="after")
    def _consistent(self) -> ChatRequest:
        if self.top_logprobs is not None and not self.logprobs:
            raise ValueError("top_logprobs needs logprobs=true")
        if self.stream_options is not None and not self.stream:
            raise ValueError("stream_options needs stream=true")
        return self


def openai_error(status: int, message: str, param: str | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": param, "code": None}}, status_code=status
    )


def _validation_error(error: RequestValidationError) -> JSONResponse:
    first = error.errors()[0]
    where = [str(part) for part in first["loc"] if part != "body"]
    param = ".".join(where) or None
    if first["type"] == "extra_forbidden":
        message = f"unsupported parameter '{param}': this server does not implement it"
    else:
        message = f"{param or 'body'}: {str(first['msg']).removeprefix('Value error, ')}"
    return openai_error(400, message, param)


def _logprobs_json(entries: Sequence[TokenLogprob]) -> dict:
    def item(token: str, logprob: float) -> dict:
        return {"token": token, "logprob": logprob, "bytes": list(token.encode("utf-8"))}

    return {
        "content": [
            {**item(e.token, e.logprob), "top_logprobs": [item(t, p) for t, p in e.top]} for e in entries
        ],
        "refusal": None,
    }


def _behavior_json(decision: Decision, bias: float) -> dict:
    return {
        "behavior": decision.behavior.value,
        "probabilities": {b.value: p for b, p in decision.probabilities.items()},
        "style": decision.style,
        "proactive_bias": bias,
    }


def _usage(decision: Decision, end: End) -> dict:
    return {
        "prompt_tokens": decision.prompt_tokens,
        "completion_tokens": end.completion_tokens,
        "total_tokens": decision.prompt_tokens + end.completion_tokens,
    }


def create_app(
    backend: HFBackend,
    style: Style,
    names: Sequence[str] = DEFAULT_NAMES,
    proactive_bias: float = 0.0,
) -> FastAPI:
    """The app serving `backend` as an agent writing `style` turns, called `names` in default prompts."""
    app = FastAPI(title="BehaviorBench model server")
    name = backend.model_id
    created = int(time.time())
    backend.marks(style)  # refuse a style the tokenizer cannot mark now, not on the first request

    @app.exception_handler(RequestValidationError)
    async def refuse(_: Request, error: RequestValidationError) -> JSONResponse:
        return _validation_error(error)

    @app.get("/v1/models")
    async def list_models() -> dict:
        return {
            "object": "list",
            "data": [{"id": name, "object": "model", "created": created, "owned_by": "behaviorbench"}],
        }

    @app.post("/v1/chat/completions")
    async def chat_completions(request: ChatRequest):
        defaults = GenerationParams()
        options = ReplyOptions(
            params=GenerationParams(
                max_tokens=request.max_tokens or request.max_completion_tokens or defaults.max_tokens,
                temperature=request.temperature,
                seed=defaults.seed if request.seed is None else request.seed,
            ),
            stop=tuple(request.stop or ()),
            top_logprobs=(request.top_logprobs or 0) if request.logprobs else None,
            proactive_bias=proactive_bias,
        )
        messages = with_system_prompt(
            [m.model_dump(exclude_none=True) for m in request.messages], style, names
        )
        events = _run(backend, messages, style, options)
        first = await anext(events)  # the decision, or the request's error
        if isinstance(first, BehaviorBenchError):
            return openai_error(400, str(first))
        if isinstance(first, Exception):
            return openai_error(500, f"the model failed: {first}")
        completion_id, stamp = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if request.stream:
            include_usage = request.stream_options is not None and request.stream_options.include_usage
            chunks = _chunks(events, first, completion_id, stamp, name, proactive_bias, include_usage)
            return StreamingResponse(chunks, media_type="text/event-stream")
        text, entries, end = "", [], None
        async for event in events:
            if isinstance(event, Piece):
                text, entries = text + event.text, entries + list(event.logprobs)
            elif isinstance(event, End):
                end = event
            else:
                return openai_error(500, str(event))
        behavior = {**_behavior_json(first, proactive_bias), "response": strip_behavior(text, style)}
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": stamp,
            "model": name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "behavior": behavior},
                    "logprobs": _logprobs_json(entries) if request.logprobs else None,
                    "finish_reason": end.finish_reason,
                }
            ],
            "usage": _usage(first, end),
        }

    return app


async def _run(
    backend: HFBackend, messages: list[dict], style: Style, options: ReplyOptions
) -> AsyncIterator[Decision | Piece | End | Exception]:
    """The reply's events as they happen; generation runs in a thread and stops if the client leaves."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    cancelled = threading.Event()

    def work() -> None:
        try:
            reply(
                backend,
                messages,
                style,
                options,
                lambda e: loop.call_soon_threadsafe(queue.put_nowait, e),
                cancelled,
            )
        except (
            Exception
        ) as error:  # handed to the request: a 400 before the reply starts, else an error event
            loop.call_soon_threadsafe(queue.put_nowait, error)

    worker = loop.run_in_executor(None, work)
    try:
        while True:
            event = await queue.get()
            yield event
            if isinstance(event, End | Exception):
                break
    finally:
        cancelled.set()
        await worker


async def _chunks(
    events: AsyncIterator,
    decision: Decision,
    completion_id: str,
    stamp: int,
    model: str,
    bias: float,
    include_usage: bool,
) -> AsyncIterator[str]:
    """Server-sent events in OpenAI's `chat.completion.chunk` format, ending with `data: [DONE]`."""

    def chunk(choices: list[dict], **extra) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": stamp,
            "model": model,
            "choices": choices,
            **({"usage": None} if include_usage else {}),
            **extra,
        }
        return f"data: {json.dumps(body)}\n\n"

    def delta(content: dict, logprobs=None, finish_reason=None) -> list[dict]:
        return [{"index": 0, "delta": content, "logprobs": logprobs, "finish_reason": finish_reason}]

    yield chunk(delta({"role": "assistant", "content": "", "behavior": _behavior_json(decision, bias)}))
    try:
        async for event in events:
            if isinstance(event, Piece):
                logprobs = _logprobs_json(event.logprobs) if event.logprobs else None
                yield chunk(delta({"content": event.text}, logprobs))
            elif isinstance(event, End):
                yield chunk(delta({}, finish_reason=event.finish_reason))
                if include_usage:
                    yield chunk([], usage=_usage(decision, event))
            else:
                yield f"data: {json.dumps({'error': {'message': str(event), 'type': 'server_error'}})}\n\n"
                return
        yield "data: [DONE]\n\n"
    finally:
        await events.aclose()
