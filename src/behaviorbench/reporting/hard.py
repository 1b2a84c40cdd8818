"""BehaviorBench-Hard: the tasks reference models get wrong, plus the cases hard by construction.

Selection scores tasks but keeps conversations whole: a case with a chosen task comes in full,
with every case linked to it by `control_of` (its twin), and the manifest's `scored_tasks` names
what is scored: the chosen tasks, every task of a case hard by construction, and the other half
of each of their minimal pairs, so a model that always flags and one that never flags still score
about half. The other designated slots stay as context. The output is an ordinary dataset
(shards, manifest, card) plus `selection.json`, byte-identical for the same runs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from pydantic import BaseModel

from behaviorbench.dataset.atomic import atomic_write_text
from behaviorbench.dataset.card import render_card
from behaviorbench.dataset.manifest import MANIFEST_NAME, dataset_fingerprint, load_manifest
from behaviorbench.dataset.reader import iter_cases
from behaviorbench.dataset.writer import write_dataset
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.evaluation.records import Sample
from behaviorbench.evaluation.results import SAMPLES_FILE
from behaviorbench.generation.case import KNOBS
from behaviorbench.reporting.runs import Run, load_runs
from behaviorbench.schema import Case, ImageAttachment
from behaviorbench.taxonomy import CATEGORIES

MIN_KNOBS = 2
"""Knobs a case needs on to be hard by construction. The generator turns each knob on in a quarter
of the cases, so two thirds of all cases have at least one: requiring two keeps about a quarter."""
SELECTION_NAME = "selection.json"
CARD_NAME = "CARD.md"


class RunRef(BaseModel):
    name: str
    model: str
    splits: list[str]
    samples_sha256: str


class SelectedTask(BaseModel):
    task_id: str
    case_id: str
    category: str
    wrong: int
    """How many of the reference runs got it wrong."""


class SelectionCounts(BaseModel):
    tasks_scored: int
    tasks_wrong: int
    cases_from_runs: int
    cases_from_knobs: int
    cases_added_as_twins: int
    cases: int
    designated_slots: int
    scored_tasks: int


class Selection(BaseModel):
    """What `selection.json` records: enough to redo and to explain the subset."""

    source_dataset_fingerprint: str
    source_generator_version: str
    runs: list[RunRef]
    min_wrong: int
    knobs: list[str]
    min_knobs: int
    splits: list[str]
    counts: SelectionCounts
    tasks: list[SelectedTask]
    case_ids: list[str]


def is_wrong(sample: Sample) -> bool:
    """A miss for selection: the wrong behavior, or an unparseable reply.

    Backend failures (`errored`) and slots the model could not see (`not_applicable`) say nothing
    about the task's difficulty and never count.
    """
    return sample.status == "invalid" or (sample.status == "ok" and sample.predicted != sample.gold_behavior)


def wrong_counts(runs: Sequence[Run]) -> tuple[dict[str, int], int]:
    """For every task any run scored: how many runs got it wrong; and how many tasks were scored."""
    counts: dict[str, int] = {}
    for run in runs:
        for sample in run.samples:
            if sample.task_id is not None and sample.status not in ("errored", "not_applicable"):
                counts[sample.task_id] = counts.get(sample.task_id, 0) + is_wrong(sample)
    return counts, len(counts)


def twin_groups(cases: Sequence[Case]) -> dict[str, str]:
    """Each case's group representative: cases linked by `control_of` land in one group."""
    case_of_task = {slot.task_id: case.case_id for case in cases for slot in case.designated}
    parent = {case.case_id: case.case_id for case in cases}

    def root(case_id: str) -> str:
        while parent[case_id] != case_id:
            parent[case_id] = parent[parent[case_id]]
            case_id = parent[case_id]
        return case_id

    for case in cases:
        for slot in case.designated:
            if slot.control_of is not None and slot.control_of in case_of_task:
                a, b = root(case.case_id), root(case_of_task[slot.control_of])
                parent[max(a, b)] = min(a, b)
    return {case_id: root(case_id) for case_id in parent}


def with_pair_partners(cases: Sequence[Case], tasks: set[str]) -> set[str]:
    """`tasks` plus the other half of each one's minimal pair (a positive and its control)."""
    partner: dict[str, str] = {}
    for case in cases:
        for slot in case.designated:
            if slot.control_of is not None:
                partner[slot.task_id] = slot.control_of
                partner[slot.control_of] = slot.task_id
    return tasks | {partner[task] for task in tasks if task in partner}


def select_hard(
    runs: Sequence[Run],
    cases: Sequence[Case],
    min_wrong: int,
    knobs: Sequence[str],
    min_knobs: int,
    fingerprint: str,
    generator: str,
) -> tuple[Selection, list[Case], list[str]]:
    """The hard cases in dataset order, the tasks to score in them, and the record of the choice.

    A case is hard by construction when at least `min_knobs` of `knobs` are on (0: none is).
    """
    if not 1 <= min_wrong <= len(runs):
        raise BehaviorBenchError(
            f"--min-wrong: must be between 1 and the {len(runs)} runs given, got {min_wrong}"
        )
    unknown = sorted(set(knobs) - set(KNOBS))
    if unknown:
        raise BehaviorBenchError(f"--knob: unknown knob {unknown[0]!r}; expected one of {', '.join(KNOBS)}")
    if not 0 <= min_knobs <= len(knobs):
        raise BehaviorBenchError(
            f"--min-knobs: must be between 0 and the {len(knobs)} knobs selected, got {min_knobs}"
        )
    wrong, scored = wrong_counts(runs)
    splits = sorted({s.split for run in runs for s in run.samples})
    hard_tasks = {task for task, count in wrong.items() if count >= min_wrong}
    from_runs = {c.case_id for c in cases if any(s.task_id in hard_tasks for s in c.designated)}
    from_knobs = {
        c.case_id
        for c in cases
        if min_knobs and c.split in splits and sum(bool(c.difficulty.get(k)) for k in knobs) >= min_knobs
    }
    seeds = from_runs | from_knobs
    if not seeds:
        raise BehaviorBenchError(
            f"--min-wrong {min_wrong}: no task was got wrong by at least {min_wrong} of the {len(runs)} runs "
            f"and no {'/'.join(splits)} case has {min_knobs} of the knobs {', '.join(knobs) or '(none)'} on; "
            "nothing to select"
        )
    group = twin_groups(cases)
    chosen_groups = {group[case_id] for case_id in seeds}
    selected = [c for c in cases if group[c.case_id] in chosen_groups]
    by_construction = {s.task_id for c in cases if c.case_id in from_knobs for s in c.designated}
    to_score = with_pair_partners(selected, hard_tasks | by_construction)
    scored_tasks = [s.task_id for c in selected for s in c.designated if s.task_id in to_score]
    tasks = [
        SelectedTask(task_id=s.task_id, case_id=c.case_id, category=s.category.value, wrong=wrong[s.task_id])
        for c in selected
        for s in c.designated
        if s.task_id in hard_tasks
    ]
    selection = Selection(
        source_dataset_fingerprint=fingerprint,
        source_generator_version=generator,
        runs=[_reference(run) for run in runs],
        min_wrong=min_wrong,
        knobs=list(knobs),
        min_knobs=min_knobs,
        splits=splits,
        counts=SelectionCounts(
            tasks_scored=scored,
            tasks_wrong=len(hard_tasks),
            cases_from_runs=len(from_runs),
            cases_from_knobs=len(from_knobs - from_runs),
            cases_added_as_twins=len(selected) - len(seeds),
            cases=len(selected),
            designated_slots=sum(len(c.designated) for c in selected),
            scored_tasks=len(scored_tasks),
        ),
        tasks=tasks,
        case_ids=[c.case_id for c in selected],
    )
    return selection, selected, scored_tasks


def _reference(run: Run) -> RunRef:
    digest = hashlib.sha256((run.path / SAMPLES_FILE).read_bytes()).hexdigest()
    return RunRef(
        name=run.name,
        model=run.model,
        splits=sorted({s.split for s in run.samples}),
        samples_sha256=digest,
    )


def build_hard(
    run_paths: Sequence[Path],
    data: Path,
    out: Path,
    min_wrong: int | None = None,
    knobs: Sequence[str] = KNOBS,
    min_knobs: int | None = None,
    force: bool = False,
) -> Selection:
    """Select from `data` with the runs, and write the subset as a dataset into `out`.

    The subset is written beside `out` and moved into place whole, so `out` never holds a mix of
    an old and a new selection. `out` may only be replaced if it is empty or a previous hard subset.
    """
    runs = load_runs(list(run_paths))
    data, out = Path(data), Path(out)
    fingerprint = dataset_fingerprint(data)
    if fingerprint != runs[0].fingerprint:
        raise BehaviorBenchError(
            f"{data / MANIFEST_NAME}: dataset fingerprint {fingerprint} differs from the runs' "
            f"{runs[0].fingerprint}; --data must be the dataset the runs scored"
        )
    _check_replaceable(out, force)
    manifest = load_manifest(data)
    cases = list(iter_cases(data))
    k = min_wrong if min_wrong is not None else len(runs) // 2 + 1
    needed = min_knobs if min_knobs is not None else min(MIN_KNOBS, len(knobs))
    selection, selected, scored_tasks = select_hard(
        runs, cases, k, list(knobs), needed, fingerprint, manifest.generator_version
    )

    staging = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        write_dataset(
            staging,
            selected,
            manifest.generator_version,
            seed=manifest.seed,
            scenes=manifest.scenes,
            shard_size=manifest.shard_size,
            knowledge_base_hash=manifest.knowledge_base_hash,
            scored_tasks=scored_tasks,
        )
        _copy_images(selected, data, staging)
        atomic_write_text(staging / SELECTION_NAME, selection.model_dump_json(indent=2) + "\n")
        atomic_write_text(staging / CARD_NAME, render_card(staging) + "\n" + render_selection(selection))
        _replace_directory(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return selection


def render_selection(selection: Selection) -> str:
    """The card section that says how the subset was chosen."""
    environment = Environment(
        loader=PackageLoader("behaviorbench.reporting", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    missed = [task.category for task in selection.tasks]
    by_category = {c.value: missed.count(c.value) for c in CATEGORIES if c.value in missed}
    return environment.get_template("hard_card.md.j2").render(s=selection, by_category=by_category)


def _copy_images(cases: Sequence[Case], source: Path, target: Path) -> None:
    """Image attachments are paths relative to the dataset root: the subset gets its own copies.

    Generated images are rendered on first use from their structured truth, so one not rendered
    yet in the source is not an error: it will be rendered in the subset the same way.
    """
    for case in cases:
        for utterance in case.utterances:
            for attachment in utterance.attachments:
                if isinstance(attachment, ImageAttachment) and (source / attachment.path).is_file():
                    destination = target / attachment.path
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source / attachment.path, destination)


def _check_replaceable(out: Path, force: bool) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise BehaviorBenchError(f"{out}: exists and is not a directory")
    if any(out.iterdir()) and not (out / SELECTION_NAME).is_file():
        raise BehaviorBenchError(f"{out}: not empty and holds no {SELECTION_NAME}; refusing to replace it")
    if (out / SELECTION_NAME).is_file() and not force:
        raise BehaviorBenchError(f"{out}: holds an earlier hard subset; pass --force to replace it")


def _replace_directory(staging: Path, out: Path) -> None:
    if out.exists():
        retired = out.with_name(f".{out.name}.{os.getpid()}.old")
        os.replace(out, retired)
        os.replace(staging, out)
        shutil.rmtree(retired)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, out)
