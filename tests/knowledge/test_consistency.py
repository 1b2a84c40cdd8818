"""The packaged knowledge base is internally consistent, and each kind of inconsistency is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.knowledge import (
    ECG_RHYTHMS,
    PATIENT_STATES,
    KnowledgeBase,
    find_inconsistencies,
    load_knowledge_base,
)

REQUIRED_RHYTHMS = {
    "atrial_fibrillation",
    "atrial_flutter",
    "complete_heart_block",
    "ventricular_tachycardia",
    "sinus_bradycardia",
    "sinus_tachycardia",
}


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def test_sizes(kb: KnowledgeBase) -> None:
    assert len(kb.conditions) >= 45
    assert len(kb.analytes) >= 45
    assert len(kb.drugs) >= 65
    assert len(kb.prechecks) >= 12
    assert sum(any(rule.per_kg for rule in drug.doses) for drug in kb.drugs.values()) >= 12
    assert sum(any(rule.renal for rule in drug.doses) for drug in kb.drugs.values()) >= 12
    assert len({condition.system for condition in kb.conditions.values()}) >= 10


def test_no_inconsistencies_are_found(kb: KnowledgeBase) -> None:
    assert find_inconsistencies(kb) == []


def test_every_referenced_id_exists(kb: KnowledgeBase) -> None:
    for condition in kb.conditions.values():
        assert {finding.analyte for finding in condition.labs} <= kb.analytes.keys(), condition.id
        assert set(condition.differential) <= kb.conditions.keys(), condition.id
        assert set(condition.first_line_drugs) <= kb.drugs.keys(), condition.id
    for drug in kb.drugs.values():
        assert {interaction.drug for interaction in drug.interactions} <= kb.drugs.keys(), drug.id
        assert set(drug.required_checks) <= kb.prechecks.keys(), drug.id
        for contraindication in drug.contraindications:
            assert contraindication.condition in kb.conditions.keys() | PATIENT_STATES, drug.id
    for precheck in kb.prechecks.values():
        assert set(precheck.analytes) <= kb.analytes.keys(), precheck.id
        assert set(precheck.applies_to) <= kb.drugs.keys() | kb.procedures.keys(), precheck.id


def test_differentials_name_two_to_four_other_conditions(kb: KnowledgeBase) -> None:
    for condition in kb.conditions.values():
        assert condition.id not in condition.differential
        assert 2 <= len(condition.differential) <= 4, condition.id
        assert len(set(condition.differential)) == len(condition.differential), condition.id


def test_lab_bands_lie_outside_the_reference_range_on_the_stated_side(kb: KnowledgeBase) -> None:
    for condition in kb.conditions.values():
        assert condition.labs, f"{condition.id} has no lab finding"
        for finding in condition.labs:
            analyte = kb.analytes[finding.analyte]
            assert finding.typical_low <= finding.typical_high
            if finding.direction == "high":
                assert finding.typical_low > analyte.high, (condition.id, finding.analyte)
            else:
                assert finding.typical_high < analyte.low, (condition.id, finding.analyte)


def test_chronic_conditions_carry_a_stable_abnormal_lab(kb: KnowledgeBase) -> None:
    chronic = [condition for condition in kb.conditions.values() if condition.chronic]
    assert len(chronic) >= 8
    assert all(condition.labs for condition in chronic)


def test_interactions_are_listed_on_both_drugs_with_the_same_severity(kb: KnowledgeBase) -> None:
    pairs = {
        (drug.id, interaction.drug): interaction.severity
        for drug in kb.drugs.values()
        for interaction in drug.interactions
    }
    assert len(pairs) >= 40
    for (first, second), severity in pairs.items():
        assert pairs.get((second, first)) == severity, (first, second)


def test_headline_interactions_are_present(kb: KnowledgeBase) -> None:
    def interacts(first: str, second: str) -> bool:
        return second in {interaction.drug for interaction in kb.drugs[first].interactions}

    for pair in [
        ("warfarin", "tmp_smx"),
        ("warfarin", "amiodarone"),
        ("linezolid", "sertraline"),
        ("sildenafil", "nitroglycerin"),
        ("clarithromycin", "simvastatin"),
        ("spironolactone", "lisinopril"),
        ("methotrexate", "tmp_smx"),
        ("amiodarone", "levofloxacin"),
    ]:
        assert interacts(*pair), pair


def test_units_are_known(kb: KnowledgeBase) -> None:
    for analyte in kb.analytes.values():
        assert analyte.unit in kb.units, analyte.id
    for drug in kb.drugs.values():
        for rule in drug.doses:
            assert rule.unit in kb.units, drug.id


def test_rhythms_are_the_seven_known_ones_and_all_arrhythmias_are_covered(kb: KnowledgeBase) -> None:
    used = {condition.ecg_rhythm for condition in kb.conditions.values()} - {None}
    assert used <= ECG_RHYTHMS
    assert used >= REQUIRED_RHYTHMS


ECG_ONLY_WITH_RISK_FACTORS = {"ondansetron"}
"""QT-prolonging drugs whose label asks for ECG monitoring only with risk factors (electrolyte
abnormalities, heart failure, bradyarrhythmias, other QT drugs), not before every first dose."""


def test_safety_flags_have_their_checks(kb: KnowledgeBase) -> None:
    for drug in kb.drugs.values():
        if drug.qt_prolonging and drug.id not in ECG_ONLY_WITH_RISK_FACTORS:
            assert "qtc_before_qt_drug" in drug.required_checks, drug.id
        if drug.teratogenic:
            assert "pregnancy" in {item.condition for item in drug.contraindications}, drug.id
        for rule in drug.doses:
            if (rule.per_kg or rule.per_m2) and rule.max_dose is not None:
                assert rule.max_dose > rule.amount, drug.id
            for tier in rule.renal:
                changes = (tier.amount, tier.factor, tier.frequency) != (None, None, None)
                assert tier.avoid != changes, drug.id


def test_synonyms_and_aliases_do_not_point_at_two_entries(kb: KnowledgeBase) -> None:
    owners: dict[str, str] = {}
    for analyte in kb.analytes.values():
        for alias in [analyte.name, *analyte.aliases]:
            assert owners.setdefault(alias.lower(), analyte.id) == analyte.id, alias


def _expect(directory: Path, *fragments: str) -> None:
    with pytest.raises(BehaviorBenchError) as raised:
        load_knowledge_base(directory)
    message = str(raised.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def _set(key: str, value: Any):
    return lambda entry: entry.update({key: value})


@pytest.mark.parametrize(
    ("file", "entry", "change", "fragments"),
    [
        (
            "conditions.yaml",
            "dka",
            lambda c: c["labs"].append(
                {"analyte": "serum_unobtainium", "direction": "high", "typical_low": 1, "typical_high": 2}
            ),
            ["entry 'dka'", "labs[5]", "unknown analyte 'serum_unobtainium'"],
        ),
        (
            "conditions.yaml",
            "dka",
            _set("differential", ["hhs", "dka"]),
            ["entry 'dka'", "its own differential"],
        ),
        (
            "conditions.yaml",
            "sepsis",
            _set("differential", ["hhs", "pellagra"]),
            ["unknown condition 'pellagra'"],
        ),
        ("conditions.yaml", "sepsis", _set("first_line_drugs", ["unobtainium"]), ["first_line_drugs"]),
        (
            "conditions.yaml",
            "hyperkalemia",
            _set(
                "labs",
                [{"analyte": "potassium", "direction": "high", "typical_low": 4.5, "typical_high": 6.0}],
            ),
            ["entry 'hyperkalemia'", "labs[0]", "above the reference high 5"],
        ),
        (
            "conditions.yaml",
            "hypokalemia",
            _set(
                "labs",
                [{"analyte": "potassium", "direction": "low", "typical_low": 3.0, "typical_high": 3.6}],
            ),
            ["entry 'hypokalemia'", "below the reference low 3.5"],
        ),
        (
            "conditions.yaml",
            "stemi",
            _set("ecg_rhythm", "torsades"),
            ["entry 'stemi'", "unknown rhythm 'torsades'"],
        ),
        (
            "drugs.yaml",
            "warfarin",
            lambda d: d["interactions"].pop(0),
            ["drugs.yaml: entry 'tmp_smx'", "warfarin does not list tmp_smx back"],
        ),
        ("drugs.yaml", "aspirin", _set("required_checks", ["horoscope"]), ["unknown precheck 'horoscope'"]),
        (
            "drugs.yaml",
            "aspirin",
            _set("contraindications", [{"condition": "mercury_retrograde", "reason": "x"}]),
            ["unknown condition or patient state 'mercury_retrograde'"],
        ),
        (
            "drugs.yaml",
            "metformin",
            _set("required_checks", []),
            ["prechecks.yaml: entry 'renal_before_metformin'"],
        ),
        (
            "prechecks.yaml",
            "renal_before_contrast",
            _set("applies_to", ["ct_pet_hybrid"]),
            ["unknown drug or procedure"],
        ),
        ("prechecks.yaml", "pregnancy_test", _set("analytes", ["urine_hcg_strip"]), ["unknown analyte"]),
        (
            "analytes.yaml",
            "sodium",
            _set("unit", "mEq/dL"),
            ["analytes.yaml: entry 'sodium'", "unknown unit 'mEq/dL'"],
        ),
        (
            "analytes.yaml",
            "sodium",
            _set("low", 150),
            ["analytes.yaml: entry 'sodium'", "low must be below high"],
        ),
        ("analytes.yaml", "potassium", _set("critical_high", 4.8), ["entry 'potassium'", "critical_high"]),
        (
            "analytes.yaml",
            "inr",
            _set("targets", {"warfarine": [2.0, 3.0]}),
            ["analytes.yaml: entry 'inr'", "targets", "unknown drug 'warfarine'"],
        ),
        (
            "analytes.yaml",
            "inr",
            _set("targets", {"warfarin": [3.0, 2.0]}),
            ["entry 'inr'", "low above high"],
        ),
        (
            "clips.yaml",
            "levo",
            _set("drugs", ["levofloxacin", "levetiracetamol"]),
            ["clips.yaml: entry 'levo'", "drugs", "unknown drug 'levetiracetamol'"],
        ),
    ],
)
def test_each_kind_of_inconsistency_is_refused_naming_file_entry_and_field(
    data_copy: Path, edit_entry, file: str, entry: str, change, fragments: list[str]
) -> None:
    edit_entry(file, entry, change)
    _expect(data_copy, *fragments)


def test_interacts_reads_either_drug_and_can_leave_moderate_ones_out(kb: KnowledgeBase) -> None:
    assert kb.interacts("simvastatin", ["lisinopril", "clarithromycin"])  # major
    assert not kb.interacts("clarithromycin", ["warfarin"])  # moderate: only when asked for
    assert kb.interacts("warfarin", ["clarithromycin"], major_only=False)
    assert not kb.interacts("lisinopril", ["clarithromycin"], major_only=False)
