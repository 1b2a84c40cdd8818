"""Scores of a run, computed from its samples alone: behavior F1, false alarms, content, CIs.

Conventions (chosen once, used by every report):
- Behavior F1 is over designated slots. `invalid` and `errored` samples count as misses for their
  gold class: their prediction becomes an extra label, `invalid`, that no averaged class includes.
  `not_applicable` samples (an image for a text-only model) are left out of every score and only
  counted, per category.
- The headline Macro-F1 averages the three behaviors. A group's or a category's Macro-F1 averages
  the behaviors present in the gold of that subset (the reactive group has only `reactive` gold, so
  averaging in two classes with no gold would cap it at 1/3); the labels used are recorded.
- False-alarm rate: share of ambient slots (gold silent, no category) where the model did not
  stay silent; an invalid or errored reply there is a miss like everywhere else.
- Content is checked, when responses are generated, on every designated slot whose gold reply
  carries a target (gold reactive or proactive, reactive minimal-pair controls included), whatever
  the predicted behavior (a silent or failed reply has no content and fails). Content accuracy:
  among those with the right behavior, the share that passed. Joint success: among all of them,
  the share with the right behavior and passing content.
- 95% confidence intervals are bootstrap percentile intervals over cases: whole cases are
  resampled with replacement, as slots of one case are not independent. Deterministic per seed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel
from sklearn.metrics import (
    cohen_kappa_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

from behaviorbench.evaluation.records import Sample
from behaviorbench.taxonomy import BEHAVIORS, CATEGORIES, Behavior, Group

INVALID = "invalid"
"""The prediction label of invalid and errored samples: a miss for every gold class."""
LABELS: list[str] = [b.value for b in BEHAVIORS]
PREDICTION_LABELS: list[str] = [*LABELS, INVALID]
CONFIDENCE = 0.95
CI_KEYS = ("macro_f1", "proactive_f1", "reactive_f1", "restraint_f1", "false_alarm_rate", "content_accuracy")


class ClassScores(BaseModel):
    precision: float
    recall: float
    f1: float
    support: int


class SubsetScores(BaseModel):
    """Behavior scores of a group or a category."""

    samples: int
    labels: list[str]
    """The gold classes present, which the Macro-F1 averages."""
    macro_f1: float | None
    accuracy: float | None
    per_class: dict[str, ClassScores]
    not_applicable: int = 0


class Confusion(BaseModel):
    """Counts of gold behavior (rows) by predicted behavior (columns, with `invalid` last)."""

    rows: list[str]
    columns: list[str]
    counts: list[list[int]]


class Interval(BaseModel):
    low: float
    high: float


class Counts(BaseModel):
    cases: int = 0
    samples: int = 0
    designated: int = 0
    ambient: int = 0
    ok: int = 0
    invalid: int = 0
    errored: int = 0
    not_applicable: int = 0
    content_checked: int = 0


class JudgeAgreement(BaseModel):
    """How often the behavior judge labels the gold responses with their gold behavior."""

    samples: int
    accuracy: float
    cohen_kappa: float


class Scores(BaseModel):
    """Everything `results.json["metrics"]` holds. Rates are fractions in [0, 1]; None: no data."""

    macro_f1: float | None
    proactive_f1: float | None
    reactive_f1: float | None
    restraint_f1: float | None
    false_alarm_rate: float | None
    content_accuracy: float | None
    joint_success: float | None
    accuracy: float | None
    ci: dict[str, Interval]
    """95% bootstrap intervals for the keys in CI_KEYS that have data."""
    per_class: dict[str, ClassScores]
    groups: dict[str, SubsetScores]
    categories: dict[str, SubsetScores]
    confusion: Confusion
    counts: Counts
    not_applicable_by_category: dict[str, int]
    judge_agreement: JudgeAgreement | None = None
    proactive_auc: float | None = None
    """Problem slots ranked against their controls by the proactive probability (see proactive_auc);
    None without probabilities (remote models, free replies classified by a judge)."""
    confidence: float = CONFIDENCE
    n_bootstrap: int
    bootstrap_seed: int


def score_samples(samples: Sequence[Sample], n_bootstrap: int = 1000, seed: int = 0) -> Scores:
    """All metrics of a run; the CIs resample cases with a numpy generator seeded by `seed`."""
    scored = [s for s in samples if s.status != "not_applicable"]
    designated = [s for s in scored if s.designated]
    ambient = [s for s in scored if not s.designated]
    gold = np.array([s.gold_behavior.value for s in designated], dtype=object)
    pred = np.array([_prediction(s) for s in designated], dtype=object)

    per_class = _per_class(gold, pred, LABELS)
    groups = {g.value: _subset(designated, lambda s, g=g: s.group is g, samples) for g in Group}
    categories = {
        c.value: _subset(designated, lambda s, c=c: s.category is c, samples)
        for c in CATEGORIES
        if any(s.category is c for s in samples)
    }
    na_by_category = Counter(s.category.value for s in samples if s.status == "not_applicable" and s.category)
    statuses = Counter(s.status for s in samples)

    return Scores(
        macro_f1=_macro_f1(gold, pred, LABELS) if len(designated) else None,
        proactive_f1=groups[Group.proactive.value].macro_f1,
        reactive_f1=groups[Group.reactive.value].macro_f1,
        restraint_f1=groups[Group.restraint.value].macro_f1,
        false_alarm_rate=_mean([is_false_alarm(s) for s in ambient]),
        content_accuracy=_mean(
            [s.content_pass for s in designated if s.correct and s.content_pass is not None]
        ),
        joint_success=_mean([s.correct and bool(s.content_pass) for s in _content_checked(designated)]),
        accuracy=_mean([s.correct for s in designated]),
        ci=_bootstrap(scored, n_bootstrap, seed),
        per_class=per_class,
        groups=groups,
        categories=categories,
        confusion=Confusion(
            rows=LABELS,
            columns=PREDICTION_LABELS,
            counts=confusion_matrix(gold, pred, labels=PREDICTION_LABELS)[: len(LABELS)].tolist()
            if len(designated)
            else [[0] * len(PREDICTION_LABELS) for _ in LABELS],
        ),
        counts=Counts(
            cases=len({s.case_id for s in samples}),
            samples=len(samples),
            designated=sum(s.designated for s in samples),
            ambient=sum(not s.designated for s in samples),
            ok=statuses["ok"],
            invalid=statuses["invalid"],
            errored=statuses["errored"],
            not_applicable=statuses["not_applicable"],
            content_checked=len(_content_checked(designated)),
        ),
        not_applicable_by_category=dict(sorted(na_by_category.items())),
        judge_agreement=_judge_agreement(designated),
        proactive_auc=_finite(proactive_auc(designated)),
        n_bootstrap=n_bootstrap,
        bootstrap_seed=seed,
    )


def _prediction(sample: Sample) -> str:
    if sample.status == "ok" and sample.predicted is not None:
        return sample.predicted.value
    return INVALID


def is_false_alarm(sample: Sample) -> bool:
    return _prediction(sample) != "silent"


def proactive_auc(samples: Sequence[Sample]) -> float:
    """How well the proactive probability ranks each problem above its minimal-pair control (ROC AUC
    over the proactive group's designated slots); nan without both kinds or without probabilities.

    Unlike recall at bias 0 it does not depend on where the decision threshold sits, so it shows
    whether a model tells a problem from its control even when it never (or always) speaks up.
    """
    pairs = [s for s in samples if s.group is Group.proactive and s.probabilities]
    labels = [s.gold_behavior is Behavior.proactive for s in pairs]
    if len(set(labels)) < 2:
        return float("nan")
    return float(roc_auc_score(labels, [s.probabilities[Behavior.proactive] for s in pairs]))


def _content_checked(samples: list[Sample]) -> list[Sample]:
    """Designated samples whose content was checked: those with a target, when responses were generated."""
    return [s for s in samples if s.content_pass is not None]


def _finite(value: float) -> float | None:
    return None if np.isnan(value) else value


def _mean(values: list[bool]) -> float | None:
    return float(np.mean(values)) if values else None


def _macro_f1(gold: np.ndarray, pred: np.ndarray, labels: list[str]) -> float:
    _, _, f1, _ = precision_recall_fscore_support(gold, pred, labels=labels, average=None, zero_division=0)
    return float(np.mean(f1))


def _per_class(gold: np.ndarray, pred: np.ndarray, labels: list[str]) -> dict[str, ClassScores]:
    if not len(gold):
        return {}
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, pred, labels=labels, average=None, zero_division=0
    )
    return {
        label: ClassScores(precision=float(p), recall=float(r), f1=float(f), support=int(n))
        for label, p, r, f, n in zip(labels, precision, recall, f1, support, strict=True)
    }


def _subset(designated: list[Sample], keep, all_samples: Sequence[Sample]) -> SubsetScores:
    chosen = [s for s in designated if keep(s)]
    gold = np.array([s.gold_behavior.value for s in chosen], dtype=object)
    pred = np.array([_prediction(s) for s in chosen], dtype=object)
    labels = [label for label in LABELS if label in set(gold)]
    return SubsetScores(
        samples=len(chosen),
        labels=labels,
        macro_f1=_macro_f1(gold, pred, labels) if chosen else None,
        accuracy=_mean([s.correct for s in chosen]),
        per_class=_per_class(gold, pred, labels),
        not_applicable=sum(1 for s in all_samples if s.status == "not_applicable" and keep(s)),
    )


def _judge_agreement(designated: list[Sample]) -> JudgeAgreement | None:
    judged = [s for s in designated if s.judged_gold is not None]
    if not judged:
        return None
    gold = [s.gold_behavior.value for s in judged]
    label = [s.judged_gold.value for s in judged]
    kappa = cohen_kappa_score(gold, label, labels=LABELS) if len(set(gold) | set(label)) > 1 else 1.0
    return JudgeAgreement(
        samples=len(judged),
        accuracy=float(np.mean([g == j for g, j in zip(gold, label, strict=True)])),
        cohen_kappa=float(kappa),
    )


# --- bootstrap over cases -------------------------------------------------------------------------
#
# Resampling whole cases with replacement is the same as weighting every sample by how often its
# case was drawn, so each replicate's behavior F1 comes from a weighted confusion matrix. Computing
# those for all replicates at once (one matrix product) keeps 1,000 replicates well under a second;
# a test checks the weighted F1 against scikit-learn's `sample_weight`.


def _bootstrap(scored: list[Sample], n_bootstrap: int, seed: int) -> dict[str, Interval]:
    if n_bootstrap <= 0 or not scored:
        return {}
    case_ids = sorted({s.case_id for s in scored})
    case_index = {case_id: i for i, case_id in enumerate(case_ids)}
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(case_ids), size=(n_bootstrap, len(case_ids)))
    weights = np.stack([np.bincount(row, minlength=len(case_ids)) for row in draws]).astype(float)

    replicates: dict[str, np.ndarray] = {}
    designated = [s for s in scored if s.designated]
    subsets = {
        "macro_f1": (designated, LABELS),
        **{
            f"{g.value}_f1": (
                chosen := [s for s in designated if s.group is g],
                [label for label in LABELS if any(s.gold_behavior.value == label for s in chosen)],
            )
            for g in Group
        },
    }
    for key, (chosen, labels) in subsets.items():
        if chosen:
            counts = per_case_confusion(chosen, case_index, len(case_ids))
            replicates[key] = weighted_macro_f1(weights @ counts, labels)
    ambient = [s for s in scored if not s.designated]
    if ambient:
        replicates["false_alarm_rate"] = weighted_rate(
            ambient, [is_false_alarm(s) for s in ambient], weights, case_index
        )
    content = [s for s in designated if s.correct and s.content_pass is not None]
    if content:
        replicates["content_accuracy"] = weighted_rate(
            content, [bool(s.content_pass) for s in content], weights, case_index
        )

    alpha = (1 - CONFIDENCE) / 2
    intervals = {}
    for key, values in replicates.items():
        finite = values[~np.isnan(values)]
        if len(finite):
            low, high = np.quantile(finite, [alpha, 1 - alpha])
            intervals[key] = Interval(low=float(low), high=float(high))
    return intervals


def per_case_confusion(samples: list[Sample], case_index: dict[str, int], n_cases: int) -> np.ndarray:
    """Per-case confusion counts, shape (cases, 3 * 4) flattened as gold-major."""
    counts = np.zeros((n_cases, len(LABELS) * len(PREDICTION_LABELS)))
    for s in samples:
        cell = LABELS.index(s.gold_behavior.value) * len(PREDICTION_LABELS) + PREDICTION_LABELS.index(
            _prediction(s)
        )
        counts[case_index[s.case_id], cell] += 1
    return counts


def weighted_macro_f1(flat_confusions: np.ndarray, labels: list[str]) -> np.ndarray:
    """Macro-F1 over `labels` of each row of flattened (gold x prediction) confusion counts.

    F1 = 2TP / (2TP + FP + FN), 0 where a class has neither gold nor predictions (sklearn's
    zero_division=0). A row with no samples at all is NaN: a bootstrap replicate that drew no
    slot of a small group says nothing about it and must not pull its interval down to 0.
    """
    matrices = flat_confusions.reshape(-1, len(LABELS), len(PREDICTION_LABELS))
    empty = matrices.sum(axis=(1, 2)) == 0
    scores = []
    for label in labels:
        i = LABELS.index(label)
        tp = matrices[:, i, i]
        fn = matrices[:, i, :].sum(axis=1) - tp
        fp = matrices[:, :, i].sum(axis=1) - tp
        denominator = 2 * tp + fp + fn
        scores.append(np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0))
    return np.where(empty, np.nan, np.mean(scores, axis=0))


def weighted_rate(
    samples: list[Sample], hits: list[bool], weights: np.ndarray, case_index: dict[str, int]
) -> np.ndarray:
    """Share of hits in each replicate; NaN where a replicate drew no such sample."""
    n_cases = weights.shape[1]
    per_case_hits = np.zeros(n_cases)
    per_case_total = np.zeros(n_cases)
    for s, hit in zip(samples, hits, strict=True):
        per_case_total[case_index[s.case_id]] += 1
        per_case_hits[case_index[s.case_id]] += hit
    total = weights @ per_case_total
    return np.divide(weights @ per_case_hits, total, out=np.full(len(total), np.nan), where=total > 0)
