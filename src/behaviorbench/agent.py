"""An ambient clinical agent for applications: hear a conversation, decide to answer, speak up or stay silent.

A thin layer over a local model's fast path: the conversation so far becomes a case whose last
slot is the one to decide, with the agent's own earlier turns as its history, so an application
sees exactly the decisions the benchmark scores. `proactivity` is the proactivity dial: it is added
to the proactive logit, the same bias the harness sweeps for the proactivity curve.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import ValidationError

from behaviorbench.conversation import Style, parse_behavior, strip_behavior
from behaviorbench.errors import BehaviorBenchError, field_error
from behaviorbench.models.base import GenerationParams
from behaviorbench.schema import Case, Slot, Utterance
from behaviorbench.taxonomy import Behavior, Category

if TYPE_CHECKING:
    from behaviorbench.models.hf import HFBackend

ASSISTANT = "assistant"
DEFAULT_NAMES: tuple[str, ...] = ("Assistant",)
"""What the agent is called unless the application names it."""
_PLACEHOLDER_CATEGORY = {Behavior.reactive: Category.ddx_reasoning, Behavior.proactive: Category.safety_alert}


@dataclass(frozen=True)
class AgentTurn:
    """What the agent does after the last utterance; `response` is empty when it stays silent."""

    behavior: Behavior
    probabilities: dict[Behavior, float]
    response: str

    def as_message(self) -> dict[str, str]:
        """This turn as a conversation entry, to pass back in the next `decide` call."""
        return {"role": ASSISTANT, "behavior": self.behavior.value, "content": self.response}


Entry = dict[str, str] | Utterance


def conversation_case(
    conversation: Sequence[Entry], style: Style, names: Sequence[str] = DEFAULT_NAMES
) -> Case:
    """The conversation as a case: each utterance a slot; an assistant entry after it is that slot's turn.

    Utterances are `Utterance` objects or dicts with `role` and `text` (or `content`) and an optional
    `speaker`. Assistant entries are `{"role": "assistant", "content": ...}` with the behavior either
    as a `behavior` key or as the content's leading behavior token/tag; an utterance with no assistant
    entry after it is a slot where the agent stayed silent.
    """
    if isinstance(conversation, str) or not isinstance(conversation, Sequence):
        raise BehaviorBenchError(f"conversation: expected a list of turns, got {type(conversation).__name__}")
    utterances: list[Utterance] = []
    turns: dict[int, tuple[Behavior, str]] = {}
    for position, entry in enumerate(conversation):
        if isinstance(entry, Utterance):
            utterances.append(entry)
            continue
        if not isinstance(entry, dict):
            raise BehaviorBenchError(
                f"conversation[{position}]: expected a dict with role and text, got {type(entry).__name__}"
            )
        if entry.get("role") == ASSISTANT:
            if not utterances:
                raise BehaviorBenchError(f"conversation[{position}]: an assistant turn before any utterance")
            turns[len(utterances) - 1] = _assistant_turn(entry, style, position)
            continue
        text = entry.get("text", entry.get("content"))
        role = entry.get("role")
        try:
            utterances.append(
                Utterance(speaker=entry.get("speaker") or str(role).title(), role=role, text=text)
            )
        except ValidationError as error:
            raise BehaviorBenchError(f"conversation[{position}].{field_error(error)}") from None
    if not utterances:
        raise BehaviorBenchError("conversation: no utterance to respond to")
    if len(utterances) - 1 in turns:
        raise BehaviorBenchError(
            "conversation: ends with an assistant turn; the agent decides after an utterance"
        )
    slots = []
    for index in range(len(utterances)):
        behavior, response = turns.get(index, (Behavior.silent, ""))
        if behavior is Behavior.silent or not response:  # said nothing: to the team it stayed silent
            slots.append(Slot(index=index))
        else:
            # The schema wants a category on a speaking slot; rendering ignores it, so any of the
            # behavior's group will do.
            slots.append(
                Slot(
                    index=index,
                    gold_behavior=behavior,
                    gold_response=response,
                    category=_PLACEHOLDER_CATEGORY[behavior],
                    task_id=f"conversation-{index}",
                )
            )
    return Case(
        case_id="conversation",
        split="test",
        seed=0,
        version="agent",
        setting="conversation",
        assistant_names=list(names),
        patient={},
        utterances=utterances,
        slots=slots,
    )


def _assistant_turn(entry: dict[str, str], style: Style, position: int) -> tuple[Behavior, str]:
    content = entry.get("content", "")
    if "behavior" in entry:
        try:
            return Behavior(entry["behavior"]), content
        except ValueError:
            raise BehaviorBenchError(
                f"conversation[{position}].behavior: {entry['behavior']!r} is not one of "
                "reactive, proactive, silent"
            ) from None
    behavior = parse_behavior(content, style)
    if behavior is None:
        return (Behavior.proactive if content.strip() else Behavior.silent), content.strip()
    return behavior, strip_behavior(content, style)


class Agent:
    """A local model (a BehaviorSFT adapter, or any chat model with tag prompting) as an ambient agent."""

    def __init__(
        self,
        backend: HFBackend,
        style: Style,
        proactivity: float = 0.0,
        max_tokens: int = 96,
        names: Sequence[str] = DEFAULT_NAMES,
    ):
        self.backend = backend
        self.names = tuple(names)
        self.style = style
        self.proactivity = proactivity
        self.params = GenerationParams(max_tokens=max_tokens)

    @classmethod
    def load(
        cls,
        model: str,
        adapter: str | None = None,
        proactivity: float = 0.0,
        style: Style | None = None,
        max_tokens: int = 96,
        device: str | None = None,
        names: Sequence[str] = DEFAULT_NAMES,
        dtype: str | None = None,
    ) -> Agent:
        """Load a local model (and adapter): `model` is read as `--model` is everywhere (`hf:<folder
        or alias>`, a folder or 'smollm2-135m'). `names` are what the team calls the agent; the
        default system prompt tells the model, and "reactive" means addressed by one of them.

        The style is 'token' when the tokenizer holds the behavior tokens (BehaviorSFT), else 'tagged'.
        """
        from behaviorbench.models import local_model
        from behaviorbench.models.hf import HFBackend

        if not math.isfinite(proactivity):
            raise BehaviorBenchError(f"proactivity: {proactivity} is not a finite number")
        if max_tokens < 1:
            raise BehaviorBenchError(f"max_tokens: {max_tokens} must be at least 1")
        if not names or not all(n.strip() for n in names):
            raise BehaviorBenchError(f"names {list(names)!r}: give at least one non-empty name")
        backend = HFBackend(local_model(model, "model"), adapter=adapter, device=device, dtype=dtype)
        return cls(backend, style or backend.agent_style, proactivity, max_tokens, names)

    def decide(self, conversation: Sequence[Entry]) -> AgentTurn:
        """The behavior (and the probabilities of all three) and the response after the last utterance."""
        case = conversation_case(conversation, self.style, self.names)
        [decision] = self.backend.decide_case(
            case, self.style, [len(case.slots) - 1], self.params, proactive_bias=self.proactivity
        )
        assert decision.behavior is not None and decision.probabilities is not None
        response = decision.response if decision.behavior is not Behavior.silent else ""
        return AgentTurn(decision.behavior, decision.probabilities, response)
