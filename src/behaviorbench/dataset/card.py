"""A markdown dataset card: what the dataset is, its counts, and one example per category.

The card opens with the YAML header the Hugging Face Hub reads (license, task categories, size,
and a `configs` entry mapping each split's shard folder to its split name, `dev` as `validation`),
so the folder can be uploaded with the card as its README.md and loaded with `load_dataset`.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from behaviorbench.dataset.hf import hf_split_name
from behaviorbench.dataset.manifest import dataset_fingerprint, load_manifest
from behaviorbench.dataset.reader import iter_cases
from behaviorbench.schema import Case, ImageAttachment, Utterance
from behaviorbench.taxonomy import BEHAVIOR_TOKENS, BEHAVIORS, CATEGORIES, GROUP_OF

CONTEXT_UTTERANCES = 3
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))


def size_category(cases: int) -> str:
    """The Hub's size bucket for a number of examples (cases: one conversation per row)."""
    return next((label for limit, label in SIZE_CATEGORIES if cases < limit), "1M<n<10M")


def render_card(directory: Path) -> str:
    """The card's markdown, from the manifest's counts and a scan for the first example of each category."""
    directory = Path(directory)
    manifest = load_manifest(directory)
    counts = manifest.counts
    designated = counts.designated_slots or 1
    categories = [
        {
            "category": category.value,
            "group": GROUP_OF[category].value,
            "slots": counts.categories.get(category.value, 0),
            "positives": counts.categories.get(category.value, 0) - counts.controls.get(category.value, 0),
            "controls": counts.controls.get(category.value, 0),
            "share": counts.categories.get(category.value, 0) / designated,
        }
        for category in CATEGORIES
    ]
    behaviors = [
        {
            "behavior": behavior.value,
            "token": BEHAVIOR_TOKENS[behavior],
            "slots": counts.gold_behaviors.get(behavior.value, 0),
            "share": counts.gold_behaviors.get(behavior.value, 0) / designated,
        }
        for behavior in BEHAVIORS
    ]
    splits = [
        {
            "name": split,
            "hf_name": hf_split_name(split),
            "folder": next(shard.path.split("/")[0] for shard in manifest.shards if shard.split == split),
            "cases": counts.splits.get(split, 0),
            "designated": counts.designated_by_split.get(split, 0),
        }
        for split in manifest.splits
    ]
    environment = Environment(
        loader=PackageLoader("behaviorbench.dataset", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    return environment.get_template("card.md.j2").render(
        manifest=manifest,
        counts=counts,
        fingerprint=dataset_fingerprint(directory),
        splits=splits,
        categories=categories,
        behaviors=behaviors,
        difficulty=counts.difficulty,
        examples=_examples(directory),
        size_category=size_category(manifest.cases),
    )


def _examples(directory: Path) -> list[dict]:
    """The first positive slot of each category in dataset order (a control if it has no positive)."""
    found: dict[str, dict] = {}
    fallback: dict[str, dict] = {}
    for case in iter_cases(directory):
        for slot in case.designated:
            target = fallback if slot.control_of else found
            target.setdefault(slot.category.value, _example(case, slot.index))
        if len(found) == len(CATEGORIES):
            break
    return [
        found.get(category.value) or fallback[category.value]
        for category in CATEGORIES
        if category.value in found or category.value in fallback
    ]


def _example(case: Case, index: int) -> dict:
    slot = case.slots[index]
    first = max(0, index - CONTEXT_UTTERANCES + 1)
    return {
        "category": slot.category.value,
        "group": GROUP_OF[slot.category].value,
        "case_id": case.case_id,
        "setting": case.setting,
        "index": index,
        "context": [_quote(utterance) for utterance in case.utterances[first : index + 1]],
        "token": BEHAVIOR_TOKENS[slot.gold_behavior],
        "response": slot.gold_response,
        "control_of": slot.control_of,
    }


def _quote(utterance: Utterance) -> str:
    """One utterance as a markdown block quote, attachments included."""
    lines = [f"**{utterance.speaker}** ({utterance.role}): {utterance.text}"]
    for attachment in utterance.attachments:
        if isinstance(attachment, ImageAttachment):
            truth = ", ".join(f"{key}: {value}" for key, value in attachment.truth.items())
            lines.extend(["", f"*[image: {attachment.title}; truth: {truth}]*"])
        else:
            title, *table = attachment.markdown().splitlines()
            lines.extend(["", title, "", *table])
    return "\n".join(f"> {line}" if line else ">" for line in lines)
