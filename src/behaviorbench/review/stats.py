"""Statistics of a pairwise study: proportions with Wilson intervals, Bradley–Terry strengths,
mean ratings with t intervals, and inter-rater agreement. Library routines do the arithmetic.

Agreement functions take long-format records `(unit, rater, value)` because that is how a study's
answers come out of the database: not every rater sees every unit.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from itertools import combinations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

Record = tuple[Hashable, Hashable, Hashable]
"""(unit, rater, value)"""

STRENGTH_RIDGE = 1e-6
"""A very weak Gaussian prior on log-strengths: a system that wins (or loses) every comparison has no
finite maximum-likelihood strength, and this keeps it finite (about ±6 per side) while moving
well-determined fits by less than 1e-5."""


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion; (nan, nan) when there are no trials."""
    if n == 0:
        return (math.nan, math.nan)
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    return (float(low), float(high))


def bradley_terry(wins: np.ndarray) -> np.ndarray:
    """Log-strengths θ (mean zero) maximising Σ_ij wins[i, j] · log σ(θ_i − θ_j).

    `wins[i, j]` counts how often i beat j; callers add half of each tie to both cells, which is
    the usual way to keep ties in the Bradley–Terry likelihood without a separate tie parameter.
    """
    wins = np.asarray(wins, dtype=float)
    count = wins.shape[0]
    played = wins + wins.T

    def full(free: np.ndarray) -> np.ndarray:
        return np.concatenate([[0.0], free])

    def loss(free: np.ndarray) -> tuple[float, np.ndarray]:
        theta = full(free)
        diff = theta[:, None] - theta[None, :]
        value = -np.sum(wins * (diff - np.logaddexp(0.0, diff))) + STRENGTH_RIDGE * np.sum(theta**2)
        p_loss = expit(-diff)
        gradient = np.sum(wins * p_loss, axis=0) - np.sum(wins * p_loss, axis=1) + 2 * STRENGTH_RIDGE * theta
        return float(value), gradient[1:]

    def hessian(free: np.ndarray) -> np.ndarray:
        theta = full(free)
        p = expit(theta[:, None] - theta[None, :])
        weight = played * p * (1 - p)
        matrix = np.diag(weight.sum(axis=1)) - weight + 2 * STRENGTH_RIDGE * np.eye(count)
        return matrix[1:, 1:]

    result = minimize(
        loss, np.zeros(count - 1), jac=True, hess=hessian, method="Newton-CG", options={"xtol": 1e-12}
    )
    theta = full(result.x)
    return theta - theta.mean()


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean with a Student-t interval; the interval is nan below two values."""
    if len(values) == 0:
        return (math.nan, math.nan, math.nan)
    data = np.asarray(values, dtype=float)
    if len(data) < 2:
        return (float(data.mean()), math.nan, math.nan)
    from statsmodels.stats.weightstats import DescrStatsW

    low, high = DescrStatsW(data).tconfint_mean(alpha=1 - confidence)
    return (float(data.mean()), float(low), float(high))


def krippendorff_alpha(records: Sequence[Record], level: str = "nominal") -> float:
    """Krippendorff's alpha over units rated by any subset of raters; nan when undefined."""
    import krippendorff

    raters = sorted({rater for _, rater, _ in records}, key=str)
    units = sorted({unit for unit, _, _ in records}, key=str)
    if level == "nominal":
        codes = {value: index for index, value in enumerate(sorted({v for _, _, v in records}, key=str))}
    else:
        codes = {v: float(v) for _, _, v in records}
    matrix = np.full((len(raters), len(units)), np.nan)
    rater_index = {rater: i for i, rater in enumerate(raters)}
    unit_index = {unit: i for i, unit in enumerate(units)}
    for unit, rater, value in records:
        matrix[rater_index[rater], unit_index[unit]] = codes[value]
    pairable = np.sum(np.sum(~np.isnan(matrix), axis=0) >= 2)
    if pairable == 0 or len(codes) < 2:
        return math.nan
    return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement=level))


def fleiss_kappa(records: Sequence[Record]) -> tuple[float, int]:
    """Fleiss' kappa over the units rated by the most common number (≥ 2) of raters, and that count."""
    from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

    by_unit: dict[Hashable, list[Hashable]] = defaultdict(list)
    for unit, _, value in records:
        by_unit[unit].append(value)
    sizes = Counter(len(values) for values in by_unit.values() if len(values) >= 2)
    if not sizes:
        return (math.nan, 0)
    size = max(sizes, key=lambda s: (sizes[s], s))
    categories = sorted({value for _, _, value in records}, key=str)
    table = np.array(
        [[values.count(c) for c in categories] for values in by_unit.values() if len(values) == size]
    )
    if len(categories) < 2:
        return (math.nan, len(table))
    return (float(statsmodels_fleiss(table, method="fleiss")), len(table))


def pairwise_cohen_kappa(records: Sequence[Record], min_shared: int = 2) -> list[dict]:
    """Cohen's kappa of every pair of raters over the units both rated (at least `min_shared`)."""
    from sklearn.metrics import cohen_kappa_score

    by_rater: dict[Hashable, dict[Hashable, Hashable]] = defaultdict(dict)
    for unit, rater, value in records:
        by_rater[rater][unit] = value
    labels = sorted({value for _, _, value in records}, key=str)
    pairs = []
    for first, second in combinations(sorted(by_rater, key=str), 2):
        shared = sorted(by_rater[first].keys() & by_rater[second].keys(), key=str)
        if len(shared) < min_shared:
            continue
        a = [by_rater[first][unit] for unit in shared]
        b = [by_rater[second][unit] for unit in shared]
        with np.errstate(divide="ignore", invalid="ignore"):
            kappa = float(cohen_kappa_score(a, b, labels=labels)) if len(set(a) | set(b)) > 1 else math.nan
        pairs.append({"rater_1": first, "rater_2": second, "shared": len(shared), "kappa": kappa})
    return pairs
