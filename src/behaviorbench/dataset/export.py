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
from behaviorbench.dataset.reader import iter_cases
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.schema import Case

FORMATS = ("messages",)
STYLES: tuple[Style, ...] = ("token", "tagged", "plain")


def message_record(case: Case, style: Style) -> dict:
    return {"case_id": case.case_id, "split": case.split, "messages": case_messages(case, style)}


def export_messages(source: Path, style: Style = "token", out: Path | None = None) -> dict[Path, int]:
    """Write the export; return the cases written per file.

    With `out`, every split goes to that one file; otherwise `<dataset>/export/messages-<split>.jsonl`.
    """
    if style not in STYLES:
        raise BehaviorBenchError(f"--style: unknown style {style!r}; choose one of {', '.join(STYLES)}")
    source = Path(source)
    if out is not None:
        return {Path(out): _write(Path(out), iter_cases(source), style)}
    if not source.is_dir():
        raise BehaviorBenchError(f"{source}: --out is required when exporting a single JSONL file")
    written = {}
    for split in load_manifest(source).splits:
        path = source / "export" / f"messages-{split}.jsonl"
        written[path] = _write(path, iter_cases(source, split), style)
    return written


def _write(path: Path, cases, style: Style) -> int:
    count = 0
    with atomic_open(path) as handle:
        for case in cases:
            handle.write(json.dumps(message_record(case, style), ensure_ascii=False) + "\n")
            count += 1
    return count
