"""Load a local causal LM and its tokenizer, with an optional PEFT adapter, ready for batched inference.

A BehaviorSFT adapter was trained on a vocabulary three tokens longer than its base model's, so the
base embeddings are resized to the adapter's tokenizer before the adapter's weights (LoRA plus the
trained rows of the new tokens) are loaded and merged.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.inputs import check_model_folder, read_text
from behaviorbench.models.smollm2 import resolve_model_path
from behaviorbench.training.run_card import RUN_CARD

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


@contextmanager
def quiet_peft() -> Iterator[None]:
    """Silence two harmless warnings PEFT raises on every wrap or load of a BehaviorSFT adapter.

    PEFT probes a deprecated transformers attribute, and it warns that no tied module is listed
    although it does tie the trainable token rows (a test checks they stay tied).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*ensure_weight_tying.*")
        yield


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def torch_dtype(dtype, device: str):
    """float32 on CPU, bfloat16 on GPUs, unless asked otherwise ('float16', torch.float32, ...)."""
    import torch

    if dtype is None:
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    if not isinstance(getattr(torch, str(dtype), None), torch.dtype):
        raise BehaviorBenchError(f"dtype '{dtype}' is not a torch dtype (try float32, bfloat16, float16)")
    return getattr(torch, str(dtype))


def adapter_base(adapter_dir: Path) -> Path:
    """The base model folder an adapter was trained on, from its adapter_config.json.

    Trained adapters record the absolute folder of their base (so PEFT alone loads them); on
    another machine that folder may not exist, and the name the run was given in `run_card.json`
    (such as the alias 'smollm2-135m') is used instead.
    """
    config_file = adapter_dir / "adapter_config.json"
    try:
        base = json.loads(read_text(config_file))["base_model_name_or_path"]
    except (OSError, ValueError, KeyError) as error:
        raise BehaviorBenchError(f"{config_file}: cannot read base_model_name_or_path ({error})") from None
    try:
        return resolve_model_path(base)
    except BehaviorBenchError:
        given = _run_card_base(adapter_dir)
        if given is None or given == base:
            raise BehaviorBenchError(
                f"{config_file}: base model '{base}' not found offline; give it as "
                f"--model BASE --adapter {adapter_dir}"
            ) from None
        return resolve_model_path(given)


def _run_card_base(adapter_dir: Path) -> str | None:
    try:
        return json.loads((adapter_dir / RUN_CARD).read_text())["base_model"]
    except (OSError, ValueError, KeyError):
        return None


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def load_model_and_tokenizer(name_or_path: str, adapter: str | None, device: str, dtype):
    """(model in eval mode, tokenizer with left padding and a pad token)."""
    path = resolve_model_path(name_or_path)
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # our own progress bars are the ones users read

    if (path / "adapter_config.json").is_file():
        if adapter is not None:
            raise BehaviorBenchError(
                f"model '{name_or_path}' is already an adapter; do not also pass --adapter"
            )
        adapter_dir, base_dir = path, adapter_base(path)
    elif adapter is not None:
        adapter_dir, base_dir = resolve_model_path(adapter), path
        if not (adapter_dir / "adapter_config.json").is_file():
            raise BehaviorBenchError(f"adapter '{adapter}': no adapter_config.json in {adapter_dir}")
    else:
        adapter_dir, base_dir = None, path

    has_own_tokenizer = adapter_dir is not None and any((adapter_dir / f).is_file() for f in TOKENIZER_FILES)
    check_model_folder(base_dir, needs_tokenizer=not has_own_tokenizer)
    tokenizer_dir = adapter_dir if has_own_tokenizer else base_dir
    try:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    except (OSError, ValueError, KeyError) as error:
        raise BehaviorBenchError(
            f"{tokenizer_dir}: cannot load the tokenizer ({_first_line(error)})"
        ) from None
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token

    try:
        model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch_dtype(dtype, device))
    except (OSError, ValueError, KeyError) as error:
        raise BehaviorBenchError(f"{base_dir}: cannot load the model ({_first_line(error)})") from None
    if adapter_dir is not None:
        from peft import PeftModel

        if model.get_input_embeddings().num_embeddings != len(tokenizer):
            model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        # Merging folds LoRA and the trained token rows into plain weights: faster, and a plain
        # model keeps the KV-cache logic of the fast path identical with and without an adapter.
        with quiet_peft():
            model = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    model.to(device)
    model.eval()
    return model, tokenizer
