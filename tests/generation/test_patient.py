"""The simulated patient's values agree with each other."""

import random
from collections import Counter

from behaviorbench.generation.patient import WEIGHT_RANGE, body_size, weight_share
from behaviorbench.schema import TableAttachment


def test_hematocrit_is_about_three_times_hemoglobin_in_every_table(sample_cases):
    pairs = 0
    for case in sample_cases:
        for utterance in case.utterances:
            for table in utterance.attachments:
                if not isinstance(table, TableAttachment):
                    continue
                values = {row[0]: float(row[1]) for row in table.rows}
                if "Hemoglobin" in values and "Hematocrit" in values:
                    pairs += 1
                    ratio = values["Hematocrit"] / values["Hemoglobin"]
                    assert 2.75 <= ratio <= 3.25, (case.case_id, values["Hemoglobin"], values["Hematocrit"])
    assert pairs > 50


def test_weight_share_is_how_often_body_size_draws_each_weight():
    """The weight error keeps a number as often as patients of the other kind say it, by
    `weight_share`: that must be how often weights are drawn, else numbers lean to one kind."""
    for female in (False, True):
        rng = random.Random(3)
        drawn = Counter(body_size(rng, female)[0] for _ in range(40_000))
        assert WEIGHT_RANGE[0] <= min(drawn) and max(drawn) <= WEIGHT_RANGE[1]
        shares = {w: weight_share(w, female) for w in range(WEIGHT_RANGE[0], WEIGHT_RANGE[1] + 1)}
        total = sum(shares.values())
        for low, high in ((40, 60), (60, 80), (80, 100), (100, 120), (120, 150)):
            expected = sum(shares[w] for w in range(low, high)) / total
            seen = sum(drawn[w] for w in range(low, high)) / 40_000
            assert abs(seen - expected) < 0.01, (female, low, high, seen, expected)
