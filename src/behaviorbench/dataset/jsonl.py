"""The native line format: one compact JSON object per case, defaults left out, stable key order."""

from __future__ import annotations

import json

from behaviorbench.schema import Case


def case_to_line(case: Case) -> str:
    """Serialise a case to one JSON line (no newline).

    Defaults are dropped to keep ambient slots small, except an attachment's `kind`: it is the
    discriminator the reader needs to tell a table from an image.
    """
    data = case.model_dump(mode="json", exclude_defaults=True)
    for utterance, source in zip(data["utterances"], case.utterances, strict=True):
        if source.attachments:
            utterance["attachments"] = [
                {"kind": original.kind, **dumped}
                for dumped, original in zip(utterance["attachments"], source.attachments, strict=True)
            ]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
