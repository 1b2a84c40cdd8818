"""One cached, checked question to an OpenAI-compatible LLM: what extraction and rewriting share.

A reply is read by the caller's `read`, which raises `ValueError` (pydantic's `ValidationError`
is one) naming what is wrong; such a reply costs one more request that names the problem, then a
`BackendError`. Only replies that were read are stored in the SQLite response cache, keyed on the
model, the question and the parameters, so the same question is never asked twice.
Transport failures are retried with backoff by the backend itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import ValidationError

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.evaluation.cache import ResponseCache, cache_key
from behaviorbench.models.base import GenerationParams
from behaviorbench.models.errors import BackendError

T = TypeVar("T")


def open_backend(llm: str, base_url: str | None, concurrency: int, retries: int, timeout: float):
    """The OpenAI-compatible backend of an `openai:MODEL` spec."""
    from behaviorbench.models import parse_model_spec
    from behaviorbench.models.openai_api import OpenAIBackend

    try:
        spec = parse_model_spec(llm)
    except BehaviorBenchError:
        spec = None
    if spec is None or spec.kind != "openai":
        raise BehaviorBenchError(f"--llm: expected openai:MODEL, got {llm!r}")
    return OpenAIBackend(
        spec.name, base_url=base_url, concurrency=concurrency, max_retries=retries, timeout=timeout
    )


async def ask(
    backend,
    cache: ResponseCache,
    task: str,
    messages: list[dict],
    params: GenerationParams,
    read: Callable[[str], T],
    response_format: dict | None = None,
) -> T:
    """`read` of the reply to `messages`, from the cache when this exact question was read before."""
    key = cache_key(f"{backend.model_id}|{task}", messages, params)
    cached = cache.get(key)
    if cached is not None:
        return read(cached)
    reply = await backend.complete(messages, params, response_format=response_format)
    try:
        value = read(reply)
    except ValueError as error:
        retry = [
            *messages,
            {"role": "assistant", "content": reply},
            {
                "role": "user",
                "content": f"That reply is invalid: {problem_of(error)}. Reply with the answer only.",
            },
        ]
        reply = await backend.complete(retry, params, response_format=response_format)
        try:
            value = read(reply)
        except ValueError as again:
            raise BackendError(
                f"reply is not valid {task.replace('_', ' ')} after 2 attempts: {problem_of(again)}"
            ) from None
    cache.put(key, reply)
    return value


def problem_of(error: ValueError) -> str:
    """One short phrase for what is wrong with a reply."""
    if not isinstance(error, ValidationError):
        return str(error)
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    kind = "not JSON" if first["type"] == "json_invalid" else f"{field or 'reply'}: {first['msg']}"
    count = error.error_count()
    return f"{kind} ({count} problem{'s' if count != 1 else ''})"
