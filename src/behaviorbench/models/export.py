"""A trained folder as a standalone transformers model: the adapter merged into its base.

The result needs neither PEFT nor BehaviorBench: its tokenizer holds the behavior tokens, its
generation config stops at the end of a turn, and vLLM, llama.cpp's converter or
`AutoModelForCausalLM` load it like any other model folder.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.models.loading import load_model_and_tokenizer
from behaviorbench.models.smollm2 import resolve_model_path

CARRIED = ("run_card.json", "loss.png")
"""Files of a training folder that stay true of the merged model."""


def export_merged(model: str, out: Path, dtype: str | None = None) -> Path:
    """Write `model` (a local folder or alias, with or without an adapter) merged into `out`."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise BehaviorBenchError(f"{out}: folder exists and is not empty; choose another OUT")
    source = resolve_model_path(model)
    merged, tokenizer = load_model_and_tokenizer(model, None, "cpu", dtype)
    merged.generation_config.eos_token_id = sorted(
        {tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")}
        - {None, tokenizer.unk_token_id}
    )
    tokenizer.padding_side = (
        "right"  # the loader pads left for batched generation; a served model pads itself
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        merged.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        for name in CARRIED:
            if (source / name).is_file():
                shutil.copy2(source / name, staging / name)
        if (staging / "run_card.json").is_file():
            from behaviorbench.training.model_card import write_model_card
            from behaviorbench.training.run_card import read_run_card

            write_model_card(staging, read_run_card(staging), merged=True, name=out.name)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
