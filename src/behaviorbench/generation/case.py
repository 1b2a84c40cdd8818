"""Write one case: plan, patient, cast, opening, scenes, then assemble the `Case`.

Cases come in twin pairs (2k, 2k+1) drawn from one random stream seeded by (seed, k). The twins
are identical except that every proactive task is a positive in one and its control in the other,
decided per task by a coin from the shared stream. Each scene and task draws from its own stream
seeded by its position, so nothing a task does can shift the randomness of the tasks after it.
"""

from __future__ import annotations

import random
from dataclasses import replace

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.generation import proactive
from behaviorbench.generation.banks import PhraseBank
from behaviorbench.generation.context import CaseContext, acuity_of, demographics_of, spoken
from behaviorbench.generation.doses import avoided, indication_of
from behaviorbench.generation.given import PLAN_TRIES, Given
from behaviorbench.generation.patient import Patient, simulate_patient
from behaviorbench.generation.plan import WEIGHT_TASKS, Phase, TaskSpec, make_plan
from behaviorbench.generation.pools import Pools, pools_for
from behaviorbench.generation.script import Scene, Script, assemble
from behaviorbench.generation.splits import split_of
from behaviorbench.knowledge.models import Condition, KnowledgeBase
from behaviorbench.schema import Case
from behaviorbench.taxonomy import Behavior, Category

GENERATOR_VERSION = "2.8.0"
KNOBS: tuple[str, ...] = (
    "subtle_deviation",
    "distractor_abnormality",
    "long_range_evidence",
    "already_addressed",
)
KNOB_SHARE = 0.25
LONG_RANGE_GAP = 15
"""Utterances between planted evidence and its slot when `long_range_evidence` is on."""
OPENER_SHARE = 0.15
"""Chance that a scene within a phase starts with a regrouping line ("Back to bed 4.")."""
PHASE_LINE_SHARE = 0.85
"""Chance that a new phase of the course is announced ("Let's get some bloods and an ECG.")."""
CHATTER_SHARE = 0.2
URGENT_CHATTER = 0.4
"""An urgent case has this fraction of the usual small talk."""


def case_id(seed: int, index: int) -> str:
    return f"bb-{seed}-{index:06d}"


def build_case(
    kb: KnowledgeBase,
    bank: PhraseBank,
    seed: int,
    index: int,
    scenes: int | None = None,
    given: Given | None = None,
) -> Case:
    """The case at (seed, index) from this knowledge base and phrase bank; pure and deterministic.
    With `given`, the patient's condition and facts come from it (index: the twin's parity)."""
    split = given.split if given else split_of(seed, index)
    pools = pools_for(kb, unseen=split == "test_unseen")
    pair, parity = divmod(index, 2)
    stream = given.stream if given else f"bb:{seed}:{pair}"
    rng = random.Random(stream)
    knobs = {knob: rng.random() < KNOB_SHARE for knob in KNOBS}
    condition = pools.views[given.condition if given else rng.choice(pools.conditions)]
    setting = rng.choice(settings_for(bank, condition.source))
    urgent = setting["id"] == "rapid_response" or acuity_of(bank, condition.source) == "critical"
    home = bank.get("indications")
    background = [d for d in home["home_background"] if d in pools.drugs and d not in home["male_only"]]
    for _ in range(PLAN_TRIES if given else 1):
        plan = make_plan(
            rng,
            pools,
            knobs,
            condition,
            bank.get("problems.allergy_words"),
            background,
            home["supportive"],
            frozenset(bank.get("indications.own_indication_only")),
            urgent,
            bool(setting.get("outpatient")),
        )
        if given is None or given.fits(plan.needs, kb):
            break
    else:
        raise BehaviorBenchError(f"{given.case_ids[0]}: no plan of {PLAN_TRIES} fits the given facts")
    cast_data = bank.get("cast")
    demographics = demographics_of(bank, condition.source)
    patient = simulate_patient(rng, pools, condition, plan.needs, cast_data["last_names"], demographics)
    problems = [s for scene in plan.scenes for s in scene if s.category is Category.safety_alert]
    problem_drugs = [s.kwargs[k] for s in problems for k in ("drug_id", "alternative_id") if s.kwargs.get(k)]
    if given:
        given.apply(patient, plan.needs, kb, cast_data["allergy_reactions"], rng)
    else:
        _allergies_and_home_meds(
            rng, pools, patient, plan.needs.allergies, cast_data["allergy_reactions"], home, problem_drugs
        )
    for spec in problems:
        if spec.subtype == "contraindication":
            _explained_contraindication(
                random.Random(f"{stream}:contraindication"), pools, bank, patient, spec
            )
        if "drug_id" in spec.kwargs and not _only_intended(pools, patient, spec):
            spec.build, spec.kwargs, spec.subtype = proactive.safety_critical, {}, "critical"
    ordered = [s.kwargs[k] for s in problems for k in ("drug_id", "alternative_id") if s.kwargs.get(k)]
    speaks = condition.id not in bank.get("settings.cannot_speak")
    cast = _cast(rng, bank, setting, patient, speaks)
    ctx = CaseContext(
        pools=pools,
        bank=bank,
        patient=patient,
        setting=setting,
        cast=cast,
        assistant=rng.choice(cast_data["assistant_names"]),
        knobs=knobs,
        speaks=speaks,
        stream=stream,
    )
    ctx.histories = _histories(random.Random(f"{stream}:history"), ctx, ordered)
    harmless = _safe_drugs(pools, patient, list(pools.drugs))
    ctx.safe_drugs = [d for d in harmless if ctx.indicated(d)]
    ctx.unindicated = frozenset(harmless) - set(ctx.safe_drugs)
    ctx.safe_drugs = [d for d in ctx.safe_drugs if not ctx.by_mouth_barred(d)]
    # Both drugs of a safety pair stay orderable: the story gives nothing either meets, besides
    # its own treatment, as a patient's state keeps the drugs it bars away. Otherwise a control
    # drug meeting much (ondansetron, beside any QT drug) could seldom be ordered, and would be
    # mostly a problem drug.
    own, paired = set(condition.first_line_drugs), set(ordered)
    ctx.safe_drugs = [
        d for d in ctx.safe_drugs if d in own or d in paired or not kb.interacts(d, paired, major_only=False)
    ]
    ctx.planned = set(problem_drugs) | set(ordered)
    ctx.weight_said = any((s.category, s.subtype) in WEIGHT_TASKS for scene in plan.scenes for s in scene)
    ctx.procedures = procedures_for(bank, condition.source)
    opening = _opening(ctx, random.Random(f"{stream}:opening"))

    chosen = plan.scenes if scenes is None else plan.scenes[: max(scenes, 1)]
    setting_path = f"settings.settings.{bank.get('settings.settings').index(setting)}.openers"
    written = []
    phase = None
    for n, specs in enumerate(chosen):
        scene_rng = random.Random(f"{stream}:s{n}")
        lines, tasks = [], []
        if specs[0].phase is not phase:
            phase = specs[0].phase
            if scene_rng.random() < PHASE_LINE_SHARE:
                lines.append(ctx.phase_line(phase.name, urgent, scene_rng))
        elif scene_rng.random() < OPENER_SHARE and (opener := ctx.pick_fresh(setting_path, scene_rng)):
            lines.append(ctx.say(opener["role"], opener["text"]))
        chatter_share = CHATTER_SHARE * (URGENT_CHATTER if urgent else 1.0)
        chatter_before = scene_rng.random() < chatter_share and phase is not Phase.resuscitation
        chatter_after = scene_rng.random() < chatter_share and phase is not Phase.resuscitation
        if chatter_before and (line := ctx.chatter(scene_rng)) is not None:
            lines.append(line)
        for k, spec in enumerate(specs):
            ctx.phase = spec.phase.name
            task_rng = random.Random(f"{stream}:s{n}:t{k}")
            extra = {} if spec.coin is None else {"positive": spec.coin == parity}
            scene: Scene = spec.build(ctx, task_rng, **extra, **spec.kwargs)
            for task in scene.tasks:
                if task.positive and task.behavior is Behavior.proactive:
                    reaction_rng = random.Random(f"{stream}:s{n}:t{k}:reaction")
                    kind = task.answer_with or task.subtype or spec.subtype
                    task.reaction = ctx.reaction(task, kind, reaction_rng)
            lines += scene.lines
            tasks += scene.tasks
        if chatter_after and (line := ctx.chatter(scene_rng)) is not None:
            lines.append(line)
        written.append(Scene(lines, tasks))
    if scenes is None:
        closing = ctx.disposition_line(acuity_of(bank, condition.source), random.Random(f"{stream}:close"))
        written.append(Scene([closing], []))

    this_id = given.case_ids[parity] if given else case_id(seed, index)
    twin_id = given.case_ids[1 - parity] if given else case_id(seed, index ^ 1)
    utterances, slots = assemble(
        Script(opening, written), this_id, twin_id, knobs["long_range_evidence"], LONG_RANGE_GAP
    )
    return Case(
        case_id=this_id,
        split=split,
        seed=seed,
        version=GENERATOR_VERSION,
        setting=setting["name"],
        assistant_names=[ctx.assistant],
        patient=patient.facts(),
        difficulty=knobs,
        utterances=utterances,
        slots=slots,
    )


def _allergies_and_home_meds(
    rng: random.Random,
    pools: Pools,
    patient: Patient,
    needed: list[str],
    reactions: list[str],
    home: dict,
    problem_drugs: list[str],
) -> None:
    """Allergies the plan needs (plus maybe one more), then home meds that are safe together: those
    of the patient's chronic conditions first, then common background drugs that suit their sex,
    never two of a kind (`home_alike`).
    Neither the extra allergy nor a home med the plan did not ask for may touch a drug a safety
    problem orders, so that order holds only the problem it was planned for."""
    kb = pools.kb
    classes = list(dict.fromkeys(needed))
    home_classes = {kb.drugs[d].allergy_class for d in patient.home_meds}
    spare = sorted(
        {kb.drugs[d].allergy_class for d in pools.drugs if kb.drugs[d].allergy_class}
        - set(classes)
        - home_classes
        - {kb.drugs[d].allergy_class for d in problem_drugs}
    )
    partners, _ = _per_kb(kb)
    ordered = set(problem_drugs)
    if spare and rng.random() < 0.3:
        classes.append(rng.choice(spare))
    patient.allergies = [(a, rng.choice(reactions)) for a in classes]
    wanted = rng.randint(2, 4)
    preferred = [d for c in patient.chronic for d in kb.conditions[c].first_line_drugs if d in pools.drugs]
    others = [
        d
        for d in home["home_background"]
        if d in pools.drugs and (not patient.female or d not in home["male_only"])
    ]
    alike = {d: set(group) for group in home["home_alike"] for d in group}
    for pool in (preferred, others):
        candidates = list(dict.fromkeys(pool))
        rng.shuffle(candidates)
        for drug in candidates:
            if len(patient.home_meds) >= wanted:
                return
            clear = partners[drug].isdisjoint(ordered) and not any(drug in partners[d] for d in ordered)
            second = not alike.get(drug, set()).isdisjoint(patient.home_meds)  # no two statins
            if drug not in patient.home_meds and clear and not second and _safe(pools, patient, drug):
                patient.home_meds.append(drug)


def _histories(rng: random.Random, ctx: CaseContext, ordered: list[str]) -> tuple[str, ...]:
    """What the opening history names beside the patient's conditions: the long-standing condition
    behind each drug a safety problem orders that needs one (azathioprine: Crohn's disease), then
    common ones each drawn for its share of patients old enough."""
    data = ctx.bank.get("indications")
    standing = data["standing_reasons"]
    relevant = ctx.relevant_drugs()
    names = [standing[d]["history"] for d in ordered if d in standing and d not in relevant]
    for name, rule in data["background_history"].items():
        if rng.random() < rule["share"] and ctx.patient.age >= rule["min_age"]:
            names.append(name)
    return tuple(dict.fromkeys(names))


def _explained_contraindication(
    rng: random.Random, pools: Pools, bank: PhraseBank, patient: Patient, spec: TaskSpec
) -> None:
    """Another drug the same state contraindicates, in the place of one whose reason would be a
    long-standing condition the story never gave (methotrexate "for her psoriasis"): the control
    orders a drug the story can give, so the problem's may not need a history either. Drugs the
    story can order come first, as the plan draws them; the drug stays when none other fits."""
    kb, data = pools.kb, bank.get("indications")
    relevant = {*patient.condition.first_line_drugs, *patient.home_meds}
    relevant |= {d for c in patient.chronic for d in kb.conditions[c].first_line_drugs}

    unexplained = data["standing_reasons"].keys() | set(data["own_indication_only"])

    def explained(drug_id: str) -> bool:
        return drug_id in relevant or drug_id not in unexplained

    if explained(spec.kwargs["drug_id"]):
        return
    state = spec.kwargs["state"]
    options = [
        d
        for d in sorted(pools.featured(list(pools.drugs)))
        if explained(d)
        and kb.drugs[d].barred_by(state)
        and _only_intended(pools, patient, replace(spec, kwargs={**spec.kwargs, "drug_id": d}))
    ]
    story = proactive.story_drugs(kb, data["supportive"], patient.condition)
    options = [d for d in options if d in story] or options
    if options:
        spec.kwargs = {**spec.kwargs, "drug_id": rng.choice(options)}


def _only_intended(pools: Pools, patient: Patient, spec: TaskSpec) -> bool:
    """Whether a safety problem's drug is safe for this patient but for the one problem it was
    planned for (its allergy, its interacting home medication, or any contraindication)."""
    kb = pools.kb
    drug = kb.drugs[spec.kwargs["drug_id"]]
    if patient.vitals_bar(drug):  # no losartan at 92/51, problem or not
        return False
    if spec.subtype == "allergy":
        allergies = [(a, r) for a, r in patient.allergies if a != drug.allergy_class]
        return _safe(pools, replace(patient, allergies=allergies), drug.id)
    if spec.subtype == "interaction":
        home_meds = [d for d in patient.home_meds if d != spec.kwargs["other_id"]]
        return _safe(pools, replace(patient, home_meds=home_meds), drug.id)
    partners, _ = _per_kb(kb)
    return drug.allergy_class not in patient.allergy_classes and partners[drug.id].isdisjoint(
        patient.home_meds
    )


def _safe(pools: Pools, patient: Patient, drug_id: str) -> bool:
    """Whether giving this drug to this patient raises no allergy, contraindication or interaction."""
    return _safe_drugs(pools, patient, [drug_id]) == [drug_id]


def _safe_drugs(pools: Pools, patient: Patient, drug_ids: list[str] | tuple[str, ...]) -> list[str]:
    """The drugs among `drug_ids` that are safe for this patient (what depends only on the patient
    is worked out once: every case checks every drug)."""
    kb = pools.kb
    diagnoses = (patient.condition.id, *patient.chronic)
    allergies = set(patient.allergy_classes)
    home = set(patient.home_meds)
    partners, facts = _per_kb(kb)
    safe = []
    for drug_id in drug_ids:
        drug = kb.drugs[drug_id]
        if drug.allergy_class in allergies or not partners[drug_id].isdisjoint(home):
            continue
        key = (drug_id, diagnoses)
        if key not in facts:
            facts[key] = (
                kb.waived_states(drug_id, list(diagnoses)),
                indication_of(kb, drug_id, list(diagnoses)),
            )
        waived, indication = facts[key]
        states = set(patient.states) - waived if patient.states else set()
        if any(c.condition in states or c.condition in diagnoses for c in drug.contraindications):
            continue
        if ("pregnancy" in states and drug.teratogenic) or ("long_qt" in states and drug.qt_prolonging):
            continue
        if not avoided(drug, indication, patient.crcl):
            safe.append(drug_id)
    return safe


_PER_KB: dict[int, tuple[KnowledgeBase, dict[str, frozenset[str]], dict]] = {}


def _per_kb(kb: KnowledgeBase) -> tuple[dict[str, frozenset[str]], dict]:
    """Per knowledge base (every case asks about every drug): each drug's major-interaction
    partners, and a memo of (drug, diagnoses) -> (waived states, indication)."""
    cached = _PER_KB.get(id(kb))
    if cached is None or cached[0] is not kb:
        partners = {
            d.id: frozenset(i.drug for i in d.interactions if i.severity == "major" and i.drug != d.id)
            for d in kb.drugs.values()
        }
        cached = _PER_KB[id(kb)] = (kb, partners, {})
    return cached[1], cached[2]


def procedures_for(bank: PhraseBank, condition: Condition) -> frozenset[str]:
    """The procedures this condition's course may involve (indications bank)."""
    fits = bank.get("indications.procedures")
    return frozenset(fits["by_condition"].get(condition.id) or fits["by_system"].get(condition.system, []))


def settings_for(bank: PhraseBank, condition: Condition) -> list[dict]:
    """The settings that suit a condition's acuity (a tumor board only for its listed conditions)."""
    acuity = acuity_of(bank, condition)
    return [
        s
        for s in bank.get("settings.settings")
        if (condition.id in s["conditions"] if "conditions" in s else acuity in s["fits"])
    ]


def _cast(
    rng: random.Random, bank: PhraseBank, setting: dict, patient: Patient, speaks: bool
) -> dict[str, str]:
    """Role -> speaker name for the setting's roles; the patient speaks under their own name
    (unless their condition keeps them from speaking)."""
    data = bank.get("cast")
    firsts = rng.sample(data["first_names"], len(setting["roles"]))
    lasts = rng.sample([n for n in data["last_names"] if n != patient.surname], len(setting["roles"]))
    cast = {}
    for role, first, last in zip(setting["roles"], firsts, lasts, strict=True):
        if role == "patient":
            if setting["patient_present"] and speaks:
                cast[role] = patient.name
            continue
        if role == "family" and not setting["patient_present"]:
            continue
        cast[role] = data["speaker_format"][role].format(first=first, last=last)
    return cast


def _opening(ctx: CaseContext, rng: random.Random) -> list:
    """Who the patient is (their conditions and `ctx.histories`, then the home medications the
    conditions do not explain), and the first vitals with the recorded weight."""
    patient = ctx.patient
    kb = ctx.kb
    words = ctx.bank.get("presentations")
    names = [spoken(kb.conditions[c].name) for c in patient.chronic]
    names += [words["state_history"][s] for s in patient.states if s in words["state_history"]]
    names = list(dict.fromkeys([*names, *ctx.histories]))
    explained = {d for c in patient.chronic for d in kb.conditions[c].first_line_drugs}
    home = [kb.drugs[d].name for d in patient.home_meds if d not in explained]
    forms = words["home_meds"]
    if names:
        history = f"{rng.choice(words['history_lead'])} {_join(names)}"
        history += ", " + rng.choice(forms["after_history"]).format(meds=_join(home)) if home else ""
    else:
        history = rng.choice(forms["alone"]).format(meds=_join(home)) if home else words["no_history"]
    presentation, _ = ctx.phrase(
        "questions.opening_presentation",
        rng,
        a_age=f"{'an' if str(patient.age).startswith('8') or patient.age in (11, 18) else 'a'} {patient.age}",
        sex="woman" if patient.female else "man",
        history=history,
        complaint=complaint(rng, words, patient.condition.presentation, patient.female),
    )
    vitals, _ = ctx.phrase(
        "questions.opening_vitals",
        rng,
        vitals=_vitals_text(patient.vitals, words["vital_forms"], rng),
        weight=patient.weight_kg,
    )
    ctx.presentation, ctx.vitals = presentation, vitals
    return [presentation, vitals]


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def complaint(rng: random.Random, words: dict, phrases: tuple[str, ...], female: bool) -> str:
    """Why the patient is here, as the predicate of the opening line: each presentation phrase in
    the clause its kind reads right in ("seen for a routine review, with no new symptoms")."""
    said = {"symptom": [], "visit": [], "event": [], "negative": [], "context": []}
    known = words["phrases"]
    usable = []
    for phrase in phrases:
        entry = known.get(phrase, {"kind": "symptom", "text": phrase})
        if entry["kind"] != "skip" and (female or entry.get("sex") != "female"):
            usable.append(entry)
    always = [e for e in usable if e.get("always")]  # a pregnancy is never left unsaid
    usable = [e for e in usable if e not in always]
    leads = [e for e in usable if e["kind"] in ("visit", "event")][:1]
    if not leads:
        symptoms = [e for e in usable if e["kind"] == "symptom"]
        leads = [rng.choice(symptoms)] if symptoms else []
    rest = [e for e in usable if e not in leads]
    for entry in leads + rng.sample(rest, min(2 - len(leads), len(rest))) + always:
        said[entry["kind"]].append(entry["text"])
    forms = words["complaint"]
    symptoms = _join(said["symptom"]) if said["symptom"] else ""
    if said["event"]:
        text = rng.choice(forms["event"]).format(items=said["event"][0])
        text += forms["event_symptom"].format(items=symptoms) if symptoms else ""
    elif said["visit"]:
        text = rng.choice(forms["visit"]).format(items=said["visit"][0])
        text += ", " + forms["visit_symptom"].format(items=symptoms) if symptoms else ""
    elif symptoms:
        text = rng.choice(forms["symptom"]).format(items=symptoms)
    else:
        text = rng.choice(forms["symptom"]).format(items="no new complaints")
    if said["negative"]:
        text += ", with " + _join(said["negative"])
    for context in said["context"]:
        text += ", " + context
    return text


VITAL_SIGNS: tuple[str, ...] = ("heart_rate", "respiratory_rate", "temperature", "spo2")


def _vitals_text(vitals: dict[str, float], forms: dict[str, list[str]], rng: random.Random) -> str:
    """The vitals as one speaker says them, each sign in a form drawn from the bank."""
    parts = []
    if "systolic_bp" in vitals and "diastolic_bp" in vitals:
        form = rng.choice(forms["blood_pressure"])
        parts.append(
            form.format(systolic=f"{vitals['systolic_bp']:g}", diastolic=f"{vitals['diastolic_bp']:g}")
        )
    for key in VITAL_SIGNS:
        if key in vitals:
            parts.append(rng.choice(forms[key]).format(value=f"{vitals[key]:g}"))
    return ", ".join(parts)
