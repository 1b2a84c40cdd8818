"""An OpenAI-compatible chat server for a local model, so any harness or client can call it over HTTP.

Requests are served one at a time through the backend's lock: a reply never depends on which other
requests happened to arrive with it, so temperature 0 is deterministic.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.models.base import GenerationParams
from behaviorbench.models.hf import HFBackend


class ChatMessage(BaseModel):
    role: str
    content: str | list[dict]


class ChatRequest(BaseModel):
    """The fields of an OpenAI chat request this server honours; others are accepted and ignored."""

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    seed: int | None = None


def create_app(backend: HFBackend) -> FastAPI:
    app = FastAPI(title="BehaviorBench model server")
    name = backend.model_id
    created = int(time.time())

    @app.get("/v1/models")
    async def list_models() -> dict:
        return {
            "object": "list",
            "data": [{"id": name, "object": "model", "created": created, "owned_by": "behaviorbench"}],
        }

    @app.post("/v1/chat/completions")
    async def chat_completions(request: ChatRequest) -> dict:
        defaults = GenerationParams()
        params = GenerationParams(
            max_tokens=request.max_tokens or request.max_completion_tokens or defaults.max_tokens,
            temperature=request.temperature,
            seed=defaults.seed if request.seed is None else request.seed,
        )
        try:
            reply = await asyncio.to_thread(
                backend.generate_reply, [m.model_dump() for m in request.messages], params
            )
        except BehaviorBenchError as error:
            raise HTTPException(status_code=400, detail=str(error)) from None
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.text},
                    "finish_reason": reply.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
        }

    return app
