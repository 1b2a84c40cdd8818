"""What the harness needs from a model: chat completions, and for local models the fast path.

Every backend completes chat messages. A `LocalBackend` can also read the behavior distribution at
every slot of a case from one forward pass over its gold history, and generate a response only
where the chosen behavior needs one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass

from behaviorbench.conversation import Style
from behaviorbench.schema import Case
from behaviorbench.taxonomy import Behavior


@dataclass(frozen=True)
class GenerationParams:
    max_tokens: int = 96
    temperature: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class SlotDecision:
    """A model's turn at one slot. `behavior` is None when the reply could not be parsed."""

    slot: int
    behavior: Behavior | None
    probabilities: dict[Behavior, float] | None
    raw_output: str
    response: str
    prompt_hash: str


class Backend(ABC):
    """A model that completes chat messages (OpenAI-style dicts; content may be a list with images)."""

    model_id: str
    multimodal: bool = False

    @abstractmethod
    async def complete(self, messages: list[dict], params: GenerationParams) -> str:
        """The assistant's reply text to `messages`."""

    async def aclose(self) -> None:
        """Release connections or memory; most backends hold none."""
        return None


class LocalBackend(Backend):
    """A model whose logits we can read: decisions for a whole case from one forward pass."""

    @abstractmethod
    def decide_case(
        self,
        case: Case,
        style: Style,
        slots: list[int],
        params: GenerationParams,
        proactive_bias: float = 0.0,
        generate: bool | Collection[int] = True,
    ) -> list[SlotDecision]:
        """Decisions at `slots` (teacher-forced gold history in `style`).

        The behavior is the argmax of the behavior marks' logits where they first differ (the
        behavior token, or the token after '[' of a tag), with `proactive_bias` added to the
        proactive logit; a response is generated only where the behavior speaks and `generate` is
        True or holds the slot.
        """
