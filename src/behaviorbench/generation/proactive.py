"""Proactive-group tasks, each written as a minimal pair.

Every builder draws all its randomness first and only then looks at `positive`, so the twin case
(same random stream, `positive` flipped) differs only in the lines listed as the task's evidence.
The control's gold is `reactive` when the trigger line asked the assistant something, else `silent`.
A silent control has no target; a reactive one is scored on what it answers (the order it drafts,
the weight it confirms), never on the positive's problem.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from behaviorbench.generation.banks import stable_hash
from behaviorbench.generation.context import INPATIENT_ROUTES, PRONOUNS, CaseContext, spoken, tidy
from behaviorbench.generation.doses import Body, Dose, clearance_band, dose_for, number
from behaviorbench.generation.patient import (
    RENAL_FUNCTION,
    WEIGHT_RANGE,
    follow_all,
    just_outside,
    normal_bounds,
    other_clearance,
    other_size,
    weight_share,
)
from behaviorbench.generation.pools import ConditionView
from behaviorbench.generation.script import Line, Scene, Task, capitalized
from behaviorbench.knowledge.models import PATIENT_STATES, DoseRule, Drug, KnowledgeBase, Precheck
from behaviorbench.schema import Target
from behaviorbench.taxonomy import Behavior, Category


@dataclass
class Trigger:
    """The line that carries (or, in the control, lacks) the problem."""

    line: Line
    asked: bool
    ack: str
    """The control's answer when the line asked the assistant something."""
    ack_target: Target | None = None
    """What that answer must contain: the control's target when it is reactive."""


def _pair_task(
    category: Category,
    trigger: Trigger,
    positive: bool,
    flag: str,
    target: Target,
    evidence: list[Line],
    plant: Line | None = None,
    slot: Line | None = None,
    subtype: str = "",
) -> Task:
    if positive:
        behavior, response = Behavior.proactive, flag
    elif trigger.asked and (slot is None or slot is trigger.line):
        behavior, response, target = Behavior.reactive, trigger.ack, trigger.ack_target
    else:
        behavior, response, target = Behavior.silent, "", None
    return Task(
        category, slot or trigger.line, behavior, response, target, evidence, positive, plant, subtype
    )


def _order(
    ctx: CaseContext,
    rng: random.Random,
    positive: bool,
    wrong: str,
    right: str,
    drafted: Target,
    reason: str = "",
) -> Trigger:
    """An order line (a statement, or a request to the assistant) with the wrong or right order;
    `reason` says why a drug unrelated to the patient's conditions is given, `drafted` is what a
    drafted right order must contain."""
    variant = ctx.pick("problems.orders", rng)
    ack = rng.choice(ctx.bank.get("problems.order_ack"))
    line = ctx.say(variant["role"], variant["text"], order=(wrong if positive else right) + reason)
    return Trigger(line, variant["ask"], ack.format(order=right + reason), drafted)


DOSE_TOLERANCE = 0.1
"""How far (as a share) a dose may sit from the right one and still count as it."""


def _dose_target(dose: Dose) -> Target:
    return Target(kind="dose", value=dose.amount, unit=dose.unit, tolerance=DOSE_TOLERANCE)


def _phrased_trigger(
    ctx: CaseContext, rng: random.Random, path: str, ack: str, ack_target: Target, **fields: str
) -> Trigger:
    variant = ctx.pick(path, rng)
    line = ctx.say(variant["role"], variant["text"], **fields)
    return Trigger(line, variant["ask"], ack.format(**fields), ack_target)


def _distractor(ctx: CaseContext, rng: random.Random) -> list[Line]:
    """An abnormal but irrelevant value, when the case turns distractors on (same in both twins);
    each irrelevant value is brought up once."""
    variant = ctx.pick("problems.distractors", rng)
    wanted = ctx.knobs["distractor_abnormality"] and rng.random() < 0.35
    analyte = ctx.patient.stable_analyte if rng.random() < 0.5 else ctx.patient.borderline_analyte
    if not wanted or analyte is None or f"distractor:{analyte}" in ctx.said:
        return []
    ctx.said.add(f"distractor:{analyte}")
    return [
        ctx.say(variant["role"], variant["text"], analyte=ctx.analyte_name(analyte), value=ctx.lab(analyte))
    ]


def allergy_name(ctx: CaseContext, allergy_class: str, adjective: bool = False) -> str:
    """How an allergy class is said: "opioids" (allergic to ...) or "opioid" (an ... allergy)."""
    plain = allergy_class.replace("_", " ")
    return ctx.bank.get("problems.allergy_names").get(allergy_class, [plain, plain])[int(adjective)]


def checks_done(ctx: CaseContext, drug_id: str) -> bool:
    """Whether every check this drug needs for this patient has been reported (its analytes said),
    so ordering it is not itself an omission."""
    for check_id in ctx.drug(drug_id).required_checks:
        check = ctx.kb.prechecks[check_id]
        if not ctx.patient.may_have(check.analytes):
            continue
        if check.findings or not check.analytes or not set(check.analytes) <= ctx.patient.mentioned_labs:
            return False
    return True


def _checks_of(ctx: CaseContext, item: str) -> list[str]:
    """The prechecks a drug or procedure needs before it is ordered or planned."""
    if item in ctx.kb.drugs:
        return list(ctx.drug(item).required_checks)
    return [p.id for p in ctx.kb.prechecks.values() if item in p.applies_to]


def report_checks(ctx: CaseContext, rng: random.Random, items: list[str]) -> list[Line]:
    """Lines reporting every check the drugs or procedures in `items` need that both twins have
    not heard yet, said alike in both, so the order or plan that follows leaves nothing undone."""
    analytes: list[str] = []
    findings: list[str] = []
    tests: list[str] = []
    for item in items:
        for check_id in _checks_of(ctx, item):
            check = ctx.kb.prechecks[check_id]
            if not ctx.patient.may_have(check.analytes):
                continue
            analytes += [a for a in check.analytes if a not in ctx.patient.mentioned_labs]
            findings += [f for f in check.findings if "long_qt" not in ctx.patient.states]
            if not check.analytes and not check.findings:
                tests.append(check.test)
    analytes, findings, tests = (list(dict.fromkeys(x)) for x in (analytes, findings, tests))
    if not (analytes or findings or tests):
        return []
    variant = ctx.pick("problems.omission_detection.done_analytes", rng)
    said = ctx.bank.get("problems.omission_detection.findings")
    qtc = rng.randint(400, 440)
    lines = []
    parts = [f"{ctx.analyte_name(a)} {ctx.lab(a)}" for a in analytes]
    parts += [said[f].format(qtc=qtc) for f in findings]
    ctx.patient.said_in_either |= set(findings)
    if parts:
        lines.append(ctx.say(variant["role"], variant["text"], report=_join(parts)))
    ctx.patient.said_in_either |= set(tests)
    for test in tests:
        done = ctx.pick("problems.omission_detection.done_test", rng)
        lines.append(ctx.say(variant["role"], done["text"], test=bare(test), result="normal"))
    return lines


def _dose_candidates(ctx: CaseContext) -> list[str]:
    """Safe drugs with a dose whose checks are done (all safe drugs with a dose when none are)."""
    return [d for d in ctx.dosable() if checks_done(ctx, d)] or ctx.dosable()


# --- error_correction -------------------------------------------------------------------------


def _fits(dose: Dose, amount: float) -> bool:
    """Whether `amount` lies in the accepted range of `dose` (its tolerance included)."""
    low, high = dose.low or dose.amount, dose.high or dose.amount
    return low * (1 - DOSE_TOLERANCE) <= amount <= high * (1 + DOSE_TOLERANCE)


CRCL_MARGIN = 0.1
"""How far (as a share of the limit) both CrCls must lie from a renal limit between them."""
BODY_FOLD = 1.5
"""Another patient's weight-based or renal dose counts as a wrong one only this many times off
this patient's range, and this patient's as far off the other's (so whether a pair of patients is
used does not depend on which of the two is this one)."""


def _apart(a: Dose, b: Dose) -> bool:
    """Whether each dose lies `BODY_FOLD` or more outside the other's range."""

    def off(dose: Dose, amount: float) -> bool:
        return (
            amount >= (dose.high or dose.amount) * BODY_FOLD
            or amount <= (dose.low or dose.amount) / BODY_FOLD
        )

    return off(a, b.amount) and off(b, a.amount)


def _clear_of_limits(rule: DoseRule, crcl: float, other: float) -> bool:
    """Whether every renal limit between two CrCls lies `CRCL_MARGIN` or more from both (a CrCl of
    48 or 53 against a limit of 50 is too close to call, an estimate being what it is)."""
    low, high = sorted((crcl, other))
    limits = [t.crcl_below for t in rule.renal if low < t.crcl_below <= high]
    return all(min(abs(crcl - t), abs(other - t)) >= CRCL_MARGIN * t for t in limits)


def _treated_fit(ctx: CaseContext, drug_id: str, amount: float) -> bool:
    """Whether `amount` is this patient's dose for a use of the drug they have (a second one)."""
    drug = ctx.drug(drug_id)
    diagnoses = {ctx.patient.condition.id, *ctx.patient.chronic}
    uses = [dose_for(drug, r.indication, ctx.patient) for r in drug.doses if set(r.conditions) & diagnoses]
    return any(dose is not None and _fits(dose, amount) for dose in uses)


def other_body_dose(ctx: CaseContext, drug_id: str, other: Body) -> Dose | None:
    """The drug's dose for this patient's use in `other` (another weight, or another CrCl) when it
    is a wrong one here: far off this patient's (and theirs far off it), at no cap (heparin's 4000
    units fit every weight above 66 kg), for a CrCl clearly across a renal limit, and of a drug
    not titrated as needed (a lighter patient's fentanyl is a cautious start, not an error)."""
    drug, dose = ctx.drug(drug_id), ctx.dose(drug_id)
    if "as needed" in dose.frequency:
        return None
    rule = drug.rule(ctx.indication(drug_id))
    wrong = dose_for(drug, rule.indication, other)
    if wrong is None or wrong.capped or dose.capped or not _apart(dose, wrong):
        return None
    if not _clear_of_limits(rule, ctx.patient.crcl, other.crcl):
        return None
    return None if _treated_fit(ctx, drug_id, wrong.amount) else wrong


@dataclass
class WrongDose:
    """A wrong order of a drug and the flag that says why it is wrong for this patient."""

    dose: Dose
    flag: str
    fact: str = ""
    """The patient's fact the flag rests on: "weight" (said at the opening), "kidney" (said
    before the order), or "" (the indication, or the number itself)."""


def _other_weight(ctx: CaseContext, rng: random.Random, drug_id: str) -> WrongDose | None:
    """The drug's dose for this patient's use in another patient of another weight."""
    drug, dose, p = ctx.drug(drug_id), ctx.dose(drug_id), ctx.patient
    if not drug.rule(ctx.indication(drug_id)).per_kg:
        return None
    other = other_size(rng, p)
    wrong = other_body_dose(ctx, drug_id, other)
    if wrong is None:
        return None
    flag = ctx.bank.get("problems.error_correction.dose_flag_weight").format(
        drug=drug.name,
        given=wrong.text,
        other=number(other.weight_kg),
        other_working=wrong.working[0],
        kg=number(p.weight_kg),
        right=dose.text,
        working="; ".join(dose.working),
        **PRONOUNS[p.female],
    )
    return WrongDose(wrong, flag, "weight")


def _other_kidneys(ctx: CaseContext, rng: random.Random, drug_id: str) -> WrongDose | None:
    """The drug's dose for this patient's use in a patient of another kidney function."""
    drug, dose, p = ctx.drug(drug_id), ctx.dose(drug_id), ctx.patient
    rule = drug.rule(ctx.indication(drug_id))
    if not rule.renal:
        return None
    wrong = other_body_dose(ctx, drug_id, other_clearance(rng, p))
    if wrong is None:
        return None
    base = ctx.bank.get("problems.error_correction")
    low, high = clearance_band(rule, wrong.tier)
    band = "above" if high is None else "below" if low is None else "between"
    flag = base["dose_flag_kidney"].format(
        drug=drug.name,
        given=wrong.order(drug),
        band=base["dose_kidney_bands"][band].format(low=number(low or 0), high=number(high or 0)),
        crcl=number(p.crcl),
        right=dose.order(drug),
        **PRONOUNS[p.female],
    )
    return WrongDose(wrong, flag, "kidney")


def _wrong_doses(ctx: CaseContext, rng: random.Random, drug_id: str) -> list[WrongDose]:
    """Right doses of the drug for other patients that are wrong for this one: for another
    weight, another kidney function, the other patient drawn once, the way this one was. This
    patient and the other are then alike as the pair's right and wrong one, so each number is as
    common wrong as right and only this patient's facts tell them apart. More draws would find a
    pair for more patients, but the wrong numbers from the tails of the population (famotidine
    10 mg, the dose below a CrCl of 50, was wrong four times as often as right); another use's
    dose was wrong far more often than right (aspirin 325 mg chewed), the drug being a case's
    candidate mostly for its case's use. On 3,000-case builds a bag of words decided the pairs at
    0.67 / 0.66 / 0.59 with eight draws and other uses, at 0.51 / 0.52 / 0.53 so."""
    found = [kind(ctx, rng, drug_id) for kind in (_other_weight, _other_kidneys)]
    return [wrong for wrong in found if wrong is not None]


def _slip(ctx: CaseContext, rng: random.Random, drug_id: str) -> WrongDose:
    """A 10-fold (subtly, 2-fold) overdose or underdose: the error when no other patient's dose
    is wrong for this one."""
    drug, dose = ctx.drug(drug_id), ctx.dose(drug_id)
    base = ctx.bank.get("problems.error_correction")
    # Twice or half a dose is an error only beyond a known range (morphine 8 mg is a dose).
    fold = 2 if ctx.knobs["subtle_deviation"] and dose.high is not None else 10
    # Too much or too little alike, so a wrong number is not simply a larger one than controls say.
    over = rng.random() < 0.5

    def outside(over: bool, fold: int) -> bool:  # a halved 2 g is no error where 1-2 g is right
        return not _fits(dose, dose.amount * fold if over else dose.amount / fold)

    if not outside(over, fold):
        over = not over if outside(not over, fold) else over
        fold = fold if outside(over, fold) else 10
    wrong = Dose(dose.amount * fold if over else dose.amount / fold, dose.unit, dose.route, dose.frequency)
    flag = (base["dose_flag"] if over else base["dose_flag_low"]).format(
        drug=drug.name, given=wrong.text, fold=fold, right=dose.text, part=base["dose_parts"][fold]
    )
    return WrongDose(wrong, flag)


def error_dose(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene:
    """A right dose of the drug for another patient (see `_dose_by_context`); where no drug the
    case could order has one, another error that context decides (see `_decided_by_context`), and
    a 10-fold (subtly, 2-fold) slip only when there is none."""
    return _decided_by_context(ctx, rng, positive, _dose_by_context) or _dose_scene(
        ctx, rng, positive, *_slipped(ctx, rng)
    )


def _dose_drugs(ctx: CaseContext) -> list[str]:
    skip = ctx.bank.get("problems.error_correction.no_dose_errors")
    candidates = _dose_candidates(ctx)
    return [d for d in candidates if d not in skip] or candidates


def _high_alert_first(ctx: CaseContext, rng: random.Random, candidates: list[str]) -> str:
    return ctx.choose_drug(rng, [d for d in candidates if ctx.drug(d).high_alert] or candidates)


def _dose_by_context(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene | None:
    """A right dose of the drug for another patient: another weight's, another kidney function's
    (high-alert drugs first); None when no drug the case could order has one."""
    wrongs = {d: found for d in _dose_drugs(ctx) if (found := _wrong_doses(ctx, rng, d))}
    if not wrongs:
        return None
    drug_id = _high_alert_first(ctx, rng, list(wrongs))
    return _dose_scene(ctx, rng, positive, drug_id, rng.choice(wrongs[drug_id]))


def _slipped(ctx: CaseContext, rng: random.Random) -> tuple[str, WrongDose]:
    drug_id = _high_alert_first(ctx, rng, _dose_drugs(ctx))
    return drug_id, _slip(ctx, rng, drug_id)


def _dose_scene(
    ctx: CaseContext, rng: random.Random, positive: bool, drug_id: str, wrong: WrongDose
) -> Scene:
    """The order of `drug_id`: `wrong` in the problem, the patient's dose in the control."""
    drug, dose = ctx.drug(drug_id), ctx.dose(drug_id)
    lead = _distractor(ctx, rng)
    facts = [ctx.vitals] if wrong.fact == "weight" and ctx.vitals is not None else []
    if wrong.fact == "kidney":  # said alike in both twins, whatever either heard before
        line, _ = ctx.phrase("problems.error_correction.dose_kidney_lines", rng, crcl=ctx.patient.crcl)
        ctx.patient.said_in_either.add("crcl")
        facts = [line]
        lead.append(line)
    trigger = _order(
        ctx, rng, positive, wrong.dose.order(drug), dose.order(drug), _dose_target(dose), ctx.reason(drug_id)
    )
    task = _pair_task(
        Category.error_correction,
        trigger,
        positive,
        wrong.flag,
        Target(kind="issue", answers=[drug.name]),
        [*facts, trigger.line],
        subtype="dose",
    )
    ctx.given.append(drug_id)  # the right order stands in both twins once the flag is answered
    return Scene([*lead, trigger.line], [task])


Builder = Callable[[CaseContext, random.Random, bool], Scene | None]


def _decided_by_context(ctx: CaseContext, rng: random.Random, positive: bool, first: Builder) -> Scene | None:
    """The first error, `first` before the others, that only the case's facts tell from its control:
    a dose right for another patient, a weight in the other unit, a lab's digits swapped, digits
    right with one unit and wrong with the other, one drug's frequency for another's. None when the
    case allows none of them: a slip to a number no patient has (magnesium 20 g, potassium 45) is
    then the error, a word any model can learn rather than a judgement, so it comes last."""
    chain = [first, _dose_by_context, _weight_instead, _lab_by_context, _unit_by_digits, _frequency_by_pairs]
    for build in dict.fromkeys(chain):
        if (scene := build(ctx, rng, positive)) is not None:
            return scene
    return None


MICROGRAMS = (10, 1000)
"""Doses from 10 up to 1000 mcg (under 1 mg) read naturally in either unit: levothyroxine 125 mcg
is 0.125 mg, naloxone 0.4 mg is 400 mcg (doses under 1 mg are often written in micrograms)."""


def _in_micrograms(dose: Dose) -> float | None:
    """The dose in mcg when it can be written naturally both in mcg and in mg, else None (a rate
    such as argatroban's per minute is kept in the unit it is titrated in)."""
    factor = {"mcg": 1, "mg": 1000}.get(dose.unit)
    if factor is None or dose.frequency.startswith("per "):
        return None
    mcg = round(dose.amount * factor, 6)
    return mcg if MICROGRAMS[0] <= mcg < MICROGRAMS[1] else None


def _writings(dose: Dose) -> list[Dose]:
    """The right ways to write a dose in mg or mcg: its own, and the other unit's when natural."""
    mcg = _in_micrograms(dose)
    if mcg is None:
        return [dose.as_written]
    return [
        Dose(amount, unit, dose.route, dose.frequency)
        for amount, unit in ((mcg, "mcg"), (round(mcg / 1000, 9), "mg"))
    ]


def _last_digits(dose: Dose) -> str:
    """The digits written next to the unit: "125" in "0.125 mg" as in "125 mcg"."""
    return number(dose.amount).rpartition(".")[2]


def error_unit(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene:
    """The right digits with the wrong unit (see `_unit_by_digits`); where the case has no digits
    that read rightly in both units, another error that context decides (see
    `_decided_by_context`), and only without one a drug with a dose that reads in both units, in
    the unit a coin picks, else a drug dosed in mg or in mcg (as often one as the other) with the
    other unit: "0.125 mcg" is a number no right order has."""
    if (scene := _decided_by_context(ctx, rng, positive, _unit_by_digits)) is not None:
        return scene
    options = _unit_drugs(ctx)
    in_mcg = rng.random() < 0.5
    if either := [d for d in options if _in_micrograms(ctx.dose(d)) is not None]:
        drug_id = ctx.choose_drug(rng, either)
        right = _writings(ctx.dose(drug_id))[0 if in_mcg else 1]
    else:
        want = "mcg" if in_mcg else "mg"
        drug_id = ctx.choose_drug(rng, [d for d in options if ctx.dose(d).as_written.unit == want] or options)
        right = ctx.dose(drug_id).as_written
    return _unit_scene(ctx, rng, positive, drug_id, right)


def _unit_drugs(ctx: CaseContext) -> list[str]:
    return [d for d in _dose_candidates(ctx) if ctx.dose(d).unit in ("mg", "mcg")]


def _unit_by_digits(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene | None:
    """The right digits with the wrong unit: mg for mcg (a thousand-fold overdose) or the reverse.

    The digits next to the unit come first: ones the case can write rightly both with mg and with
    mcg (on one route when it can), from one drug ("125 mcg" or "0.125 mg" of levothyroxine) or
    two (hydromorphone 500 mcg, azithromycin 500 mg). A coin both twins share then picks the right
    unit; the control writes the dose so, the problem the same digits with the other unit ("125 mg",
    "0.125 mcg", "500 mcg" of azithromycin). Each number then sits next to each unit as often in
    problems as in controls, and only whether the pair fits the drug decides. None without such
    digits."""
    written = [(d, w) for d in _unit_drugs(ctx) for w in _writings(ctx.dose(d))]
    # Digits the case can write rightly next to mg and next to mcg, on one route when it can.
    sides = {(_last_digits(w), w.route, w.unit) for _, w in written}
    keys = sorted({(n, r) for n, r, u in sides if u == "mg" and (n, r, "mcg") in sides})
    if not keys:
        units = {(n, u) for n, _, u in sides}
        keys = sorted({(n, "") for n, u in units if u == "mg" and (n, "mcg") in units})
    if not keys:
        return None
    unit = "mcg" if rng.random() < 0.5 else "mg"
    digits, route = rng.choice(keys)
    fitting = {
        d: w for d, w in written if (_last_digits(w), w.unit) == (digits, unit) and route in ("", w.route)
    }
    drug_id = ctx.choose_drug(rng, list(fitting))
    return _unit_scene(ctx, rng, positive, drug_id, fitting[drug_id])


def _unit_scene(ctx: CaseContext, rng: random.Random, positive: bool, drug_id: str, right: Dose) -> Scene:
    """The order of `drug_id` written `right` in the control, its digits with the other unit in
    the problem."""
    drug, dose = ctx.drug(drug_id), ctx.dose(drug_id)
    wrong_unit = "mcg" if right.unit == "mg" else "mg"
    wrong = Dose(right.amount, wrong_unit, right.route, right.frequency)
    lead = _distractor(ctx, rng)
    # Scored in the drug's own unit whichever unit the order is written in: the scorer converts.
    trigger = _order(
        ctx, rng, positive, wrong.order(drug), right.order(drug), _dose_target(dose), ctx.reason(drug_id)
    )
    base = ctx.bank.get("problems.error_correction")
    flag = base["unit_flag"].format(
        drug=drug.name, given=wrong.text, size=base["unit_sizes"][wrong_unit], right=right.text
    )
    target = Target(kind="issue", answers=[drug.name, right.unit])
    task = _pair_task(
        Category.error_correction, trigger, positive, flag, target, [trigger.line], subtype="unit"
    )
    ctx.given.append(drug_id)  # the right order stands in both twins once the flag is answered
    return Scene([*lead, trigger.line], [task])


def error_frequency(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene:
    """A drug ordered at another drug's frequency (see `_frequency_by_pairs`); where the case has
    no pair of frequencies, another error that context decides (see `_decided_by_context`), and
    only without one the drug's frequency swapped for a like one."""
    if (scene := _decided_by_context(ctx, rng, positive, _frequency_by_pairs)) is not None:
        return scene
    hours = ctx.bank.get("problems.frequency_hours")
    drug_id = ctx.choose_drug(rng, _frequency_drugs(ctx))
    dose = ctx.dose(drug_id)
    wrongs = [f for f in hours if not _allowed_near(ctx, hours, drug_id, f)]
    wrong = rng.choice([f for f in wrongs if _alike(hours, f, dose.frequency)] or wrongs)
    return _frequency_scene(ctx, rng, positive, [(drug_id, wrong)])


def _frequency_drugs(ctx: CaseContext) -> list[str]:
    hours = ctx.bank.get("problems.frequency_hours")
    return [d for d in _dose_candidates(ctx) if ctx.dose(d).frequency in hours]


def _allowed(hours: dict[str, float], dose: Dose, frequency: str) -> bool:
    """Whether the label allows the dose at `frequency` (ceftriaxone 1 g every 12 hours as well as
    every 24): no frequency error, whichever words say the interval."""
    return any(hours.get(f) == hours[frequency] for f in dose.allowed)


def _allowed_near(ctx: CaseContext, hours: dict[str, float], drug_id: str, frequency: str) -> bool:
    """Whether the label allows the drug at `frequency` for this patient or at a CrCl within
    `CRCL_MARGIN` of theirs: gabapentin once daily at a CrCl of 33 is too close to the once-daily
    band below 30 to call wrong, an estimate being what it is."""
    p = ctx.patient
    rule = ctx.drug(drug_id).rule(ctx.indication(drug_id))
    near = [p.crcl * (1 - CRCL_MARGIN), p.crcl * (1 + CRCL_MARGIN)] if rule.renal else []
    doses = [ctx.dose(drug_id)] + [
        dose_for(
            ctx.drug(drug_id),
            rule.indication,
            Body(p.weight_kg, p.height_cm, crcl, p.age, p.creatinine, p.hepatic_failure),
        )
        for crcl in near
    ]
    return any(dose is not None and _allowed(hours, dose, frequency) for dose in doses)


def _alike(hours: dict[str, float], a: str, b: str) -> bool:
    """Whether one frequency passes for the other: "every 8 hours" for "every 12 hours", "once
    daily" for "twice daily"."""
    return hours[a] != hours[b] and a.startswith("every") == b.startswith("every")


def _frequency_by_pairs(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene | None:
    """Two drugs ordered in one line, one given at each frequency of a like pair, with the
    frequencies swapped in the problem ("metronidazole 500 mg IV every 6 hours and ampicillin 2 g IV
    every 8 hours"): both twins then say the same words, and only which drug each schedule is
    written beside decides. A pair is used only when each of its frequencies is wrong for a drug
    given at the other, and the two drugs meet neither each other nor anything given; a coin
    picks which drug is said first. None when the case's drugs allow no such pair."""
    hours = ctx.bank.get("problems.frequency_hours")
    options = _frequency_drugs(ctx)
    home = set(ctx.patient.home_meds)
    kb = ctx.kb

    def given(route: str, right: str, wrong: str) -> list[str]:
        """The drugs given at `right` (on `route`) that the label does not allow at `wrong`, new to
        the case and meeting nothing given."""
        return [
            d
            for d in options
            if ctx.dose(d).frequency == right
            and route in ("", ctx.dose(d).route)
            and d not in ctx.given
            and d not in home
            and not kb.interacts(d, ctx.given, major_only=False)
            and not _allowed_near(ctx, hours, d, wrong)
        ]

    def couples(route: str, a: str, b: str) -> list[tuple[str, str]]:
        """(a drug given at `a`, one given at `b`) that may be ordered together."""
        return [
            (x, y)
            for x in given(route, a, b)
            for y in given(route, b, a)
            if x != y
            and not kb.interacts(x, [y], major_only=False)
            and not _duplicates(ctx.drug(x), ctx.drug(y))
        ]

    said = sorted({(ctx.dose(d).route, ctx.dose(d).frequency) for d in options})
    alike = [(r, a, b) for r, a in said for q, b in said if r == q and a < b and _alike(hours, a, b)]
    pairs = [p for p in alike if couples(*p)]
    if not pairs:
        alike = [("", a, b) for _, a in said for _, b in said if a < b and _alike(hours, a, b)]
        pairs = [p for p in sorted(set(alike)) if couples(*p)]
    if not pairs:
        return None
    route, *pair = rng.choice(sorted(set(pairs)))
    first, second = pair if rng.random() < 0.5 else pair[::-1]
    found = couples(route, first, second)
    drug_id = ctx.choose_drug(rng, sorted({x for x, _ in found}))
    partner = ctx.choose_drug(rng, sorted({y for x, y in found if x == drug_id}))
    return _frequency_scene(ctx, rng, positive, [(drug_id, second), (partner, first)])


BETA_LACTAMS = frozenset({"penicillin", "cephalosporin", "carbapenem"})


def _duplicates(a: Drug, b: Drug) -> bool:
    """Whether two drugs do one job, so a pharmacist would question ordering both (two
    beta-lactams, two anticoagulants, two NSAIDs)."""
    lactams = {a.allergy_class, b.allergy_class} <= BETA_LACTAMS
    same_class = a.allergy_class is not None and a.allergy_class == b.allergy_class
    return lactams or same_class or a.family == b.family


def _frequency_scene(
    ctx: CaseContext, rng: random.Random, positive: bool, orders: list[tuple[str, str]]
) -> Scene:
    """The orders, each (drug, wrong frequency), in one line: at the wrong frequencies in the
    problem, at their own in the control. Where the kidney function sets a drug's frequency
    (gabapentin three, two or one times daily), the CrCl is said alike in both twins before the
    order and the flag rests on it."""
    lead = _distractor(ctx, rng)
    base = ctx.bank.get("problems.error_correction")
    kidney = any(
        tier.frequency
        for drug_id, _ in orders
        for tier in ctx.drug(drug_id).rule(ctx.indication(drug_id)).renal
    )
    facts = []
    if kidney:
        line, _ = ctx.phrase("problems.error_correction.dose_kidney_lines", rng, crcl=ctx.patient.crcl)
        ctx.patient.said_in_either.add("crcl")
        facts = [line]
        lead.append(line)
    wrongs, rights, fields = [], [], {"crcl": ctx.patient.crcl}
    for n, (drug_id, frequency) in enumerate(orders, 1):
        drug, dose = ctx.drug(drug_id), ctx.dose(drug_id)
        reason = ctx.reason(drug_id)
        wrongs.append(Dose(dose.amount, dose.unit, dose.route, frequency).order(drug) + reason)
        rights.append(dose.order(drug) + reason)
        fields |= {f"drug{n}": drug.name, f"wrong{n}": frequency, f"right{n}": dose.frequency}
    first = orders[0][0]
    trigger = _order(
        ctx, rng, positive, " and ".join(wrongs), " and ".join(rights), _dose_target(ctx.dose(first))
    )
    key = "frequency_swap_flag" if len(orders) == 2 else "frequency_flag"
    flag = base[key + ("_kidney" if kidney else "")].format(**fields)
    target = Target(kind="issue", answers=[ctx.drug(d).name for d, _ in orders])
    task = _pair_task(
        Category.error_correction,
        trigger,
        positive,
        flag,
        target,
        [*facts, trigger.line],
        subtype="frequency",
    )
    ctx.given += [d for d, _ in orders]  # the right orders stand in both twins once the flag is answered
    return Scene([*lead, trigger.line], [task])


UNIT_WORDS = {"kg": "kilograms", "lb": "pounds"}
LB_PER_KG = 2.2046


def error_weight(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene:
    """A weight in the wrong unit (see `_weight_unit`); where this patient's weight allows none,
    another error that context decides (see `_decided_by_context`), and a dose slip only without one."""
    return _decided_by_context(ctx, rng, positive, _weight_unit) or _dose_scene(
        ctx, rng, positive, *_slipped(ctx, rng)
    )


def _weight_instead(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene | None:
    """A weight in the wrong unit, unless a task of the case restates the weight already."""
    if ctx.weight_said:
        return None
    scene = _weight_unit(ctx, rng, positive)
    ctx.weight_said = scene is not None
    return scene


def _said_as(pounds: int) -> list[int]:
    """The weights (kg) whose pounds round to `pounds`."""
    low, high = WEIGHT_RANGE
    return [kg for kg in range(low, high + 1) if round(kg * LB_PER_KG) == pounds]


def _weight_unit(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene | None:
    """A weight said with the wrong unit: a heavy patient's kilograms as pounds (98 kg, "98
    pounds"), or a light patient's pounds as kilograms (52 kg, "115 kilograms"); the control says
    the same number with its right unit.

    The number must be a weight patients have in either unit, and it is kept as often (a draw both
    twins share) as patients of the other kind say it: "115 kilograms" is then as often a
    115-kg patient's control as a 52-kg patient's problem, and only the recorded weight decides.
    None where this patient's weight allows neither."""
    kg, female = ctx.patient.weight_kg, ctx.patient.female
    pounds = round(kg * LB_PER_KG)
    if pounds <= WEIGHT_RANGE[1]:  # light: the pounds read as a weight in kilograms
        value, in_pounds = pounds, True
        own, other = sum(weight_share(w, female) for w in _said_as(pounds)), weight_share(pounds, female)
    else:  # heavy: the kilograms read as some lighter patient's pounds
        value, in_pounds = kg, False
        own, other = weight_share(kg, female), sum(weight_share(w, female) for w in _said_as(kg))
    if other == 0.0 or rng.random() >= min(own, other) / own:
        return None
    base = ctx.bank.get("problems.error_correction")
    variant = ctx.pick("problems.error_correction.weight_lines", rng)
    unit = ("kg" if in_pounds else "lb") if positive else ("lb" if in_pounds else "kg")
    line = ctx.say(variant["role"], variant["text"], value=value, unit=UNIT_WORDS[unit])
    ack = base["weight_ack"].format(kg=kg) if unit == "kg" else base["weight_ack_lb"].format(kg=kg, lb=value)
    trigger = Trigger(line, variant["ask"], ack, Target(kind="issue", answers=[f"{kg} kg"]))
    if in_pounds:
        flag = base["weight_flag"].format(value=pounds, kg=kg)
    else:
        flag = base["weight_flag_kg"].format(value=kg, as_kg=round(kg / LB_PER_KG), kg=kg)
    target = Target(kind="issue", answers=["weight"])
    task = _pair_task(
        Category.error_correction, trigger, positive, flag, target, [ctx.vitals, line], subtype="weight"
    )
    return Scene([line], [task])


def _band(ctx: CaseContext, analyte_id: str, value: float) -> int:
    """Below (-1), inside (0) or above (1) this patient's reference range, or 2 inside it but
    where no normal value is drawn (its edges): a swap into an edge would be a value no patient has."""
    analyte = ctx.analyte(analyte_id)
    low, high = analyte.range_for(ctx.patient.female)
    inner_low, inner_high = normal_bounds(analyte, ctx.patient.female)
    if low <= value <= high and not inner_low <= value <= inner_high:
        return 2
    return -1 if value < low else 1 if value > high else 0


def _transposed(ctx: CaseContext, rng: random.Random, analyte_id: str) -> float | None:
    """The patient's value with two neighbouring non-zero digits swapped (glucose 89 charted as
    98, hemoglobin 8.7 as 7.8), when that is another possible, non-critical value at least 10% away
    on the same side of the reference range; else None. Within one band a value and its swap are
    both as likely a patient's, so neither number belongs to problems (a normal 142 always swapped
    to a low 124 would)."""
    analyte = ctx.analyte(analyte_id)
    value = ctx.patient.labs[analyte_id]
    written = f"{value:.{analyte.decimals}f}"
    digits = written.replace(".", "")
    point = written.find(".")
    swaps = []
    for i in range(len(digits) - 1):
        if digits[i] == digits[i + 1] or "0" in digits[i : i + 2]:  # a moved zero reads as a slip
            continue
        swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
        other = float(swapped if point < 0 else swapped[:point] + "." + swapped[point:])
        if abs(other - value) >= 0.1 * value and _alike_value(ctx, analyte_id, other):
            swaps.append(other)
    return rng.choice(swaps) if swaps else None


def _alike_value(ctx: CaseContext, analyte_id: str, other: float) -> bool:
    """Whether `other` could as well be the patient's value of the lab as the one drawn: possible,
    not critical, and on the same side of the reference range."""
    analyte = ctx.analyte(analyte_id)
    inside = (analyte.critical_low or 0.0) < other < (analyte.critical_high or float("inf"))
    possible = (analyte.plausible_low or 0.0) <= other <= (analyte.plausible_high or float("inf"))
    value = ctx.patient.labs[analyte_id]
    return inside and possible and _band(ctx, analyte_id, other) == _band(ctx, analyte_id, value)


def error_lab(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene:
    """A lab value charted with two digits swapped or yesterday's value charted as today's (see
    `_lab_by_context`); where no lab allows either, another error that context decides (see
    `_decided_by_context`), and only without one a decimal slip (ten times too large or too small)
    that no patient can have."""
    if (scene := _decided_by_context(ctx, rng, positive, _lab_by_context)) is not None:
        return scene
    candidates = [a for a in ctx.bank.get("problems.implausible_analytes") if a in ctx.kb.analytes]
    analyte_id = rng.choice(candidates)
    analyte = ctx.analyte(analyte_id)
    true_value = ctx.patient.labs[analyte_id]
    ctx.patient.said_in_either.add(analyte_id)  # the slipped value reports nothing
    # The decimal point slips either way, so a slip is not simply a larger number than controls say.
    slips = [
        round(true_value * 10, max(analyte.decimals - 1, 0)),
        round(true_value / 10, analyte.decimals + 1),
    ]
    impossible = [
        v for v in slips if v > (analyte.plausible_high or float("inf")) or v < (analyte.plausible_low or 0.0)
    ]
    slipped = number(rng.choice(impossible or slips[:1]))
    base = ctx.bank.get("problems.error_correction")
    variant = ctx.pick("problems.error_correction.lab_lines", rng)
    shown = slipped if positive else number(true_value)
    unit = ctx.unit(analyte.id)
    line = ctx.say(
        variant["role"], variant["text"], analyte=ctx.analyte_name(analyte.id), value=shown, unit=unit
    )
    logged = Target(kind="issue", answers=[ctx.analyte_answer(analyte.id), number(true_value)])
    ack = base["lab_ack"].format(analyte=ctx.analyte_name(analyte.id), value=shown, unit=unit)
    trigger = Trigger(line, variant["ask"], tidy(ack), logged)
    flag = tidy(
        base["lab_flag"].format(
            analyte=ctx.analyte_name(analyte.id), value=slipped, unit=unit, right=number(true_value)
        )
    )
    task = _pair_task(
        Category.error_correction,
        trigger,
        positive,
        flag,
        Target(kind="issue", answers=[ctx.analyte_answer(analyte.id)]),
        [line],
        subtype="lab",
    )
    return Scene([line], [task])


def _lab_by_context(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene | None:
    """A lab charted with its digits swapped or yesterday's value charted as today's, a coin both
    twins share picking which is tried first. In a swap only the control says its number twice,
    so a model with a weight per number learns a little from which number of a recurring pair
    comes twice; yesterday's value is said in both twins, and a mix of the two keeps lab pairs
    undecidable by counting."""
    kinds = [_lab_swapped, _lab_stale]
    if rng.random() < 0.5:
        kinds.reverse()
    return next((scene for build in kinds if (scene := build(ctx, rng, positive)) is not None), None)


def _earlier(ctx: CaseContext, rng: random.Random, analyte_id: str) -> float | None:
    """Yesterday's value of a lab: 10-30% away from today's, up or down, on the same side of the
    reference range, possible and not critical, and at least a tenth of the range's width away
    (an ALT of 5 charted for 4 is no error anyone would act on); None when a few draws find none."""
    analyte = ctx.analyte(analyte_id)
    value = ctx.patient.labs[analyte_id]
    low, high = analyte.range_for(ctx.patient.female)
    for _ in range(4):
        change = rng.uniform(0.1, 0.3) * (1 if rng.random() < 0.5 else -1)
        other = round(value * (1 + change), analyte.decimals)
        if abs(other - value) >= (high - low) / 10 and _alike_value(ctx, analyte_id, other):
            return other
    return None


def _lab_stale(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene | None:
    """Today's and yesterday's value of a lab said, then today's charted (control) or yesterday's
    charted as today's (problem); None when no lab not said yet allows it.

    Both twins say both numbers and chart one of them, and a coin both twins share makes either
    number today's, so only which one the report dates today decides."""
    trended = [
        (a, e)
        for a in ctx.bank.get("problems.transposable_analytes")
        if a not in ctx.patient.said_in_either and (e := _earlier(ctx, rng, a)) is not None
    ]
    if not trended:
        return None
    analyte_id, earlier = rng.choice(trended)
    return _lab_pair(ctx, rng, positive, analyte_id, earlier, "lab_trend", "lab_stale_flag")


def _lab_swapped(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene | None:
    """A transposition (see `_lab_transposed`) of a lab not said yet; None when no lab allows one."""
    swappable = [
        (a, t)
        for a in ctx.bank.get("problems.transposable_analytes")
        if a not in ctx.patient.said_in_either and (t := _transposed(ctx, rng, a)) is not None
    ]
    return _lab_transposed(ctx, rng, positive, *rng.choice(swappable)) if swappable else None


def _lab_transposed(
    ctx: CaseContext, rng: random.Random, positive: bool, analyte_id: str, swapped: float
) -> Scene:
    """The lab's value said, then charted as it is (control) or with its digits swapped (problem)."""
    return _lab_pair(ctx, rng, positive, analyte_id, swapped, "lab_reported", "lab_transposed_flag")


def _lab_pair(
    ctx: CaseContext,
    rng: random.Random,
    positive: bool,
    analyte_id: str,
    other: float,
    report: str,
    flag_key: str,
) -> Scene:
    """The lab reported (with `other` as yesterday's value where the report's words say one), then
    charted right or as `other`. A coin both twins share makes either number of the pair the
    patient's (both lie in one band and neither has been said), so each is as often the right one
    as the slip."""
    labs = ctx.patient.labs
    if rng.random() < 0.5:
        labs[analyte_id], other = other, labs[analyte_id]
        moved = [a for a in labs if ctx.analyte(a).follows != analyte_id]  # a hematocrit with its hemoglobin
        follow_all(rng, ctx.kb.analytes, labs, ctx.patient.female, keep=moved)
    ctx.patient.mentioned_labs.add(analyte_id)
    ctx.patient.said_in_either.add(analyte_id)
    reported, _ = ctx.phrase(
        f"problems.error_correction.{report}",
        rng,
        analyte=ctx.analyte_name(analyte_id),
        value=number(ctx.patient.labs[analyte_id]),
        earlier=number(other),
        unit=ctx.unit(analyte_id),
    )
    return _lab_charted(ctx, rng, positive, analyte_id, reported, number(other), flag_key)


def _lab_charted(
    ctx: CaseContext,
    rng: random.Random,
    positive: bool,
    analyte_id: str,
    reported: Line,
    wrong: str,
    flag_key: str,
) -> Scene:
    """The lab just reported charted right (control) or as `wrong` (problem), by someone other than
    who reported it."""
    base = ctx.bank.get("problems.error_correction")
    name, unit = ctx.analyte_name(analyte_id), ctx.unit(analyte_id)
    right = number(ctx.patient.labs[analyte_id])
    variant = ctx.pick(
        "problems.error_correction.lab_charted", rng, lambda v: ctx.stand_in(v["role"]) != reported.role
    )
    shown = wrong if positive else right
    line = ctx.say(variant["role"], variant["text"], analyte=name, value=shown, unit=unit)
    logged = Target(kind="issue", answers=[ctx.analyte_answer(analyte_id), right])
    trigger = Trigger(
        line, variant["ask"], tidy(base["lab_ack"].format(analyte=name, value=right, unit=unit)), logged
    )
    flag = tidy(base[flag_key].format(analyte=name, value=wrong, unit=unit, right=right))
    task = _pair_task(
        Category.error_correction,
        trigger,
        positive,
        flag,
        Target(kind="issue", answers=[ctx.analyte_answer(analyte_id)]),
        [reported, line],  # charted as soon as heard: the report stays next to its slot
        subtype="lab",
    )
    return Scene([reported, line], [task])


# --- consistency_check ------------------------------------------------------------------------


def consistency_allergy(ctx: CaseContext, rng: random.Random, positive: bool, allergen: str) -> Scene:
    """The chart's allergy list lacks an allergy the patient reports.

    The problem's chart lists another allergy (a decoy drawn as the plan draws allergies) where the
    control's lists the reported one, so both charts name as many allergies, no allergen belongs to
    one twin, and only whether the chart holds the reported one decides."""
    reaction = dict(ctx.patient.allergies)[allergen]
    others = [allergy_name(ctx, a) for a, _ in ctx.patient.allergies if a != allergen]
    said, lay = allergy_name(ctx, allergen), lay_allergy_name(ctx, allergen)
    decoy = _decoy_allergy(ctx, rng)
    base = ctx.bank.get("problems.consistency_check")
    chart_variant = ctx.pick("problems.consistency_check.allergy_chart", rng)
    report, _ = ctx.phrase("problems.consistency_check.allergy_report", rng, allergen=lay, reaction=reaction)
    at = rng.randint(0, len(others))  # anywhere in the list, as charts are not ordered
    listed = [*others[:at], said if not positive or decoy is None else allergy_name(ctx, decoy), *others[at:]]
    if positive and decoy is None:
        listed.remove(said)
    lacking = ", ".join(listed) if positive and listed else "no known drug allergies"
    chart = ctx.say(
        chart_variant["role"], chart_variant["text"], chart=lacking if positive else ", ".join(listed)
    )
    flag = base["allergy_flag"].format(allergen=said if lay == said else f"{lay} ({said})", chart=lacking)
    trigger = Trigger(report, False, "")
    task = _pair_task(
        Category.consistency_check,
        trigger,
        positive,
        flag,
        Target(kind="issue", answers=[any_of(said, lay)]),
        [chart, report],
        plant=chart,
        subtype="allergy",
    )
    return Scene([chart, report], [task])


def _decoy_allergy(ctx: CaseContext, rng: random.Random) -> str | None:
    """An allergy class for a chart to list in place of the patient's own: one no drug of the story
    so far belongs to, nor a home medication or a first-line option; its drugs are then kept out of
    the case in both twins, so the chart that lists it is never contradicted."""
    kb, patient = ctx.kb, ctx.patient
    story = [*ctx.given, *ctx.used, *ctx.planned, *patient.home_meds, *patient.condition.first_line_drugs]
    taken = {kb.drugs[d].allergy_class for d in story if d in kb.drugs}
    own = {a for a, _ in patient.allergies}
    classes = sorted(
        {kb.drugs[d].allergy_class for d in ctx.pools.drugs if kb.drugs[d].allergy_class} - taken - own
    )
    if not classes:
        return None
    decoy = rng.choice(classes)
    ctx.safe_drugs = [d for d in ctx.safe_drugs if kb.drugs[d].allergy_class != decoy]
    ctx.unindicated = frozenset(d for d in ctx.unindicated if kb.drugs[d].allergy_class != decoy)
    ctx.forget_dosable()
    return decoy


def consistency_weight(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene:
    """A second weight that disagrees with the recorded one."""
    kg = ctx.patient.weight_kg
    delta = rng.randint(5, 8) if ctx.knobs["subtle_deviation"] else rng.randint(15, 28)
    # Up or down as often as the population holds the weight there, so the numbers said in
    # problems are as common as patients' own (a fair coin would say the tails' weights, 115 kg or
    # 59 kg, in problems more often than in controls).
    up, down = (weight_share(kg + delta, ctx.patient.female), weight_share(kg - delta, ctx.patient.female))
    other = kg + delta if rng.random() * (up + down) < up else kg - delta
    base = ctx.bank.get("problems.consistency_check")
    value = other if positive else kg
    trigger = _phrased_trigger(
        ctx,
        rng,
        "problems.consistency_check.weight_lines",
        base["weight_ack"],
        Target(kind="issue", answers=[f"{kg} kg"]),
        value=str(value),
    )
    flag = base["weight_flag"].format(kg=kg, value=other)
    task = _pair_task(
        Category.consistency_check,
        trigger,
        positive,
        flag,
        Target(kind="issue", answers=["weight"]),
        [ctx.vitals, trigger.line],
        subtype="weight",
    )
    return Scene([trigger.line], [task])


def consistency_medlist(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene:
    """The pharmacy's home-medication list has another drug where the patient takes one.

    The problem's list holds a drug the patient does not take (drawn from the same home drugs) in
    the place of the one the patient then names; the control's holds the named one. Both lists name
    as many drugs, and only whether the list holds the named drug decides."""
    home = ctx.patient.home_meds
    if not home:  # a given patient (from a case report) may take nothing at home
        return consistency_laterality(ctx, rng, positive)
    missing = rng.choice(home)
    decoy = _decoy_home_med(ctx, rng)
    if decoy is not None:
        ctx.used.add(decoy)  # named by the problem's list: a later clip may not stand for it
    base = ctx.bank.get("problems.consistency_check")
    list_variant = ctx.pick("problems.consistency_check.medlist_pharmacy", rng)
    report, _ = ctx.phrase("problems.consistency_check.medlist_report", rng, drug=ctx.drug(missing).name)
    swapped = decoy if positive and decoy is not None else missing
    listed = [ctx.drug(swapped if d == missing else d).name for d in home]
    if positive and decoy is None:
        listed.remove(ctx.drug(missing).name)
    # In alphabetical order, as a pharmacy system prints it: in the patient's order the decoy sat
    # where the missing drug did, and a first place a decoy took told problems apart (0.60).
    listed.sort()
    pharmacy = ctx.say(list_variant["role"], list_variant["text"], meds=", ".join(listed))
    flag = base["medlist_flag"].format(drug=ctx.drug(missing).name, meds=", ".join(listed))
    task = _pair_task(
        Category.consistency_check,
        Trigger(report, False, ""),
        positive,
        flag,
        Target(kind="issue", answers=[ctx.drug(missing).name]),
        [pharmacy, report],
        plant=pharmacy,
        subtype="medlist",
    )
    return Scene([pharmacy, report], [task])


CHRONIC_HOME_SHARE = 0.3
"""About this share of home medications treat a chronic condition; the rest are background drugs."""


def _decoy_home_med(ctx: CaseContext, rng: random.Random) -> str | None:
    """A home drug the patient does not take, for a wrong list to hold: drawn about as home lists
    are (a chronic condition's first-line drug or a background drug), so no drug name is more
    common in wrong lists than in right ones; free of major interactions with this patient's
    drugs."""
    kb, home = ctx.kb, set(ctx.patient.home_meds)
    # What this patient takes or has been given (a drug the list only wrongly holds meets nothing).
    near = home | {d for d in [*ctx.given, *ctx.used] if d in kb.drugs}
    classes = {kb.drugs[d].family for d in home}  # no second statin on a list
    # Nor what no patient's list holds: an ARB beside an ACE inhibitor, sildenafil for a woman.
    home_data = ctx.bank.get("indications")
    alike = {x for group in home_data["home_alike"] if home & set(group) for x in group}
    barred = alike | (set(home_data["male_only"]) if ctx.patient.female else set())
    clipped: dict[str, list[set[str]]] = {}
    for clip in kb.clips.values():
        for d in clip.drugs:
            clipped.setdefault(d, []).append(set(clip.drugs) - {d})

    def fits(d: str) -> bool:
        quiet = not kb.interacts(d, near)
        alone = kb.drugs[d].family not in classes
        harmless = d in ctx.safe_drugs or d in ctx.unindicated  # a wrong list needs no reason for it
        # A list planted early may name it before a clip ("levo") that stands for a drug said here.
        unclipped = all(c.isdisjoint(near) for c in clipped.get(d, []))
        listed = d in ctx.pools.drugs and d not in home and d not in barred
        return listed and harmless and quiet and alone and unclipped

    background = [d for d in ctx.bank.get("indications.home_background") if fits(d)]
    chronic = [
        [d for d in kb.conditions[c].first_line_drugs if fits(d) and kb.drugs[d].dose.route == "PO"]
        for c in ctx.pools.chronic
    ]
    chronic = [drugs for drugs in chronic if drugs]
    if chronic and (rng.random() < CHRONIC_HOME_SHARE or not background):
        return rng.choice(rng.choice(chronic))
    return rng.choice(background) if background else None


def consistency_laterality(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene:
    """Left in one statement, right in the next."""
    system = ctx.patient.condition.source.system

    def fits(entry: dict) -> bool:  # no thoracentesis in cirrhosis, no wrist fracture in hyperkalemia
        procedure_fits = entry.get("procedure", "") in {"", *ctx.procedures}
        return procedure_fits and system in entry.get("fits", [system])

    path = "problems.consistency_check.laterality"
    if not any(fits(e) for e in ctx.bank.variants(path, ctx.unseen)):
        return consistency_exam_imaging(ctx, rng, positive)
    entry = ctx.pick(path, rng, fits)
    side = rng.choice(["left", "right"])
    other = "right" if side == "left" else "left"
    checks = report_checks(ctx, rng, [entry["procedure"]]) if "procedure" in entry else []
    first = ctx.say(entry["first"]["role"], entry["first"]["text"], side=side)
    second = ctx.say(entry["second"]["role"], entry["second"]["text"], side=other if positive else side)
    flag = ctx.bank.get("problems.consistency_check.laterality_flag").format(
        First=capitalized(entry["first"]["short"]), second=entry["second"]["short"], side_a=side, side_b=other
    )
    task = _pair_task(
        Category.consistency_check,
        Trigger(second, False, ""),
        positive,
        flag,
        Target(kind="issue", answers=["left", "right"]),
        [first, second],
        plant=first,
        subtype="laterality",
    )
    return Scene([*checks, first, second], [task])


def consistency_exam_imaging(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene:
    """An exam finding the imaging contradicts. Exam and imaging are each normal or abnormal by a
    coin both twins share, and a second coin picks which of the two lines the twins flip."""
    entries = ctx.bank.variants("problems.consistency_check.exam_imaging", ctx.unseen)
    system = ctx.patient.condition.source.system
    entry = rng.choice([e for e in entries if system in e["fits"]] or entries)
    exam_abnormal = rng.random() < 0.5
    flip_exam = rng.random() < 0.5
    imaging_abnormal = exam_abnormal
    if positive:
        exam_abnormal, imaging_abnormal = (
            (not exam_abnormal, imaging_abnormal) if flip_exam else (exam_abnormal, not imaging_abnormal)
        )
    state = {False: "normal", True: "abnormal"}
    exam = ctx.say(entry["exam"]["role"], entry["exam"][state[exam_abnormal]])
    imaging = ctx.say(entry["imaging"]["role"], entry["imaging"][state[imaging_abnormal]])
    flag = ctx.bank.get("problems.consistency_check.exam_imaging_flag").format(
        exam_short=entry["short"][state[exam_abnormal]][0],
        imaging_short=entry["short"][state[imaging_abnormal]][1],
    )
    task = _pair_task(
        Category.consistency_check,
        Trigger(imaging, False, ""),
        positive,
        flag,
        Target(kind="issue", answers=list(entry["answers"])),
        [exam, imaging],
        plant=exam,
        subtype="exam_imaging",
    )
    return Scene([exam, imaging], [task])


# --- omission_detection -----------------------------------------------------------------------


def _normal(ctx: CaseContext, analyte_id: str) -> bool:
    low, high = ctx.analyte(analyte_id).range_for(ctx.patient.female)
    return low <= ctx.patient.labs[analyte_id] <= high


def omission_options(ctx: CaseContext) -> list[tuple[str, str]]:
    """(drug or procedure, precheck) pairs whose check, once done, would come back normal, for
    items that need no other check (so the control, which did this one, leaves nothing undone)."""
    patient = ctx.patient
    needed: dict[str, list[str]] = {}
    for precheck in ctx.kb.prechecks.values():
        if not patient.may_have(precheck.analytes):
            continue
        for item in precheck.applies_to:
            needed.setdefault(item, []).append(precheck.id)
    options = []
    for item, checks in needed.items():
        precheck = ctx.kb.prechecks[checks[0]]
        if len(checks) > 1 or not all(_normal(ctx, a) for a in precheck.analytes):
            continue
        if (
            item in ctx.kb.drugs
            and item in ctx.safe_drugs
            and ctx.dose(item) is not None
            and not ctx.patient.vitals_bar(ctx.drug(item))
            or (
                item in ctx.procedures
                and ctx.kb.procedures[item].allergy_class not in patient.allergy_classes
            )
        ):
            options.append((item, precheck.id))
    return sorted(options)


def _routine(ctx: CaseContext, precheck: Precheck) -> bool:
    """Whether a routine check could be reported done and normal for this patient."""
    return (
        precheck.routine
        and ctx.patient.may_have(precheck.analytes)
        and all(_normal(ctx, a) for a in precheck.analytes)
        and not (precheck.findings and "long_qt" in ctx.patient.states)
    )


def _parts(ctx: CaseContext, precheck_id: str) -> set[str]:
    """What reporting a check says: its analytes and findings, or the test's name for a check
    that has neither. A check of kidney function is touched by any measure of it."""
    check = ctx.kb.prechecks[precheck_id]
    parts = set(check.analytes) | set(check.findings) or {check.test}
    return parts | RENAL_FUNCTION if parts & RENAL_FUNCTION else parts


def _touched(ctx: CaseContext, precheck_id: str) -> bool:
    """Whether either twin has heard any part of this check. A half-done check is no omission to
    write: "INR and platelets haven't been done" would be wrong after an INR was read out, and a
    missing creatinine would be wrong after a CrCl was."""
    return bool(_parts(ctx, precheck_id) & ctx.patient.said_in_either)


def _overlaps(report: str, needed: str, ctx: CaseContext) -> bool:
    """Whether reporting check `report` would say any part of check `needed`: the problem twin's
    report must leave the needed check wholly undone ("K 4.3 and creatinine 0.8" is no missing
    creatinine)."""
    return bool(_parts(ctx, needed) & _parts(ctx, report))


def _check_report(ctx: CaseContext, precheck_id: str, variants: dict[str, dict], qtc: int) -> Line:
    """A line reporting a check as done: every analyte with its value and every finding it needs."""
    precheck = ctx.kb.prechecks[precheck_id]
    said = ctx.bank.get("problems.omission_detection.findings")
    parts = [f"{ctx.analyte_name(a)} {ctx.lab(a)}" for a in precheck.analytes]
    parts += [said[f].format(qtc=qtc) for f in precheck.findings]
    if parts:
        variant = variants["analytes"]
        return ctx.say(variant["role"], variant["text"], report=_join(parts))
    # Spoken by the same person as a lab report would be, so the twins' speakers match.
    return ctx.say(
        variants["analytes"]["role"], variants["test"]["text"], test=bare(precheck.test), result="normal"
    )


def bare(test: str) -> str:
    """A check's test without its article ("a CT head" -> "CT head"), to follow "the" or start a line."""
    return test.removeprefix("a ").removeprefix("an ")


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def omission(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene:
    """The team settles on a drug or procedure whose precheck nobody did; the control did it.

    Both twins hear a check reported in the same words: the control the one the plan needs, the
    problem another check drawn from the same options, so no report is a problem-only line."""
    every = omission_options(ctx)
    possible = [o for o in every if not _touched(ctx, o[1])]
    if not possible:  # every check this patient could skip has been reported: no omission to write
        return ambiguity_units(ctx, rng, positive)
    fitting = set(ctx.plausible([i for i, _ in possible if i in ctx.kb.drugs])) | ctx.procedures
    options = [o for o in possible if o[0] in fitting] or possible
    featured = set(ctx.pools.featured([item for item, _ in options if item in ctx.kb.drugs]))
    options = [o for o in options if o[0] in featured] if ctx.unseen and featured else options
    fresh = [o for o in options if o[0] not in ctx.used]
    unchecked = [o for o in fresh if o[1] not in ctx.used]
    # Two options whose checks differ, fresh ones first: the pair (and its coin) is what keeps
    # reported checks from telling problems, so a used option, or one the story would give a
    # reason for, is better than none.
    for pool in (unchecked, fresh, options, possible):
        pairs = [
            (a, b)
            for i, a in enumerate(pool)
            for b in pool[i + 1 :]
            if a[0] != b[0] and not _overlaps(a[1], b[1], ctx)
        ]
        if pairs:
            break
    if pairs:
        # Two options, and a coin for which one is planned: each check is as often the decoy as
        # the needed one, so no reported check belongs to problems.
        (item, precheck_id), (_, decoy) = sorted(rng.choice(pairs), key=lambda _: rng.random())
    else:
        # One option left: the decoy is the check of another thing this patient could be given, or
        # routine bloods or an ECG, drawn by what its report says (the four renal checks all say
        # a creatinine), so no report is mostly a decoy.
        item, precheck_id = rng.choice(unchecked or fresh or options)
        candidates = {c for _, c in every} | {c.id for c in ctx.kb.prechecks.values() if _routine(ctx, c)}
        by_report = {frozenset(_parts(ctx, c)): c for c in sorted(candidates, reverse=True)}
        others = sorted(c for c in by_report.values() if not _overlaps(c, precheck_id, ctx))
        if not others:
            return ambiguity_units(ctx, rng, positive)
        decoy = rng.choice(others)
    ctx.used |= {item, precheck_id}
    precheck = ctx.kb.prechecks[precheck_id]
    base = ctx.bank.get("problems.omission_detection")
    variants = {
        "analytes": ctx.pick("problems.omission_detection.done_analytes", rng),
        "test": ctx.pick("problems.omission_detection.done_test", rng),
    }
    lead = _distractor(ctx, rng)
    if item in ctx.kb.drugs:
        drug = ctx.drug(item)
        name = drug.name
        proposal, _ = ctx.phrase("problems.omission_detection.proposal", rng, drug=name)
        order = ctx.dose(item).order(drug)
        trigger = _order(ctx, rng, True, order, order, _dose_target(ctx.dose(item)), ctx.reason(item))
        plan = f"starting {name}"
    else:
        name = spoken(ctx.kb.procedures[item].name)
        proposal, _ = ctx.phrase("problems.omission_detection.procedure_proposal", rng, procedure=name)
        trigger = _phrased_trigger(
            ctx,
            rng,
            "problems.procedure_plans",
            ctx.bank.get("problems.procedure_ack"),
            Target(kind="issue", answers=[name]),
            procedure=name,
        )
        plan = f"the {name}"
    qtc = rng.randint(400, 440)
    before = set(ctx.patient.mentioned_labs)
    check = _check_report(ctx, decoy if positive else precheck_id, variants, qtc)
    # Later tasks choose by what was said, so both twins keep only what both of them heard.
    both = set(precheck.analytes) & set(ctx.kb.prechecks[decoy].analytes)
    ctx.patient.mentioned_labs = before | both
    ctx.patient.said_in_either |= _parts(ctx, precheck_id) | _parts(ctx, decoy)
    rationale = precheck.rationale.format(item=name)
    rationale = rationale[0].upper() + rationale[1:]
    # A time-critical first dose is not held for the check: it is drawn and the dose given.
    draw = not precheck.first_dose_waits and item in ctx.kb.drugs
    flag = base["flag_draw" if draw else "flag"].format(
        plan=plan, check=precheck.test, test=bare(precheck.test), rationale=rationale
    )
    target = Target(kind="issue", answers=[bare(precheck.test)])
    task = _pair_task(
        Category.omission_detection,
        trigger,
        positive,
        flag,
        target,
        [check, proposal, trigger.line],
        plant=check,
        subtype="precheck",
    )
    task.answer_with = "draw_now" if draw else ""
    return Scene([check, *lead, proposal, trigger.line], [task])


# --- ambiguity_clarification ------------------------------------------------------------------


def _given_line(
    ctx: CaseContext, rng: random.Random, bank: str, drug_id: str, time: str, **extra: str
) -> Line:
    """A line saying the drug's dose was given at a clock time, in full ("had morphine 4 mg IV at six")."""
    dose = ctx.dose(drug_id)
    line, _ = ctx.phrase(
        f"problems.ambiguity_clarification.{bank}",
        rng,
        drug=ctx.drug(drug_id).name,
        dose=dose.text,
        route=dose.route,
        time=time,
        **extra,
    )
    return line


def ambiguity_units(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene:
    """A dose said without its unit where nothing said fixes the unit.

    Both twins first hear one drug's last dose in full ("had morphine 4 mg IV at six"); the order
    then gives a dose without a unit, of that drug in the control (the unit is the one just said)
    and of another drug in the problem (no unit anywhere: two readings). A coin both twins share
    picks which of two drugs is the one given before, so each drug is as often the clear one as
    the unclear one and only whether the order repeats what was said decides."""
    # Drugs nobody has dosed yet in either twin: an earlier full dose would fix the unit.
    candidates = [d for d in _dose_candidates(ctx) if d not in ctx.given and d not in ctx.used]
    if len(candidates) < 2:
        return ambiguity_patient(ctx, rng, positive)
    first = ctx.choose_drug(rng, candidates)
    rest = [d for d in candidates if d != first and ctx.dose(d).text != ctx.dose(first).text]
    route = [d for d in rest if ctx.dose(d).route == ctx.dose(first).route]
    if not rest:  # the same in both twins: no second drug to leave unclear
        return ambiguity_patient(ctx, rng, positive)
    second = ctx.choose_drug(rng, route or rest)
    earlier, other = (first, second) if rng.random() < 0.5 else (second, first)
    drug_id = other if positive else earlier
    drug, dose = ctx.drug(drug_id), ctx.dose(drug_id)
    time = rng.choice(ctx.bank.get("problems.ambiguity_clarification.units_times"))
    given = _given_line(ctx, rng, "units_given", earlier, time)
    said = dose.as_written  # esmolol 26.5 (mg), not 26500 (mcg)
    bare = f"{drug.name} {number(said.amount)} {dose.route} {dose.frequency}"
    lead = _distractor(ctx, rng)
    # Said without the unit in both twins; a drafted order writes it out.
    trigger = _order(ctx, rng, True, bare, dose.order(drug), _dose_target(dose), ctx.reason(drug_id))
    flag = ctx.bank.get("problems.ambiguity_clarification.units_flag").format(
        drug=drug.name, amount=number(said.amount), unit=said.unit
    )
    task = _pair_task(
        Category.ambiguity_clarification,
        trigger,
        positive,
        flag,
        Target(kind="issue", answers=[drug.name, "unit"]),
        [given, trigger.line],  # said with a clock time: it stays next to its order
        subtype="units",
    )
    ctx.used.add(earlier)  # dosed in both twins; not a timeline event (its time was said)
    return Scene([given, *lead, trigger.line], [task])


def ambiguity_home_meds(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene:
    """ "Restart the home meds" naming a drug the clinic recently switched away from.

    Both twins hear an outdated list (with the old drug) and the switch (old to the patient's
    current home drug, a common switch read from the phrase bank); the plan then names the old
    drug in the problem and the current one in the control. Switches go both ways, so each drug
    is as often the old as the current one, and only whether the name fits the switch decides."""
    home = ctx.patient.home_meds
    switches = [
        (old, new)
        for a, b in ctx.bank.get("problems.ambiguity_clarification.home_switches")
        for old, new in ((a, b), (b, a))
        if new in home and old not in home and old in ctx.pools.drugs and old in ctx.safe_drugs
    ]
    if not switches:
        return ambiguity_patient(ctx, rng, positive)
    old, new = rng.choice(switches)
    old_name, new_name = ctx.drug(old).name, ctx.drug(new).name
    outdated = ", ".join(ctx.drug(old if d == new else d).name for d in home)
    listing, _ = ctx.phrase("problems.ambiguity_clarification.home_lists", rng, old_list=outdated)
    change, _ = ctx.phrase("problems.ambiguity_clarification.home_change", rng, old=old_name, new=new_name)
    plan, _ = ctx.phrase(
        "problems.ambiguity_clarification.home_plan", rng, drug=old_name if positive else new_name
    )
    flag = ctx.bank.get("problems.ambiguity_clarification.home_flag").format(old=old_name, new=new_name)
    task = _pair_task(
        Category.ambiguity_clarification,
        Trigger(plan, False, ""),
        positive,
        flag,
        Target(kind="issue", answers=[old_name, new_name]),
        [listing, change, plan],
        plant=listing,
        subtype="home_meds",
    )
    return Scene([listing, change, plan], [task])


@dataclass
class ClipDrugs:
    """The drugs of one clip ("levo") a scene can say were given today."""

    named: str | None
    """The one drug of the clip the case may have named already (a home medication, a drug ordered
    before): the order's drug when the clip is the order's, so nothing earlier is a second reading."""
    free: list[str]
    """The clip's drugs nobody has named yet."""


def _clip_drugs(ctx: CaseContext) -> dict[str, ClipDrugs]:
    """Each clip with what a scene can give of it: drugs this patient can be given by the dose
    today (safe, with a dose, not an infusion, which has no "next dose"; by mouth in a clinic; none
    that lowers the pressure in low pressure or shock). A clip is left out when a drug of it the
    scene cannot give, or two of them, may have been named (ordered, planned, taken at home, in
    the history, or the allergy a chart lists by brand): those would be readings the scene does
    not control."""
    patient = ctx.patient
    named = {*ctx.given, *ctx.used, *ctx.planned, *patient.home_meds}
    # A history the opening says by name ("hypothyroidism on levothyroxine") names its drug too.
    history = " ".join(ctx.kb.conditions[c].name.lower() for c in [patient.condition.id, *patient.chronic])
    named |= {d for clip in ctx.kb.clips.values() for d in clip.drugs if ctx.drug(d).name in history}

    def givable(drug_id: str) -> bool:
        dose, drug = ctx.dose(drug_id), ctx.drug(drug_id)
        return (
            drug_id in ctx.safe_drugs
            and dose is not None
            and "infusion" not in dose.frequency
            and not (ctx.setting.get("outpatient") and dose.route in INPATIENT_ROUTES)
            and not ctx.patient.vitals_bar(drug)
        )

    found = {}
    for clip in ctx.kb.clips.values():
        earlier = [
            d for d in clip.drugs if d in named or ctx.drug(d).allergy_class in patient.allergy_classes
        ]
        if len(earlier) > 1 or not all(givable(d) for d in earlier):
            continue
        free = [d for d in clip.drugs if d not in earlier and givable(d)]
        if len(earlier) + len(free) >= 2:
            found[clip.id] = ClipDrugs(earlier[0] if earlier else None, free)
    return found


def ambiguity_abbreviation(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene:
    """A drug called by its clip ("the next dose of levo") after two drugs given today.

    Both twins hear two drugs given today said in full, then an order naming one of them by its
    clip. In the problem the other drug shares the clip (levofloxacin and levothyroxine: two
    readings); in the control it has another clip (levothyroxine and hydrocortisone: one). The clip of
    the order and the clip of the other drug are two drawn from those with two drugs to give, in
    random order, and the other drug is any drug of its clip nobody has named yet, so each drug is
    as often the problem's second drug as the control's and only whether the two given drugs share
    the clip decides. A coin both twins share orders the two lines."""
    drugs = _clip_drugs(ctx)
    if len(drugs) < 2:
        return ambiguity_units(ctx, rng, positive)
    clip, other_clip = rng.sample(sorted(drugs), 2)
    ordered = drugs[clip].named or rng.choice(drugs[clip].free)
    sibling = rng.choice([d for d in drugs[clip].free if d != ordered])
    stranger = rng.choice(drugs[other_clip].free)
    swap = rng.random() < 0.5
    base = ctx.bank.get("problems.ambiguity_clarification")
    times = sorted(rng.sample(range(len(base["units_times"])), 2))
    checks = report_checks(ctx, rng, [ordered, sibling, stranger])
    pair = [ordered, sibling if positive else stranger]
    said = []
    for drug_id, time in zip(pair[::-1] if swap else pair, times, strict=True):
        said.append(
            _given_line(
                ctx, rng, "clip_given", drug_id, base["units_times"][time], reason=ctx.reason(drug_id)
            )
        )
    lead = _distractor(ctx, rng)
    drug, dose = ctx.drug(ordered), ctx.dose(ordered)
    ack = rng.choice(ctx.bank.get("problems.order_ack")).format(order=dose.order(drug))
    variant = ctx.pick("problems.ambiguity_clarification.clip_orders", rng)
    line = ctx.say(variant["role"], variant["text"], clip=clip)
    trigger = Trigger(line, variant["ask"], ack, Target(kind="issue", answers=[drug.name]))
    first, second = (ctx.drug(d).name for d in ((sibling, ordered) if swap else (ordered, sibling)))
    flag = base["clip_flag"].format(clip=clip, first=first, second=second)
    task = _pair_task(
        Category.ambiguity_clarification,
        trigger,
        positive,
        flag,
        Target(kind="issue", answers=[clip]),
        [*said, line],  # said with clock times: they stay next to the order
        subtype="abbreviation",
    )
    ctx.used |= {ordered, sibling, stranger}  # said in one twin or both: later tasks prefer others
    return Scene([*checks, *said, *lead, line], [task])


def ambiguity_patient(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene:
    """Two patients with the same surname and an order naming the other one's bed."""
    patient = ctx.patient
    # A home medication safe to give today (no metformin at a CrCl of 33, nothing oral while
    # fasting), no anticoagulant or antiplatelet, whose restart waits on bleeding and procedures,
    # and nothing taken weekly ("the methotrexate now" is how daily methotrexate deaths begin).
    options = [
        d
        for d in patient.home_meds
        if d in ctx.safe_drugs
        and ctx.drug(d).family not in ("anticoagulant", "antiplatelet")
        and not any("weekly" in rule.frequency for rule in ctx.drug(d).doses)
        and not patient.vitals_bar(ctx.drug(d))  # no lisinopril at 92/51, no metoprolol at 51
    ] or _dose_candidates(ctx)
    drug_id = ctx.choose_drug(rng, options)
    bed2 = rng.choice([b for b in range(2, 29) if b != patient.bed])
    fields = {
        "surname": patient.surname,
        "title": patient.title,
        "bed2": bed2,
        "drug": ctx.drug_said(drug_id),
    }
    warning, _ = ctx.phrase("problems.ambiguity_clarification.twins", rng, **fields)
    variant = ctx.pick("problems.ambiguity_clarification.twin_plan", rng)
    plan = ctx.say(variant["role"], variant["text"], named=bed2 if positive else patient.bed, **fields)
    flag = ctx.bank.get("problems.ambiguity_clarification.twin_flag").format(bed=patient.bed, **fields)
    target = Target(kind="issue", answers=[patient.surname])
    task = _pair_task(
        Category.ambiguity_clarification,
        Trigger(plan, False, ""),
        positive,
        flag,
        target,
        [warning, plan],
        plant=warning,
        subtype="patient",
    )
    return Scene([warning, plan], [task])


# --- safety_alert -----------------------------------------------------------------------------


def alternative_to(ctx: CaseContext, rng: random.Random, drug_id: str) -> str:
    """A safe drug to order in the control instead of the problem drug: same class if possible."""
    drug = ctx.drug(drug_id)
    candidates = _dose_candidates(ctx)
    same = [d for d in candidates if ctx.drug(d).drug_class == drug.drug_class]
    same = same or [d for d in candidates if ctx.drug(d).family == drug.family]
    return rng.choice(
        same or [d for d in ctx.patient.condition.first_line_drugs if d in candidates] or candidates
    )


def any_of(*names: str) -> str:
    """A content-check term met by naming any of `names` ("fluoroquinolones|Cipro")."""
    return "|".join(dict.fromkeys(names))


def lay_allergy_name(ctx: CaseContext, allergy_class: str) -> str:
    """What a patient or relative calls an allergy ("Cipro", "the CT dye"): the model has to map it
    to the class the chart uses. Fixed per patient, and never a name the split may not mention."""
    names = ctx.bank.get("problems.allergy_lay_names").get(allergy_class, [])
    options = [name for name in names if ctx.pools.text_ok(name)]
    if not options:
        return allergy_name(ctx, allergy_class)
    key = f"lay-allergy:{ctx.patient.surname}:{ctx.patient.bed}:{ctx.patient.age}:{allergy_class}"
    return options[stable_hash(key) % len(options)]


def problem_pool(ctx: CaseContext, kind: str) -> list[str]:
    """The drugs the plan draws a safety problem of this kind from, as often as it would draw each
    (one entry per interaction or contraindication a drug has)."""
    kb, pools = ctx.kb, ctx.pools
    drugs = pools.featured(list(pools.drugs))
    if kind == "allergy":
        return sorted(d for d in pools.drugs if kb.drugs[d].allergy_class)
    if kind == "interaction":  # partners a patient plausibly takes at home, as the plan asks
        home = ctx.bank.get("indications")
        takes = {d for d in home["home_background"] if d not in home["male_only"]}
        takes |= {d for c in pools.chronic for d in kb.conditions[c].first_line_drugs}
        return [
            d
            for d in drugs
            for i in kb.drugs[d].interactions
            if i.severity == "major"
            and i.drug in pools.drugs
            and i.drug in takes
            and kb.drugs[i.drug].dose.route == "PO"
        ]
    return [
        d
        for d in drugs
        for c in kb.drugs[d].contraindications
        if c.condition in PATIENT_STATES or c.condition in pools.chronic
    ]


def _present(ctx: CaseContext) -> set[str]:
    """What the patient takes or was given so far."""
    return set(ctx.patient.home_meds) | {d for d in [*ctx.given, *ctx.used] if d in ctx.kb.drugs}


def _clear(ctx: CaseContext, drug_id: str, besides: str | None = None) -> bool:
    """Safe to order here (`besides` aside): no interaction of any severity with what the patient
    takes or was given, and nothing the vital signs rule out (see `Patient.vitals_bar`)."""
    meets = ctx.kb.interacts(drug_id, _present(ctx) - {besides}, major_only=False)
    return not meets and not ctx.patient.vitals_bar(ctx.drug(drug_id))


def _control_pool(ctx: CaseContext, kind: str, drug_id: str) -> list[str]:
    """The drugs a control may order instead of `drug_id`: drawn as the plan draws a problem drug
    of this kind (from the same pool, each as often as it has problems of the kind), less those
    unsafe for this patient, so each drug is as common in controls as in problems. No home
    medication: a control re-ordering one would stand out."""
    home = set(ctx.patient.home_meds)
    return [
        d
        for d in problem_pool(ctx, kind)
        if d in ctx.safe_drugs
        and d != drug_id
        and d not in home
        and ctx.dose(d) is not None
        and _clear(ctx, d)
    ]


def story_drugs(kb: KnowledgeBase, supportive: list[str], condition: ConditionView) -> set[str]:
    """Drugs a safety problem or its control is drawn from first: the condition's first-line
    drugs, supportive ones, and those of conditions of the same organ system."""
    story = set(condition.first_line_drugs) | set(supportive)
    return story | {
        d for c in kb.conditions.values() if c.system == condition.source.system for d in c.first_line_drugs
    }


def _unsafe_order(
    ctx: CaseContext, rng: random.Random, positive: bool, drug_id: str, kind: str, planned: str | None = None
) -> tuple[Trigger, list[Line]]:
    """The order of the problem drug, or in the control a drug that is safe for this patient drawn
    the way the plan drew the problem drug, so no drug name (nor the reason and schedule said with
    it) belongs to problems only; and the lines, said in both twins, reporting the checks either
    drug needs first."""
    drug = ctx.drug(drug_id)
    dose = ctx.dose(drug_id) or Dose(drug.dose.amount, drug.dose.unit, drug.dose.route, drug.dose.frequency)
    pool = _control_pool(ctx, kind, drug_id)
    story = story_drugs(ctx.kb, ctx.bank.get("indications.supportive"), ctx.patient.condition)
    alike = [d for d in pool if d in story] or pool
    alternative = rng.choice(sorted(alike)) if alike else alternative_to(ctx, rng, drug_id)
    if planned in pool:  # the plan drew it with the problem drug (still safe for this patient)
        alternative = planned
    ctx.used.add(alternative)  # ordered in the control twin: later tasks treat it as dosed
    checks = report_checks(ctx, rng, [drug_id, alternative])
    right = ctx.dose(alternative)
    reason = ctx.reason(drug_id) if positive else ctx.reason(alternative)
    order = _order(
        ctx, rng, positive, dose.order(drug), right.order(ctx.drug(alternative)), _dose_target(right), reason
    )
    return order, checks


def safety_allergy(
    ctx: CaseContext, rng: random.Random, positive: bool, drug_id: str, alternative_id: str | None = None
) -> Scene:
    """An order for a drug in a class the patient is documented to be allergic to; the control
    orders the drug the plan drew with it from the same pool (see `allergy_drug` in the plan)."""
    if ctx.by_mouth_barred(drug_id):  # as no control is oral for a fasting patient
        return safety_critical(ctx, rng, positive)
    drug = ctx.drug(drug_id)
    allergen, lay = allergy_name(ctx, drug.allergy_class), lay_allergy_name(ctx, drug.allergy_class)
    reaction = dict(ctx.patient.allergies)[drug.allergy_class]
    variant = ctx.pick("problems.safety_alert.allergy_note", rng)
    # Staff read the chart's class; a patient or relative names what they remember.
    heard = lay if variant["role"] in ("patient", "family") else allergen
    note = ctx.say(variant["role"], variant["text"], allergen=heard, reaction=reaction)
    lead = _distractor(ctx, rng)
    trigger, checks = _unsafe_order(ctx, rng, positive, drug_id, "allergy", alternative_id)
    flag = ctx.bank.get("problems.safety_alert.allergy_flag").format(
        drug=drug.name,
        allergy_kind=allergy_name(ctx, drug.allergy_class, adjective=True),
        allergen=allergen,
        reaction=reaction,
    )
    task = _pair_task(
        Category.safety_alert,
        trigger,
        positive,
        flag,
        Target(kind="issue", answers=[drug.name, any_of(allergen, heard)]),
        [note, trigger.line],
        plant=note,
        subtype="allergy",
    )
    return Scene([*checks, note, *lead, trigger.line], [task])


def safety_interaction(
    ctx: CaseContext,
    rng: random.Random,
    positive: bool,
    drug_id: str,
    other_id: str,
    alternative_id: str | None = None,
) -> Scene:
    """An order for a drug with a major interaction with a home medication; the control orders
    the drug the plan drew with it (see `interaction_with_alternative` in the plan)."""
    # Both drugs of the plan's pair or neither: the problem drug meeting nothing but its partner,
    # the control's meeting nothing. Another control drug, drawn when the plan's is unsafe here,
    # would be one that meets little (azathioprine), and drugs that meet much (warfarin, lithium)
    # orders of problems only.
    if (
        not _clear(ctx, drug_id, besides=other_id)
        or not ctx.indicated(drug_id)
        or ctx.by_mouth_barred(drug_id)  # as no control is oral for a fasting patient
        or alternative_id not in _control_pool(ctx, "interaction", drug_id)
    ):
        return safety_critical(ctx, rng, positive)
    drug, other = ctx.drug(drug_id), ctx.drug(other_id)
    effect = next(i.effect for i in drug.interactions if i.drug == other_id)
    note, _ = ctx.phrase("problems.safety_alert.home_med_note", rng, drug=other.name)
    lead = _distractor(ctx, rng)
    trigger, checks = _unsafe_order(ctx, rng, positive, drug_id, "interaction", alternative_id)
    flag = ctx.bank.get("problems.safety_alert.interaction_flag").format(
        drug=drug.name, other=other.name, effect=effect.rstrip(".")
    )
    task = _pair_task(
        Category.safety_alert,
        trigger,
        positive,
        flag,
        Target(kind="issue", answers=[drug.name, other.name]),
        [note, trigger.line],
        plant=note,
        subtype="interaction",
    )
    return Scene([*checks, note, *lead, trigger.line], [task])


def safety_contraindication(
    ctx: CaseContext,
    rng: random.Random,
    positive: bool,
    drug_id: str,
    state: str,
    alternative_id: str | None = None,
) -> Scene:
    """An order for a drug contraindicated by a documented patient state or condition; the control
    orders the drug the plan drew with it (see `contraindicated` in the plan)."""
    # Only where either drug could have been the control had the coin fallen the other way: a
    # control drug drawn here instead would be one safe for nearly everyone (acetaminophen).
    pool = _control_pool(ctx, "contraindication", drug_id)
    if (
        alternative_id not in pool
        or not _clear(ctx, drug_id)
        or not ctx.indicated(drug_id)
        or ctx.by_mouth_barred(drug_id)  # as no control is oral for a fasting patient
    ):
        return safety_critical(ctx, rng, positive)
    drug = ctx.drug(drug_id)
    reason = next(c.reason for c in drug.contraindications if c.condition == state)
    base = ctx.bank.get("problems.safety_alert")
    patient = ctx.patient
    causes = [
        c for c in [patient.condition.id, *patient.chronic] if state in ctx.kb.conditions[c].implies_states
    ]
    if causes and state in base["implied_states"]:
        note = ctx.say(
            base["state_roles"][state],
            base["implied_note"],
            condition=spoken(ctx.kb.conditions[causes[0]].name),
        )
    elif state in base["states"]:
        fields = {"weeks": rng.randint(8, 30), "crcl": patient.crcl, "qtc": rng.randint(505, 560)}
        template = base["states"][state]
        fields["potassium"] = ctx.lab("potassium") if "{potassium}" in template else ""  # said only then
        if "{crcl}" in template:
            patient.said_in_either.add("crcl")
        note = ctx.say(base["state_roles"][state], template, **fields)
    else:
        note = ctx.say("resident", base["condition_note"], condition=ctx.kb.conditions[state].name)
    lead = _distractor(ctx, rng)
    trigger, checks = _unsafe_order(ctx, rng, positive, drug_id, "contraindication", alternative_id)
    flag = base["contraindication_flag"].format(drug=drug.name, reason=reason.rstrip("."))
    task = _pair_task(
        Category.safety_alert,
        trigger,
        positive,
        flag,
        Target(kind="issue", answers=[drug.name]),
        [note, trigger.line],
        plant=note,
        subtype="contraindication",
    )
    return Scene([*checks, note, *lead, trigger.line], [task])


def _critical_value(ctx: CaseContext, rng: random.Random, analyte_id: str, high: bool) -> float:
    """A value just beyond the analyte's critical limit on one side (subtly: barely beyond)."""
    analyte = ctx.analyte(analyte_id)
    limit = analyte.critical_high if high else analyte.critical_low
    width = analyte.high - analyte.low
    reach = 0.05 if ctx.knobs["subtle_deviation"] else 0.4
    step = 10.0**-analyte.decimals
    beyond = rng.uniform(step, max(step, width * reach))
    critical = round(limit + beyond if high else max(limit - beyond, step), analyte.decimals)
    if not high and critical >= limit:
        critical = round(limit - step, analyte.decimals)
    return critical


def _critical_side(ctx: CaseContext, analyte_id: str) -> bool:
    """Whether the analyte's critical value is drawn high (its low when it has no high limit)."""
    return ctx.analyte(analyte_id).critical_high is not None


def safety_critical(ctx: CaseContext, rng: random.Random, positive: bool) -> Scene:
    """Two results read out together, one critical and one a little out of range; the team then
    says which one needs acting on: the critical one (control) or the other (problem).

    Both twins hear the same two values; the draw of which analyte is the critical one is shared,
    and each analyte is as often the critical one as the other, so the analyte named (and every
    value) occurs as often in either twin and only whether the one named is the critical one
    decides. Analytes the patient's diagnoses explain are left out: their values are the ones the
    team is already treating."""
    patient = ctx.patient
    options = [
        a.id
        for a in ctx.kb.analytes.values()
        if (a.critical_high is not None or a.critical_low is not None)
        and _normal(ctx, a.id)
        and a.id not in (patient.stable_analyte, patient.borderline_analyte)
    ]
    explained = {
        f.analyte for c in [patient.condition.id, *patient.chronic] for f in ctx.kb.conditions[c].labs
    }
    followed = {a.follows for a in ctx.kb.analytes.values()}
    # Nothing a later check report would read out again as the record's value (K, platelets, INR),
    # nothing heard already, nothing the bank keeps out.
    checked = {a for check in ctx.kb.prechecks.values() for a in check.analytes}
    heard = patient.said_in_either | patient.mentioned_labs
    skipped = set(ctx.bank.get("problems.safety_alert.critical_pair_skip"))
    left_out = explained | followed | checked | heard | skipped
    pool = [a for a in options if a not in left_out and ctx.analyte(a).follows is None]
    if len(pool) < 2:
        return _critical_or_normal(ctx, rng, positive, options)
    critical_id, mild_id = rng.sample(pool, 2)
    critical = _critical_value(ctx, rng, critical_id, _critical_side(ctx, critical_id))
    mild = just_outside(rng, ctx.analyte(mild_id), _critical_side(ctx, mild_id), female=patient.female)
    # A new draw, not the record's admission values: no later task chooses these analytes.
    patient.said_in_either |= {critical_id, mild_id}
    results = [
        f"{ctx.analyte_name(a)} {number(v)} {ctx.unit(a)}"
        for a, v in ((critical_id, critical), (mild_id, mild))
    ]
    rng.shuffle(results)
    report, _ = ctx.phrase("problems.safety_alert.critical_pair_lines", rng, results=_join(results))
    named = mild_id if positive else critical_id
    priority, _ = ctx.phrase("problems.safety_alert.critical_priority", rng, analyte=ctx.analyte_name(named))
    flag = tidy(
        ctx.bank.get("problems.safety_alert.critical_flag").format(
            analyte=ctx.analyte_name(critical_id), value=number(critical), unit=ctx.unit(critical_id)
        )
    )
    task = _pair_task(
        Category.safety_alert,
        Trigger(priority, False, ""),
        positive,
        flag,
        Target(kind="issue", answers=[ctx.analyte_answer(critical_id)]),
        [report, priority],  # "of those" needs the two results just before it: no plant
        subtype="critical",
    )
    return Scene([report, priority], [task])


def _critical_or_normal(ctx: CaseContext, rng: random.Random, positive: bool, options: list[str]) -> Scene:
    """A critical value (the problem) or the patient's normal one (the control), then the team
    moves on to something else."""
    analyte_id = rng.choice(options)
    analyte = ctx.analyte(analyte_id)
    ctx.patient.mentioned_labs.add(analyte_id)
    ctx.patient.said_in_either.add(analyte_id)
    critical = _critical_value(ctx, rng, analyte_id, analyte.critical_high is not None)
    variant = ctx.pick("problems.safety_alert.critical_lines", rng)
    move_on, _ = ctx.phrase("problems.safety_alert.move_on", rng)
    shown = number(critical if positive else ctx.patient.labs[analyte_id])
    unit = ctx.unit(analyte.id)
    report = ctx.say(
        variant["role"], variant["text"], analyte=ctx.analyte_name(analyte.id), value=shown, unit=unit
    )
    flag = tidy(
        ctx.bank.get("problems.safety_alert.critical_flag").format(
            analyte=ctx.analyte_name(analyte.id), value=number(critical), unit=unit
        )
    )
    task = _pair_task(
        Category.safety_alert,
        Trigger(report, False, ""),
        positive,
        flag,
        Target(kind="issue", answers=[ctx.analyte_answer(analyte.id)]),
        [report, move_on],
        slot=move_on,
        subtype="critical",
    )
    return Scene([report, move_on], [task])
