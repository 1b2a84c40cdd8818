"""The reference agents that ship with the package, loaded by a short name like any model alias.

Each is a SmolLM2-135M LoRA adapter trained by `configs/reference-*.yaml` on a paper-scale build
(`smollm2-135m-behaviorsft` with the behavior tokens, `smollm2-135m-sft` the baseline on the same
budget). A folder holds only what the base model lacks: the adapter weights in float16 (half the
size; the figures in its card were measured on exactly these weights), the tokenizer where behavior
tokens were added, `run_card.json`, the model card and the loss plot.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.inputs import read_text

REFERENCE_ROOT = Path(__file__).parent / "reference"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
_KEPT = ("adapter_config.json", "run_card.json", "README.md", "loss.png")
_TOKENIZER = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")


def reference_names() -> list[str]:
    """Short names of the reference agents installed with this package."""
    if not REFERENCE_ROOT.is_dir():
        return []
    return sorted(p.name for p in REFERENCE_ROOT.iterdir() if (p / "adapter_config.json").is_file())


def reference_path(name: str) -> Path | None:
    """The folder of the reference agent called `name`, or None when no reference has that name."""
    return REFERENCE_ROOT / name if name in reference_names() else None


def package_reference(run: Path, name: str, root: Path = REFERENCE_ROOT) -> Path:
    """Copy a finished training run into `root/name` as a reference agent and return that folder.

    The adapter names its base by the run's model name (an alias such as 'smollm2-135m') rather
    than the folder it was trained from, which exists only on the training machine; the tokenizer
    is kept only where the run added behavior tokens (otherwise the base's own is loaded).
    """
    from safetensors.torch import load_file, save_file

    card = json.loads(read_text(run / "run_card.json"))
    if card["adapter"] is not True:
        raise BehaviorBenchError(f"{run}: a reference agent is a LoRA adapter; this run is a full fine-tune")
    target = root / name
    staging = root / f".{name}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for file in _KEPT + (_TOKENIZER if card["style"] == "token" else ()):
        if (run / file).is_file():
            shutil.copy2(run / file, staging / file)
    config = json.loads(read_text(staging / "adapter_config.json"))
    config["base_model_name_or_path"] = card["base_model"]
    (staging / "adapter_config.json").write_text(json.dumps(config, indent=2) + "\n")
    weights = load_file(run / ADAPTER_WEIGHTS)
    save_file(
        {key: value.half() if value.is_floating_point() else value for key, value in weights.items()},
        staging / ADAPTER_WEIGHTS,
        metadata={"format": "pt"},
    )
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


if __name__ == "__main__":  # python -m behaviorbench.models.reference RUN NAME
    if len(sys.argv) != 3:
        sys.exit("usage: python -m behaviorbench.models.reference RUN_DIR NAME")
    print(package_reference(Path(sys.argv[1]), sys.argv[2]))
