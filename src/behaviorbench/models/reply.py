"""A served agent's reply: the behavior decided first, as the benchmark decides it, then the response.

The decision is read where the style's three marks first differ (the behavior token, or the token
after '[' of a tag), softmaxed over the three with the proactivity dial added: the same numbers
`decide_case` scores. The chosen mark is then fed and the response generated token by token; each
piece of text is handed on as soon as it is final, so a client can stream it. A piece never ends
inside a character or on text that could still turn out to start a stop sequence.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from behaviorbench.conversation import Style, system_prompt
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.models.base import GenerationParams
from behaviorbench.models.hf import HFBackend, text_messages
from behaviorbench.taxonomy import BEHAVIORS, Behavior


@dataclass(frozen=True)
class TokenLogprob:
    """One token of the reply with its log-probability and the most likely alternatives."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Decision:
    """The behavior chosen before any response token, with the distribution it was chosen from."""

    behavior: Behavior
    probabilities: dict[Behavior, float]
    style: Style
    mark: str
    prompt_tokens: int


@dataclass(frozen=True)
class Piece:
    """Reply text that is final (the mark first, then response text)."""

    text: str
    logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True)
class End:
    finish_reason: str
    """'stop' (end of turn or a stop sequence) or 'length' (max_tokens response tokens)."""
    completion_tokens: int
    """The mark's tokens and the response's."""


Event = Decision | Piece | End


@dataclass(frozen=True)
class ReplyOptions:
    params: GenerationParams
    stop: tuple[str, ...] = ()
    top_logprobs: int | None = None
    """None: no log-probabilities; n: each token's log-probability and its n most likely alternatives."""
    proactive_bias: float = 0.0


def with_system_prompt(messages: list[dict], style: Style, names: Sequence[str]) -> list[dict]:
    """The messages, led by the style's default system prompt for an assistant called `names` when the
    client sent none: a BehaviorSFT model decides as it was trained only under its own prompt."""
    if messages and messages[0]["role"] in ("system", "developer"):
        return messages
    return [{"role": "system", "content": system_prompt(style, names)}, *messages]


def reply(
    backend: HFBackend,
    messages: list[dict],
    style: Style,
    options: ReplyOptions,
    emit: Callable[[Event], None],
    cancelled: threading.Event | None = None,
) -> None:
    """Decide and respond to `messages` (already holding their system prompt), calling `emit` with
    the Decision, then Pieces, then the End. Runs one request at a time (`backend.exclusive()`)."""
    marks = backend.marks(style)
    ids = backend.encode(backend.prompt_text(text_messages(messages)))
    longest = len(ids) + max(len(m) for m in marks.ids.values()) + options.params.max_tokens
    if longest > backend.max_positions:
        raise BehaviorBenchError(
            f"prompt of {len(ids)} tokens + the behavior mark + max_tokens {options.params.max_tokens} "
            f"exceeds the model's {backend.max_positions} positions"
        )
    with backend.exclusive():
        probabilities = backend.mark_probabilities(ids, marks, options.proactive_bias)
        behavior = max(probabilities, key=probabilities.get)
        mark = marks.text[behavior]
        emit(Decision(behavior, probabilities, style, mark, len(ids)))
        emit(Piece(mark, _mark_logprobs(marks.text, probabilities, behavior, options.top_logprobs)))
        if behavior is Behavior.silent:  # a silent turn is its mark alone, as the benchmark scores it
            emit(End("stop", len(marks.ids[behavior])))
            return
        stream = _Stream(backend, options, emit, cancelled)
        backend.generate_ids(
            ids + marks.ids[behavior],
            options.params,
            processors=[stream.recorder] if options.top_logprobs is not None else [],
            streamer=stream,
            criteria=[stream.halt],
        )
        stream.flush()
        emit(End(stream.finish_reason, len(marks.ids[behavior]) + len(stream.ids)))


def _mark_logprobs(
    text: dict[Behavior, str], probabilities: dict[Behavior, float], chosen: Behavior, top: int | None
) -> tuple[TokenLogprob, ...]:
    """The mark as one entry whose log-probability and alternatives are over the three behaviors."""
    if top is None:
        return ()
    ranked = sorted(BEHAVIORS, key=lambda b: -probabilities[b])[:top]
    return (
        TokenLogprob(
            token=text[chosen],
            logprob=_log(probabilities[chosen]),
            top=tuple((text[b], _log(probabilities[b])) for b in ranked),
        ),
    )


def _log(p: float) -> float:
    return math.log(p) if p > 0 else -9999.0  # OpenAI's value for "very unlikely"


@dataclass
class _Stream:
    """A transformers streamer that turns response tokens into final pieces of text.

    It also owns the two hooks it needs inside `generate`: a logits processor that keeps each
    step's log-probabilities (before any temperature) and a stopping criterion that ends generation
    once a stop sequence appeared or the client went away.
    """

    backend: HFBackend
    options: ReplyOptions
    emit: Callable[[Event], None]
    cancelled: threading.Event | None
    ids: list[int] = field(default_factory=list)
    steps: list = field(default_factory=list)
    pending: list[TokenLogprob] = field(default_factory=list)
    sent: int = 0
    prompt_seen: bool = False
    stopped: bool = False
    finish_reason: str = "stop"

    def __post_init__(self) -> None:
        import torch
        from transformers import LogitsProcessor, StoppingCriteria

        stream = self

        class Recorder(LogitsProcessor):
            def __call__(self, input_ids, scores):
                stream.steps.append(scores[0].float().log_softmax(-1))
                return scores

        class Halt(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                done = stream.stopped or (stream.cancelled is not None and stream.cancelled.is_set())
                return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)

        self.recorder, self.halt = Recorder(), Halt()

    # -- the streamer interface ------------------------------------------------------------------

    def put(self, value) -> None:
        if not self.prompt_seen:  # generate() first hands over the prompt
            self.prompt_seen = True
            return
        token = int(value.reshape(-1)[0])
        if self.stopped:
            return
        if token in self.backend.stop_ids:
            self.stopped = True
            return
        self.ids.append(token)
        if self.options.top_logprobs is not None:
            self.pending.append(self._logprob(token, len(self.ids) - 1))
        text = self._text()
        cut = min((i for i in (text.find(s) for s in self.options.stop) if i >= 0), default=-1)
        if cut >= 0:
            self._send(text[:cut])
            self.stopped = True
            return
        if len(self.ids) >= self.options.params.max_tokens:
            self.finish_reason = "length"
        self._send(text[: self._safe_end(text)])

    def end(self) -> None:
        """Called by generate(); the rest is sent by `flush` once generate has returned."""

    def flush(self) -> None:
        """Send what was held back for a stop sequence that never came."""
        if not self.stopped:
            self._send(self._text())

    # -- helpers ---------------------------------------------------------------------------------

    def _text(self) -> str:
        return self.backend.tokenizer.decode(self.ids, skip_special_tokens=False)

    def _safe_end(self, text: str) -> int:
        """How much of `text` is final: not a split character, not a possible start of a stop sequence."""
        end = len(text)
        while end > self.sent and text[end - 1] == "\ufffd":
            end -= 1
        held = 0
        for stop in self.options.stop:
            for size in range(min(len(stop) - 1, end), 0, -1):
                if text[:end].endswith(stop[:size]):
                    held = max(held, size)
                    break
        return max(self.sent, end - held)

    def _send(self, text: str) -> None:
        piece = text[self.sent :]
        if piece:  # a token's log-probability travels with the first piece its text appears in
            self.emit(Piece(piece, tuple(self.pending)))
            self.pending = []
            self.sent = len(text)

    def _logprob(self, token: int, step: int) -> TokenLogprob:
        scores = self.steps[step]
        decode = self.backend.tokenizer.decode
        values, indices = scores.topk(self.options.top_logprobs) if self.options.top_logprobs else ([], [])
        top = tuple((decode([int(i)]), float(v)) for v, i in zip(values, indices, strict=True))
        return TokenLogprob(token=decode([token]), logprob=float(scores[token]), top=top)
