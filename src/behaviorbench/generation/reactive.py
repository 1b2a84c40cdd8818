"""Reactive-group tasks: someone asks the assistant; gold `reactive` with a checkable answer."""

from __future__ import annotations

import random
import re

from behaviorbench.generation.context import CaseContext, acuity_of, demographics_of, spoken
from behaviorbench.generation.doses import needs_calculation, number
from behaviorbench.generation.pools import ConditionView
from behaviorbench.generation.script import Scene, Task
from behaviorbench.knowledge.models import Analyte
from behaviorbench.schema import ImageAttachment, TableAttachment, Target
from behaviorbench.taxonomy import Behavior, Category

MAX_LAB_ROWS = 7
FILL_PANELS = ("BMP", "CBC")
SINUS = ("normal_sinus", "sinus_tachycardia", "sinus_bradycardia")
"""Rhythms the heart rate decides."""


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def differential(ctx: CaseContext) -> list[str]:
    """The differential diagnoses this patient could have: no preeclampsia for a man of 85."""
    patient = ctx.patient
    by_name = {c.name: c for c in ctx.kb.conditions.values()}

    def fits(name: str) -> bool:
        rules = demographics_of(ctx.bank, by_name[name])
        low, high = rules.get("age", (0, 200))
        return (patient.female or not rules.get("female")) and low <= patient.age <= high

    return [d for d in patient.condition.differential if fits(d)]


def ddx(ctx: CaseContext, rng: random.Random, alternatives: bool = False) -> Scene:
    """Most likely diagnosis from presentation, exam and workup (or, asked again, the alternatives)."""
    condition = ctx.patient.condition
    if alternatives and differential(ctx):
        return ddx_alternatives(ctx, rng)
    exam, _ = ctx.phrase(
        "questions.exam_setup", rng, exam=_join(rng.sample(condition.exam, min(2, len(condition.exam))))
    )
    lines = [exam]
    if condition.imaging:
        imaging, _ = ctx.phrase("questions.imaging_setup", rng, imaging=rng.choice(condition.imaging))
        lines.append(imaging)
    question, _ = ctx.phrase("questions.ddx_reasoning", rng)
    lines.append(question)
    others = differential(ctx)[:2]
    response = f"Most likely {spoken(condition.name)}." + (
        f" Also consider {_join([spoken(o) for o in others])}." if others else ""
    )
    task = Task(
        Category.ddx_reasoning,
        question,
        Behavior.reactive,
        response,
        Target(kind="diagnosis", answers=[condition.name, *condition.synonyms]),
        [ctx.presentation, *lines],
    )
    return Scene(lines, [task])


def ddx_alternatives(ctx: CaseContext, rng: random.Random) -> Scene:
    """The differential beyond the working diagnosis."""
    condition = ctx.patient.condition
    question, _ = ctx.phrase("questions.ddx_alternatives", rng, dx=spoken(condition.name))
    others = differential(ctx)
    response = f"Also consider {_join([spoken(d) for d in others])}."
    target = Target(kind="diagnosis", answers=others)
    task = Task(
        Category.ddx_reasoning, question, Behavior.reactive, response, target, [ctx.presentation, question]
    )
    return Scene([question], [task])


def _lab_rows(ctx: CaseContext, rng: random.Random, second: bool) -> list[Analyte]:
    """The first table shows the panels the patient's conditions disturb; a second one a routine
    panel the first did not show."""
    kb, patient = ctx.kb, ctx.patient
    findings = [f.analyte for f in patient.condition.source.labs]
    for chronic in patient.chronic:
        findings += [f.analyte for f in kb.conditions[chronic].labs]
    findings = list(dict.fromkeys(findings))
    fallback = rng.choice(FILL_PANELS)
    primary = list(dict.fromkeys(kb.analytes[a].panel for a in findings))[:2] or [fallback]
    if second:
        panels = [p for p in FILL_PANELS if p not in primary][:1] or [FILL_PANELS[0]]
        chosen = [a for a in findings if kb.analytes[a].panel in panels]
    else:
        panels = primary
        chosen = findings[:3]
    if ctx.knobs["distractor_abnormality"] and patient.stable_analyte:
        chosen.append(patient.stable_analyte)
    for panel in [*panels, *FILL_PANELS]:
        for analyte in kb.analytes.values():
            if len(chosen) >= MAX_LAB_ROWS:
                break
            if analyte.panel == panel and analyte.id not in chosen and analyte.id != "beta_hcg":
                chosen.append(analyte.id)
        if len(chosen) >= 5:
            break
    order = {a: i for i, a in enumerate(kb.analytes)}
    return [kb.analytes[a] for a in sorted(set(chosen), key=order.__getitem__)]


def abnormal(analyte: Analyte, value: float, female: bool = False) -> str | None:
    """'high', 'low' or None: how a displayed value sits against this sex's reference range."""
    low, high = analyte.range_for(female)
    if value > high:
        return "high"
    if value < low:
        return "low"
    return None


def lab_table(ctx: CaseContext, rng: random.Random, second: bool = False) -> Scene:
    """A markdown lab table; the answer is the set of analytes outside their reference range. A
    second table in a case is a later draw of the first one's panels, never the same values."""
    if second and ctx.lab_tables:
        analytes, first = ctx.lab_tables[0]
        values = followup_values(ctx, rng, analytes, first)
        setup_path, question_path = "questions.lab_followup_setup", "questions.lab_followup_interpretation"
    else:
        analytes = _lab_rows(ctx, rng, second)
        values = {a.id: ctx.patient.labs[a.id] for a in analytes}
        setup_path, question_path = "questions.lab_setup", "questions.lab_interpretation"
        ctx.patient.mentioned_labs.update(values)
        ctx.patient.said_in_either.update(values)
    ctx.lab_tables.append((analytes, values))
    panels = list(dict.fromkeys(a.panel for a in analytes))
    rows, flagged = [], []
    for analyte in analytes:
        value = values[analyte.id]
        low, high = analyte.range_for(ctx.patient.female)
        rows.append([analyte.name, number(value), analyte.unit, f"{number(low)}-{number(high)}"])
        side = abnormal(analyte, value, ctx.patient.female)
        if side:
            flagged.append((analyte, value, side))
    table = TableAttachment(
        title=f"{' / '.join(panels)}: {ctx.patient.name}",
        columns=["Test", "Result", "Unit", "Reference range"],
        rows=rows,
    )
    setup, _ = ctx.phrase(setup_path, rng, panel=panel_words(ctx, panels))
    setup.attachments.append(table)
    question, _ = ctx.phrase(question_path, rng)
    if flagged:
        response = (
            "Out of range: "
            + "; ".join(f"{a.name} {_value(ctx, a, v)} ({_side(ctx, a, v, side)})" for a, v, side in flagged)
            + "."
        )
    else:
        response = "Nothing out of range; everything is within the reference ranges."
    target = Target(kind="analytes", answers=[a.name for a, _, _ in flagged])
    task = Task(Category.lab_interpretation, question, Behavior.reactive, response, target, [setup, question])
    return Scene([setup, question], [task])


def _side(ctx: CaseContext, analyte: Analyte, value: float, side: str) -> str:
    """How a value sits against its range, and against the target of a drug the patient takes
    ("high, within the 2-3 target on warfarin"): out of range is not always a concern."""
    for drug_id, (low, high) in analyte.targets.items():
        if drug_id in ctx.patient.home_meds and low <= value <= high:
            return f"{side}, within the {number(low)}-{number(high)} target on {ctx.drug(drug_id).name}"
    return side


def _value(ctx: CaseContext, analyte: Analyte, value: float) -> str:
    unit = ctx.unit(analyte.id)
    return f"{number(value)} {unit}" if unit else number(value)


def panel_words(ctx: CaseContext, panels: list[str]) -> str:
    """How the panels of a table are said: "BMP and CK", or "morning bloods" for many."""
    names = ctx.bank.get("questions.panel_names")
    if len(panels) > 3:
        return ctx.bank.get("questions.many_panels")
    return _join([names.get(p, p) for p in panels])


def followup_values(
    ctx: CaseContext, rng: random.Random, analytes: list[Analyte], first: dict[str, float]
) -> dict[str, float]:
    """A later draw: values the acute condition pushed out of range drift back toward it, the
    others wobble a little without changing side; at least one value differs from the first draw."""
    acute = (
        set()
        if ctx.patient.condition.source.chronic
        else {f.analyte for f in ctx.patient.condition.source.labs}
    )
    values = {}
    for analyte in analytes:
        value = first[analyte.id]
        female = ctx.patient.female
        low, high = analyte.range_for(female)
        width = high - low
        side = abnormal(analyte, value, female)
        if side and analyte.id in acute:
            bound = high if side == "high" else low
            value = value + (bound - value) * rng.uniform(0.2, 0.6)
        else:
            value = value + rng.uniform(-0.05, 0.05) * width
            if side == "high":
                value = max(value, high + 10.0**-analyte.decimals)
            elif side == "low":
                value = min(value, low - 10.0**-analyte.decimals)
            else:
                value = min(max(value, low), high)
        values[analyte.id] = _rounded(analyte, max(value, 10.0**-analyte.decimals))
    for analyte in analytes:  # a hematocrit moves with its hemoglobin, keeping their ratio
        leader = analyte.follows
        if leader in values and first[leader]:
            values[analyte.id] = _rounded(analyte, first[analyte.id] * values[leader] / first[leader])
    if values == first:
        analyte = analytes[0]
        step = 10.0**-analyte.decimals
        bumped = first[analyte.id] + step
        values[analyte.id] = _rounded(
            analyte,
            bumped
            if abnormal(analyte, bumped, ctx.patient.female)
            == abnormal(analyte, first[analyte.id], ctx.patient.female)
            else first[analyte.id] - step,
        )
    return values


def _rounded(analyte: Analyte, value: float) -> float:
    value = round(value, analyte.decimals)
    return float(int(value)) if analyte.decimals == 0 else value


def case_timeline(ctx: CaseContext, rng: random.Random) -> list[tuple[str, int]]:
    """The case's events with their times (minutes from yesterday 00:00), fixed once per case so
    every timeline question agrees with every other. A first dose is of a drug the conversation has
    already given (a first-line one when it can), never of one it starts later, and so comes last;
    none when it has given none. Symptoms begin yesterday evening and bring the patient in
    overnight, or within the hour when the illness is critical. Events the setting does not have
    (a transfer to the ward of a patient still in the emergency department) are left out."""
    first_line = ctx.patient.condition.first_line_drugs
    drugs = [ctx.drug(d).name for d in ctx.given if d in first_line] or [ctx.drug(d).name for d in ctx.given]
    drug = rng.choice(sorted(set(drugs))) if drugs else ""
    skipped = set(ctx.setting.get("no_events", []))
    minute = rng.randint(18 * 60, 23 * 60)  # symptoms began yesterday evening
    # A critical illness (anaphylaxis, a STEMI) brings the patient in within the hour.
    critical = acuity_of(ctx.bank, ctx.patient.condition.source) == "critical"
    events, dose = [], None
    for event in ctx.bank.get("questions.temporal_events"):
        if "{drug}" in event:
            dose = event.format(drug=drug) if drug else None
        elif event not in skipped:
            events.append((event, minute))
            first = rng.randint(20, 60) if critical else rng.randint(240, 600)
            minute += first if len(events) == 1 else rng.randint(25, 150)
    if dose is not None:
        events.append((dose, minute))
    return events


def clock(minute: int) -> str:
    day = "yesterday" if minute < 24 * 60 else "today"
    return f"{day} {(minute // 60) % 24:02d}:{minute % 60:02d}"


def timeline(ctx: CaseContext, rng: random.Random) -> Scene:
    """A scrambled list of timed events; the answer is their order."""
    if not ctx.timeline:
        ctx.timeline = case_timeline(ctx, random.Random(f"{ctx.stream}:timeline"))
    events = ctx.timeline
    picked = [events[i] for i in sorted(rng.sample(range(len(events)), min(len(events), rng.randint(4, 5))))]
    mentioned = list(range(len(picked)))
    while mentioned == sorted(mentioned):
        rng.shuffle(mentioned)
    events_text = "; ".join(f"{picked[i][0]} {clock(picked[i][1])}" for i in mentioned)
    setup, _ = ctx.phrase("questions.temporal_setup", rng, events=events_text)
    question, _ = ctx.phrase("questions.temporal_ordering", rng)
    steps = [f"{k + 1}. {label} ({clock(minute)})" for k, (label, minute) in enumerate(picked)]
    response = "In order: " + "; ".join(steps) + "."
    target = Target(kind="order", answers=[label for label, _ in picked])
    task = Task(Category.temporal_ordering, question, Behavior.reactive, response, target, [setup, question])
    return Scene([setup, question], [task])


def dose_question(ctx: CaseContext, rng: random.Random) -> Scene:
    """A weight- and/or renal-adjusted dose with its arithmetic, for a drug the story calls for
    (one that needs no calculation rather than an unrelated one that does)."""
    patient = ctx.patient
    own, background, supportive, _ = ctx.story_tiers()
    # Not a home medication nor a chronic condition's own treatment ("permanent atrial fibrillation
    # on warfarin"): its dose is the one the patient takes, not a starting dose to work out.
    standing = {d for c in patient.chronic for d in ctx.kb.conditions[c].first_line_drugs}
    dosable = ctx.dosable()
    dosable = [d for d in dosable if d not in patient.home_meds and d not in standing] or dosable
    dosable = [d for d in dosable if d in own or d in background or d in supportive] or dosable
    calculated = [d for d in dosable if needs_calculation(ctx.drug(d), ctx.indication(d), patient.crcl)]
    drug_id = ctx.choose_drug(rng, dosable if ctx.phase == "resuscitation" or not calculated else calculated)
    drug, dose = ctx.drug(drug_id), ctx.dose(drug_id)
    setup, variant = ctx.phrase(
        "questions.dose_setup",
        rng,
        weight=patient.weight_kg,
        creatinine=number(patient.creatinine),
        crcl=patient.crcl,
    )
    if "{creatinine}" in variant["text"]:  # a creatinine said is a creatinine reported
        patient.mentioned_labs.add("creatinine")
        patient.said_in_either.add("creatinine")
    if "{crcl}" in variant["text"]:  # renal function is known: no renal check can be missing
        patient.said_in_either.add("crcl")
    question, _ = ctx.phrase("questions.dose_calculation", rng, drug=drug.name, reason=ctx.reason(drug_id))
    ctx.given.append(drug_id)
    response = f"{dose.order(drug)}" + (f" ({'; '.join(dose.working)})." if dose.working else ".")
    target = Target(kind="dose", value=dose.amount, unit=dose.unit, tolerance=0.1)
    task = Task(Category.dose_calculation, question, Behavior.reactive, response, target, [setup, question])
    return Scene([setup, question], [task])


def treatment(ctx: CaseContext, rng: random.Random, comorbidity: bool = False) -> Scene:
    """First-line management of the main condition or, asked again, of a chronic comorbidity."""
    chronic = ctx.patient.chronic
    condition = ctx.pools.views[chronic[0]] if comorbidity and chronic else ctx.patient.condition
    setup_path = (
        "story.comorbidity_setup" if condition is not ctx.patient.condition else "questions.treatment_setup"
    )
    setup, _ = ctx.phrase(setup_path, rng, dx=spoken(condition.name))
    question, _ = ctx.phrase("questions.treatment_recommendation", rng, dx=spoken(condition.name))
    unsafe = ctx.unsafe_names() + _unsafe_classes(ctx, condition)
    options = [o for o in condition.first_line if not any(n in o.lower() for n in unsafe)]
    if len(options) < len(condition.first_line):  # the patient cannot take a first-line option
        options = [o for o in condition.alternatives if not any(n in o.lower() for n in unsafe)] + options
    options = options or list(condition.first_line)
    drugs = [ctx.drug(d).name for d in condition.first_line_drugs if d in ctx.safe_drugs]
    response = treatment_words(options)
    target = Target(kind="treatment", answers=list(dict.fromkeys(options + drugs)))
    task = Task(
        Category.treatment_recommendation, question, Behavior.reactive, response, target, [setup, question]
    )
    return Scene([setup, question], [task])


def _unsafe_classes(ctx: CaseContext, condition: ConditionView) -> list[str]:
    """The class words ("nsaid") of the condition's first-line drugs this patient must not get:
    "high-dose NSAID" names the ibuprofen a patient on warfarin cannot take."""
    words = ctx.bank.get("problems.allergy_words")
    blocked = [ctx.drug(d) for d in condition.first_line_drugs if d not in ctx.safe_drugs]
    return [words[c] for drug in blocked for c in {drug.allergy_class, *drug.classes} if c in words]


def treatment_words(options: list[str]) -> str:
    """The first-line option and one complementary step, said the way a note's plan reads:
    "Primary PCI; also aspirin 325 mg chewed." The second step skips the option right after the
    first (usually a synonym) and any that repeats its words."""
    first = options[0]
    words = {w for w in re.findall(r"[a-z]{4,}", first.lower())}
    extra = next(
        (o for o in options[2:] + options[1:2] if not words & set(re.findall(r"[a-z]{4,}", o.lower()))),
        None,
    )
    return f"{first}; also {extra}." if extra else f"{first}."


def ecg_rhythm(ctx: CaseContext, repeat: bool) -> tuple[str, int]:
    """The rhythm and rate the patient's strip shows (a repeat strip after treatment is sinus); a
    comorbidity's rhythm (permanent atrial fibrillation) where the condition sets none of its own."""
    patient = ctx.patient
    rhythm = patient.condition.source.ecg_rhythm
    standing = [r for c in patient.chronic if (r := ctx.kb.conditions[c].ecg_rhythm) not in (None, *SINUS)]
    if rhythm in (None, *SINUS) and standing:
        rhythm = standing[0]
    rate = int(patient.vitals.get("heart_rate", 80))
    if repeat and not patient.condition.source.chronic and not standing:
        return "normal_sinus", 60 + patient.bed % 7 * 5
    if rhythm == "atrial_flutter":
        return rhythm, min((150, 100, 75), key=lambda r: abs(r - rate))
    if rhythm in (None, *SINUS):
        rhythm = "sinus_tachycardia" if rate > 100 else "sinus_bradycardia" if rate < 60 else "normal_sinus"
    return rhythm, rate


def ecg_path(rhythm: str, rate: int, variant: int) -> str:
    """Where a strip lives in a dataset folder: a pure function of its truth."""
    return f"images/ecg-{rhythm}-{rate}-{variant}.png"


def image(ctx: CaseContext, rng: random.Random, repeat: bool = False) -> Scene:
    """An ECG rhythm strip; the answer is the rhythm."""
    rhythm, rate = ecg_rhythm(ctx, repeat)
    variant = rng.randint(1, 4)
    info = ctx.bank.get(f"ecg.rhythms.{rhythm}")
    attachment = ImageAttachment(
        title=f"Rhythm strip, lead II, 10 s ({ctx.patient.name})",
        path=ecg_path(rhythm, rate, variant),
        truth={"rhythm": rhythm, "rate": rate, "variant": variant},
    )
    setup, _ = ctx.phrase("questions.image_repeat_setup" if repeat else "questions.image_setup", rng)
    setup.attachments.append(attachment)
    question, _ = ctx.phrase("questions.image_reasoning", rng)
    response = f"{info['title']}, rate about {rate} per minute."
    target = Target(kind="rhythm", answers=list(info["names"]))
    task = Task(Category.image_reasoning, question, Behavior.reactive, response, target, [setup, question])
    return Scene([setup, question], [task])
