"""Pad whole-case sequences into a batch; padding never carries loss."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from behaviorbench.training.sequences import IGNORE

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class CompletionCollator:
    """Right-pads `input_ids`/`labels`/`weights` features (per-token loss weights, 0 on padding);
    `slots` rides along so the trainer can count them."""

    pad_token_id: int

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        import torch

        width = max(len(f["input_ids"]) for f in features)
        input_ids = torch.full((len(features), width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(features), width), IGNORE, dtype=torch.long)
        attention_mask = torch.zeros((len(features), width), dtype=torch.long)
        weights = torch.zeros((len(features), width), dtype=torch.float32)
        for row, feature in enumerate(features):
            length = len(feature["input_ids"])
            input_ids[row, :length] = torch.as_tensor(feature["input_ids"])
            labels[row, :length] = torch.as_tensor(feature["labels"])
            attention_mask[row, :length] = 1
            weights[row, :length] = torch.as_tensor(feature["weights"], dtype=torch.float32)
        slots = torch.tensor([f["slots"] for f in features], dtype=torch.long)
        return {
            "input_ids": input_ids,
            "labels": labels,
            "attention_mask": attention_mask,
            "slots": slots,
            "weights": weights,
        }
