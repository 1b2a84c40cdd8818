"""Turn a case into chat messages: the one rendering shared by export, evaluation and training.

Every utterance becomes a user message naming its speaker; every slot becomes an assistant
message. Teacher forcing: the prompt for slot t holds the gold assistant turns of slots before t.
"""

from __future__ import annotations

from typing import Literal

from behaviorbench.schema import Case, ImageAttachment, Slot, Utterance
from behaviorbench.taxonomy import BEHAVIOR_TAGS, BEHAVIOR_TOKENS, Behavior

Style = Literal["token", "tagged", "plain"]
"""How assistant turns are written: behavior token + response (BehaviorSFT), tag + response
(instructed prompting and API models), or the response alone (standard SFT baseline)."""

NO_COMMENT = "No comment."
"""The plain-style assistant turn for silence: standard SFT needs some text to learn from."""

SYSTEM_PROMPTS: dict[Style, str] = {
    "token": (
        "You are an ambient clinical assistant listening to a care team. After each message, "
        "choose a behavior: answer if you were asked, speak up if there is a problem nobody "
        "caught, or stay silent."
    ),
    "tagged": (
        "You are an ambient AI assistant listening to a hospital care team's conversation. After "
        "every message you must decide how to act. Start your reply with exactly one tag:\n"
        "[REACTIVE] if someone asked you something: then answer it.\n"
        "[PROACTIVE] if nobody asked but there is an error, a contradiction, a missing check, an "
        "ambiguity or a safety risk the team has not caught: then say it briefly.\n"
        "[SILENT] otherwise, and write nothing after the tag.\n"
        "Do not repeat a problem the team already resolved, and do not comment on stable or "
        "expected findings."
    ),
    "plain": (
        "You are an ambient clinical assistant listening to a care team. Answer when asked, "
        f"speak up about problems nobody caught, and otherwise reply '{NO_COMMENT}'"
    ),
}


def render_utterance(utterance: Utterance, images_available: bool = False) -> str:
    """The text a model sees for one utterance; tables become markdown, images a placeholder."""
    parts = [f"{utterance.speaker} ({utterance.role}): {utterance.text}"]
    for attachment in utterance.attachments:
        if isinstance(attachment, ImageAttachment):
            note = "attached below" if images_available else "not available to text-only models"
            parts.append(f"[Image: {attachment.title} ({note})]")
        else:
            parts.append(attachment.markdown())
    return "\n\n".join(parts)


def assistant_turn(slot: Slot, style: Style) -> str:
    """The gold assistant message of a slot in the given style."""
    behavior, response = slot.gold_behavior, slot.gold_response
    if style == "token":
        return BEHAVIOR_TOKENS[behavior] + response
    if style == "tagged":
        return BEHAVIOR_TAGS[behavior] + (f" {response}" if response else "")
    return response if behavior is not Behavior.silent else NO_COMMENT


def case_messages(
    case: Case,
    style: Style,
    upto: int | None = None,
    system: str | None = None,
    images_available: bool = False,
) -> list[dict[str, str]]:
    """Chat messages of a case.

    With `upto=None` the whole conversation, every slot's gold assistant turn included (for
    training and export). With `upto=t` the prompt for slot t: utterances 0..t and gold assistant
    turns of slots before t, ending on utterance t's user message.
    """
    last = len(case.utterances) - 1 if upto is None else upto
    messages = [{"role": "system", "content": system if system is not None else SYSTEM_PROMPTS[style]}]
    for utterance, slot in zip(case.utterances[: last + 1], case.slots[: last + 1], strict=True):
        messages.append({"role": "user", "content": render_utterance(utterance, images_available)})
        if upto is None or slot.index < upto:
            messages.append({"role": "assistant", "content": assistant_turn(slot, style)})
    return messages


def parse_behavior(reply: str, style: Style) -> Behavior | None:
    """Read the behavior a reply starts with, or None when it cannot be parsed (an invalid reply)."""
    text = reply.lstrip()
    marks = BEHAVIOR_TOKENS if style == "token" else BEHAVIOR_TAGS
    for behavior, mark in marks.items():
        if text.upper().startswith(mark.upper()):
            return behavior
    return None


def strip_behavior(reply: str, style: Style) -> str:
    """The response after the behavior mark."""
    text = reply.lstrip()
    behavior = parse_behavior(text, style)
    if behavior is None:
        return reply.strip()
    mark = (BEHAVIOR_TOKENS if style == "token" else BEHAVIOR_TAGS)[behavior]
    return text[len(mark) :].strip()
