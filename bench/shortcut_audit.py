"""Shortcut audit: can a bag-of-words model tell a problem from its minimal-pair control?

For every proactive-category designated slot (positive or control) the text of the last k
utterances up to the slot ("role: text", one line each) is turned into word 1-2-gram counts.
Logistic regression is trained on one seed's build and tested on another seed's, so it can only
use cues the generator repeats, never the memorised text of one case. Chance is 0.50; a build
passes when the overall accuracy is at most 0.55 and every subtype's at most 0.60, for every k.

Overall figures come from one model trained on all slots; a subtype's figure comes from a model
trained on that subtype's slots alone (the stronger attacker, since cues are subtype-specific).
The most telling n-grams of the subtypes over the bar are printed so the cue can be found.
The last line holds the figures as key=value.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from behaviorbench.generation import generate_case
from behaviorbench.schema import Case
from behaviorbench.taxonomy import GROUP_OF, Behavior, Group

OVERALL_BAR, SUBTYPE_BAR = 0.55, 0.60
TOKENS = r"(?u)\b\w+\b"
"""Every word counts, single letters and digits too ("5 mg" vs "50 mg" differ only in digits)."""


@dataclass
class Slots:
    """The audited slots of one build: context texts per k, labels (1 = problem), subtypes."""

    texts: dict[int, list[str]]
    labels: np.ndarray
    subtypes: list[str]


def collect(cases: list[Case], ks: list[int]) -> Slots:
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
    return Slots(texts, np.array(labels), subtypes)


def build(seed: int, cases: int) -> list[Case]:
    return [generate_case(seed, i) for i in track(range(cases), description=f"seed {seed}", transient=True)]


def fit_score(
    train: list[str], train_y: np.ndarray, test: list[str], test_y: np.ndarray
) -> tuple[float, CountVectorizer, LogisticRegression]:
    """Test accuracy of a 1-2-gram count logistic regression trained on `train`."""
    vectorizer = CountVectorizer(ngram_range=(1, 2), token_pattern=TOKENS, lowercase=True)
    model = LogisticRegression(max_iter=2000)
    if len(set(train_y)) < 2:  # nothing to learn: the model can only guess the one label it saw
        return float(np.mean(test_y == train_y[0])), vectorizer, model
    model.fit(vectorizer.fit_transform(train), train_y)
    return float(model.score(vectorizer.transform(test), test_y)), vectorizer, model


def top_ngrams(vectorizer: CountVectorizer, model: LogisticRegression, n: int) -> tuple[list[str], list[str]]:
    """The n-grams pointing hardest to problem and to control."""
    if not hasattr(model, "coef_"):
        return [], []
    names = vectorizer.get_feature_names_out()
    order = np.argsort(model.coef_[0])
    return [names[i] for i in order[::-1][:n]], [names[i] for i in order[:n]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1000, help="cases per build (twin pairs: even)")
    parser.add_argument("--train-seed", type=int, default=1)
    parser.add_argument("--test-seed", type=int, default=2)
    parser.add_argument("--k", type=int, nargs="+", default=[1, 2, 4], help="utterances of context")
    parser.add_argument("--ngrams", type=int, default=6, help="telling n-grams shown per flagged subtype")
    args = parser.parse_args()
    console = Console()
    ks = sorted(set(args.k))

    train = collect(build(args.train_seed, args.cases), ks)
    test = collect(build(args.test_seed, args.cases), ks)
    subtypes = sorted(set(test.subtypes))
    console.print(
        f"{args.cases} cases per build; train seed {args.train_seed}: {len(train.labels)} slots "
        f"({train.labels.mean():.2f} problems); test seed {args.test_seed}: {len(test.labels)} slots"
    )

    overall: dict[int, float] = {}
    per: dict[tuple[str, int], float] = {}
    cues: dict[tuple[str, int], tuple[list[str], list[str]]] = {}
    for k in ks:
        overall[k], _, _ = fit_score(train.texts[k], train.labels, test.texts[k], test.labels)
        for subtype in subtypes:
            a = [i for i, s in enumerate(train.subtypes) if s == subtype]
            b = [i for i, s in enumerate(test.subtypes) if s == subtype]
            if not a or not b:
                continue
            score, vectorizer, model = fit_score(
                [train.texts[k][i] for i in a], train.labels[a], [test.texts[k][i] for i in b], test.labels[b]
            )
            per[subtype, k] = score
            if score > SUBTYPE_BAR:
                cues[subtype, k] = top_ngrams(vectorizer, model, args.ngrams)

    table = Table(title="problem-vs-control accuracy (train one seed, test another; chance 0.50)")
    table.add_column("subtype")
    table.add_column("test slots", justify="right")
    for k in ks:
        table.add_column(f"k={k}", justify="right")
    table.add_row("overall", str(len(test.labels)), *(f"{overall[k]:.3f}" for k in ks), style="bold")
    for subtype in subtypes:
        count = test.subtypes.count(subtype)
        cells = [
            f"[red]{per[subtype, k]:.3f}[/red]"
            if per.get((subtype, k), 0) > SUBTYPE_BAR
            else f"{per[subtype, k]:.3f}"
            if (subtype, k) in per
            else "-"
            for k in ks
        ]
        table.add_row(subtype, str(count), *cells)
    console.print(table)
    for (subtype, k), (problem, control) in sorted(cues.items()):
        console.print(f"{subtype} k={k}: problem <- {problem}; control <- {control}")

    worst = max(per, key=per.get)
    met = all(overall[k] <= OVERALL_BAR for k in ks) and per[worst] <= SUBTYPE_BAR
    figures = " ".join(f"overall_k{k}={overall[k]:.3f}" for k in ks)
    worst_by_k = " ".join(f"worst_k{k}={max(v for (s, kk), v in per.items() if kk == k):.3f}" for k in ks)
    print(
        f"slots={len(test.labels)} {figures} {worst_by_k} "
        f"worst_subtype={worst[0]} worst_subtype_k={worst[1]} "
        f"worst_subtype_acc={per[worst]:.3f} target_met={str(met).lower()}"
    )


if __name__ == "__main__":
    main()
