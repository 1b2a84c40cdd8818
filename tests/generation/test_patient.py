"""The simulated patient's values agree with each other."""

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
