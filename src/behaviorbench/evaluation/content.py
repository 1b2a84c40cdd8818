"""Content checks: does a response say what the slot's `Target` looks for?

Text is compared after normalisation (Unicode NFKC, punctuation to spaces, whitespace collapsed,
lower case, a plural 's' dropped), phrase by whole words. Rules per `Target.kind`:

- diagnosis / treatment / rhythm: any accepted answer (the answers are synonyms) is named.
- issue: the answers are key terms of the problem, each may list alternatives as "a|b"; it passes
  when most terms (at least two thirds, so every term of a one- or two-term issue) are named.
- analytes: set F1 between the analytes the response names and the gold set >= threshold (an
  empty gold set, a normal panel, passes only when no analyte is named). Names,
  ids and aliases come from the knowledge base. Abbreviations (all capitals, or up to four
  characters with a capital: "K", "PT", "Na", "Cr") must match with their capitals, so that "pt"
  (patient) does not name prothrombin time nor "ca." calcium.
- order: the events' first mentions, in response order, against the gold order: the share of
  event pairs in the gold order (an event not mentioned breaks all its pairs) >= threshold. Equal
  to (Kendall's tau + 1) / 2 when every event is mentioned once.
- dose: some number followed by a unit that converts to the gold unit (mcg/mg/g, mL/L) lies
  within the relative tolerance (10% unless the target says otherwise). A rate unit ("mg/day")
  also accepts the bare amount ("500 mg"), but a bare gold unit rejects a rate ("15 mg/kg").

Each check returns (passed, score in [0, 1]).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import combinations

from behaviorbench.schema import Target

DEFAULT_THRESHOLD = 0.8
DEFAULT_DOSE_TOLERANCE = 0.10
ISSUE_SHARE = 2 / 3

# Units a dose may be written in, with their factor to a base unit of the same dimension.
_UNIT_FACTORS: dict[str, tuple[str, float]] = {
    "mcg": ("mass", 1e-3),
    "ug": ("mass", 1e-3),
    "mg": ("mass", 1.0),
    "g": ("mass", 1e3),
    "ml": ("volume", 1.0),
    "l": ("volume", 1e3),
    "unit": ("units", 1.0),
    "units": ("units", 1.0),
    "u": ("units", 1.0),
    "iu": ("units", 1.0),
    "meq": ("meq", 1.0),
    "mmol": ("mmol", 1.0),
}
_NUMBER_UNIT = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*(mcg|ug|mg|g|ml|l|units?|u|iu|meq|mmol)\b(?:\s*/\s*([a-z0-9./]*[a-z0-9]))?",
    re.IGNORECASE,
)


def check_content(target: Target, response: str, threshold: float = DEFAULT_THRESHOLD) -> tuple[bool, float]:
    """Whether `response` carries the target's content, and a graded score in [0, 1]."""
    if not response.strip():
        return False, 0.0
    if target.kind in ("diagnosis", "treatment", "rhythm"):
        named = any(mentions(response, answer) for answer in target.answers)
        return named, float(named)
    if target.kind == "issue":
        share = _share(response, target.answers)
        return share >= ISSUE_SHARE - 1e-9, share
    if target.kind == "analytes":
        score = analyte_f1(response, target.answers)
        return score >= threshold, score
    if target.kind == "order":
        score = order_agreement(response, target.answers)
        return score >= threshold, score
    return _check_dose(target, response)


def normalize(text: str, lower: bool = True) -> str:
    """Punctuation to spaces, plural 's' dropped, padded with spaces for whole-word search."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"[^\w]+", " ", text.lower() if lower else text)
    return f" {' '.join(_singular(word) for word in text.split())} "


def _singular(word: str) -> str:
    """'NSAIDs' names what 'NSAID' names: a trailing s goes (on both sides, so 'sinus' still matches)."""
    return word[:-1] if len(word) > 3 and word[-1] in "sS" and word[-2] not in "sS" else word


def mentions(text: str, phrase: str) -> bool:
    """Whether `phrase` occurs in `text` as whole words; abbreviations must match in their capitals."""
    case_sensitive = _case_sensitive(phrase)
    needle = normalize(phrase, lower=not case_sensitive)
    return needle.strip() != "" and needle in normalize(text, lower=not case_sensitive)


def _case_sensitive(phrase: str) -> bool:
    return phrase.isupper() or (len(phrase) <= 4 and phrase.lower() != phrase)


def first_mention(text: str, phrase: str) -> int | None:
    position = normalize(text).find(normalize(phrase))
    return None if position < 0 else position


def _share(response: str, terms: list[str]) -> float:
    if not terms:
        return 0.0
    named = [any(mentions(response, alternative) for alternative in term.split("|")) for term in terms]
    return sum(named) / len(terms)


@lru_cache(maxsize=1)
def _analyte_names() -> dict[str, tuple[str, ...]]:
    """Every knowledge-base analyte id with the surface forms that name it."""
    from behaviorbench.knowledge.load import load_knowledge_base

    return {
        analyte.id: (analyte.id.replace("_", " "), analyte.name, *analyte.aliases)
        for analyte in load_knowledge_base().analytes.values()
    }


def _canonical(answer: str, names: dict[str, tuple[str, ...]]) -> str:
    """The knowledge-base id an answer names, or the answer itself."""
    wanted = normalize(answer)
    for analyte_id, forms in names.items():
        if any(normalize(form) == wanted for form in forms):
            return analyte_id
    return answer


def analyte_f1(response: str, gold: list[str]) -> float:
    """Set F1 between the analytes named in `response` and the gold analytes."""
    names = _analyte_names()
    gold_ids = {_canonical(answer, names) for answer in gold}
    forms = dict(names)
    forms.update({answer: (answer,) for answer in gold_ids if answer not in names})
    named = _named(response, forms)
    if not gold_ids:  # a normal panel: right when the reply names no analyte either
        return 0.0 if named else 1.0
    hits = len(named & gold_ids)
    if not hits:
        return 0.0
    precision, recall = hits / len(named), hits / len(gold_ids)
    return 2 * precision * recall / (precision + recall)


def _named(text: str, forms: dict[str, tuple[str, ...]]) -> set[str]:
    """Ids whose forms occur in `text`; a mention inside a longer one does not count, so
    "Hemoglobin A1c" names HbA1c and not hemoglobin."""
    haystacks = {True: normalize(text, lower=False), False: normalize(text)}
    spans = []
    for analyte_id, surfaces in forms.items():
        for form in surfaces:
            case_sensitive = _case_sensitive(form)
            haystack, needle = haystacks[case_sensitive], normalize(form, lower=not case_sensitive)
            if not needle.strip():
                continue
            start = haystack.find(needle)
            while start >= 0:
                spans.append((start, start + len(needle), analyte_id))
                start = haystack.find(needle, start + 1)
    return {
        analyte_id
        for start, end, analyte_id in spans
        if not any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in spans)
    }


def order_agreement(response: str, events: list[str]) -> float:
    """Share of gold-ordered event pairs whose first mentions in `response` come in the same order."""
    pairs = list(combinations(range(len(events)), 2))
    if not pairs:
        return 1.0 if all(first_mention(response, e) is not None for e in events) else 0.0
    positions = [first_mention(response, event) for event in events]
    concordant = sum(
        1
        for earlier, later in pairs
        if positions[earlier] is not None
        and positions[later] is not None
        and positions[earlier] < positions[later]
    )
    return concordant / len(pairs)


def _unit(unit: str) -> tuple[str, float, str | None] | None:
    """(dimension, factor to its base, per-what) of a unit like 'mg', 'mcg/kg' or 'units/h'."""
    head, _, per = unit.strip().lower().partition("/")
    known = _UNIT_FACTORS.get(head.strip())
    if known is None:
        return None
    return known[0], known[1], per.strip() or None


def _check_dose(target: Target, response: str) -> tuple[bool, float]:
    if target.value is None or target.unit is None:
        return False, 0.0
    tolerance = target.tolerance if target.tolerance is not None else DEFAULT_DOSE_TOLERANCE
    text = unicodedata.normalize("NFKC", response).replace("\u03bc", "u")  # NFKC turns the micro sign into mu
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    errors = [
        abs(value - target.value) / abs(target.value) if target.value else abs(value)
        for value in _doses_in(text, target.unit)
    ]
    if not errors:
        return False, 0.0
    return min(errors) <= tolerance + 1e-9, max(0.0, 1.0 - min(errors))


def _doses_in(text: str, unit: str) -> list[float]:
    """Every number in `text` written with a unit convertible to `unit`, converted to it."""
    gold = _unit(unit)
    if gold is None:  # a unit without conversions: it must be written as is
        pattern = re.compile(rf"(?<![\w.])(\d+(?:\.\d+)?)\s*{re.escape(unit)}(?!\w)", re.IGNORECASE)
        return [float(number) for number in pattern.findall(text)]
    values = []
    for number, head, per in _NUMBER_UNIT.findall(text):
        dimension, factor, _ = _unit(head)
        per = per.lower() or None
        if dimension == gold[0] and (per == gold[2] or (per is None and gold[2] is not None)):
            values.append(float(number) * factor / gold[1])
    return values
