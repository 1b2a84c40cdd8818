"""The rating app under hostile input: unbounded positions, piled-up sessions, spreadsheet formulas."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import httpx
from test_review_server import answer_form, signed_in

from behaviorbench.review.results import analyse

HUGE = "99999999999999999999999"


def session_count(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]


def test_positions_beyond_any_integer_are_404_not_500(server, study):
    _, tokens = study
    client = signed_in(server, tokens["r1"])
    page = client.get("/rate")
    for position in (HUGE, "-" + HUGE, "0", str(2**63), "-1"):
        assert client.get(f"/rate/{position}").status_code == 404, position
        posted = client.post(f"/rate/{position}", data=answer_form(page.text))
        assert posted.status_code == 404, position


def test_a_link_reopened_in_the_same_browser_reuses_its_session(server, study):
    db, tokens = study
    client = signed_in(server, tokens["r1"])
    first = client.cookies["bb_review_session"]
    for _ in range(3):
        assert client.get(f"/r/{tokens['r1']}").status_code == 200
    assert client.cookies["bb_review_session"] == first
    assert session_count(db) == 1
    signed_in(server, tokens["r1"])  # another browser gets its own session
    assert session_count(db) == 2


def test_sessions_expire_and_expired_ones_are_removed(server, study):
    db, tokens = study
    client = signed_in(server, tokens["r2"])
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE sessions SET created = '2000-01-01T00:00:00.000+00:00'")
    assert client.get("/rate").status_code == 401
    assert httpx.get(f"{server}/progress.json", cookies=client.cookies).status_code == 401
    assert client.get(f"/r/{tokens['r2']}").status_code == 200  # the link opens a fresh session
    assert client.get("/progress.json").status_code == 200
    assert session_count(db) == 1


def test_comments_that_look_like_formulas_are_kept_as_text_in_csv(server, study, tmp_path):
    db, tokens = study
    client = signed_in(server, tokens["r1"])
    formulas = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "plain text"]
    for comment in formulas:
        page = client.get("/rate")
        assert client.post(page.url.path, data=answer_form(page.text, comment=comment)).status_code == 200
    analyse(db, tmp_path / "out", resamples=20)
    with open(tmp_path / "out" / "answers.csv", newline="", encoding="utf-8") as handle:
        comments = [row["comment"] for row in csv.DictReader(handle)]
    assert sorted(comments) == sorted(
        ["'" + c.strip() if c.strip()[0] in "=+-@" else c.strip() for c in formulas]
    )
