import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from behaviorbench.taxonomy import BEHAVIOR_DESCRIPTIONS, BEHAVIOR_TOKENS, BEHAVIORS
from behaviorbench.training.tokens import add_behavior_tokens, behavior_token_ids


def test_behavior_tokens_are_added_as_single_special_tokens(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    before = len(tokenizer)
    assert behavior_token_ids(tokenizer) is None

    ids = add_behavior_tokens(model, tokenizer)

    assert len(tokenizer) == before + 3
    assert sorted(ids.values()) == [before, before + 1, before + 2]
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer)
    for behavior in BEHAVIORS:
        text = f"x{BEHAVIOR_TOKENS[behavior]}y"
        assert ids[behavior] in tokenizer(text, add_special_tokens=False)["input_ids"]
        assert BEHAVIOR_TOKENS[behavior] in tokenizer.all_special_tokens
    assert add_behavior_tokens(model, tokenizer) == ids  # idempotent
    assert len(tokenizer) == before + 3


def test_new_rows_start_at_the_mean_embedding_of_their_description(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    original = model.get_input_embeddings().weight.detach().clone()

    ids = add_behavior_tokens(model, tokenizer)

    rows = model.get_input_embeddings().weight.detach()
    assert torch.equal(rows[: original.shape[0]], original)
    for behavior in BEHAVIORS:
        words = tokenizer(" " + BEHAVIOR_DESCRIPTIONS[behavior], add_special_tokens=False)["input_ids"]
        assert len(words) > 1
        assert torch.allclose(rows[ids[behavior]], original[words].mean(dim=0))
    # Tied model: the output row is the same row.
    assert torch.equal(model.get_output_embeddings().weight[ids[BEHAVIORS[0]]], rows[ids[BEHAVIORS[0]]])
    assert not torch.allclose(rows[ids[BEHAVIORS[0]]], rows[ids[BEHAVIORS[1]]])
