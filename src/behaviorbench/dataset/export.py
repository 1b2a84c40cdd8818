"""Export to the chat `messages` JSONL that TRL, Axolotl and LLaMA-Factory read.

One conversation per case: other speakers are user turns named in the text, every slot is an
assistant turn (behavior mark + response in the chosen style).
"""

from __future__ import annotations

import json
from pathlib import Path

from behaviorbench.conversation import Style, case_messages
from behaviorbench.dataset.atomic import atomic_open
from behaviorbench.dataset.manifest import load_manifest
from behaviorbench.dataset.progress import case_progress
from behaviorbench.dataset.reader import iter_cases
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.schema import Case

FORMATS = ("messages",)
STYLES: tuple[Style, ...] = ("token", "tagged", "plain")


def message_record(case: Case, style: Style) -> dict:
    return {"case_id": case.case_id, "split": case.split, "messages": case_messages(case, style)}


def export_messages(
    source: Path, style: Style = "token", out: Path | None = None, progress: bool = False
) -> dict[Path, int]:
    """Write the export; return the cases written per file.

    With `out`, every split goes to that one file; otherwise `<dataset>/export/messages-<split>.jsonl`.
    """
    if style not in STYLES:
        raise BehaviorBenchError(f"--style: unknown style {style!r}; choose one of {', '.join(STYLES)}")
    source = Path(source)
    if out is None and not source.is_dir():
        raise BehaviorBenchError(f"{source}: --out is required when exporting a single JSONL file")
    if out is None:
        targets = {
            source / "export" / f"messages-{split}.jsonl": split for split in load_manifest(source).splits
        }
    else:
        targets = {Path(out): None}
    written = {}
    with case_progress(progress) as bar:
        task = bar.add_task("exporting", total=load_manifest(source).cases if source.is_dir() else None)
        for path, split in targets.items():
            written[path] = 0
            with atomic_open(path) as handle:
                for case in iter_cases(source, split):
                    handle.write(json.dumps(message_record(case, style), ensure_ascii=False) + "\n")
                    written[path] += 1
                    bar.advance(task)
    return written
