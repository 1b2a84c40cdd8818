"""Where a tokenizer's three behavior marks first differ: the one token that carries the decision.

A behavior token (`<|proactive|>`) added by BehaviorSFT is a single token, so the decision is the
first token of the assistant turn. A tag (`[PROACTIVE]`) is several tokens that share a prefix
(`[` with SmolLM2's tokenizer), so the decision is read one step later, after the shared prefix.
Both are found the same way, from the tokenizer, never hard-coded.
"""

from __future__ import annotations

from dataclasses import dataclass

from behaviorbench.conversation import Style
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.taxonomy import BEHAVIOR_TAGS, BEHAVIOR_TOKENS, BEHAVIORS, Behavior


@dataclass(frozen=True)
class BehaviorMarks:
    """Token ids of the marks of one style: the shared prefix, and each behavior's decision token."""

    style: Style
    text: dict[Behavior, str]
    ids: dict[Behavior, list[int]]
    prefix: list[int]
    decision: dict[Behavior, int]


def behavior_marks(tokenizer, style: Style) -> BehaviorMarks:
    """The marks of `style` ('token', or a tagged style) as this tokenizer splits them."""
    if style == "plain":
        raise BehaviorBenchError("style 'plain' has no behavior marks")
    text = dict(BEHAVIOR_TOKENS if style == "token" else BEHAVIOR_TAGS)
    ids = {b: tokenizer(text[b], add_special_tokens=False)["input_ids"] for b in BEHAVIORS}
    shared = 0
    sequences = list(ids.values())
    while all(len(s) > shared for s in sequences) and len({s[shared] for s in sequences}) == 1:
        shared += 1
    decision = {b: ids[b][shared] if len(ids[b]) > shared else -1 for b in BEHAVIORS}
    if len(set(decision.values())) != len(BEHAVIORS) or -1 in decision.values():
        raise BehaviorBenchError(
            f"style '{style}': the tokenizer does not tell the behavior marks apart at one token "
            f"({', '.join(repr(t) for t in text.values())})"
        )
    return BehaviorMarks(style=style, text=text, ids=ids, prefix=sequences[0][:shared], decision=decision)
