"""Turn a case into chat messages: the one rendering shared by export, evaluation and training.

Every utterance becomes a user message naming its speaker; every slot becomes an assistant
message. Teacher forcing: the prompt for slot t holds the gold assistant turns of slots before t.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from behaviorbench.schema import Case, ImageAttachment, Slot, Utterance
from behaviorbench.taxonomy import BEHAVIOR_TAGS, BEHAVIOR_TOKENS, Behavior

Style = Literal["token", "tagged", "instructed", "plain"]
"""How assistant turns are written: behavior token + response (BehaviorSFT); tag + response under a
brief system prompt (zero-shot) or under explicit instructions on when to speak (instructed); or
the response alone (standard SFT baseline)."""

TAGGED_STYLES: tuple[str, ...] = ("tagged", "instructed")

NO_COMMENT = "No comment."
"""The plain-style assistant turn for silence: standard SFT needs some text to learn from."""

SYSTEM_PROMPTS: dict[Style, str] = {
    "token": (
        "You are an ambient clinical assistant listening to a care team. After each message, "
        "choose a behavior: answer if you were asked, speak up if there is a problem nobody "
        "caught, or stay silent."
    ),
    "tagged": (
        "You are an AI assistant listening to a hospital care team. After each message, reply with "
        "[REACTIVE] and your answer if you were asked something, [PROACTIVE] and a short note if you "
        "need to speak up, or [SILENT] if you have nothing to say."
    ),
    "instructed": (
        "You are an ambient AI assistant listening to a hospital care team's conversation. After "
        "every message you must decide how to act. Start your reply with exactly one tag:\n"
        "[REACTIVE] if someone asked you something: then answer it.\n"
        "[PROACTIVE] if nobody asked but there is an error, a contradiction, a missing check, an "
        "ambiguity or a safety risk the team has not caught: then say it briefly.\n"
        "[SILENT] otherwise, and write nothing after the tag.\n"
        "Problems worth raising: a wrong dose (10-fold, mg vs mcg, lb vs kg), a wrong route or "
        "frequency, an implausible lab value, two sources that disagree (allergies, sides, weights, "
        "medication lists), a check nobody did before a drug or procedure (kidney function, "
        "pregnancy test, platelets, QTc, potassium), an order that can be read two ways, a plan "
        "that conflicts with an allergy, an interaction or a contraindication, or a critical result "
        "nobody acknowledged.\n"
        "Stay silent when a team member already caught and fixed the problem, for stable or "
        "expected findings, for small talk, and whenever nobody asked you and nothing is wrong."
    ),
    "plain": (
        "You are an ambient clinical assistant listening to a care team. Answer when asked, "
        f"speak up about problems nobody caught, and otherwise reply '{NO_COMMENT}'"
    ),
}


def name_line(names: Sequence[str]) -> str:
    """The sentence that tells the model what it is called: "reactive" means addressed by this name."""
    also = f" (also addressed as {', '.join(names[1:])})" if len(names) > 1 else ""
    return (
        f"In this conversation you are called {names[0]}{also}; a message that names you is addressed to you."
    )


def system_prompt(style: Style, names: Sequence[str]) -> str:
    """The default system prompt of a style for an assistant called `names[0]`."""
    return f"{SYSTEM_PROMPTS[style]}\n{name_line(names)}"


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
    if style in TAGGED_STYLES:
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
    prompt = system if system is not None else system_prompt(style, case.assistant_names)
    messages = [{"role": "system", "content": prompt}]
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


def addresses_assistant(text: str, names: Sequence[str]) -> bool:
    """Whether an utterance speaks to the assistant by one of its names: then a reply to it is reactive."""
    return any(re.search(rf"\b{re.escape(name)}\b", text) for name in names)
