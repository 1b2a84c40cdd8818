"""Any OpenAI-compatible chat server (OpenAI, vLLM, llama.cpp, Ollama, `behaviorbench serve`).

Requests run concurrently up to a bound; transient failures (rate limits, server errors, timeouts,
dropped connections, malformed replies) are retried with seeded, jittered exponential backoff, and
after the last attempt become a one-line `BackendError`. The `usage` the server reports with each
reply is added up, so a run can say what it spent. The API key is only ever handed to the
client: error text is built here from status codes and redacted server messages.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from urllib.parse import urlparse

from behaviorbench.evaluation.usage import TokenUsage
from behaviorbench.models.base import Backend, GenerationParams
from behaviorbench.models.errors import BackendError, BackendUnreachable

PLACEHOLDER_KEY = "not-needed"
"""Local servers ignore the key, but the client insists on one."""


class Retryable(Exception):
    """A failure worth another attempt; its message is already safe to show."""


class OpenAIBackend(Backend):
    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        max_retries: int = 4,
        timeout: float = 60,
        multimodal: bool = False,
        backoff: float = 0.5,
        max_backoff: float = 20.0,
        seed: int = 0,
    ):
        from openai import AsyncOpenAI

        self.model = model
        self.base_url = base_url
        self.model_id = f"openai:{model}@{urlparse(base_url).netloc if base_url else 'api.openai.com'}"
        self.multimodal = multimodal
        self.max_retries = max_retries
        self.backoff, self.max_backoff = backoff, max_backoff
        self._key = os.environ.get(api_key_env) or PLACEHOLDER_KEY
        # The client's own retries are off: the policy below is the only one in force.
        self._client = AsyncOpenAI(api_key=self._key, base_url=base_url, max_retries=0, timeout=timeout)
        self._semaphore = asyncio.Semaphore(concurrency)
        self._jitter = random.Random(seed)
        self._unreachable: str | None = None
        self.usage = TokenUsage()
        """Tokens the server reported for every reply received (a run's cost is estimated from them)."""

    @property
    def url(self) -> str:
        return str(self._client.base_url).rstrip("/")

    def _redact(self, text: str) -> str:
        text = " ".join(str(text).split())[:200]
        return text.replace(self._key, "***") if self._key != PLACEHOLDER_KEY else text

    async def _request(
        self, messages: list[dict], params: GenerationParams, response_format: dict | None = None
    ) -> str:
        """One attempt: the reply text, or Retryable / BackendError with a safe message."""
        import openai
        from openai.types.chat import ChatCompletion

        extra = {"response_format": response_format} if response_format else {}
        try:
            response = await self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                max_tokens=params.max_tokens,
                temperature=params.temperature,
                seed=params.seed,
                **extra,
            )
        except openai.APITimeoutError:
            raise Retryable("timed out") from None
        except openai.APIConnectionError as error:
            # Refused: nothing listens (the server is unreachable); dropped mid-request: a
            # transient fault like an HTTP 5xx, which must not end the run.
            raise Retryable(
                "connection failed" if _never_connected(error) else "connection dropped"
            ) from None
        except (openai.RateLimitError, openai.InternalServerError) as error:
            raise Retryable(f"HTTP {error.status_code}") from None
        except openai.APIStatusError as error:
            if error.status_code >= 500:
                raise Retryable(f"HTTP {error.status_code}") from None
            detail = "" if error.status_code in (401, 403) else f": {self._redact(error.message)}"
            raise BackendError(f"{self.url}: HTTP {error.status_code}{detail}") from None
        except (openai.APIResponseValidationError, json.JSONDecodeError):
            raise Retryable("malformed reply") from None
        # The client neither validates replies nor insists on JSON: check the shape here.
        if not isinstance(response, ChatCompletion):
            raise Retryable("malformed reply (not a chat completion)")
        try:
            content = response.choices[0].message.content
        except (AttributeError, IndexError, TypeError):
            raise Retryable("malformed reply (no choices)") from None
        if not isinstance(content, str):
            raise Retryable("malformed reply (no message content)")
        self.usage.add(response.usage)
        return content

    async def complete(
        self, messages: list[dict], params: GenerationParams, response_format: dict | None = None
    ) -> str:
        """The reply text; `response_format` asks for structured output (e.g. a JSON schema)."""
        if self._unreachable:
            raise BackendUnreachable(self._unreachable)
        async with self._semaphore:
            reason = ""
            for attempt in range(self.max_retries + 1):
                if attempt:
                    delay = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
                    await asyncio.sleep(delay * (0.5 + self._jitter.random()))
                try:
                    return await self._request(messages, params, response_format)
                except Retryable as failure:
                    reason = str(failure)
        message = f"{self.url}: {reason} after {self.max_retries + 1} attempts"
        if reason == "connection failed":
            self._unreachable = (
                f"cannot reach {self.url} (connection failed after {self.max_retries + 1} attempts)"
            )
            raise BackendUnreachable(self._unreachable)
        raise BackendError(message)

    async def check(self) -> list[str]:
        """The models the server lists; fails fast with a one-line error when it cannot be reached."""
        import openai

        try:
            page = await self._client.models.list()
        except openai.APIConnectionError:
            raise BackendUnreachable(f"cannot reach {self.url}") from None
        except openai.APIStatusError as error:
            raise BackendError(f"{self.url}: HTTP {error.status_code} listing models") from None
        return [model.id for model in page.data]

    async def aclose(self) -> None:
        await self._client.close()


def _never_connected(error: BaseException) -> bool:
    """Whether a connection error is a failure to connect (httpx's, or httpcore's, ConnectError,
    whatever package the openai client ships them in) rather than a connection lost mid-request."""
    cause = error.__cause__
    while cause is not None:
        if type(cause).__name__ == "ConnectError":
            return True
        cause = cause.__cause__
    return False
