"""Model backends: local Hugging Face models and OpenAI-compatible servers, chosen by a spec string."""

from __future__ import annotations

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.models.base import Backend

SPEC_FORMS = "'hf:<folder or alias>' or 'openai:<model>'"


def load_backend(spec: str, base_url: str | None = None, **kw) -> Backend:
    """`hf:smollm2-135m` or `hf:<folder>` → HFBackend; `openai:<model>` (+ base_url) → OpenAIBackend."""
    kind, _, name = spec.partition(":")
    if kind == "hf" and name:
        if base_url is not None:
            raise BehaviorBenchError(f"model '{spec}': --base-url is for openai:<model> specs only")
        from behaviorbench.models.hf import HFBackend

        return HFBackend(name, **kw)
    if kind == "openai" and name:
        from behaviorbench.models.openai_api import OpenAIBackend

        return OpenAIBackend(name, base_url=base_url, **kw)
    raise BehaviorBenchError(f"model '{spec}': expected {SPEC_FORMS}")


__all__ = ["load_backend"]
