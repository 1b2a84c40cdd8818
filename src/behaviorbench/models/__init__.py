"""Model backends: local Hugging Face models and OpenAI-compatible servers, chosen by one spec syntax.

Every command and the Agent API read `--model` the same way: `hf:<folder or alias>`, or a plain
local folder or the alias `smollm2-135m` (both local), or `openai:<model>` where a remote model
makes sense (evaluation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.models.base import Backend

SPEC_FORMS = "'hf:<folder or alias>', a local folder, 'smollm2-135m' or 'openai:<model>'"
LOCAL_FORMS = (
    "'hf:<folder or alias>', a local folder, 'smollm2-135m' or a reference agent ('smollm2-135m-behaviorsft')"
)
KINDS = ("hf", "openai")


@dataclass(frozen=True)
class ModelSpec:
    kind: Literal["hf", "openai"]
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


def parse_model_spec(spec: str) -> ModelSpec:
    """`hf:X` and `openai:X` as written; anything else names a local folder or alias."""
    kind, colon, name = spec.partition(":")
    if colon and kind in KINDS:
        if not name:
            raise BehaviorBenchError(f"model '{spec}': expected {SPEC_FORMS}")
        return ModelSpec(kind, name)  # type: ignore[arg-type]
    if colon and kind.isalnum() and len(kind) > 1 and "/" not in kind:
        raise BehaviorBenchError(f"model '{spec}': expected {SPEC_FORMS}")
    return ModelSpec("hf", spec)


def local_model(spec: str, option: str = "--model") -> str:
    """The folder or alias of a local model spec; refuses a remote one where only local models work."""
    parsed = parse_model_spec(spec)
    if parsed.kind != "hf":
        raise BehaviorBenchError(f"{option} '{spec}': this needs a local model ({LOCAL_FORMS})")
    return parsed.name


def load_backend(spec: str, base_url: str | None = None, **kw) -> Backend:
    """A local spec → HFBackend; `openai:<model>` (+ base_url) → OpenAIBackend."""
    parsed = parse_model_spec(spec)
    if parsed.kind == "hf":
        if base_url is not None:
            raise BehaviorBenchError(f"model '{spec}': --base-url is for openai:<model> specs only")
        from behaviorbench.models.hf import HFBackend

        return HFBackend(parsed.name, **kw)
    from behaviorbench.models.openai_api import OpenAIBackend

    return OpenAIBackend(parsed.name, base_url=base_url, **kw)


__all__ = ["LOCAL_FORMS", "SPEC_FORMS", "ModelSpec", "load_backend", "local_model", "parse_model_spec"]
