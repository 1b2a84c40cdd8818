"""The sample browser: one page per run with every designated sample, filterable in the browser.

Aggregates say how often a model fails; the browser shows each failure with what led to it. Every
designated slot of the run is a row (category, gold and predicted behavior, the three
probabilities, what the model wrote, the content check, the gold reply and the last utterances
before the slot), so a reader can filter by category, gold or predicted behavior and read the
failures one by one. The page is self-contained: CSS and a few lines of script inline.
"""

from __future__ import annotations

from pydantic import BaseModel

from behaviorbench.reporting.examples import CONTEXT_UTTERANCES, ContextLine, predicted_label, written
from behaviorbench.reporting.runs import Run
from behaviorbench.schema import Case
from behaviorbench.taxonomy import BEHAVIORS, CATEGORIES


class BrowserRow(BaseModel):
    case_id: str
    slot: int
    category: str
    group: str
    control_of: str | None
    gold: str
    predicted: str
    """The predicted behavior, or the sample's status when there is none (invalid, errored, ...)."""
    correct: bool
    probabilities: list[tuple[str, str]]
    """(behavior, % as text) in taxonomy order; empty when the run recorded none."""
    written: str
    """What the model wrote: the response after its behavior mark, or the whole raw reply."""
    note: str
    """Why `written` is empty or is not a response (nothing after the mark, an error)."""
    content: str
    """'passed', 'failed' or '' when the slot's content was not checked."""
    gold_response: str
    context: list[ContextLine]


def browser_rows(run: Run, cases: dict[str, Case]) -> list[BrowserRow]:
    """A row for every designated sample of the run, in case and slot order."""
    rows = []
    for sample in sorted((s for s in run.samples if s.designated), key=lambda s: (s.case_id, s.slot)):
        case = cases[sample.case_id]
        first = max(0, sample.slot - CONTEXT_UTTERANCES + 1)
        text, note = written(sample)
        rows.append(
            BrowserRow(
                case_id=sample.case_id,
                slot=sample.slot,
                category=sample.category.value,
                group=sample.group.value,
                control_of=sample.control_of,
                gold=sample.gold_behavior.value,
                predicted=predicted_label(sample),
                correct=sample.correct,
                probabilities=[(b.value, f"{100 * sample.probabilities[b]:.1f}") for b in BEHAVIORS]
                if sample.probabilities
                else [],
                written=text,
                note=note,
                content=""
                if sample.content_pass is None
                else ("passed" if sample.content_pass else "failed"),
                gold_response=case.slots[sample.slot].gold_response,
                context=[
                    ContextLine(index=i, speaker=u.speaker, role=u.role, text=u.text)
                    for i, u in enumerate(case.utterances[first : sample.slot + 1], start=first)
                ],
            )
        )
    return rows


def render_browser(run: Run, cases: dict[str, Case], fingerprint: str) -> str:
    from behaviorbench.reporting.report import template_environment

    rows = browser_rows(run, cases)
    predicted = [b.value for b in BEHAVIORS] + sorted(
        {r.predicted for r in rows} - {b.value for b in BEHAVIORS}
    )
    return (
        template_environment(autoescape=True)
        .get_template("browser.html.j2")
        .render(
            run=run,
            rows=rows,
            fingerprint=fingerprint,
            categories=[c.value for c in CATEGORIES if any(r.category == c.value for r in rows)],
            behaviors=[b.value for b in BEHAVIORS],
            predicted_options=predicted,
        )
    )
