"""LoRA over attention and MLP projections, with the behavior tokens' rows trainable.

LoRA alone freezes the embedding matrix, so new tokens would keep their initial rows forever and
the model could never learn to emit them. PEFT's `trainable_token_indices` trains just those rows
(on the output embedding too when it is a separate matrix); `ensure_weight_tying` keeps a tied
model's input and output rows one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.models.loading import quiet_peft
from behaviorbench.training.config import TrainConfig

if TYPE_CHECKING:
    from torch import nn


def _module_name(model: nn.Module, module: nn.Module) -> str:
    return next(name for name, candidate in model.named_modules() if candidate is module).split(".")[-1]


def tied_embeddings(model: nn.Module) -> bool:
    return model.get_input_embeddings().weight is model.get_output_embeddings().weight


def lora_model(model: nn.Module, config: TrainConfig, token_ids: list[int]) -> nn.Module:
    """Wrap `model` with LoRA; the rows of `token_ids` are trainable when `config.train_token_rows`."""
    from peft import LoraConfig, get_peft_model

    trainable_tokens: dict[str, list[int]] | None = None
    if token_ids and config.train_token_rows:
        trainable_tokens = {_module_name(model, model.get_input_embeddings()): token_ids}
        if not tied_embeddings(model):
            trainable_tokens[_module_name(model, model.get_output_embeddings())] = token_ids
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.lora_targets,
        trainable_token_indices=trainable_tokens,
        ensure_weight_tying=trainable_tokens is not None and tied_embeddings(model),
        task_type="CAUSAL_LM",
    )
    try:
        with quiet_peft():
            return get_peft_model(model, lora)
    except ValueError as error:
        raise BehaviorBenchError(
            f"lora_targets {config.lora_targets}: {str(error).splitlines()[0]}"
        ) from None


def frozen_token_rows(model: nn.Module, token_ids: list[int]) -> list[int]:
    """Ids whose input or output embedding row would receive no gradient in this model.

    Checked by backpropagating through each row alone and looking for a trainable parameter that
    got a gradient, so it holds for LoRA, full fine-tuning or any other wrapping alike.
    """
    import torch

    trainable = [p for p in model.parameters() if p.requires_grad]
    inputs, outputs = model.get_input_embeddings(), model.get_output_embeddings()
    device = next(model.parameters()).device
    probe = torch.ones_like(inputs(torch.tensor([[0]], device=device)).detach())
    frozen = []
    for token_id in token_ids:
        for side in ("input", "output"):
            for parameter in trainable:
                parameter.grad = None
            if side == "input":
                value = inputs(torch.tensor([[token_id]], device=device)).sum()
            else:
                value = outputs(probe)[0, 0, token_id]
            if not value.requires_grad:
                frozen.append(token_id)
                break
            value.backward()
            if not any(p.grad is not None and p.grad.abs().sum() > 0 for p in trainable):
                frozen.append(token_id)
                break
    for parameter in trainable:
        parameter.grad = None
    return frozen
