"""What a rater reads: the conversation up to a slot, and each candidate turn as shown blind.

The context mirrors what the model saw (`conversation.case_messages` with teacher forcing):
utterances 0..t with their attachments, and the gold assistant turns of earlier slots where the
assistant spoke. Images are copied into the study database so the server never opens the dataset.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from behaviorbench.evaluation.records import Sample
from behaviorbench.schema import Case, ImageAttachment
from behaviorbench.taxonomy import Behavior

ASSISTANT_NAME = "Assistant"


def displayed_response(sample: Sample) -> tuple[bool, str] | None:
    """(stays silent, text) for a sample, or None when there is nothing a rater could judge.

    Errored and not-applicable samples have no reply. A reply with a behavior but no words is
    shown as silence: the agent said nothing, and an empty box would mislead.
    """
    if sample.status in ("errored", "not_applicable"):
        return None
    if sample.predicted is Behavior.silent:
        return (True, "")
    text = sample.response.strip() or (sample.raw_output.strip() if sample.status == "invalid" else "")
    return (False, text) if text else (True, "")


def slot_context(case: Case, slot: int, image_bytes: Callable[[ImageAttachment], bytes]) -> tuple[list, dict]:
    """The turns a rater reads before judging slot `slot`, and the images they reference by sha256."""
    turns: list[dict] = []
    images: dict[str, bytes] = {}
    for utterance, earlier in zip(case.utterances[: slot + 1], case.slots[: slot + 1], strict=True):
        tables, image_refs = [], []
        for attachment in utterance.attachments:
            if isinstance(attachment, ImageAttachment):
                data = image_bytes(attachment)
                digest = hashlib.sha256(data).hexdigest()
                images[digest] = data
                image_refs.append({"title": attachment.title, "sha256": digest})
            else:
                tables.append(
                    {"title": attachment.title, "columns": attachment.columns, "rows": attachment.rows}
                )
        turns.append(
            {
                "speaker": utterance.speaker,
                "role": utterance.role,
                "text": utterance.text,
                "tables": tables,
                "images": image_refs,
            }
        )
        if earlier.index < slot and earlier.gold_behavior is not Behavior.silent:
            turns.append(
                {
                    "speaker": ASSISTANT_NAME,
                    "role": "AI assistant",
                    "text": earlier.gold_response,
                    "tables": [],
                    "images": [],
                }
            )
    return turns, images


def dataset_image_reader(data_dir: Path) -> Callable[[ImageAttachment], bytes]:
    """Read an attachment's PNG from the dataset, drawn first when the build left it to be rendered."""
    from behaviorbench.generation.ecg import materialize_image

    def read(attachment: ImageAttachment) -> bytes:
        return materialize_image(data_dir, attachment).read_bytes()

    return read
