"""Shortcut probe: how well a bag-of-words model tells a problem from its minimal-pair control.

A proactive task is only a test of judgement if its problem and control read alike. The probe
takes the last k utterances before each proactive-category slot ("role: text" per line), counts
word 1-2-grams and fits logistic regression on one build, then scores it on another build (a
different seed), so only cues the generator repeats can help. Chance is 0.50.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from behaviorbench.schema import Case
from behaviorbench.taxonomy import GROUP_OF, Behavior, Group

TOKENS = r"(?u)\b\w+\b"
"""Every word counts, single letters and digits too ("5 mg" and "50 mg" differ only in digits)."""


@dataclass
class PairSlots:
    """The proactive-category slots of one build: context text per k, label (1 = problem), subtype."""

    texts: dict[int, list[str]]
    labels: np.ndarray
    subtypes: list[str]

    def of(self, subtype: str) -> list[int]:
        return [i for i, s in enumerate(self.subtypes) if s == subtype]


@dataclass
class Probe:
    """A fitted model's test accuracy and the n-grams it leans on most (empty when it had one class)."""

    accuracy: float
    problem_ngrams: list[str]
    control_ngrams: list[str]


def pair_slots(cases: Iterable[Case], ks: Iterable[int]) -> PairSlots:
    ks = list(ks)
    texts: dict[int, list[str]] = {k: [] for k in ks}
    labels, subtypes = [], []
    for case in cases:
        lines = [f"{u.role}: {u.text}" for u in case.utterances]
        for slot in case.designated:
            if GROUP_OF[slot.category] is not Group.proactive:
                continue
            for k in ks:
                texts[k].append("\n".join(lines[max(0, slot.index - k + 1) : slot.index + 1]))
            labels.append(int(slot.gold_behavior is Behavior.proactive))
            subtypes.append(f"{slot.category.value}/{slot.subtype or '?'}")
    return PairSlots(texts, np.array(labels, dtype=int), subtypes)


def probe(
    train: list[str], train_y: np.ndarray, test: list[str], test_y: np.ndarray, ngrams: int = 6
) -> Probe:
    """Fit word 1-2-gram counts + logistic regression on `train`, score on `test`."""
    if len(set(train_y.tolist())) < 2:  # one class seen: the model can only guess it
        return Probe(float(np.mean(test_y == train_y[0])), [], [])
    vectorizer = CountVectorizer(ngram_range=(1, 2), token_pattern=TOKENS, lowercase=True)
    model = LogisticRegression(max_iter=2000)
    model.fit(vectorizer.fit_transform(train), train_y)
    names = vectorizer.get_feature_names_out()
    order = np.argsort(model.coef_[0])
    return Probe(
        float(model.score(vectorizer.transform(test), test_y)),
        [str(names[i]) for i in order[::-1][:ngrams]],
        [str(names[i]) for i in order[:ngrams]],
    )


def audit(train: PairSlots, test: PairSlots, k: int, ngrams: int = 6) -> tuple[Probe, dict[str, Probe]]:
    """The overall probe (one model on every slot) and one probe per subtype (a model trained on
    that subtype alone: the stronger attacker, since cues are subtype-specific)."""
    overall = probe(train.texts[k], train.labels, test.texts[k], test.labels, ngrams)
    per = {}
    for subtype in sorted(set(test.subtypes)):
        a, b = train.of(subtype), test.of(subtype)
        if a and b:
            per[subtype] = probe(
                [train.texts[k][i] for i in a],
                train.labels[a],
                [test.texts[k][i] for i in b],
                test.labels[b],
                ngrams,
            )
    return overall, per
