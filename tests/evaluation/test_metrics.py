"""Metrics against hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from behaviorbench.evaluation.metrics import (
    INVALID,
    LABELS,
    PREDICTION_LABELS,
    Scores,
    proactive_auc,
    score_samples,
    weighted_macro_f1,
)
from behaviorbench.evaluation.records import Sample
from behaviorbench.taxonomy import GROUP_OF, Behavior, Category

R, P, S = Behavior.reactive, Behavior.proactive, Behavior.silent


def sample(
    case: str,
    slot: int,
    gold: Behavior,
    predicted: Behavior | None,
    category: Category | None = None,
    status: str | None = None,
    content: bool | None = None,
    judged_gold: Behavior | None = None,
) -> Sample:
    if category is None and gold is not S:
        raise ValueError("ambient slots are silent")
    return Sample(
        case_id=case,
        slot=slot,
        split="test",
        category=category,
        group=GROUP_OF[category] if category else None,
        task_id=f"{case}-t{slot}" if category else None,
        control_of=None,
        gold_behavior=gold,
        predicted=predicted,
        status=status or ("ok" if predicted is not None else "invalid"),
        prompt_hash="0" * 64,
        content_pass=content,
        judged_gold=judged_gold,
    )


def designated(golds: list[Behavior], preds: list[Behavior | None], category=Category.error_correction):
    return [sample(f"c{i}", 1, g, p, category) for i, (g, p) in enumerate(zip(golds, preds, strict=True))]


def test_all_one_class_predictions():
    scores = score_samples(designated([R, P, S, S], [S, S, S, S]), n_bootstrap=0)
    assert scores.per_class["reactive"].f1 == 0
    assert scores.per_class["proactive"].f1 == 0
    assert scores.per_class["silent"].precision == pytest.approx(0.5)
    assert scores.per_class["silent"].recall == 1
    assert scores.per_class["silent"].f1 == pytest.approx(2 / 3)
    assert scores.macro_f1 == pytest.approx(2 / 9)
    assert scores.accuracy == pytest.approx(0.5)


def test_invalid_and_errored_predictions_are_misses_for_their_gold_class():
    samples = designated([R, R, P, S, P], [R, None, P, S, None])
    samples[4] = samples[4].model_copy(update={"status": "errored", "error": "HTTP 500"})
    scores = score_samples(samples, n_bootstrap=0)
    # reactive: P=1, R=1/2 -> 2/3; proactive: P=1, R=1/2 -> 2/3; silent: 1.
    assert scores.macro_f1 == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert scores.counts.invalid == 1
    assert scores.counts.errored == 1
    assert scores.confusion.columns == PREDICTION_LABELS
    assert scores.confusion.counts == [[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 0]]


def test_confusion_matrix_rows_are_gold_columns_are_predictions():
    scores = score_samples(designated([R, R, P, P, P, S], [P, R, S, P, P, R]), n_bootstrap=0)
    assert scores.confusion.rows == LABELS
    assert scores.confusion.counts == [[1, 1, 0, 0], [0, 2, 1, 0], [1, 0, 0, 0]]


def test_category_with_a_single_gold_class_averages_only_that_class():
    samples = designated([R, R], [R, S], category=Category.ddx_reasoning)
    samples += designated([P, S], [P, S], category=Category.safety_alert)
    scores = score_samples(samples, n_bootstrap=0)
    ddx = scores.categories["ddx_reasoning"]
    assert ddx.labels == ["reactive"]
    assert ddx.macro_f1 == pytest.approx(2 / 3)  # precision 1, recall 1/2
    assert scores.reactive_f1 == pytest.approx(2 / 3)
    assert scores.categories["safety_alert"].labels == ["proactive", "silent"]
    assert scores.proactive_f1 == 1
    assert scores.restraint_f1 is None
    assert "non_actionable" not in scores.categories


def test_false_alarm_rate_counts_every_non_silent_ambient_slot():
    samples = designated([P], [P])
    samples += [sample("a", i, S, p) for i, p in enumerate([S, P, R, None, S])]
    samples.append(sample("a", 9, S, None, status="not_applicable"))
    scores = score_samples(samples, n_bootstrap=0)
    assert scores.false_alarm_rate == pytest.approx(3 / 5)
    assert scores.counts.ambient == 6
    assert scores.counts.not_applicable == 1


def test_not_applicable_slots_are_counted_per_category_and_left_out_of_scores():
    samples = designated([R, R], [R, R], category=Category.ddx_reasoning)
    samples.append(sample("img", 2, R, None, Category.image_reasoning, status="not_applicable"))
    scores = score_samples(samples, n_bootstrap=0)
    assert scores.macro_f1 == pytest.approx(1 / 3)  # only reactive has gold; others score 0
    assert scores.reactive_f1 == 1
    assert scores.not_applicable_by_category == {"image_reasoning": 1}
    assert scores.categories["image_reasoning"].samples == 0
    assert scores.categories["image_reasoning"].not_applicable == 1
    assert scores.groups["reactive"].not_applicable == 1


def test_content_accuracy_and_joint_success():
    samples = [
        sample("c0", 1, R, R, Category.ddx_reasoning, content=True),
        sample("c1", 1, R, R, Category.ddx_reasoning, content=False),
        sample("c2", 1, R, S, Category.ddx_reasoning, content=False),
        sample("c3", 1, P, P, Category.safety_alert, content=True),
        sample("c4", 1, S, S, Category.non_actionable),
    ]
    scores = score_samples(samples, n_bootstrap=0)
    assert scores.content_accuracy == pytest.approx(2 / 3)
    assert scores.joint_success == pytest.approx(2 / 4)
    assert scores.counts.content_checked == 4


def test_without_content_checks_content_scores_are_none():
    scores = score_samples(designated([R, P], [R, P]), n_bootstrap=0)
    assert scores.content_accuracy is None
    assert scores.joint_success is None


def _varied_run(n_cases: int = 40) -> list[Sample]:
    rng = np.random.default_rng(3)

    def choose(options: list[Behavior]) -> Behavior:
        return options[rng.integers(len(options))]

    samples = []
    for c in range(n_cases):
        for slot, category in enumerate([Category.safety_alert, Category.ddx_reasoning, None]):
            gold = S if category is None else (R if category is Category.ddx_reasoning else choose([P, S]))
            predicted = choose([R, P, S, S])
            samples.append(sample(f"c{c}", slot, gold, predicted, category, content=bool(rng.random() < 0.7)))
    return samples


def test_bootstrap_intervals_contain_the_estimate_and_are_deterministic_per_seed():
    samples = _varied_run()
    first = score_samples(samples, n_bootstrap=300, seed=5)
    again = score_samples(samples, n_bootstrap=300, seed=5)
    other = score_samples(samples, n_bootstrap=300, seed=6)
    assert first.ci == again.ci
    assert first.ci != other.ci
    for key in ("macro_f1", "proactive_f1", "reactive_f1", "false_alarm_rate", "content_accuracy"):
        interval = first.ci[key]
        assert interval.low <= getattr(first, key) <= interval.high, key
        assert interval.low < interval.high, key
    assert "restraint_f1" not in first.ci


def test_a_small_group_interval_ignores_replicates_that_drew_none_of_it():
    # One case of 20 holds the only restraint slot, answered right: replicates that miss that
    # case say nothing about restraint, so the interval stays at 100 instead of reaching 0.
    samples = _varied_run(19) + [sample("c99", 0, S, S, Category.already_addressed)]
    scores = score_samples(samples, n_bootstrap=300, seed=1)
    assert scores.restraint_f1 == 1.0
    assert scores.ci["restraint_f1"].low == scores.ci["restraint_f1"].high == 1.0


def test_weighted_macro_f1_matches_sklearn_with_sample_weights():
    rng = np.random.default_rng(0)
    gold = rng.choice(LABELS, size=200)
    pred = rng.choice(PREDICTION_LABELS, size=200)
    weights = rng.integers(0, 4, size=200)
    flat = np.zeros(len(LABELS) * len(PREDICTION_LABELS))
    for g, p, w in zip(gold, pred, weights, strict=True):
        flat[LABELS.index(g) * len(PREDICTION_LABELS) + PREDICTION_LABELS.index(p)] += w
    expected = f1_score(gold, pred, labels=LABELS, average="macro", sample_weight=weights, zero_division=0)
    assert weighted_macro_f1(flat[None, :], LABELS)[0] == pytest.approx(expected)
    assert INVALID not in LABELS


def test_judge_agreement_from_judged_gold_labels():
    samples = [
        sample("c0", 1, R, R, Category.ddx_reasoning, judged_gold=R),
        sample("c1", 1, P, P, Category.safety_alert, judged_gold=R),
        sample("c2", 1, P, P, Category.safety_alert, judged_gold=P),
        sample("c3", 1, S, S, Category.non_actionable, judged_gold=S),
    ]
    agreement = score_samples(samples, n_bootstrap=0).judge_agreement
    assert agreement is not None
    assert agreement.samples == 4
    assert agreement.accuracy == pytest.approx(3 / 4)
    assert 0 < agreement.cohen_kappa < 1
    assert score_samples(designated([R], [R]), n_bootstrap=0).judge_agreement is None


def test_scores_round_trip_through_json():
    scores = score_samples(_varied_run(10), n_bootstrap=50)
    assert Scores.model_validate_json(scores.model_dump_json()) == scores


def _with_proactive_probability(s: Sample, p: float) -> Sample:
    return s.model_copy(update={"probabilities": {P: p, R: 0.0, S: 1 - p}})


def test_proactive_auc_ranks_problems_against_their_controls_regardless_of_threshold():
    golds = [P, S, P, S]
    never_flags = designated(golds, [S, S, S, S])
    # Every proactive probability is below 0.5 (the model never speaks up) but problems rank higher.
    ranked = [
        _with_proactive_probability(s, p) for s, p in zip(never_flags, [0.4, 0.1, 0.3, 0.2], strict=True)
    ]
    assert score_samples(ranked, n_bootstrap=0).per_class["proactive"].recall == 0.0
    assert proactive_auc(ranked) == 1.0 == score_samples(ranked, n_bootstrap=0).proactive_auc
    swapped = [
        _with_proactive_probability(s, p) for s, p in zip(never_flags, [0.1, 0.4, 0.2, 0.3], strict=True)
    ]
    assert proactive_auc(swapped) == 0.0
    # A reactive-group slot, or one without probabilities, does not enter the ranking.
    reactive = _with_proactive_probability(sample("r", 1, R, R, Category.lab_interpretation), 0.9)
    assert proactive_auc([*ranked, reactive, never_flags[0]]) == 1.0
    assert np.isnan(proactive_auc(ranked[:1])) and np.isnan(proactive_auc(never_flags))
    assert score_samples(never_flags, n_bootstrap=0).proactive_auc is None
