import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from behaviorbench.conversation import NO_COMMENT, case_messages
from behaviorbench.training.collator import CompletionCollator
from behaviorbench.training.config import TrainConfig
from behaviorbench.training.sequences import IGNORE, encode_case, encode_slot, token_weights, truncate
from behaviorbench.training.tokens import add_behavior_tokens


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    add_behavior_tokens(AutoModelForCausalLM.from_pretrained(tiny_model), tokenizer)
    return tokenizer


def supervised_runs(ids: list[int], labels: list[int]) -> list[list[int]]:
    """Consecutive runs of labelled tokens."""
    runs, current = [], []
    for token, label in zip(ids, labels, strict=True):
        if label != IGNORE:
            assert label == token
            current.append(token)
        elif current:
            runs.append(current)
            current = []
    return runs + ([current] if current else [])


@pytest.mark.parametrize("style", ["token", "plain"])
def test_only_assistant_turns_and_their_end_token_carry_loss(tokenizer, cases, style):
    case = cases[1]
    sequence = encode_case(tokenizer, case, style)
    rendered = tokenizer.apply_chat_template(case_messages(case, style), tokenize=False)

    assert tokenizer.decode(sequence.input_ids) == rendered
    replies = [m["content"] for m in case_messages(case, style) if m["role"] == "assistant"]
    runs = supervised_runs(sequence.input_ids, sequence.labels)
    assert [tokenizer.decode(run) for run in runs] == [reply + "<|im_end|>" for reply in replies]
    assert sequence.slots == len(case.slots) == len(runs)
    # Every token of the system prompt, the user turns and the assistant headers is masked.
    pairs = zip(sequence.input_ids, sequence.labels, strict=True)
    masked = tokenizer.decode([token for token, label in pairs if label == IGNORE])
    assert masked.count("<|im_start|>assistant\n") == len(replies)
    for utterance in case.utterances:
        assert utterance.text in masked
    if style == "plain":
        assert replies.count(NO_COMMENT) == sum(s.gold_behavior.value == "silent" for s in case.slots)


def test_one_task_sequence_supervises_only_its_slot(tokenizer, cases):
    case = cases[0]
    sequence = encode_slot(tokenizer, case, "token", 2)
    runs = supervised_runs(sequence.input_ids, sequence.labels)
    assert [tokenizer.decode(run) for run in runs] == ["<|reactive|>Sepsis.<|im_end|>"]
    prefix = tokenizer.apply_chat_template(case_messages(case, "token", upto=2), tokenize=False)
    assert tokenizer.decode(sequence.input_ids).startswith(prefix)


def test_truncation_keeps_whole_turns_or_skips(tokenizer, cases):
    whole = encode_case(tokenizer, cases[0], "token")
    ends = [i + 1 for i in range(len(whole.labels) - 1) if whole.labels[i] != IGNORE == whole.labels[i + 1]]
    assert len(ends) == whole.slots == 3

    assert truncate(whole, len(whole.input_ids)) is whole
    cut = truncate(whole, ends[1] + 3)
    assert cut.slots == 2 and cut.input_ids == whole.input_ids[: ends[1]]
    assert truncate(whole, ends[1] - 1).slots == 1
    assert truncate(whole, ends[0] - 1) is None


def test_collator_pads_without_loss(tokenizer, cases):
    sequences = [encode_case(tokenizer, case, "token") for case in cases[:2]]
    features = [
        {"input_ids": s.input_ids, "labels": s.labels, "slots": s.slots, "weights": [0.5] * len(s.input_ids)}
        for s in sequences
    ]
    batch = CompletionCollator(tokenizer.pad_token_id)(features)
    width = max(len(s.input_ids) for s in sequences)
    assert batch["input_ids"].shape == batch["labels"].shape == (2, width)
    for row, sequence in enumerate(sequences):
        n = len(sequence.input_ids)
        assert batch["attention_mask"][row].sum() == n
        assert batch["labels"][row, :n].tolist() == sequence.labels
        assert (batch["labels"][row, n:] == IGNORE).all()
        assert (batch["weights"][row, :n] == 0.5).all() and (batch["weights"][row, n:] == 0).all()
    assert batch["slots"].tolist() == [3, 3]


@pytest.mark.parametrize("style", ["token", "plain"])
def test_decision_weights_fall_on_each_turns_first_token(tokenizer, cases, style):
    case = cases[1]  # two ambient openers, then a proactive slot
    sequence = encode_case(tokenizer, case, style)
    firsts = [run[0] for run in supervised_runs(sequence.input_ids, sequence.labels)]
    assert [sequence.input_ids[d.position] for d in sequence.decisions] == firsts
    assert [(d.behavior.value, d.ambient) for d in sequence.decisions] == [
        ("silent", True),
        ("silent", True),
        ("proactive", False),
    ]
    if style == "token":
        assert tokenizer.decode(firsts) == "<|silent|><|silent|><|proactive|>"
    config = TrainConfig(decision_weight=4, proactive_weight=3, ambient_weight=0.25)
    weights = token_weights(sequence, config)
    positions = [d.position for d in sequence.decisions]
    assert [weights[p] for p in positions] == [1.0, 1.0, 12.0]
    others = [
        w for i, (w, label) in enumerate(zip(weights, sequence.labels, strict=True)) if i not in positions
    ]
    assert set(others) == {0.0, 1.0}
    assert all((w == 0) == (label == IGNORE) for w, label in zip(weights, sequence.labels, strict=True))
    plain = token_weights(sequence, TrainConfig())
    assert plain == [0.0 if label == IGNORE else 1.0 for label in sequence.labels]
    assert truncate(sequence, positions[2]).decisions == sequence.decisions[:2]
