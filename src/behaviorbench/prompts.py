"""The prompt hash a sample records: one meaning for every backend."""

from __future__ import annotations

import hashlib
import json


def prompt_hash(prompt: str | list[dict]) -> str:
    """sha256 of exactly what the model was conditioned on.

    A local model is given rendered text (its chat template applied), so that text is hashed; a
    remote model is given chat messages, hashed as canonical JSON (sorted keys, UTF-8).
    """
    if not isinstance(prompt, str):
        prompt = json.dumps(prompt, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()
