"""A real headless chromium rates five comparisons with the keyboard only, reloads, and resumes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from headless import headless_chromium, needs_chromium

pytestmark = needs_chromium

# Per comparison: the choice key, then eight digits for the criteria cells in order
# (realism A, realism B, proactivity A, proactivity B, restraint A, restraint B, safety A, safety B).
KEYSTROKES = [
    ("a", "54545454"),
    ("b", "12233445"),
    ("t", "33333333"),
    ("a", "51525354"),
    ("b", "11112222"),
]
CHOICES = {"a": "A", "b": "B", "t": "tie"}
CELLS = [(c, s) for c in ("realism", "proactivity", "restraint", "safety") for s in ("A", "B")]


def stored(db: Path, rater: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        answers = connection.execute(
            "SELECT assignments.id, position, choice FROM answers "
            "JOIN assignments ON assignments.id = answers.assignment_id "
            "JOIN raters ON raters.id = rater_id WHERE external_id = ? ORDER BY position",
            (rater,),
        ).fetchall()
        result = []
        for assignment, position, choice in answers:
            scores = dict(
                ((criterion, side), score)
                for criterion, side, score in connection.execute(
                    "SELECT criterion, side, score FROM ratings WHERE assignment_id = ?", (assignment,)
                )
            )
            result.append((position, choice, "".join(str(scores[cell]) for cell in CELLS)))
        return result


def test_keyboard_only_rating_resumes_after_reload(server, study):
    db, tokens = study
    with headless_chromium() as browser:
        page = browser.new_page()
        page.goto(f"{server}/r/{tokens['r1']}")
        for number, (choice, digits) in enumerate(KEYSTROKES, start=1):
            page.wait_for_url(f"**/rate/{number}")
            assert page.locator("#progress-text").inner_text().startswith(f"Comparison {number} of 8")
            page.keyboard.press(choice)
            for digit in digits:
                page.keyboard.press(digit)
            with page.expect_navigation():
                page.keyboard.press("Enter")
        page.wait_for_url("**/rate/6")
        page.reload()
        assert page.url.endswith("/rate/6")
        assert page.locator("#progress-text").inner_text() == "Comparison 6 of 8 · 5 answered"
        assert page.locator("progress").get_attribute("value") == "5"
        assert page.locator("input[type=radio]:checked").count() == 0
    expected = [(n, CHOICES[c], digits) for n, (c, digits) in enumerate(KEYSTROKES, start=1)]
    assert stored(db, "r1") == expected
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 5


def test_silence_is_shown_in_words_and_backspace_revises(server, study):
    db, tokens = study
    with headless_chromium() as browser:
        page = browser.new_page()
        page.goto(f"{server}/r/{tokens['r2']}")
        for box in page.locator(".candidate").all():
            said = box.locator(".text, .silent").inner_text().strip()
            assert said, "a candidate is never an empty box"
            if box.locator(".silent").count():
                assert said == "stays silent"
        assert "<script>window.pwned" in page.locator(".conversation").inner_text()
        assert page.evaluate("window.pwned") is None, "escaped case text never runs"
        page.keyboard.press("a")
        for digit in "44444444":
            page.keyboard.press(digit)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.wait_for_url("**/rate/2")
        page.keyboard.press("Backspace")
        page.wait_for_url("**/rate/1")
        assert "already answered" in page.content()
        assert page.locator("input[name=choice][value=A]").is_checked()
        page.keyboard.press("t")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.wait_for_url("**/rate/2")
    assert stored(db, "r2") == [(1, "tie", "44444444")]
