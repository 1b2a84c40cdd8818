"""Local Hugging Face models: chat completion, and the fast path that decides a whole case at once.

The fast path renders a case once with its gold history, runs one forward pass, and reads the
behavior distribution at every slot where the assistant turn begins; it then generates a response
only for slots whose behavior speaks, in batches that continue from copies of the same KV cache.
`decide_slot_by_slot` computes the same decisions the slow, obvious way and is the reference the
fast path is tested against.
"""

from __future__ import annotations

import asyncio
import math
import threading
from bisect import bisect_left
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from behaviorbench.conversation import NO_COMMENT, Style, addresses_assistant, case_messages, strip_behavior
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.models.base import GenerationParams, LocalBackend, SlotDecision
from behaviorbench.models.loading import default_device, load_model_and_tokenizer
from behaviorbench.models.marks import BehaviorMarks, behavior_marks
from behaviorbench.prompts import prompt_hash
from behaviorbench.schema import Case
from behaviorbench.taxonomy import BEHAVIOR_TOKENS, BEHAVIORS, Behavior


@dataclass(frozen=True)
class Completion:
    """A generated reply with what an OpenAI-style response reports about it."""

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


def text_messages(messages: list[dict]) -> list[dict]:
    """Messages whose content is plain text; list contents are joined, images refused (text-only model)."""
    flat = []
    for message in messages:
        content = message["content"]
        if isinstance(content, list):
            if any(part.get("type") != "text" for part in content):
                raise BehaviorBenchError(
                    f"message from '{message['role']}' holds an image: this model is text-only"
                )
            content = "\n".join(part["text"] for part in content)
        flat.append({"role": message["role"], "content": content})
    return flat


def behavior_probabilities(logits: list[float], proactive_bias: float) -> dict[Behavior, float]:
    """Softmax over the three decision logits (ordered as BEHAVIORS) after biasing 'proactive'."""
    shifted = [
        x + (proactive_bias if b is Behavior.proactive else 0.0)
        for b, x in zip(BEHAVIORS, logits, strict=True)
    ]
    top = max(shifted)
    weights = [math.exp(x - top) for x in shifted]
    total = sum(weights)
    return {b: w / total for b, w in zip(BEHAVIORS, weights, strict=True)}


def _speak_or_silence(log_silence: float, addressed: bool) -> list[float]:
    """Decision logits (ordered as BEHAVIORS) of a plain reply: silence, or the one way to speak."""
    speak = math.log1p(-math.exp(log_silence)) if log_silence < 0 else -math.inf
    return [speak if addressed else -math.inf, -math.inf if addressed else speak, log_silence]


class ProactiveBias:
    """A logits processor that adds the proactivity dial to the proactive mark where the marks differ.

    Applied to free generation (the server, `complete`): the step at which the reply so far equals a
    style's shared mark prefix is the step whose distribution decides the behavior.
    """

    def __init__(self, marks: list[BehaviorMarks], prompt_length: int, bias: float):
        self.marks, self.prompt_length, self.bias = marks, prompt_length, bias

    def __call__(self, input_ids, scores):
        for row, ids in enumerate(input_ids[:, self.prompt_length :].tolist()):
            for marks in self.marks:
                if ids == marks.prefix:
                    scores[row, marks.decision[Behavior.proactive]] += self.bias
        return scores


class HFBackend(LocalBackend):
    """A transformers causal LM (optionally with a PEFT adapter) on one device."""

    def __init__(
        self,
        name_or_path: str,
        adapter: str | None = None,
        device: str | None = None,
        dtype=None,
        batch_size: int = 8,
        proactive_bias: float = 0.0,
        chunk_tokens: int = 4096,
    ):
        self.device = device or default_device()
        self.model, self.tokenizer = load_model_and_tokenizer(name_or_path, adapter, self.device, dtype)
        self.model_id = f"hf:{name_or_path}" + (f"+{adapter}" if adapter else "")
        self.batch_size = batch_size
        self.proactive_bias = proactive_bias
        self.chunk_tokens = chunk_tokens
        self.max_positions = self.model.config.max_position_embeddings
        self._lock = threading.Lock()  # one generation at a time: results must not depend on timing
        self._marks: dict[str, BehaviorMarks] = {}
        self.stop_ids = sorted(
            {self.tokenizer.eos_token_id, self.tokenizer.convert_tokens_to_ids("<|im_end|>")}
            - {None, self.tokenizer.unk_token_id}
        )

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the model alone: one generation or decision at a time, so that no result depends on
        timing. `generate_ids` and `mark_probabilities` are called inside it."""
        with self._lock:
            yield

    # -- prompts -------------------------------------------------------------------------------

    def marks(self, style: Style) -> BehaviorMarks:
        if style not in self._marks:
            self._marks[style] = behavior_marks(self.tokenizer, style)
        return self._marks[style]

    def prompt_text(self, messages: list[dict], add_generation_prompt: bool = True) -> str:
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=add_generation_prompt
        )

    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    @property
    def agent_style(self) -> Style:
        """'token' when the tokenizer holds the behavior tokens (a BehaviorSFT model), else 'tagged'."""
        vocab = self.tokenizer.get_vocab()
        return "token" if all(t in vocab for t in BEHAVIOR_TOKENS.values()) else "tagged"

    def _free_marks(self) -> list[BehaviorMarks]:
        """Marks the dial can act on in free generation: tags, and behavior tokens if in the vocabulary."""
        styles: list[Style] = ["tagged"] + (["token"] if self.agent_style == "token" else [])
        return [self.marks(style) for style in styles]

    # -- generation ----------------------------------------------------------------------------

    def _generation_config(self, params: GenerationParams):
        from transformers import GenerationConfig

        sampling = params.temperature > 0
        return GenerationConfig(
            max_new_tokens=params.max_tokens,
            do_sample=sampling,
            temperature=params.temperature if sampling else None,
            top_p=None,
            top_k=None,
            eos_token_id=self.stop_ids,
            pad_token_id=self.tokenizer.pad_token_id,
        )

    def _until_stop(self, new: list[int]) -> list[int]:
        for position, token in enumerate(new):
            if token in self.stop_ids:
                return new[:position]
        return new

    def generate_ids(
        self,
        ids: list[int],
        params: GenerationParams,
        bias: float = 0.0,
        processors: Sequence = (),
        streamer=None,
        criteria: Sequence = (),
    ) -> list[int]:
        """New token ids after `ids` (up to and excluding the first stop token), inside `exclusive()`.

        `processors`, `streamer` and `criteria` are handed to `generate` (the server records
        log-probabilities, streams tokens and stops on stop sequences through them).
        """
        import torch
        from transformers import LogitsProcessorList, StoppingCriteriaList

        dial = [ProactiveBias(self._free_marks(), len(ids), bias)] if bias else []
        input_ids = torch.tensor([ids], device=self.device)
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            torch.manual_seed(params.seed)
            output = self.model.generate(
                input_ids,
                attention_mask=torch.ones_like(input_ids),
                generation_config=self._generation_config(params),
                logits_processor=LogitsProcessorList([*dial, *processors]),
                stopping_criteria=StoppingCriteriaList(criteria),
                streamer=streamer,
            )
        return self._until_stop(output[0, len(ids) :].tolist())

    def mark_probabilities(self, ids: list[int], marks: BehaviorMarks, bias: float) -> dict[Behavior, float]:
        """The behavior distribution after the prompt `ids`: the logits of the marks' decision tokens
        once the shared prefix is fed, softmaxed with the proactivity dial; inside `exclusive()`."""
        import torch

        with torch.inference_mode():
            output = self.model(
                input_ids=torch.tensor([ids + marks.prefix], device=self.device), logits_to_keep=1
            )
        decision_ids = [marks.decision[b] for b in BEHAVIORS]
        return behavior_probabilities(output.logits[0, -1, decision_ids].float().tolist(), bias)

    def _generate_from_cache(
        self, cache, ids: list[int], jobs: list[tuple[int, list[int]]], params: GenerationParams
    ) -> list[list[int]]:
        """Continue `ids[:start] + mark` for each (start, mark) in `jobs`, reusing `cache` (of `ids`).

        The jobs run as one batch: each row's cached keys and values are copied right-aligned into
        a left-padded batch cache, and its mark is left-padded too; the attention mask hides the
        padding and generate() derives each row's positions from it.
        """
        import torch
        from transformers import DynamicCache

        pad = self.tokenizer.pad_token_id
        cached, marked = max(start for start, _ in jobs), max(len(mark) for _, mark in jobs)
        layers = []
        for keys, values, *_ in cache:
            batch_keys = keys.new_zeros(len(jobs), keys.shape[1], cached, keys.shape[3])
            batch_values = values.new_zeros(len(jobs), values.shape[1], cached, values.shape[3])
            for row, (start, _) in enumerate(jobs):
                batch_keys[row, :, cached - start :] = keys[0, :, :start]
                batch_values[row, :, cached - start :] = values[0, :, :start]
            layers.append((batch_keys, batch_values))
        rows, masks = [], []
        for start, mark in jobs:
            gap, lead = cached - start, marked - len(mark)
            rows.append([pad] * gap + ids[:start] + [pad] * lead + mark)
            masks.append([0] * gap + [1] * start + [0] * lead + [1] * len(mark))
        input_ids = torch.tensor(rows, device=self.device)
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            torch.manual_seed(params.seed)
            output = self.model.generate(
                input_ids,
                attention_mask=torch.tensor(masks, device=self.device),
                generation_config=self._generation_config(params),
                past_key_values=DynamicCache(ddp_cache_data=layers, config=self.model.config),
            )
        return [self._until_stop(row) for row in output[:, input_ids.shape[1] :].tolist()]

    def generate_reply(self, messages: list[dict], params: GenerationParams) -> Completion:
        """One chat completion, synchronously (the server and `complete` share it)."""
        ids = self.encode(self.prompt_text(text_messages(messages)))
        if len(ids) + params.max_tokens > self.max_positions:
            raise BehaviorBenchError(
                f"prompt of {len(ids)} tokens + max_tokens {params.max_tokens} exceeds the model's "
                f"{self.max_positions} positions"
            )
        with self.exclusive():
            new = self.generate_ids(ids, params, bias=self.proactive_bias)
        finish = "length" if len(new) >= params.max_tokens else "stop"
        text = self.tokenizer.decode(new, skip_special_tokens=False)
        return Completion(text=text, finish_reason=finish, prompt_tokens=len(ids), completion_tokens=len(new))

    async def complete(self, messages: list[dict], params: GenerationParams) -> str:
        return (await asyncio.to_thread(self.generate_reply, messages, params)).text

    def _respond(self, marks: BehaviorMarks, behavior: Behavior, new: list[int]) -> tuple[str, str]:
        raw = marks.text[behavior] + self.tokenizer.decode(new, skip_special_tokens=False)
        return raw, strip_behavior(raw, marks.style)

    # -- the fast path -------------------------------------------------------------------------

    def _slot_starts(
        self, case: Case, style: Style, slots: list[int]
    ) -> tuple[list[int], list[int], list[str]]:
        """Token ids of the whole case, and for each slot the token index where its turn begins."""
        prefix = [] if style == "plain" else self.marks(style).prefix
        full = self.prompt_text(case_messages(case, style), add_generation_prompt=False)
        encoding = self.tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = encoding["input_ids"], encoding["offset_mapping"]
        starts_of_tokens = [start for start, _ in offsets]
        prompts, starts = [], []
        for slot in slots:
            if not 0 <= slot < len(case.slots):
                raise BehaviorBenchError(
                    f"case {case.case_id}: slot {slot} is out of range 0..{len(case.slots) - 1}"
                )
            prompt = self.prompt_text(case_messages(case, style, upto=slot))
            position = bisect_left(starts_of_tokens, len(prompt))
            aligned = (
                full.startswith(prompt)
                and position < len(ids)
                and starts_of_tokens[position] == len(prompt)
                and (position == 0 or offsets[position - 1][1] <= len(prompt))
                and ids[position : position + len(prefix)] == prefix
            )
            if not aligned:
                raise BehaviorBenchError(
                    f"case {case.case_id} slot {slot}: the rendered case does not split into tokens at the "
                    "start of the assistant turn; use decide_slot_by_slot for this tokenizer"
                )
            prompts.append(prompt)
            starts.append(position)
        return ids, starts, prompts

    def _forward(self, ids: list[int], reads: list[int]):
        """Logits at positions `reads` (ascending) and the KV cache of `ids`, in chunks of chunk_tokens."""
        import torch

        rows, cache = [], None
        for start in range(0, len(ids), self.chunk_tokens):
            end = min(start + self.chunk_tokens, len(ids))
            keep = [r - start for r in reads if start <= r < end]
            output = self.model(
                input_ids=torch.tensor([ids[start:end]], device=self.device),
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=torch.tensor(keep, device=self.device) if keep else 1,
            )
            cache = output.past_key_values
            if keep:
                rows.append(output.logits[0].float())
        return torch.cat(rows), cache

    def decide_case(
        self,
        case: Case,
        style: Style,
        slots: list[int],
        params: GenerationParams,
        proactive_bias: float = 0.0,
        generate: bool | Collection[int] = True,
    ) -> list[SlotDecision]:
        """Decisions at `slots` from one forward pass (see `LocalBackend.decide_case`).

        Style 'plain' (models trained without behavior marks, such as the SFT baseline) reads the
        probability that the reply opens with the no-comment token: that is silence; otherwise the
        model speaks, reactively when the slot's utterance addressed the assistant and proactively
        when it did not (the documented rule of protocol 'free').
        """
        import torch

        if not slots:
            return []
        plain = style == "plain"
        marks = None if plain else self.marks(style)
        ids, starts, prompts = self._slot_starts(case, style, slots)
        reads = [start + (0 if plain else len(marks.prefix)) - 1 for start in starts]
        needed = max(reads) + 1
        if needed > self.max_positions:
            raise BehaviorBenchError(
                f"case {case.case_id}: {needed} tokens up to slot {slots[reads.index(needed - 1)]} "
                f"exceed the model's {self.max_positions} positions"
            )
        ordered = sorted(set(reads))
        with self.exclusive(), torch.inference_mode():
            logits, cache = self._forward(ids[:needed], ordered)
            if plain:
                silence = logits.log_softmax(-1)[:, self.encode(NO_COMMENT)[0]].tolist()
                table = [
                    _speak_or_silence(
                        silence[ordered.index(r)],
                        addresses_assistant(case.utterances[slot].text, case.assistant_names),
                    )
                    for r, slot in zip(reads, slots, strict=True)
                ]
            else:
                table = logits[:, [marks.decision[b] for b in BEHAVIORS]].tolist()
                table = [table[ordered.index(r)] for r in reads]
            probabilities = [behavior_probabilities(row, proactive_bias) for row in table]
            behaviors = [max(p, key=p.get) for p in probabilities]
            raws = [(NO_COMMENT if plain else marks.text[b], "") for b in behaviors]
            wanted = set(slots) if generate is True else set(generate or ())
            speaking = [i for i, b in enumerate(behaviors) if slots[i] in wanted and b is not Behavior.silent]
            speaking.sort(key=lambda i: starts[i])  # neighbours in a batch pad little
            for first in range(0, len(speaking), self.batch_size):
                batch = speaking[first : first + self.batch_size]
                if plain:  # no mark to feed: re-feed the turn header's last token from the cache
                    jobs = [(starts[i] - 1, [ids[starts[i] - 1]]) for i in batch]
                else:
                    jobs = [(starts[i], marks.ids[behaviors[i]]) for i in batch]
                for i, new in zip(batch, self._generate_from_cache(cache, ids, jobs, params), strict=True):
                    if plain:
                        text = self.tokenizer.decode(new, skip_special_tokens=False)
                        raws[i] = (text, text.strip())
                    else:
                        raws[i] = self._respond(marks, behaviors[i], new)
        return [
            SlotDecision(
                slot=slot,
                behavior=behavior,
                probabilities=probs,
                raw_output=raw,
                response=response,
                prompt_hash=prompt_hash(prompt),
            )
            for slot, behavior, probs, (raw, response), prompt in zip(
                slots, behaviors, probabilities, raws, prompts, strict=True
            )
        ]

    def decide_slot_by_slot(
        self,
        case: Case,
        style: Style,
        slots: list[int],
        params: GenerationParams,
        proactive_bias: float = 0.0,
        generate: bool = True,
    ) -> list[SlotDecision]:
        """The reference for `decide_case`: each slot's prompt built, encoded and run on its own."""
        marks = self.marks(style)
        decisions = []
        for slot in slots:
            prompt = self.prompt_text(case_messages(case, style, upto=slot))
            ids = self.encode(prompt)
            with self.exclusive():
                probs = self.mark_probabilities(ids, marks, proactive_bias)
                behavior = max(probs, key=probs.get)
                raw, response = marks.text[behavior], ""
                if generate and behavior is not Behavior.silent:
                    new = self.generate_ids(ids + marks.ids[behavior], params)
                    raw, response = self._respond(marks, behavior, new)
            decisions.append(
                SlotDecision(
                    slot=slot,
                    behavior=behavior,
                    probabilities=probs,
                    raw_output=raw,
                    response=response,
                    prompt_hash=prompt_hash(prompt),
                )
            )
        return decisions
