"""What a rewritten utterance must keep for its gold to stay exact.

A rewrite is accepted only when it keeps, and adds none of: every number with its unit (digits or
words, "twice" and "daily" included), every drug, lab test, diagnosis and allergy class the
knowledge base names, every side (left, right, bilateral), the count of negations, and every
person's and the assistant's name. It must also stay one line of about the original's length that
keeps a share of its words, and hold none of a model's own wrapping (a turn mark, a code fence).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from behaviorbench.knowledge.models import KnowledgeBase

NUMBER = re.compile(r"(?<![\w.])(\d+(?:,\d{3})*(?:\.\d+)?)")
WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")


@cache
def rules() -> dict:
    """The data of `importing/data/naturalize.yaml`."""
    text = (
        resources.files("behaviorbench.importing")
        .joinpath("data/naturalize.yaml")
        .read_text(encoding="utf-8")
    )
    return yaml.safe_load(text)


@dataclass(frozen=True)
class Vocabulary:
    """The knowledge base's terms and the units a rewrite is held to."""

    terms: re.Pattern[str]
    units: tuple[str, ...]
    """Longest first, so "mg/dL" is read before "mg"."""

    @classmethod
    def of(cls, kb: KnowledgeBase) -> Vocabulary:
        names: set[str] = set()
        for drug in kb.drugs.values():
            names.update([drug.name, *drug.brand_names])
            names.update([drug.allergy_class] if drug.allergy_class else [])
        for analyte in kb.analytes.values():
            names.update([analyte.name, *analyte.aliases])
        for condition in kb.conditions.values():
            names.update([condition.name, *condition.synonyms])
        return cls(
            terms=_alternation(name.replace("_", " ") for name in names if len(name) > 1),
            units=tuple(
                sorted({*rules()["units"], *(a.unit for a in kb.analytes.values())}, key=len, reverse=True)
            ),
        )


def check_rewrite(original: str, rewrite: str, vocabulary: Vocabulary, names: Iterable[str]) -> str | None:
    """None when `rewrite` keeps every invariant of `original`, else the first one it breaks
    (`kind: detail`).
    `names`: the people and assistant names of the case."""
    data = rules()
    if not rewrite.strip():
        return "empty: no text"
    if "\n" in rewrite.strip():
        return "lines: more than one line"
    if len(rewrite) > data["max_growth"] * len(original) + data["growth_slack"]:
        return "length: much longer than the original"
    wrapping = next((m for m in data["markup"] if m in rewrite), None)
    if wrapping is not None:
        return f"wrapping: holds {wrapping!r}"
    pattern = _alternation(name for name in names if name)
    checks = (
        ("numbers", lambda t: _numbers(t, vocabulary.units)),
        ("number words", lambda t: _words(t, data["number_words"])),
        ("terms", lambda t: _found(vocabulary.terms, t, fold=True)),
        ("sides", lambda t: _words(t, data["sides"])),
        ("names", lambda t: _found(pattern, t, fold=False)),
    )
    for what, count in checks:
        before, after = count(original), count(rewrite)
        if before != after:
            return _difference(what, before, after)
    if _negations(original) != _negations(rewrite):
        return f"negations: {_negations(original)} -> {_negations(rewrite)}"
    words = {w.lower() for w in WORD.findall(original) if len(w) >= 4}
    kept = {w.lower() for w in WORD.findall(rewrite)}
    if words and len(words & kept) / len(words) < data["min_kept"]:
        return f"words: keeps {len(words & kept)} of the original's {len(words)} longer words"
    return None


def _difference(what: str, before: Counter, after: Counter) -> str:
    lost = sorted((before - after).elements())
    added = sorted((after - before).elements())
    parts = [f"lost {', '.join(map(str, lost))}"] if lost else []
    parts += [f"added {', '.join(map(str, added))}"] if added else []
    return f"{what}: {'; '.join(parts)}"


def _numbers(text: str, units: tuple[str, ...]) -> Counter:
    """Each number with the unit right after it ("" when none)."""
    found: Counter = Counter()
    for match in NUMBER.finditer(text):
        rest = text[match.end() :].lstrip(" ")
        unit = next(
            (
                u
                for u in units
                if rest[: len(u)].lower() == u.lower() and not rest[len(u) : len(u) + 1].isalnum()
            ),
            "",
        )
        found[f"{match.group(1).replace(',', '')} {unit}".strip()] += 1
    return found


def _words(text: str, words: list[str]) -> Counter:
    wanted = {w.lower() for w in words}
    return Counter(w.lower() for w in WORD.findall(text) if w.lower() in wanted)


def _negations(text: str) -> int:
    """Negating words, a contraction ("doesn't", "won't") counting as one "not"."""
    spelled = re.sub(r"(?i)n['’]t\b", " not", text)
    return sum(_words(spelled, rules()["negations"]).values())


def _found(pattern: re.Pattern[str] | None, text: str, fold: bool) -> Counter:
    if pattern is None:
        return Counter()
    return Counter(m.group(0).lower() if fold else m.group(0) for m in pattern.finditer(text))


def _alternation(names: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern matching any of `names` as whole words, longest first ("potassium chloride"
    before "potassium"), in any case."""
    unique = sorted(set(names), key=len, reverse=True)
    if not unique:
        return None
    body = "|".join(re.escape(name) for name in unique)
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE)
