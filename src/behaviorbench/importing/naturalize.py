"""Template lines rewritten by an LLM into natural clinical speech, kept only when the facts survive.

Each distinct line is asked once (and cached on its text), so a line both twins share gets the same
rewrite in both. Lines where the twins differ (the problem and its control) are rewritten together
or not at all: when either rewrite breaks an invariant both keep their template, so whether a line
reads like a template says nothing about its label. A rejected rewrite, or a failed request, leaves
the template line; the acceptance rate is reported.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from behaviorbench.evaluation.cache import ResponseCache
from behaviorbench.importing.invariants import Vocabulary, check_rewrite, rules
from behaviorbench.importing.llm import ask
from behaviorbench.knowledge.models import KnowledgeBase
from behaviorbench.models.base import GenerationParams
from behaviorbench.models.errors import BackendError
from behaviorbench.schema import Case

TWIN_REJECTED = "twin: the other twin's line was rejected"


@dataclass
class Naturalized:
    """How many utterances were rewritten, and why the others were not."""

    utterances: int = 0
    rewritten: int = 0
    asked: int = 0
    """Distinct lines sent to the LLM."""
    rejected: Counter[str] = field(default_factory=Counter)
    """Utterances kept as templates, by the kind of the first invariant broken."""

    @property
    def rate(self) -> float:
        return self.rewritten / self.utterances if self.utterances else 0.0

    def summary(self) -> dict:
        return {
            "utterances": self.utterances,
            "rewritten": self.rewritten,
            "acceptance_rate": round(self.rate, 4),
            "distinct_lines_asked": self.asked,
            "rejected_by_reason": dict(self.rejected.most_common()),
        }


def read_rewrite(reply: str) -> str:
    """The rewrite, without the whitespace or quotes a model may wrap it in."""
    text = reply.strip()
    for quote in ('"', "'", "“"):
        closing = "”" if quote == "“" else quote
        if len(text) > 1 and text.startswith(quote) and text.endswith(closing):
            text = text[1:-1].strip()
    return text


async def rewrite_lines(backend, cache: ResponseCache, lines: list[str], bar=None) -> dict[str, str | None]:
    """Each line's rewrite (None when the request failed)."""
    prompt = rules()["prompt"]
    params = GenerationParams(max_tokens=rules()["max_tokens"])
    task = bar.add_task("naturalizing", total=len(lines)) if bar else None

    async def one(line: str) -> tuple[str, str | None]:
        messages = [{"role": "system", "content": prompt}, {"role": "user", "content": line}]
        try:
            rewrite = await ask(backend, cache, "naturalized_line", messages, params, read_rewrite)
        except BackendError:
            rewrite = None
        if bar:
            bar.advance(task)
        return line, rewrite

    return dict(await asyncio.gather(*(one(line) for line in lines)))


def naturalize_pairs(
    cases: list[Case], rewrites: dict[str, str | None], kb: KnowledgeBase
) -> tuple[list[Case], Naturalized]:
    """The cases (twin pairs, in order) with every accepted rewrite applied."""
    vocabulary = Vocabulary.of(kb)
    result = Naturalized(asked=len(rewrites))
    out: list[Case] = []
    for pair in zip(cases[0::2], cases[1::2], strict=True):
        out += _naturalize_pair(pair, rewrites, vocabulary, result)
    return out, result


def _naturalize_pair(
    pair: tuple[Case, Case], rewrites: dict[str, str | None], vocabulary: Vocabulary, result: Naturalized
) -> list[Case]:
    names = _names(pair[0]) | _names(pair[1])

    def verdict(text: str) -> str | None:
        rewrite = rewrites.get(text)
        return (
            "no reply: the request failed"
            if rewrite is None
            else check_rewrite(text, rewrite, vocabulary, names)
        )

    texts = tuple([u.text for u in case.utterances] for case in pair)
    keep: tuple[dict[int, str], dict[int, str]] = ({}, {})
    """Per twin: utterance index -> why its template stays."""
    matcher = SequenceMatcher(None, texts[0], texts[1], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        spans = ((0, range(i1, i2)), (1, range(j1, j2)))
        reasons = {(twin, i): verdict(texts[twin][i]) for twin, span in spans for i in span}
        for (twin, i), reason in reasons.items():
            if reason is not None:
                keep[twin][i] = reason
            elif op == "replace" and any(r is not None for r in reasons.values()):
                keep[twin][i] = TWIN_REJECTED
    written = []
    for twin, case in enumerate(pair):
        utterances = []
        for i, utterance in enumerate(case.utterances):
            result.utterances += 1
            if i in keep[twin]:
                result.rejected[keep[twin][i].split(":")[0]] += 1
                utterances.append(utterance)
            else:
                result.rewritten += 1
                utterances.append(utterance.model_copy(update={"text": rewrites[utterance.text]}))
        written.append(case.model_copy(update={"utterances": utterances}))
    return written


def _names(case: Case) -> set[str]:
    """The names a line may hold: the assistant's, and each word of a person's name."""
    titles = set(rules()["titles"])
    people = {u.speaker for u in case.utterances} | {case.patient.get("name", "")}
    words = {w.strip(".,") for person in people for w in person.split()}
    return set(case.assistant_names) | {w for w in words if len(w) > 2 and w[0].isupper() and w not in titles}
