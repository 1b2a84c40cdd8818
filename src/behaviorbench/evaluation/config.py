"""What an evaluation run is asked to do: one pydantic model shared by the CLI, the runner and the demo."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from behaviorbench.evaluation.usage import Price


class EvalConfig(BaseModel):
    """A model on a split of a dataset under a protocol, and how to run it.

    `model` takes the one model syntax of every command (`hf:<folder or alias>`, a local folder,
    'smollm2-135m', `openai:<model>`). Local-only and remote-only options are refused on the other
    kind of model rather than ignored.
    """

    model_config = ConfigDict(extra="forbid")

    model: str
    data: Path
    split: str = "test"
    protocol: str = "tagged"
    limit: int | None = None
    seed: int = 0
    max_tokens: int = 96
    generate: bool = True
    """Write responses (needed for content checks); off: decisions only."""
    proactive_bias: float = 0.0
    bootstrap: int = 1000
    """Bootstrap replicates of the confidence intervals."""
    # Local models.
    device: str | None = None
    """cpu, cuda, cuda:1 (default: the best available)."""
    dtype: str | None = None
    """float32, bfloat16, float16 (default: float32 on CPU, bfloat16 on GPUs)."""
    batch_size: int | None = None
    """Responses generated together from one case's KV cache (default 8)."""
    # Remote models.
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 8
    timeout: float = 60.0
    retries: int = 4
    multimodal: bool = False
    price: Price | None = None
    """Dollars per million input/output tokens for the cost estimate in results.json, over the
    price table (openai: models)."""
    judge: str | None = None
    judge_base_url: str | None = None
    judge_price: Price | None = None
    """The same for an openai: judge."""
