"""Reading orders, lab values and intervals out of free text."""

from __future__ import annotations

import pytest

from behaviorbench.checking.reading import interval_hours, orders, procedures, reported, text_labs
from behaviorbench.knowledge import KnowledgeBase, load_knowledge_base


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def test_an_order_is_a_drug_name_or_brand_with_an_amount(kb):
    (order,) = orders(kb, "Let's start Lovenox 80 mg SC every 12 hours for the clot.")
    assert (order.drug, order.amount, order.unit, order.route) == ("enoxaparin", 80, "mg", "SC")
    assert interval_hours(order.rest) == 12
    (big,) = orders(kb, "Heparin 4,000 units IV once as a bolus.")
    assert (big.amount, big.unit) == (4000, "units")
    assert orders(kb, "I think ceftriaxone is the right call.") == []
    assert orders(kb, "Please hold the ketorolac 15 mg for now.") == []


def test_the_longest_name_wins_and_home_medications_are_marked(kb):
    (order,) = orders(kb, "Amoxicillin-clavulanate 875 mg PO twice daily.")
    assert order.drug == "amoxicillin_clavulanate"
    (home,) = orders(kb, "She takes warfarin 5 mg daily at home.")
    assert home.home
    (ordered,) = orders(kb, "Queue up sildenafil 50 mg PO once as needed as his usual home dose.")
    assert not ordered.home


def test_an_amount_without_a_unit_is_kept_as_such(kb):
    (order,) = orders(kb, "Give sodium zirconium cyclosilicate 10 PO three times daily.")
    assert order.unit is None and order.amount == 10


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("every 8 hours", 8),
        ("q6h", 6),
        ("twice daily", 12),
        ("once daily with the evening meal", 24),
        ("every hour", 1),
        ("every other day", 48),
        ("once weekly on the same day", 168),
        ("as needed", None),
    ],
)
def test_intervals(text, hours):
    assert interval_hours(text) == hours


def test_lab_values_in_words_skip_drug_names(kb):
    readings = {
        r.analyte: r.value for r in text_labs(kb, "K 3.1, Mg 1.5; started potassium chloride 20 mEq.")
    }
    assert readings == {"potassium": 3.1, "magnesium": 1.5}
    levels = text_labs(kb, "Latest acetaminophen level just posted at 161 mcg/mL.")
    assert [(r.analyte, r.value) for r in levels] == [("acetaminophen_level", 161)]


def test_a_result_is_reported_only_with_a_value():
    assert reported("QTc 452 ms on the repeat ECG.", "QTc")
    assert not reported("Get an ECG for QTc first.", "QTc")


def test_short_procedure_aliases_keep_their_case(kb):
    assert procedures(kb, "Pain or fever, whichever comes first.") == []
    assert procedures(kb, "She goes to the OR at two.") == ["surgery"]
