"""Restraint-group tasks: gold `silent`. They test that the assistant does not over-intervene."""

from __future__ import annotations

import random

from behaviorbench.generation.context import CaseContext
from behaviorbench.generation.doses import Dose
from behaviorbench.generation.proactive import allergy_name, bare
from behaviorbench.generation.script import Scene, Task
from behaviorbench.taxonomy import Behavior, Category


def _silent(category: Category, ctx: CaseContext, path: str, rng: random.Random, **fields) -> Scene:
    line, _ = ctx.phrase(path, rng, **fields)
    subtype = path.rsplit(".", 1)[1]
    return Scene([line], [Task(category, line, Behavior.silent, "", None, [line], subtype=subtype)])


def _dose_drug(ctx: CaseContext, rng: random.Random) -> str:
    return ctx.choose_drug(rng, ctx.dosable())


def addressed(
    ctx: CaseContext,
    rng: random.Random,
    kind: str,
    allergen: str | None = None,
    drug_id: str | None = None,
    other_id: str | None = None,
) -> Scene:
    """A problem raised and resolved by a team member in the same breath."""
    path = f"problems.already_addressed.{kind}"
    category = Category.already_addressed
    if kind in ("dose", "units"):
        drug_id = _dose_drug(ctx, rng)
        ctx.used.add(drug_id)  # named here: a later clip ("levo") may not stand for it unseen
        drug, dose = ctx.drug(drug_id), ctx.dose(drug_id)
        wrong = Dose(dose.amount * 10, dose.unit, dose.route, dose.frequency)
        return _silent(category, ctx, path, rng, drug=drug.name, wrong=wrong.text, right=dose.text)
    if kind == "allergy":
        return _silent(category, ctx, path, rng, allergy_kind=allergy_name(ctx, allergen, adjective=True))
    if kind == "weight":
        kg = ctx.patient.weight_kg
        return _silent(category, ctx, path, rng, kg=kg, lb=round(kg * 2.2046))
    if kind == "check":
        options = []
        for drug_id in ctx.safe_drugs:
            for check in ctx.drug(drug_id).required_checks:
                analytes = ctx.kb.prechecks[check].analytes
                if not ctx.patient.may_have(analytes):
                    continue
                if all(
                    ctx.patient.labs[a]
                    == min(max(ctx.patient.labs[a], ctx.analyte(a).low), ctx.analyte(a).high)
                    for a in analytes
                ):
                    options.append((drug_id, check))
        if not options:
            return addressed(ctx, rng, "dose")
        fitting = set(ctx.plausible([d for d, _ in options]))
        drug_id, check = rng.choice([o for o in options if o[0] in fitting])
        ctx.used.add(drug_id)
        ctx.given.append(drug_id)  # "before the heparin" starts it: later orders must not meet it
        precheck = ctx.kb.prechecks[check]
        # Said done, so no later omission may leave it undone.
        ctx.patient.said_in_either |= set(precheck.analytes) | set(precheck.findings) | {precheck.test}
        return _silent(category, ctx, path, rng, drug=ctx.drug(drug_id).name, test=bare(precheck.test))
    if kind == "interaction":
        ctx.used |= {drug_id, other_id}
        return _silent(category, ctx, path, rng, drug=ctx.drug(drug_id).name, other=ctx.drug(other_id).name)
    raise ValueError(f"unknown already-addressed kind {kind!r}")


def non_actionable(ctx: CaseContext, rng: random.Random, kind: str) -> Scene:
    """Abnormal-looking but known, expected or irrelevant; or talk that needs nobody."""
    path = f"problems.non_actionable.{kind}"
    category = Category.non_actionable
    analyte = {"chronic": ctx.patient.stable_analyte, "borderline": ctx.patient.borderline_analyte}.get(kind)
    if analyte is not None:
        return _silent(category, ctx, path, rng, analyte=ctx.analyte_name(analyte), value=ctx.lab(analyte))
    if kind in ("chronic", "borderline"):
        kind, path = "expected", "problems.non_actionable.expected"
    return _silent(category, ctx, path, rng)
