"""What a training run is: one pydantic model, read from YAML and overridden from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from behaviorbench.errors import BehaviorBenchError, field_error
from behaviorbench.inputs import read_text

Method = Literal["behavior-sft", "sft"]
Schedule = Literal["cosine", "linear", "constant_with_warmup"]

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
"""Attention and MLP projections of Llama-family models (SmolLM2, Llama, Qwen, Mistral)."""


class TrainConfig(BaseModel):
    """Everything that decides a run's result. Two runs with equal configs and data are the same run."""

    model_config = ConfigDict(extra="forbid")

    base: str = "smollm2-135m"
    method: Method = "behavior-sft"
    data: str | None = None
    split: str = "train"
    lora: bool = True
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    lora_targets: list[str] = Field(default_factory=lambda: list(LORA_TARGETS))
    train_token_rows: bool = True
    """With LoRA, train the behavior tokens' embedding rows (required for behavior-sft)."""
    # Defaults sized for SmolLM2-135M with LoRA on a 2-core CPU: ~2.6 s per step on short cases,
    # about 3 minutes per run. For a full fine-tune use a far lower lr (1e-5 to 5e-5).
    steps: int = Field(64, ge=1)
    lr: float = Field(2e-3, gt=0)
    batch_size: int = Field(1, ge=1)
    grad_accum: int = Field(1, ge=1)
    max_length: int = Field(1024, ge=16)
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    schedule: Schedule = "cosine"
    """Learning-rate schedule after warmup (transformers' scheduler names)."""
    decision_weight: float = Field(1.0, ge=0)
    """Loss weight of each assistant turn's first token, where the behavior is chosen (the behavior
    token; for `sft` the reply's first token, where 'No comment.' and speaking part). Every other
    supervised token weighs 1; the loss is still divided by the number of supervised tokens."""
    proactive_weight: float = Field(1.0, ge=0)
    """Multiplies the decision weight of turns whose gold behavior is proactive: the rare decision."""
    ambient_weight: float = Field(1.0, ge=0)
    """Multiplies the decision weight of ambient turns (no task, gold silent): the common one."""
    seed: int = 0
    bf16: bool | None = None
    """bfloat16 autocast; None: on for GPUs that support it, off on CPU (set it on CPUs with AVX512-BF16)."""
    checkpoint_steps: int = Field(16, ge=0)
    """Save a resumable checkpoint (weights, optimizer, scheduler, RNG) every N steps; 0: never.
    It does not change the result, so a rerun may change it and still resume."""

    def identity(self) -> dict[str, object]:
        """The fields that decide the result (all but how often checkpoints are written)."""
        return self.model_dump(exclude={"checkpoint_steps"})

    @property
    def style(self) -> Literal["token", "plain"]:
        """BehaviorSFT turns start with a behavior token; the SFT baseline's are plain responses."""
        return "token" if self.method == "behavior-sft" else "plain"


def load_train_config(path: Path | None, overrides: dict[str, object]) -> TrainConfig:
    """A config from a YAML file (or the defaults), with command-line values (those not None) on top."""
    values: dict[str, object] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(read_text(Path(path)))
        except yaml.MarkedYAMLError as error:
            line = error.problem_mark.line + 1 if error.problem_mark is not None else 0
            raise BehaviorBenchError(f"{path}:{line}: not valid YAML ({error.problem})") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise BehaviorBenchError(f"{path}: a training config must be a mapping of field: value")
        values.update(loaded or {})
    values.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return TrainConfig.model_validate(values)
    except ValidationError as error:
        source = str(path) if path is not None else "command line"
        raise BehaviorBenchError(f"{source}: {field_error(error, 'config')}") from None
