"""A case as training sequences: token ids plus labels that are -100 everywhere but assistant turns.

Whole-case training puts one case in one sequence: the shared conversation is encoded once and
every slot's assistant turn (behavior token, response, end-of-turn token) carries loss. The label
spans come from the chat template itself: each assistant message's characters are located in the
rendered text and mapped to tokens through the tokenizer's offsets, so any ChatML-like template
works and nothing is guessed about its layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from behaviorbench.conversation import Style, case_messages
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.schema import Case, Slot
from behaviorbench.taxonomy import Behavior

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from behaviorbench.training.config import TrainConfig

IGNORE = -100
"""The label PyTorch's cross-entropy skips."""


@dataclass(frozen=True)
class Decision:
    """Where a turn's first supervised token sits: the token that chooses the behavior."""

    position: int
    behavior: Behavior
    ambient: bool
    """A slot with no category (gold silent): by far the most common decision in a case."""


@dataclass(frozen=True)
class Sequence:
    """One training sequence, how many assistant turns (slots) it supervises and their decisions."""

    case_id: str
    input_ids: list[int]
    labels: list[int]
    slots: int
    decisions: tuple[Decision, ...] = ()


@dataclass(frozen=True)
class _Turn:
    start: int
    """Character offset of the assistant message's content in the rendered text."""
    end: int
    """Character offset just after the end-of-turn marker."""


def end_of_turn(tokenizer: PreTrainedTokenizerBase) -> str:
    """The marker that closes an assistant turn (`<|im_end|>` for ChatML models)."""
    return tokenizer.eos_token


def _render(tokenizer: PreTrainedTokenizerBase, messages: list[dict[str, str]], prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=prompt)


def assistant_turns(
    tokenizer: PreTrainedTokenizerBase, messages: list[dict[str, str]]
) -> tuple[str, list[_Turn]]:
    """The rendered conversation and the character span of each assistant turn's supervised part."""
    text = _render(tokenizer, messages, prompt=False)
    marker = end_of_turn(tokenizer)
    turns = []
    for position, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        header = _render(tokenizer, messages[:position], prompt=True)
        start, end = len(header), len(header) + len(message["content"])
        if not text.startswith(header) or text[start:end] != message["content"]:
            raise BehaviorBenchError(
                f"chat template of {tokenizer.name_or_path}: assistant message {position} is not "
                "rendered verbatim after the generation prompt; whole-case training needs a ChatML-like one"
            )
        if not text.startswith(marker, end):
            raise BehaviorBenchError(
                f"chat template of {tokenizer.name_or_path}: assistant message {position} does not end "
                f"with {marker!r}"
            )
        turns.append(_Turn(start, end + len(marker)))
    return text, turns


def _labelled(
    tokenizer: PreTrainedTokenizerBase, messages: list[dict[str, str]], last_turn_only: bool
) -> tuple[list[int], list[int], list[int]]:
    """Token ids, labels only on the assistant turns' content and end marker, and the position of
    each supervised turn's first token. With `last_turn_only`, earlier assistant turns are context
    (gold history) without loss."""
    text, turns = assistant_turns(tokenizer, messages)
    if last_turn_only:
        turns = turns[-1:]
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = encoded["input_ids"]
    labels = [IGNORE] * len(ids)
    firsts: list[int] = []
    turn = 0
    for position, (start, end) in enumerate(encoded["offset_mapping"]):
        while turn < len(turns) and start >= turns[turn].end:
            turn += 1
        if turn < len(turns) and start >= turns[turn].start and end <= turns[turn].end and end > start:
            labels[position] = ids[position]
            if len(firsts) == turn:
                firsts.append(position)
    return ids, labels, firsts


def _with_decisions(
    tokenizer: PreTrainedTokenizerBase,
    messages: list[dict[str, str]],
    case_id: str,
    slots: list[Slot],
    last_turn_only: bool = False,
) -> Sequence:
    ids, labels, firsts = _labelled(tokenizer, messages, last_turn_only)
    decisions = tuple(
        Decision(position, slot.gold_behavior, not slot.designated)
        for position, slot in zip(firsts, slots, strict=True)
    )
    return Sequence(case_id, ids, labels, len(firsts), decisions)


def encode_case(tokenizer: PreTrainedTokenizerBase, case: Case, style: Style) -> Sequence:
    """The whole case in one sequence: every slot's gold assistant turn carries loss."""
    return _with_decisions(tokenizer, case_messages(case, style), case.case_id, case.slots)


def encode_slot(tokenizer: PreTrainedTokenizerBase, case: Case, style: Style, slot: int) -> Sequence:
    """One task as its own sequence: the prompt up to `slot`, loss only on that slot's turn."""
    messages = case_messages(case, style, upto=slot)
    messages.append(case_messages(case, style)[2 * slot + 2])
    return _with_decisions(
        tokenizer, messages, f"{case.case_id}#{slot}", [case.slots[slot]], last_turn_only=True
    )


def truncate(sequence: Sequence, max_length: int) -> Sequence | None:
    """Cut a sequence after its last assistant turn that fits in `max_length` tokens.

    Turns are never cut in half: a slot is either fully supervised or dropped. None when not even
    the first assistant turn fits.
    """
    if len(sequence.input_ids) <= max_length:
        return sequence
    kept = sequence.labels[:max_length]
    # A turn ends where a supervised token is followed by an unsupervised one.
    ends = [i + 1 for i in range(len(kept) - 1) if kept[i] != IGNORE and kept[i + 1] == IGNORE]
    if kept and kept[-1] != IGNORE and sequence.labels[max_length] == IGNORE:
        ends.append(len(kept))
    if not ends:
        return None
    cut = ends[-1]
    return Sequence(
        case_id=sequence.case_id,
        input_ids=sequence.input_ids[:cut],
        labels=sequence.labels[:cut],
        slots=len(ends),
        decisions=tuple(d for d in sequence.decisions if d.position < cut),
    )


def token_weights(sequence: Sequence, config: TrainConfig) -> list[float]:
    """Loss weight of every token: 0 off the assistant turns, 1 on them, the configured weight on
    each turn's decision token (see `TrainConfig.decision_weight`)."""
    values = [0.0 if label == IGNORE else 1.0 for label in sequence.labels]
    for decision in sequence.decisions:
        weight = config.decision_weight
        if decision.behavior is Behavior.proactive:
            weight *= config.proactive_weight
        if decision.ambient:
            weight *= config.ambient_weight
        values[decision.position] = weight
    return values
    return values
