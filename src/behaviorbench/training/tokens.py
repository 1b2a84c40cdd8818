"""The behavior tokens: added to the vocabulary, their rows started from what they mean.

A new embedding row initialised at random tells the model nothing; starting it at the mean input
embedding of a short description of the behavior puts it near words the model already understands,
so a few hundred steps are enough to make it useful.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from behaviorbench.taxonomy import BEHAVIOR_DESCRIPTIONS, BEHAVIOR_TOKENS, BEHAVIORS, Behavior

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def behavior_token_ids(tokenizer: PreTrainedTokenizerBase) -> dict[Behavior, int] | None:
    """The id of each behavior token, or None when the tokenizer does not hold all three."""
    vocab = tokenizer.get_vocab()
    if not all(BEHAVIOR_TOKENS[b] in vocab for b in BEHAVIORS):
        return None
    return {b: vocab[BEHAVIOR_TOKENS[b]] for b in BEHAVIORS}


def description_ids(tokenizer: PreTrainedTokenizerBase, behavior: Behavior) -> list[int]:
    """The token ids of a behavior's description, as it would appear inside a sentence."""
    return tokenizer(" " + BEHAVIOR_DESCRIPTIONS[behavior], add_special_tokens=False)["input_ids"]


def add_behavior_tokens(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> dict[Behavior, int]:
    """Add the three special tokens, resize the embeddings and initialise each new row.

    Each row (input embedding, and the output row too when the model does not tie them) becomes
    the mean input embedding of its description's tokens. Idempotent: a tokenizer that already
    holds the tokens is left as it is.
    """
    import torch

    existing = behavior_token_ids(tokenizer)
    if existing is not None:
        return existing
    descriptions = {b: description_ids(tokenizer, b) for b in BEHAVIORS}
    tokenizer.add_special_tokens(
        {"additional_special_tokens": [BEHAVIOR_TOKENS[b] for b in BEHAVIORS]},
        replace_extra_special_tokens=False,
    )
    model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    ids = behavior_token_ids(tokenizer)
    assert ids is not None
    inputs = model.get_input_embeddings().weight
    outputs = model.get_output_embeddings().weight
    with torch.no_grad():
        for behavior, token_id in ids.items():
            row = inputs[descriptions[behavior]].mean(dim=0)
            inputs[token_id] = row
            if outputs.data_ptr() != inputs.data_ptr():
                outputs[token_id] = row
    return ids
