"""How a model is asked, and how its reply is read back as a behavior.

- `token`: BehaviorSFT models; the gold history holds behavior tokens and the first token of the
  reply is the behavior. Local models only (the decision is read from the logits).
- `tagged`: the instructed baseline and API models; the system prompt asks the reply to start
  with [REACTIVE], [PROACTIVE] or [SILENT].
- `free`: no format asked. The prompt is the 'plain' style (system prompt that asks for an answer,
  a flag, or "No comment."; gold history in the same style, silent turns as "No comment."). The
  reply's behavior is then classified:
  - with a judge (any backend, temperature 0): the judge sees the last utterances and the reply
    and must answer with exactly one of REACTIVE, PROACTIVE, SILENT; any other answer makes the
    sample `invalid` with the judge's answer as error text. The judge also labels the gold reply
    of every designated slot, which measures its agreement with the gold labels.
  - without a judge, a fixed rule: an empty reply, or one that only says "no comment" or the like,
    is silent; otherwise it is reactive when the slot's utterance addresses the assistant by name
    (one of the names the generator gives it) and proactive when it does not.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Literal

from behaviorbench.conversation import (
    Style,
    addresses_assistant,
    case_messages,
    parse_behavior,
    render_utterance,
    strip_behavior,
)
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.schema import Case, ImageAttachment, Slot
from behaviorbench.taxonomy import BEHAVIORS, Behavior

Protocol = Literal["token", "tagged", "instructed", "free"]
PROTOCOLS: tuple[str, ...] = ("token", "tagged", "instructed", "free")
STYLE_OF: dict[str, Style] = {
    "token": "token",
    "tagged": "tagged",
    "instructed": "instructed",
    "free": "plain",
}

JUDGE_SYSTEM = (
    "You classify what an AI assistant did in a clinical team conversation. Answer with exactly one "
    "word:\nREACTIVE if it answered something it was asked;\nPROACTIVE if it spoke up unasked to "
    "flag an error, a contradiction, a missing check, an ambiguity or a safety risk;\nSILENT if it "
    "said nothing of substance (empty, 'no comment', an acknowledgement)."
)
JUDGE_CONTEXT_UTTERANCES = 3
_SILENCE = re.compile(
    r"^\W*(no comment|nothing to add|nothing further|no further comment|"
    r"(i will |i'll )?(stay|remain) (silent|quiet)|silent|none|n/?a|ok(ay)?|noted)\W*$",
    re.IGNORECASE,
)


def check_protocol(protocol: str, local: bool) -> Style:
    """The conversation style of `protocol`; refuses protocols the backend cannot serve."""
    if protocol not in PROTOCOLS:
        raise BehaviorBenchError(f"--protocol '{protocol}': choose one of {', '.join(PROTOCOLS)}")
    if protocol == "token" and not local:
        raise BehaviorBenchError(
            "--protocol token reads behavior tokens from the logits: it needs a local model (hf:...)"
        )
    return STYLE_OF[protocol]


def slot_prompt(case: Case, slot: Slot, protocol: str, images: dict[str, Path] | None = None) -> list[dict]:
    """Chat messages for `slot`. With `images` (attachment path -> PNG file), image attachments
    travel as OpenAI-style data-URI parts after their utterance's text."""
    messages = case_messages(case, STYLE_OF[protocol], upto=slot.index, images_available=images is not None)
    if images is None:
        return messages
    utterances = iter(case.utterances)
    with_images = []
    for message in messages:
        if message["role"] == "user":
            utterance = next(utterances)
            pictures = [a for a in utterance.attachments if isinstance(a, ImageAttachment)]
            if pictures:
                parts = [{"type": "text", "text": message["content"]}]
                parts += [
                    {"type": "image_url", "image_url": {"url": data_uri(images[a.path])}} for a in pictures
                ]
                message = {"role": "user", "content": parts}
        with_images.append(message)
    return with_images


def data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(png).read_bytes()).decode("ascii")


def read_reply(reply: str, protocol: str) -> tuple[Behavior | None, str]:
    """(behavior or None when unparseable, response text) of a tagged or token reply."""
    style = STYLE_OF[protocol]
    return parse_behavior(reply, style), strip_behavior(reply, style)


def rule_behavior(reply: str, case: Case, slot: Slot) -> Behavior:
    """The documented no-judge rule of protocol 'free'."""
    if not reply.strip() or _SILENCE.match(reply.strip()):
        return Behavior.silent
    return (
        Behavior.reactive
        if addresses_assistant(case.utterances[slot.index].text, case.assistant_names)
        else Behavior.proactive
    )


def judge_prompt(case: Case, slot: Slot, reply: str) -> list[dict]:
    first = max(0, slot.index - JUDGE_CONTEXT_UTTERANCES + 1)
    context = "\n\n".join(render_utterance(u) for u in case.utterances[first : slot.index + 1])
    question = (
        f"Conversation (latest messages):\n{context}\n\n"
        f"Assistant's reply:\n{reply.strip() or '(empty)'}\n\n"
        "Answer REACTIVE, PROACTIVE or SILENT."
    )
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": question}]


def parse_judge(answer: str) -> Behavior | None:
    """The one behavior word the judge answered, or None when it named none or several."""
    named = {b for b in BEHAVIORS if re.search(rf"\b{b.value}\b", answer, re.IGNORECASE)}
    return named.pop() if len(named) == 1 else None
