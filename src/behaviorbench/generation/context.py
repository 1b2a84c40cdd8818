"""What every task builder needs about the case being written: patient, cast, split, wording."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from behaviorbench.generation.banks import PhraseBank, stable_hash
from behaviorbench.generation.doses import Dose, dose_for, indication_of, number
from behaviorbench.generation.patient import Patient
from behaviorbench.generation.pools import Pools
from behaviorbench.generation.script import Line, Task, capitalized
from behaviorbench.knowledge.models import Analyte, Condition, Drug


def spoken(name: str) -> str:
    """A knowledge-base name as said mid-sentence: "Febrile neutropenia" -> "febrile neutropenia"."""
    return name[0].lower() + name[1:] if len(name) > 1 and name[1].islower() else name


FALLBACK_ROLE: dict[str, str] = {
    "intern": "resident",
    "student": "intern",
    "consultant": "attending",
    "radiologist": "consultant",
    "resident": "attending",
    "pharmacist": "resident",
    "nurse": "resident",
    "attending": "consultant",
}
"""Who speaks a line written for a role the setting's cast lacks."""

PRONOUNS: dict[bool, dict[str, str]] = {
    True: {"they": "she", "their": "her", "them": "her", "They": "She", "Their": "Her"},
    False: {"they": "he", "their": "his", "them": "him", "They": "He", "Their": "His"},
}
"""The patient's pronouns by `Patient.female`, for the {they}/{their}/{them} fields."""
OWN_SHARE, BACKGROUND_SHARE = 0.6, 0.25
"""A task's drug treats the main condition this often, a comorbidity (or is a home medication) up
to the second share more, else it is a supportive drug (with its reason); a drug for another
condition of the same system, or any drug, only when no such drug fits the task."""
INPATIENT_ROUTES = frozenset({"IV", "IM"})
MARKER_WORDS = frozenset(
    {"Okay", "So", "Right", "Alright", "Now", "Also", "And", "Good", "Fine", "Got", "Mm-hm", "Yeah", "Sure"}
    | {"Before", "Sorry", "Oh", "Ah", "Yes", "Hm", "Well", "Um", "Honestly", "Excuse", "Thanks", "Agreed"}
)
"""First words that already open a line the way a marker would."""
MIN_STORY_DRUGS = 8
"""Fewer dosable story drugs than this and tasks may draw any safe drug (with its reason)."""
MARKER_PERCENT = 30
"""Share (percent) of lines after the opening that start with a conversational marker."""
NAME_TITLES = frozenset({"Dr", "Mr", "Mrs", "Ms"})
PRESCRIBERS: tuple[str, ...] = ("attending", "resident", "intern", "consultant")
"""Roles that change orders: a flag about an order is answered by its author when one of these."""
_STRAY_SPACE = re.compile(r" +(?=[.,;:?!])|(?<= ) +")


def acuity_of(bank: PhraseBank, condition: Condition) -> str:
    """chronic, critical, outpatient or acute, from the settings bank's `acuity` lists."""
    if condition.chronic:
        return "chronic"
    lists = bank.get("settings.acuity")
    return next((kind for kind, ids in lists.items() if condition.id in ids), "acute")


def demographics_of(bank: PhraseBank, condition: Condition) -> dict:
    """Sex and age limits of a condition (by id, else by system); empty when anyone can have it."""
    rules = bank.get("presentations.demographics")
    return rules.get(condition.id) or rules.get(condition.system) or {}


def tidy(text: str) -> str:
    """Drop the spaces an empty field leaves behind ("7.16 ." -> "7.16.")."""
    return _STRAY_SPACE.sub("", text) if " ." in text or "  " in text or " ," in text else text


@dataclass
class CaseContext:
    pools: Pools
    bank: PhraseBank
    patient: Patient
    setting: dict[str, Any]
    cast: dict[str, str]
    """Role -> speaker name."""
    assistant: str
    knobs: dict[str, bool]
    safe_drugs: list[str] = field(default_factory=list)
    """Drugs that are harmless for this patient and may be ordered for them (see `indicated`):
    usable wherever no problem is intended."""
    unindicated: frozenset[str] = frozenset()
    """Drugs harmless for this patient that are not ordered for them only because nothing in the
    story calls for them: a management answer may still name one (prednisone for pericarditis)."""
    presentation: Line | None = None
    """The opening line presenting the patient (evidence for diagnosis questions)."""
    vitals: Line | None = None
    """The opening line with vitals and the recorded weight (evidence for weight problems)."""
    timeline: list[tuple[str, int]] = field(default_factory=list)
    """The case's events as (label, minutes from yesterday 00:00), in time order; drawn at the first
    timeline question, from what has been given by then."""
    given: list[str] = field(default_factory=list)
    """Drugs both twins have heard ordered right (or put right after a flag), in the order said:
    a timeline's "first dose of" names only one of these."""
    planned: set[str] = field(default_factory=set)
    """Drugs the plan chose for safety problems before any scene was written."""
    weight_said: bool = False
    """Whether a task already restates the patient's weight (one per case: two would contradict)."""
    used: set[str] = field(default_factory=set)
    """Drugs and prechecks tasks have already featured, so later tasks can prefer fresh ones."""
    lab_tables: list[tuple[list[Analyte], dict[str, float]]] = field(default_factory=list)
    """The lab tables shown so far: their rows and values (later tables are follow-up draws)."""
    said: set[str] = field(default_factory=set)
    """Phrase-bank variants already said in this case (path:id), so no line comes back."""
    speaks: bool = True
    """False when the patient's condition keeps them from speaking for themselves."""
    procedures: frozenset[str] = frozenset()
    """The procedures this patient's condition may call for (a plan proposes no other)."""
    histories: tuple[str, ...] = ()
    """Long-standing conditions the opening history names beside the patient's listed ones (those
    behind a planned safety problem's drugs, common ones): drugs with a standing reason naming
    one of them may be given."""
    _doses: dict[str, Dose | None] = field(default_factory=dict)
    _dosable: list[str] | None = None
    _relevant: set[str] | None = None
    _reasons: dict[str, str] = field(default_factory=dict)
    _tiers: list[set[str]] | None = None
    _treated: set[str] | None = None
    phase: str = ""
    """The phase of the course the scene being written belongs to (`Phase` name)."""
    stream: str = ""
    """The twin pair's random-stream name: with the line count it picks how a line starts."""
    _lines: int = 0
    _names: set[str] | None = None
    _indications: dict[str, str | None] = field(default_factory=dict)
    _reacted: set[str] = field(default_factory=set)
    """Reaction variants said so far (kept apart from `said`, which both twins must share)."""

    @property
    def unseen(self) -> bool:
        return self.pools.unseen

    @property
    def kb(self):
        return self.pools.kb

    def pick(
        self, path: str, rng: random.Random, fits: Callable[[dict[str, Any]], bool] | None = None
    ) -> dict[str, Any]:
        """A phrasing variant of the split at a phrase-bank path, e.g. `questions.ddx_reasoning`;
        one not yet said in this case while there is one; among those that `fits` keeps, if any."""
        variants = self.bank.variants(path, self.unseen)
        if fits is not None:
            variants = [v for v in variants if fits(v)] or variants
        fresh = [v for v in variants if f"{path}:{v['id']}" not in self.said] or variants
        variant = rng.choice(fresh)
        self.said.add(f"{path}:{variant['id']}")
        return variant

    def pick_fresh(self, path: str, rng: random.Random) -> dict[str, Any] | None:
        """A variant never said in this case, or None once all have been."""
        variants = self.bank.variants(path, self.unseen)
        fresh = [v for v in variants if f"{path}:{v['id']}" not in self.said]
        return self.pick(path, rng) if fresh else None

    def fields(self, extra: dict[str, Any]) -> dict[str, Any]:
        p = self.patient
        return {
            "assistant": self.assistant,
            "patient": p.name,
            "bed": p.bed,
            **PRONOUNS[p.female],
            **extra,
        }

    def say(self, role: str, template: str, vary: bool = True, **extra: Any) -> Line:
        """A line spoken by `role`; the patient's and family's words are relayed when they cannot
        say them here. After the opening, a line may start the way people start sentences
        ("Okay, ...") or name the assistant at its end; `vary=False` (lines only one twin has)
        leaves the line as written and the choices of every later line unchanged."""
        text = capitalized(tidy(template.format(**self.fields(extra))))
        if role in ("patient", "family") and role not in self.cast:
            return self._relayed(role, text)
        role = self.stand_in(role)
        if vary and self.vitals is not None:
            text = self._varied(role, text)
        return Line(role, self.cast[role], text)

    def stand_in(self, role: str) -> str:
        """The role that speaks a line written for `role` in this case's cast (a resident where
        the setting has no intern)."""
        while role not in self.cast:
            role = FALLBACK_ROLE[role]
        return role

    def _varied(self, role: str, text: str) -> str:
        """The line as this speaker starts it, drawn from the case's stream and the number of lines
        said so far, so both twins of a pair draw alike."""
        self._lines += 1
        draw = stable_hash(f"{self.stream}:line{self._lines}")
        address = f"{self.assistant}, "
        if text.startswith(address) and text.endswith("?") and draw % 3 == 0:
            rest = text[len(address) :]
            return f"{capitalized(rest[:-1])}, {self.assistant}?"
        return self._marked("lay" if role in ("patient", "family") else "staff", text, draw)

    def _marked(self, kind: str, text: str, draw: int) -> str:
        """The line with a conversational marker of `kind` in front for MARKER_PERCENT of draws;
        the first word keeps its capital when it is a name, an abbreviation or "I"."""
        if draw % 100 >= MARKER_PERCENT:
            return text
        markers = self.bank.get(f"story.markers.{kind}")
        marker = markers[(draw // 100) % len(markers)]
        first = text.split(" ", 1)[0].strip(",.:;?!'")
        if first in MARKER_WORDS:  # the line already starts like a marker ("Right. Next ...")
            return text
        if self._names is None:
            people = [self.assistant, self.patient.name, *self.cast.values()]
            self._names = {word for name in people for word in name.split()} | NAME_TITLES
        keep = any(c.isupper() for c in first[1:]) or first in ("I", "I'm", "I'll", "I've", "I'd")
        keep |= len(first) == 1 and first.isupper() and first != "A"  # "K", not "k"; "a bit"
        keep |= first in self._names or first[:1].isdigit()
        keep |= marker.endswith(".")
        return f"{marker} {text if keep else text[:1].lower() + text[1:]}"

    def _relayed(self, role: str, text: str) -> Line:
        relay = self.bank.get("cast.relay")
        if role == "family":
            return Line("nurse", self.cast["nurse"], relay["family_absent"].format(text=text))
        if self.speaks:
            return Line(
                "nurse", self.cast["nurse"], relay["patient_absent"].format(**self.fields({"text": text}))
            )
        if "family" in self.cast:
            template, role = relay["cannot_speak_family"], "family"
        else:
            template, role = relay["cannot_speak_nurse"], "nurse"
        return Line(role, self.cast[role], capitalized(template.format(**self.fields({"text": text}))))

    def phrase(self, path: str, rng: random.Random, **extra: Any) -> tuple[Line, dict[str, Any]]:
        """Say a variant picked at `path`; also return the variant (its `ask` flag, its id)."""
        variant = self.pick(path, rng)
        return self.say(variant["role"], variant["text"], **extra), variant

    def chatter(self, rng: random.Random) -> Line | None:
        """An ambient line never said before in this case (None once the banks run dry): what the
        cast's roles and this setting talk about, or general staff talk."""
        options = [
            c
            for c in _chatter_pool(self.bank, self.unseen, self.setting["id"], tuple(self.cast))
            if c[0] not in self.said
        ]
        if not options:
            return None
        key, role, text = rng.choice(options)
        self.said.add(key)
        if role is None:
            role = rng.choice([r for r in self.cast if r not in ("patient", "family")])
        return self.say(role, text)

    def phase_line(self, phase: str, urgent: bool, rng: random.Random) -> Line:
        """A line that moves the case into a phase of its course ("Let's look at the bloods.")."""
        path = f"story.phases.{phase}"
        if urgent and phase in self.bank.get("story.urgent_phases"):
            path = f"story.urgent_phases.{phase}"
        variant = self.pick(path, rng)
        return self.say(variant["role"], variant["text"])

    def disposition_line(self, acuity: str, rng: random.Random) -> Line:
        """Where the patient goes next, as the case's last line (a critically ill patient already in
        intensive care stays there)."""
        in_icu = acuity == "critical" and self.setting["id"] == "icu"
        variant = self.pick(f"story.disposition.{'critical_in_icu' if in_icu else acuity}", rng)
        return self.say(variant["role"], variant["text"])

    def reaction(self, task: Task, subtype: str, rng: random.Random) -> Line:
        """The team's answer to a flag: the order's author (or the resident) acknowledges and fixes
        it. Drawn from its own stream without marking anything said, so the twin without the
        problem (and without this line) keeps the same later wording."""
        node = self.bank.get(f"story.reactions.{task.category.value}")
        path = f"story.reactions.{task.category.value}.{subtype if subtype in node else 'default'}"
        author = task.slot.role if task.slot.role in PRESCRIBERS else "resident"
        every = self.bank.variants(path, self.unseen)
        others = [v for v in every if v["role"] != task.slot.role] or list(every)
        variant = rng.choice([v for v in others if v["id"] not in self._reacted] or others)
        self._reacted.add(variant["id"])
        answers = task.target.answers if task.target is not None else []
        item = spoken(answers[0].split("|")[0]) if answers else ""
        role = author if variant["role"] == "author" else variant["role"]
        line = self.say(role, variant["text"], vary=False, item=item)
        line.text = self._marked("reaction", line.text, rng.getrandbits(32))
        return line

    # --- facts ---------------------------------------------------------------------------------

    def analyte(self, analyte_id: str) -> Analyte:
        return self.kb.analytes[analyte_id]

    def analyte_name(self, analyte_id: str) -> str:
        """The analyte's name as said mid-sentence: its short capitalised alias when it has one
        ("INR", "TSH"), else its name ("potassium")."""
        analyte = self.analyte(analyte_id)
        short = [a for a in analyte.aliases if a.isupper() and len(a) <= 5]
        return short[0] if short else spoken(analyte.name)

    def analyte_answer(self, analyte_id: str) -> str:
        """A target term naming an analyte by its name or by the alias a line used ("a|b")."""
        analyte = self.analyte(analyte_id)
        said = self.analyte_name(analyte_id)
        return analyte.name if said == spoken(analyte.name) else f"{said}|{analyte.name}"

    def lab(self, analyte_id: str) -> str:
        """The patient's value of an analyte as spoken ("4.1 mmol/L", "pH 7.31" as "7.31"), recorded
        as mentioned."""
        self.patient.mentioned_labs.add(analyte_id)
        self.patient.said_in_either.add(analyte_id)
        unit = self.unit(analyte_id)
        value = number(self.patient.labs[analyte_id])
        return f"{value} {unit}" if unit else value

    def unit(self, analyte_id: str) -> str:
        """The unit said after a value: none for units that only repeat the name (pH, ratio)."""
        unit = self.analyte(analyte_id).unit
        return "" if unit in self.bank.get("questions.unspoken_units") else unit

    def drug(self, drug_id: str) -> Drug:
        return self.kb.drugs[drug_id]

    def dose(self, drug_id: str) -> Dose | None:
        """This patient's dose of a drug (memoised: tasks ask for the same drugs again and again)."""
        if drug_id not in self._doses:
            self._doses[drug_id] = dose_for(self.drug(drug_id), self.indication(drug_id), self.patient)
        return self._doses[drug_id]

    def indication(self, drug_id: str) -> str | None:
        """What this patient gets the drug for: the first of their conditions it treats, else
        None (the drug's default use, the one its indication-bank reason names)."""
        if drug_id not in self._indications:
            p = self.patient
            self._indications[drug_id] = indication_of(self.kb, drug_id, [p.condition.id, *p.chronic])
        return self._indications[drug_id]

    def dosable(self) -> list[str]:
        """Safe drugs that have a dose for this patient, among those the story could order when
        there are enough of them for every kind of task (a few need a particular unit or schedule)."""
        if self._dosable is None:
            story = set(self.plausible(self.safe_drugs))
            if self.unseen:  # test_unseen features its held-out drugs wherever a task allows
                story |= set(self.pools.featured(self.safe_drugs))
            if self.setting.get("outpatient"):  # a clinic prescribes what a patient takes at home
                story = {d for d in story if self.drug(d).dose.route not in INPATIENT_ROUTES}
            fitting = [d for d in self.safe_drugs if d in story and self.dose(d) is not None]
            if len(fitting) < MIN_STORY_DRUGS:
                fitting = [d for d in self.safe_drugs if self.dose(d) is not None]
            # No amlodipine for a septic patient at 104/67, no metoprolol at a rate of 51.
            fitting = [d for d in fitting if not self.patient.vitals_bar(self.drug(d))]
            self._dosable = fitting
        return self._dosable

    def by_mouth_barred(self, drug_id: str) -> bool:
        """Whether the drug would go by mouth to a patient who takes nothing by mouth."""
        dose = self.dose(drug_id) or self.drug(drug_id).dose
        return self.patient.condition.source.nothing_by_mouth and dose.route == "PO"

    def forget_dosable(self) -> None:
        """Work the dosable drugs out again (after `safe_drugs` shrank)."""
        self._dosable = None

    def unsafe_names(self) -> list[str]:
        """Lower-case names of drugs and drug classes this patient must not get (to filter free text)."""
        safe = set(self.safe_drugs) | self.unindicated
        words = self.bank.get("problems.allergy_words")
        classes = [words[a] for a in self.patient.allergy_classes if a in words]
        return [d.name.lower() for d in self.kb.drugs.values() if d.id not in safe] + classes

    def relevant_drugs(self) -> set[str]:
        """First-line drugs of the patient's conditions and the home medications."""
        if self._relevant is None:
            p = self.patient
            drugs = set(p.condition.first_line_drugs) | set(p.home_meds)
            for chronic in p.chronic:
                drugs |= set(self.kb.conditions[chronic].first_line_drugs)
            self._relevant = drugs
        return self._relevant

    def reason(self, drug_id: str) -> str:
        """Why this patient gets a drug that treats none of their conditions, as a clause to say
        right after it (" for the UTI found on urinalysis"); "" for a relevant drug."""
        if drug_id in self.relevant_drugs():
            return ""
        if drug_id not in self._reasons:
            data = self.bank.get("indications")
            standing = data["standing_reasons"].get(drug_id)
            text = standing["reason"] if standing else data["reasons"].get(drug_id, data["fallback"])
            text = text.format(**PRONOUNS[self.patient.female])
            self._reasons[drug_id] = " " + (text if self.pools.text_ok(text) else data["fallback"])
        return self._reasons[drug_id]

    def indicated(self, drug_id: str) -> bool:
        """Whether the drug may be ordered for this patient at all: a drug given only for its own
        indication (warfarin, lithium, potassium chloride) only when it treats the patient's
        condition or a comorbidity; a drug whose reason is a long-standing condition (azathioprine
        for Crohn's disease) also when it is a home medication or the history names its condition,
        since a reason may not add a diagnosis the story never gave; none whose reason the
        patient's conditions contradict (levothyroxine in thyroid storm)."""
        if self._treated is None:
            p, kb = self.patient, self.kb
            conditions = (p.condition.source, *(kb.conditions[c] for c in p.chronic))
            self._treated = {d for c in conditions for d in c.first_line_drugs}
        if drug_id in self._treated:
            return True
        data = self.bank.get("indications")
        if drug_id in data["own_indication_only"]:
            return False
        conflicts = data["reason_conflicts"].get(drug_id, [])
        if any(c in conflicts for c in (self.patient.condition.id, *self.patient.chronic)):
            return False
        standing = data["standing_reasons"].get(drug_id)
        return not standing or standing["history"] in self.histories or drug_id in self.patient.home_meds

    def drug_said(self, drug_id: str) -> str:
        """The drug's name with its reason when it needs one ("vancomycin for the line infection")."""
        return self.drug(drug_id).name + self.reason(drug_id)

    def story_tiers(self) -> list[set[str]]:
        """Drugs in the order a story reaches for them: the main condition's first-line drugs, those
        of the comorbidities and home medications, supportive drugs, then drugs for conditions of
        the same organ system (a plausible complication) or common long-term drugs (a statin)."""
        if self._tiers is None:
            p, kb = self.patient, self.kb
            own = set(p.condition.first_line_drugs)
            background = set(p.home_meds)
            for chronic in p.chronic:
                background |= set(kb.conditions[chronic].first_line_drugs)
            # A clinic visit prescribes no inpatient supportive care (stress-ulcer prophylaxis).
            supportive = (
                set() if self.setting.get("outpatient") else set(self.bank.get("indications.supportive"))
            )
            system = p.condition.source.system
            related = {d for c in kb.conditions.values() if c.system == system for d in c.first_line_drugs}
            home = self.bank.get("indications")
            related |= {d for d in home["home_background"] if not (p.female and d in home["male_only"])}
            self._tiers = [own, background - own, supportive - own - background, related]
        return self._tiers

    def plausible(self, candidates: list[str]) -> list[str]:
        """The candidates this patient's story could involve (all of them when none could)."""
        tiers = self.story_tiers()
        fitting = [d for d in candidates if any(d in tier for tier in tiers)]
        return fitting or list(candidates)

    def choose_drug(self, rng: random.Random, candidates: list[str]) -> str | None:
        """One of `candidates`: a held-out one in test_unseen, else one the story reaches for. In the
        resuscitation phase only the main condition's own drugs when any fits; otherwise mostly
        those, sometimes a comorbidity's or a supportive drug."""
        if not candidates:
            return None
        options = self.pools.featured(sorted(candidates))
        options = [d for d in options if d not in self.used] or options
        if self.phase == "resuscitation":  # the condition's first treatment first (epinephrine)
            first = next((d for d in self.patient.condition.first_line_drugs if d in options), None)
            if first is not None:
                self.used.add(first)
                return first
        tiers = [[d for d in options if d in tier] for tier in self.story_tiers()]
        own, background, supportive, related = tiers
        draw = rng.random()
        if own and (draw < OWN_SHARE or self.phase == "resuscitation" or not (background or supportive)):
            options = own
        elif background and (draw < OWN_SHARE + BACKGROUND_SHARE or not supportive):
            options = background
        elif supportive:
            options = supportive
        elif related:
            options = related
        chosen = rng.choice(options)
        self.used.add(chosen)
        return chosen


_CHATTER: dict[tuple[bool, str, tuple[str, ...]], list[tuple[str, str | None, str]]] = {}


def _chatter_pool(
    bank: PhraseBank, unseen: bool, setting: str, cast: tuple[str, ...]
) -> list[tuple[str, str | None, str]]:
    """(key, role or None for any staff member, text) of every chatter line this cast may say."""
    key = (unseen, setting, cast)
    if key not in _CHATTER:
        outpatient = any(s.get("outpatient") for s in bank.get("settings.settings") if s["id"] == setting)
        lines = [
            (f"chatter.staff:{v['id']}", None, v["text"])
            for v in bank.variants("chatter.staff", unseen)
            if not (outpatient and v.get("ward"))
        ]
        for role in cast:
            path = f"chatter.roles.{role}"
            if role in bank.get("chatter.roles"):
                lines += [
                    (f"{path}:{v['id']}", role, v["text"])
                    for v in bank.variants(path, unseen)
                    if not (outpatient and v.get("ward"))
                ]
        path = f"chatter.settings.{setting}"
        lines += [
            (f"{path}:{v['id']}", v["role"], v["text"])
            for v in bank.variants(path, unseen)
            if v["role"] in cast
        ]
        _CHATTER[key] = lines
    return _CHATTER[key]
