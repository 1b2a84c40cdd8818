"""The rating app over real loopback HTTP: access control, CSRF, idempotency, escaping, blindness."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from review_fixtures import SYSTEM_MODELS

from behaviorbench.bind import check_bind_address
from behaviorbench.errors import BehaviorBenchError

CRITERIA = ("realism", "proactivity", "restraint", "safety")


def signed_in(base: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=True, timeout=10)
    response = client.get(f"/r/{token}")
    assert response.status_code == 200
    return client


def hidden(page: str, name: str) -> str | None:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    return found.group(1) if found else None


def answer_form(page: str, choice: str = "A", score: int = 4, comment: str = "") -> dict[str, str]:
    form = {"csrf": hidden(page, "csrf"), "choice": choice, "comment": comment}
    if hidden(page, "nonce"):
        form["nonce"] = hidden(page, "nonce")
    for criterion in CRITERIA:
        form[f"{criterion}_a"] = str(score)
        form[f"{criterion}_b"] = str(6 - score)
    return form


def current_position(response: httpx.Response) -> int:
    return int(response.url.path.rsplit("/", 1)[1])


def answers(db: Path, rater: str | None = None) -> list[sqlite3.Row]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return connection.execute(
            "SELECT raters.external_id AS rater, assignments.position, answers.choice, answers.comment, "
            "answers.revisions FROM answers JOIN assignments ON assignments.id = answers.assignment_id "
            "JOIN raters ON raters.id = assignments.rater_id WHERE ? IS NULL OR raters.external_id = ?",
            (rater, rater),
        ).fetchall()


def test_a_rater_answers_and_moves_to_the_next_item(server, study):
    db, tokens = study
    client = signed_in(server, tokens["r1"])
    page = client.get("/rate")
    assert current_position(page) == 1
    assert "Response A" in page.text and "Response B" in page.text
    after = client.post("/rate/1", data=answer_form(page.text, "B", comment="fine"))
    assert after.status_code == 200 and current_position(after) == 2
    assert [(r["position"], r["choice"], r["comment"]) for r in answers(db, "r1")] == [(1, "B", "fine")]
    assert client.get("/progress.json").json() == {"answered": 1, "total": 8, "next": 2}


def test_requests_without_a_valid_token_are_refused(server):
    anonymous = httpx.Client(base_url=server, timeout=10)
    for path in ("/rate", "/rate/1", "/progress.json", "/image/" + "0" * 64):
        assert anonymous.get(path).status_code == 401, path
    assert anonymous.post("/rate/1", data={"choice": "A"}).status_code == 401
    assert anonymous.get("/r/not-a-real-token").status_code == 404
    forged = httpx.Client(base_url=server, timeout=10, cookies={"bb_review_session": "guessed"})
    assert forged.get("/rate/1").status_code == 401


def test_a_rater_cannot_reach_another_raters_items_or_unassigned_ones(server, study):
    db, tokens = study
    ada, ben = signed_in(server, tokens["r1"]), signed_in(server, tokens["r2"])
    with sqlite3.connect(db) as connection:
        only_ada = connection.execute(
            "SELECT image_sha256 FROM item_images WHERE image_sha256 IN "
            "(SELECT image_sha256 FROM item_images JOIN assignments USING (item_id) JOIN raters "
            " ON raters.id = rater_id WHERE external_id = 'r1') AND image_sha256 NOT IN "
            "(SELECT image_sha256 FROM item_images JOIN assignments USING (item_id) JOIN raters "
            " ON raters.id = rater_id WHERE external_id = 'r2') LIMIT 1"
        ).fetchone()[0]
    assert ada.get(f"/image/{only_ada}").status_code == 200
    assert ada.get(f"/image/{only_ada}").headers["content-type"] == "image/png"
    assert ben.get(f"/image/{only_ada}").status_code == 404
    # Positions past the rater's own list name no item of theirs.
    assert ada.get("/rate/9").status_code == 404
    assert ada.post("/rate/9", data=answer_form(ada.get("/rate").text)).status_code == 404
    # Ben's session with Ada's form token is a forgery.
    ada_page = ada.get("/rate").text
    assert ben.post("/rate/1", data=answer_form(ada_page)).status_code == 403
    # Skipping ahead is redirected back to the next unanswered item.
    assert current_position(ada.get("/rate/5")) == 1
    assert answers(db) == []


def test_forms_without_the_csrf_token_or_from_another_origin_are_refused(server, study):
    db, tokens = study
    client = signed_in(server, tokens["r1"])
    page = client.get("/rate").text
    form = answer_form(page)
    assert client.post("/rate/1", data={k: v for k, v in form.items() if k != "csrf"}).status_code == 403
    assert client.post("/rate/1", data={**form, "csrf": "x" * 43}).status_code == 403
    foreign = client.post("/rate/1", data=form, headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403
    assert answers(db) == []
    assert client.post("/rate/1", data=form).status_code == 200
    assert len(answers(db)) == 1


def test_replayed_answers_neither_duplicate_nor_overwrite(server, study):
    db, tokens = study
    client = signed_in(server, tokens["r2"])
    page = client.get("/rate").text
    first = answer_form(page, "A", comment="first")
    for _ in range(3):
        client.post("/rate/1", data=first)
    client.post("/rate/1", data=answer_form(page, "tie", comment="replayed later"))
    assert [(r["choice"], r["comment"], r["revisions"]) for r in answers(db, "r2")] == [("A", "first", 0)]
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT COUNT(*) FROM ratings").fetchone()[0] == 8


def test_back_revises_the_last_answer_once_per_nonce(server, study):
    db, tokens = study
    client = signed_in(server, tokens["r3"])
    client.post("/rate/1", data=answer_form(client.get("/rate").text, "A", comment="first"))
    second = client.get("/rate")
    assert current_position(second) == 2 and 'href="/rate/1"' in second.text
    revise = client.get("/rate/1")
    assert "already answered" in revise.text and 'value="A" required\n      checked' in revise.text
    form = answer_form(revise.text, "B", score=2, comment="changed my mind")
    assert form["nonce"]
    assert current_position(client.post("/rate/1", data=form)) == 2
    assert client.post("/rate/1", data=form).status_code == 409, "a used revise nonce is stale"
    rows = answers(db, "r3")
    assert [(r["choice"], r["comment"], r["revisions"]) for r in rows] == [("B", "changed my mind", 1)]
    with sqlite3.connect(db) as connection:
        scores = connection.execute("SELECT side, score FROM ratings GROUP BY side").fetchall()
    assert sorted(scores) == [("A", 2), ("B", 4)]


def test_incomplete_answers_are_sent_back_with_a_message(server, study):
    db, tokens = study
    client = signed_in(server, tokens["r1"])
    form = answer_form(client.get("/rate").text)
    del form["safety_b"]
    response = client.post("/rate/1", data=form)
    assert response.status_code == 400
    assert "Rate Safety for Response B from 1 to 5." in response.text
    assert answers(db) == []


def test_case_text_is_escaped(server, study):
    db, tokens = study
    with sqlite3.connect(db) as connection:
        rater, position = connection.execute(
            "SELECT raters.external_id, position FROM assignments JOIN items ON items.id = item_id "
            "JOIN raters ON raters.id = rater_id WHERE case_id = 'case-000' ORDER BY position LIMIT 1"
        ).fetchone()
    client = signed_in(server, tokens[rater])
    for earlier in range(1, position):
        client.post(f"/rate/{earlier}", data=answer_form(client.get("/rate").text))
    page = client.get(f"/rate/{position}")
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in page.text
    assert "<script>window.pwned" not in page.text and "<img src=x" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_nothing_a_rater_can_reach_names_a_system(server, study, tmp_path):
    db, tokens = study
    secrets = [*SYSTEM_MODELS, "run-", str(tmp_path), "tagged", "system_x", "system_y"]
    client = signed_in(server, tokens["r1"])
    seen = []
    for position in range(1, 9):
        page = client.get("/rate")
        seen.append(page.text)
        client.post(f"/rate/{position}", data=answer_form(page.text))
        seen.append(client.get(f"/rate/{position}").text)
        seen.append(client.get("/progress.json").text)
    seen += [client.get("/rate").text, client.get("/").text, client.get("/static/review.js").text]
    seen += [str(dict(client.get("/rate/1").headers)), str(dict(client.cookies))]
    for image in set(re.findall(r"/image/([0-9a-f]{64})", "".join(seen))):
        seen.append(str(dict(client.get(f"/image/{image}").headers)))
    text = "\n".join(seen)
    assert "every comparison is answered" in text
    assert '<p class="silent">stays silent</p>' in text, "silence is said in words"
    assert not re.search(r'<p class="text">\s*</p>', text), "no empty response box"
    for secret in secrets:
        assert secret not in text, secret


def test_server_binds_loopback_unless_told_otherwise():
    check_bind_address("127.0.0.1", allow_remote=False)
    check_bind_address("::1", allow_remote=False)
    check_bind_address("localhost", allow_remote=False)
    with pytest.raises(BehaviorBenchError, match="--allow-remote"):
        check_bind_address("0.0.0.0", allow_remote=False)
    check_bind_address("0.0.0.0", allow_remote=True)


def test_serve_command_refuses_a_public_address_in_one_line(study):
    db, _ = study
    result = subprocess.run(
        [sys.executable, "-m", "behaviorbench.cli", "review", "serve", str(db), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "--allow-remote" in result.stderr
