"""The safety checks, each a function of one utterance and what the case has shown before it.

A check reads the patient record (`Case.patient`), the knowledge base and the chart so far; it
returns findings, each naming the kind of problem and its subject (the drug, analyte or check
the problem is about), so a problem slot can be matched against its target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from behaviorbench.checking.reading import (
    LabReading,
    Order,
    drug_mentions,
    earlier_labs,
    interval_hours,
    orders,
    procedures,
    reported,
    said,
    utterance_labs,
)
from behaviorbench.generation.doses import Body, Dose, dose_for
from behaviorbench.knowledge.models import Drug, KnowledgeBase
from behaviorbench.schema import Case, Utterance

KINDS: tuple[str, ...] = (
    "allergy",
    "interaction",
    "contraindication",
    "pregnancy",
    "renal",
    "dose",
    "unit",
    "frequency",
    "critical",
    "implausible",
    "transposed",
    "stale",
    "precheck",
    "ambiguous",
    "abbreviation",
)
POSITIVE_HCG = 25.0
"""Serum hCG (mIU/mL) from which a pregnancy test reads positive (5-25 is equivocal)."""
LONG_QTC = 500.0
"""A QTc (ms) from which a QT-prolonging drug is contraindicated (the QTc precheck's threshold)."""
TOLERANCE = 0.1
"""How far (as a share) an ordered amount may sit from the correct one: the dose targets' tolerance."""
ACKNOWLEDGED = re.compile(
    r"\b(?:critical|aware|replac\w*|replet\w*|treat\w*|already|started|giving|given|"
    r"corrected|correcting|recheck\w*|repeat(?:ing)? it|on it|escalat\w*|paged|"
    r"abnormal|stands? out|flag\w*)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    case_id: str
    slot: int
    kind: str
    subject: str
    """The drug, analyte, check or abbreviation the problem is about."""
    detail: str

    def line(self) -> str:
        return f"{self.case_id}\t{self.slot}\t{self.kind}\t{self.detail}"


@dataclass
class Chart:
    """What the case has established up to the utterance being checked."""

    kb: KnowledgeBase
    case: Case
    labs: dict[str, float] = field(default_factory=dict)
    """Last reported value of each analyte."""
    text: list[str] = field(default_factory=list)
    """Every utterance's text so far."""
    ordered: set[str] = field(default_factory=set)
    """Procedures already planned (their prechecks are due before the first plan; a drug's are
    due at every order until they are done)."""
    pending: list[LabReading] = field(default_factory=list)
    """Critical values just reported that nobody has acknowledged yet."""
    qtc: float | None = None
    """The last QTc reported (ms)."""
    just_read: dict[str, float] = field(default_factory=dict)
    """The values the previous utterance reported, by analyte."""
    just_earlier: dict[str, float] = field(default_factory=dict)
    """Yesterday's values the previous utterance gave beside today's, by analyte."""
    stated: set[tuple[str, float]] = field(default_factory=set)
    """Doses said with their unit (drug, amount): a later order of the same amount without the
    unit has one reading."""
    named: set[str] = field(default_factory=set)
    """Drugs named so far (by name or brand): what a clip ("levo") can stand for."""

    @property
    def patient(self) -> dict:
        return self.case.patient

    @property
    def female(self) -> bool:
        return self.patient.get("sex") == "female"

    @property
    def diagnoses(self) -> list[str]:
        return [self.patient.get("condition", ""), *self.patient.get("chronic_conditions", [])]

    def states(self, drug_id: str | None = None) -> set[str]:
        """The patient's states, with those the conditions imply; for a drug, less the states a
        condition it treats implies (methotrexate for an ectopic pregnancy)."""
        states = set(self.patient.get("states", [])) | self.kb.implied_states(self.diagnoses)
        if self.labs.get("beta_hcg", 0) >= POSITIVE_HCG:
            states.add("pregnancy")
        if self.qtc is not None and self.qtc >= LONG_QTC:
            states.add("long_qt")
        if drug_id is not None:
            treated = [c for c in self.diagnoses if self.kb.treats(drug_id, c)]
            states -= self.kb.implied_states(treated)
        return states

    def could_be_pregnant(self) -> bool:
        age = self.patient.get("age", 0)
        return self.female and age < 50 and not {"pregnancy", "postpartum"} & self.states()

    @property
    def body(self) -> Body:
        p = self.patient
        return Body(
            p.get("weight_kg", 70),
            p.get("height_cm", 170),
            p.get("crcl_ml_min", 90),
            p.get("age", 60),
            p.get("creatinine_mg_dl", 1.0),
            "hepatic_failure" in self.states(),
        )

    def record(self, utterance: Utterance, readings: list[LabReading], said: list[Order]) -> None:
        self.text.append(utterance.text)
        qtc = re.search(r"\bQTc\b[^\d.;?!]{0,20}?(\d{3})\s*ms", utterance.text)
        if qtc is not None:
            self.qtc = float(qtc.group(1))
        for reading in readings:
            self.labs[reading.analyte] = reading.value
        self.just_read = {reading.analyte: reading.value for reading in readings}
        self.just_earlier = {
            reading.analyte: reading.value for reading in earlier_labs(self.kb, utterance.text)
        }
        self.stated |= {(o.drug, o.amount) for o in said if o.unit is not None}
        self.named |= {drug_id for drug_id, _, _ in drug_mentions(self.kb, utterance.text)}


def check_utterance(chart: Chart, index: int, utterance: Utterance) -> list[Finding]:
    """Every problem the knowledge base sees in this utterance, given the chart before it."""
    kb, case_id = chart.kb, chart.case.case_id
    readings, findings = _plausible(chart, index, utterance_labs(kb, utterance))
    readings, swapped = _mischarted(chart, index, readings)
    findings += swapped + _critical(chart, index, utterance, readings)
    findings += _abbreviations(chart, index, utterance.text)
    findings += _clips(chart, index, utterance.text)
    said_orders = orders(kb, utterance.text)
    for order in said_orders:
        if order.home:
            continue
        drug = kb.drugs[order.drug]
        subject = drug.name
        found = [
            *_allergy(chart, drug),
            *_interactions(chart, drug, [o.drug for o in said_orders if o.drug != order.drug]),
            *_contraindications(chart, drug),
            *_dosing(chart, drug, order),
        ]
        found += _prechecks(chart, drug.required_checks)
        findings += [Finding(case_id, index, kind, subject, detail) for kind, detail in found]
    for procedure_id in procedures(kb, utterance.text):
        if procedure_id in chart.ordered or not _planned(utterance.text):
            continue
        procedure = kb.procedures[procedure_id]
        found = _prechecks(chart, [p.id for p in kb.prechecks.values() if procedure_id in p.applies_to])
        allergies = {a.get("class") for a in chart.patient.get("allergies", [])}
        if procedure.allergy_class and procedure.allergy_class in allergies:
            found.append(("allergy", f"{procedure.name} with a documented {procedure.allergy_class} allergy"))
        if procedure_id == "ct_abdomen_pelvis" and "pregnancy" in chart.states():
            found.append(
                ("pregnancy", "CT of the abdomen and pelvis in pregnancy: consider ultrasound or MRI")
            )
        findings += [Finding(case_id, index, kind, procedure.name, detail) for kind, detail in found]
        chart.ordered.add(procedure_id)
    chart.record(utterance, readings, said_orders)
    return findings


_PLAN = re.compile(
    r"\b(?:book|booking|order|ordering|request|requesting|schedule|scheduled|arrange|plan|planning|go ahead|"
    r"do|doing|get|getting|put in|place|placing|proceed|set up|consent|take \w+ (?:to|for))\b",
    re.IGNORECASE,
)


def _planned(text: str) -> bool:
    """Whether a procedure is being arranged here rather than talked about."""
    return _PLAN.search(text) is not None


def _allergy(chart: Chart, drug: Drug) -> list[tuple[str, str]]:
    allergies = {a.get("class"): a.get("reaction", "") for a in chart.patient.get("allergies", [])}
    if drug.allergy_class is not None and drug.allergy_class in allergies:
        reaction = allergies[drug.allergy_class]
        return [("allergy", f"{drug.name} with a documented {drug.allergy_class} allergy ({reaction})")]
    return []


def _interactions(chart: Chart, drug: Drug, same_line: list[str]) -> list[tuple[str, str]]:
    partners = {*chart.patient.get("home_meds", []), *same_line} - {drug.id}
    return [
        ("interaction", f"{drug.name} with {chart.kb.drugs[i.drug].name}: {i.effect}")
        for i in drug.interactions
        if i.drug in partners and i.severity == "major"
    ]


def _contraindications(chart: Chart, drug: Drug) -> list[tuple[str, str]]:
    states = chart.states(drug.id)
    present = {*chart.diagnoses, *states}
    found = []
    for item in drug.contraindications:
        if item.condition in present and not (item.condition == "pregnancy" and drug.teratogenic):
            found.append(
                ("contraindication", f"{drug.name} with {item.condition.replace('_', ' ')}: {item.reason}")
            )
    if "pregnancy" in states and drug.teratogenic:
        found.append(("pregnancy", f"{drug.name} is teratogenic and the patient is pregnant"))
    if (
        "long_qt" in states
        and drug.qt_prolonging
        and "long_qt" not in {c.condition for c in drug.contraindications}
    ):
        found.append(("contraindication", f"{drug.name} prolongs the QT interval in a patient with long QT"))
    return found


def _dosing(chart: Chart, drug: Drug, order: Order) -> list[tuple[str, str]]:
    """The order against the drug's dose rule for this patient -- the rule for a condition the
    patient has when there is one (heparin in a STEMI is dosed for ACS), else the drug's default
    use (the first rule): renal avoidance, the amount (weight, BSA and renal tier applied; mg,
    mcg and g converted), the unit (a wrong one, or a thousandfold slip) and the interval."""
    if order.unit is None:
        if (drug.id, order.amount) in chart.stated:
            return []
        return [("ambiguous", f"{drug.name} {order.amount:g} with no unit")]
    body = chart.body
    if order.per is not None:
        return []
    treated = [rule for rule in drug.doses if set(rule.conditions) & set(chart.diagnoses)]
    rules = treated or drug.doses[:1]
    doses = [(rule, dose_for(drug, rule.indication, body)) for rule in rules]
    if all(dose is None for _, dose in doses):
        return [("renal", f"{drug.name} is to be avoided at CrCl {body.crcl:g} mL/min")]
    live = [(rule, dose) for rule, dose in doses if dose is not None]
    # The amount in each rule's unit: 0.125 mg of a drug dosed in mcg is its 125 mcg.
    converted = [
        (rule, dose, amount)
        for rule, dose in live
        if (amount := _converted(order.amount, _unit(order.unit), dose.unit)) is not None
    ]
    if not converted:
        expected = ", ".join(sorted({dose.unit for _, dose in live}))
        return [("unit", f"{drug.name} ordered in {order.unit}; it is dosed in {expected}")]
    fits = [(rule, dose) for rule, dose, amount in converted if _fits(dose, amount)]
    if not fits:
        wanted = " or ".join(
            sorted({f"{dose.amount:g} {dose.unit} ({rule.indication})" for rule, dose, _ in converted})
        )
        if any(_fits(dose, amount * fold) for _, dose, amount in converted for fold in (1000, 1 / 1000)):
            return [
                ("unit", f"{drug.name} {order.amount:g} {order.unit}: a thousandfold slip; expected {wanted}")
            ]
        unadjusted = [rule for rule, _, _ in converted if rule.renal_tier(body.crcl) is not None]
        kind = "renal" if unadjusted else "dose"
        return [(kind, f"{drug.name} {order.amount:g} {order.unit} for this patient; expected {wanted}")]
    ordered_interval = interval_hours(order.rest)
    if ordered_interval is None:
        return []
    intervals = {interval_hours(frequency) for _, dose in fits for frequency in dose.allowed}
    if None in intervals or any(abs(ordered_interval - i) <= 0.01 * i for i in intervals if i):
        return []
    kind = "renal" if any(rule.renal_tier(body.crcl) is not None for rule, _ in fits) else "frequency"
    wanted = " or ".join(sorted({frequency for _, dose in fits for frequency in dose.allowed}))
    return [(kind, f"{drug.name} every {ordered_interval:g} h; expected {wanted}")]


def _unit(unit: str) -> str:
    return {"unit": "units", "U": "units", "IU": "units"}.get(unit, unit)


MASS_UNITS = {"mcg": 1e-3, "mg": 1.0, "g": 1e3}
"""Mass units in mg: an order may write a dose in another mass unit than its rule."""


def _converted(amount: float, unit: str, wanted: str) -> float | None:
    """`amount` of `unit` in `wanted` units, or None when one cannot be turned into the other."""
    if unit == wanted:
        return amount
    if unit in MASS_UNITS and wanted in MASS_UNITS:
        return amount * MASS_UNITS[unit] / MASS_UNITS[wanted]
    return None


def _fits(dose: Dose, amount: float) -> bool:
    """Whether `amount` lies in the dose's range, its tolerance included."""
    return (
        (dose.low or dose.amount) * (1 - TOLERANCE) <= amount <= (dose.high or dose.amount) * (1 + TOLERANCE)
    )


def _prechecks(chart: Chart, check_ids: list[str]) -> list[tuple[str, str]]:
    """Checks due before a first order that the case has not fully reported."""
    found = []
    for check_id in check_ids:
        check = chart.kb.prechecks[check_id]
        if "beta_hcg" in check.analytes and not chart.could_be_pregnant():
            continue
        missing = [chart.kb.analytes[a].name for a in check.analytes if a not in chart.labs]
        missing += [word for word in check.findings if not any(reported(text, word) for text in chart.text)]
        if not check.analytes and not check.findings:
            named = check.test.removeprefix("a ").removeprefix("an ")
            if not any(said(text, named) for text in chart.text):
                missing.append(named)
        if missing:
            test = check.test.removeprefix("a ").removeprefix("an ")
            found.append(("precheck", f"{check.name}: {test} not reported (missing {', '.join(missing)})"))
    return found


def _critical(chart: Chart, index: int, utterance: Utterance, readings: list[LabReading]) -> list[Finding]:
    """A critical value must be acted on by the next thing said: a reply that neither names the
    analyte, acknowledges it, nor asks about the results lets it pass. Values the patient's own
    diagnoses explain (a platelet count of 16 in TTP) are what the team is already treating."""
    kb = chart.kb
    found = []
    for reading in chart.pending:
        analyte = kb.analytes[reading.analyte]
        names = [analyte.name, *analyte.aliases]
        if ACKNOWLEDGED.search(utterance.text) or any(said(utterance.text, n) for n in names):
            continue
        limit = (
            analyte.critical_low if reading.value <= (analyte.critical_low or -1) else analyte.critical_high
        )
        value = f"{analyte.name} {reading.value:g} {analyte.unit}"
        detail = f"{value} (critical limit {limit:g}) passed without action"
        found.append(Finding(chart.case.case_id, index, "critical", analyte.name, detail))
    explained = {f.analyte for c in chart.diagnoses if c in kb.conditions for f in kb.conditions[c].labs}
    explained |= {a.id for a in kb.analytes.values() if a.follows in explained}  # Hct with its Hb
    chart.pending = []
    if ACKNOWLEDGED.search(utterance.text):
        return found
    for reading in readings:
        analyte = kb.analytes[reading.analyte]
        low = analyte.critical_low is not None and reading.value <= analyte.critical_low
        high = analyte.critical_high is not None and reading.value >= analyte.critical_high
        if (low or high) and reading.analyte not in explained:
            chart.pending.append(reading)
    return found


def _plausible(
    chart: Chart, index: int, readings: list[LabReading]
) -> tuple[list[LabReading], list[Finding]]:
    """Readings a living patient can have, and a finding for each one nobody can (a slip)."""
    kept, found = [], []
    for reading in readings:
        analyte = chart.kb.analytes[reading.analyte]
        high = analyte.plausible_high is not None and reading.value > analyte.plausible_high
        low = analyte.plausible_low is not None and reading.value < analyte.plausible_low
        if high or low:
            detail = f"{analyte.name} {reading.value:g} {analyte.unit} is not a possible value"
            found.append(Finding(chart.case.case_id, index, "implausible", analyte.name, detail))
        else:
            kept.append(reading)
    return kept, found


def _digits(value: float) -> list[str]:
    return sorted(f"{value:g}".replace(".", ""))


def _mischarted(
    chart: Chart, index: int, readings: list[LabReading]
) -> tuple[list[LabReading], list[Finding]]:
    """Readings that are neither the value the line before reported with its digits in another
    order (2.1 charted as 1.2) nor yesterday's value it gave beside today's, and a finding for each
    that is: a transcription slip, not a new result. Only the line before counts: a repeat result
    hours later may by chance reuse the digits or come back to yesterday's value."""
    kept, found = [], []
    for reading in readings:
        before = chart.just_read.get(reading.analyte)
        name = chart.kb.analytes[reading.analyte].name
        if before is None or before == reading.value:
            kept.append(reading)
        elif _digits(before) == _digits(reading.value):
            detail = f"{name} {reading.value:g} right after {before:g} was reported: digits swapped"
            found.append(Finding(chart.case.case_id, index, "transposed", name, detail))
        elif chart.just_earlier.get(reading.analyte) == reading.value:
            detail = f"{name} {reading.value:g} is yesterday's value; {before:g} was reported for today"
            found.append(Finding(chart.case.case_id, index, "stale", name, detail))
        else:
            kept.append(reading)
    return kept, found


def _abbreviations(chart: Chart, index: int, text: str) -> list[Finding]:
    found = []
    for entry in chart.kb.abbreviations.values():
        if entry.token is not None:
            hit = re.search(rf"(?<![\w/.]){re.escape(entry.token)}(?![\w/])", text)
        else:
            hit = re.search(entry.pattern or "", text)
        if hit is not None:
            detail = f"'{hit.group(0)}' can be read as {' or '.join(entry.meanings)}"
            found.append(Finding(chart.case.case_id, index, "abbreviation", hit.group(0), detail))
    return found


def _clips(chart: Chart, index: int, text: str) -> list[Finding]:
    """A shortened drug name ("levo") reads as one drug only when exactly one drug it can stand for
    was named before; with two or more, or none, it has more than one reading."""
    found = []
    for clip in chart.kb.clips.values():
        hit = re.search(rf"(?<![\w-]){clip.id}(?![\w-])", text, re.IGNORECASE)
        if hit is None:
            continue
        named = [chart.kb.drugs[d].name for d in clip.drugs if d in chart.named]
        if len(named) == 1:
            continue
        readings = named or [chart.kb.drugs[d].name for d in clip.drugs]
        detail = f"'{hit.group(0)}' can be read as {' or '.join(readings)}"
        found.append(Finding(chart.case.case_id, index, "abbreviation", clip.id, detail))
    return found
