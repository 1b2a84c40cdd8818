"""The rating web app: a rater opens their secret link and judges pairs of assistant turns blind.

Security model: the link's token is exchanged for a session cookie (HttpOnly, SameSite=Strict);
every page and file is looked up through that session's rater, so a rater can only reach their own
assignments. POSTs carry the session's CSRF token; a first answer is insert-once per assignment,
and revising an answer needs a one-time nonce issued by the revise form. Pages name nothing that
identifies a system: responses are "A" and "B" with sides randomised per assignment, and URLs use
the rater's own positions and content hashes only.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader

from behaviorbench.review.store import connect, sha256_hex

SESSION_COOKIE = "bb_review_session"
SESSION_HOURS = 12
"""A session expires this long after the link was opened; the link opens a new one."""
MAX_POSITION = 2**31 - 1
"""Positions are SQLite integers; a larger number in a URL names no item."""
HERE = Path(__file__).parent
MAX_COMMENT = 4000
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on form posts.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass
class Session:
    rater_id: int
    session_sha256: str
    csrf: str


def create_app(db_path: Path) -> FastAPI:
    """The rating app for one study database."""
    db_path = Path(db_path)
    connect(db_path).close()
    templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    local = _PerThread()

    @contextmanager
    def database() -> Iterator[sqlite3.Connection]:
        """One connection per server thread, reused: opening and closing per request costs a WAL
        checkpoint each time the last connection closes."""
        if local.connection is None:
            local.connection = connect(db_path)
        connection = local.connection
        try:
            yield connection
        finally:
            if connection.in_transaction:
                connection.execute("ROLLBACK")

    def page(name: str, status: int = 200, **values) -> HTMLResponse:
        return HTMLResponse(templates.get_template(name).render(**values), status_code=status)

    def refused(status: int, message: str) -> HTMLResponse:
        return page("message.html", status, title="Not available", message=message)

    def session_of(request: Request, connection: sqlite3.Connection) -> Session | None:
        secret = request.cookies.get(SESSION_COOKIE)
        if not secret:
            return None
        row = connection.execute(
            "SELECT rater_id, csrf FROM sessions WHERE id_sha256 = ? AND created > ?",
            (sha256_hex(secret), _expiry()),
        ).fetchone()
        return Session(row["rater_id"], sha256_hex(secret), row["csrf"]) if row else None

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        if request.method == "POST" and not _same_origin(request):
            response: Response = refused(403, "This form was sent from another site.")
        else:
            response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return page("message.html", title="Blind review", message="Open the personal link you were sent.")

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/r/{token}")
    def open_link(token: str, request: Request) -> Response:
        with database() as connection:
            row = connection.execute(
                "SELECT id FROM raters WHERE token_sha256 = ?", (sha256_hex(token),)
            ).fetchone()
            if row is None:
                return refused(404, "This link is not valid.")
            current = session_of(request, connection)
            if current is not None and current.rater_id == row["id"]:
                return RedirectResponse("/rate", status_code=303)  # reuse the live session
            _forget_expired(connection, row["id"])
            secret = secrets.token_urlsafe(32)
            connection.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?)",
                (sha256_hex(secret), row["id"], secrets.token_urlsafe(32), _now()),
            )
        response = RedirectResponse("/rate", status_code=303)
        response.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="strict", path="/")
        return response

    @app.get("/rate")
    def next_item(request: Request) -> Response:
        with database() as connection:
            session = session_of(request, connection)
            if session is None:
                return refused(401, "Open the personal link you were sent to start rating.")
            progress = _progress(connection, session.rater_id)
        if progress["next"] is not None:
            return RedirectResponse(f"/rate/{progress['next']}", status_code=303)
        return page("done.html", progress=progress)

    @app.get("/progress.json")
    def progress_json(request: Request) -> Response:
        with database() as connection:
            session = session_of(request, connection)
            if session is None:
                return JSONResponse({"error": "not signed in"}, status_code=401)
            return JSONResponse(_progress(connection, session.rater_id))

    @app.get("/rate/{position}")
    def show_item(position: int, request: Request) -> Response:
        if not 1 <= position <= MAX_POSITION:
            return refused(404, "There is no such item in your list.")
        with database() as connection:
            session = session_of(request, connection)
            if session is None:
                return refused(401, "Open the personal link you were sent to start rating.")
            return _render_item(connection, session, position)

    @app.post("/rate/{position}")
    async def submit(position: int, request: Request) -> Response:
        if not 1 <= position <= MAX_POSITION:
            return refused(404, "There is no such item in your list.")
        form = await request.form()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        return await run_in_threadpool(_submit, position, request, fields)

    def _submit(position: int, request: Request, fields: dict[str, str]) -> Response:
        with database() as connection:
            session = session_of(request, connection)
            if session is None:
                return refused(401, "Open the personal link you were sent to start rating.")
            if not secrets.compare_digest(fields.get("csrf", ""), session.csrf):
                return refused(403, "This form has expired; reload the page and answer again.")
            criteria = _criteria(connection)
            answer, problem = _parse_answer(fields, criteria)
            if problem:
                return _render_item(connection, session, position, error=problem, given=fields, status=400)
            connection.execute("BEGIN IMMEDIATE")
            try:
                outcome = _store_answer(connection, session, position, fields, answer)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        if outcome == "missing":
            return refused(404, "There is no such item in your list.")
        if outcome == "stale":
            return refused(409, "This revision was already saved; reload to revise again.")
        return RedirectResponse("/rate", status_code=303)

    @app.get("/image/{digest}")
    def image(digest: str, request: Request) -> Response:
        with database() as connection:
            session = session_of(request, connection)
            if session is None:
                return refused(401, "Open the personal link you were sent to start rating.")
            row = connection.execute(
                "SELECT images.data FROM images JOIN item_images ON item_images.image_sha256 = images.sha256 "
                "JOIN assignments ON assignments.item_id = item_images.item_id "
                "WHERE images.sha256 = ? AND assignments.rater_id = ? LIMIT 1",
                (digest, session.rater_id),
            ).fetchone()
        if row is None:
            return refused(404, "There is no such image in your list.")
        return Response(row["data"], media_type="image/png")

    def _render_item(
        connection: sqlite3.Connection,
        session: Session,
        position: int,
        error: str | None = None,
        given: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        row = connection.execute(
            "SELECT assignments.id, assignments.swap, items.context, items.response_x, items.response_y "
            "FROM assignments JOIN items ON items.id = assignments.item_id "
            "WHERE assignments.rater_id = ? AND assignments.position = ?",
            (session.rater_id, position),
        ).fetchone()
        if row is None:
            return refused(404, "There is no such item in your list.")
        progress = _progress(connection, session.rater_id)
        answered = _answer_values(connection, row["id"])
        if answered is None and progress["next"] != position:
            return RedirectResponse("/rate", status_code=303)
        nonce = None
        if answered is not None:
            nonce = secrets.token_urlsafe(24)
            connection.execute(
                "INSERT INTO revise_nonces (nonce_sha256, session_sha256, assignment_id) VALUES (?, ?, ?)",
                (sha256_hex(nonce), session.session_sha256, row["id"]),
            )
        x, y = json.loads(row["response_x"]), json.loads(row["response_y"])
        left, right = (y, x) if row["swap"] else (x, y)
        return page(
            "rate.html",
            status,
            position=position,
            progress=progress,
            turns=json.loads(row["context"]),
            responses=[("A", left), ("B", right)],
            criteria=_criteria(connection),
            csrf=session.csrf,
            nonce=nonce,
            values=given if given is not None else (answered or {}),
            back=position - 1 if position > 1 else None,
            error=error,
        )

    return app


class _PerThread(threading.local):
    connection: sqlite3.Connection | None = None


def _same_origin(request: Request) -> bool:
    """A POST whose Origin names another host is cross-site, whatever its cookie says."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _expiry() -> str:
    """Sessions created before this moment have expired (ISO strings in UTC sort as times)."""
    return (datetime.now(timezone.utc) - timedelta(hours=SESSION_HOURS)).isoformat(timespec="milliseconds")


def _forget_expired(connection: sqlite3.Connection, rater_id: int) -> None:
    """Drop a rater's expired sessions (and their revise nonces), so links opened over weeks do
    not pile up sessions."""
    expired = "SELECT id_sha256 FROM sessions WHERE rater_id = ? AND created <= ?"
    connection.execute(
        f"DELETE FROM revise_nonces WHERE session_sha256 IN ({expired})", (rater_id, _expiry())
    )
    connection.execute("DELETE FROM sessions WHERE rater_id = ? AND created <= ?", (rater_id, _expiry()))


def _criteria(connection: sqlite3.Connection) -> list[dict[str, str]]:
    return json.loads(connection.execute("SELECT criteria FROM studies").fetchone()["criteria"])


def _progress(connection: sqlite3.Connection, rater_id: int) -> dict[str, int | None]:
    total, answered, upcoming = connection.execute(
        "SELECT COUNT(*), COUNT(answers.id), MIN(CASE WHEN answers.id IS NULL THEN assignments.position END) "
        "FROM assignments LEFT JOIN answers ON answers.assignment_id = assignments.id "
        "WHERE assignments.rater_id = ?",
        (rater_id,),
    ).fetchone()
    return {"answered": answered, "total": total, "next": upcoming}


def _answer_values(connection: sqlite3.Connection, assignment_id: int) -> dict[str, str] | None:
    row = connection.execute(
        "SELECT choice, comment FROM answers WHERE assignment_id = ?", (assignment_id,)
    ).fetchone()
    if row is None:
        return None
    values = {"choice": row["choice"], "comment": row["comment"]}
    for rating in connection.execute(
        "SELECT criterion, side, score FROM ratings WHERE assignment_id = ?", (assignment_id,)
    ):
        values[f"{rating['criterion']}_{rating['side'].lower()}"] = str(rating["score"])
    return values


def _parse_answer(fields: dict[str, str], criteria: list[dict[str, str]]) -> tuple[dict, str | None]:
    """The answer in a form, or the first thing wrong with it in words a rater understands."""
    choice = fields.get("choice", "")
    if choice not in ("A", "B", "tie"):
        return {}, "Choose which response is better overall (A, B or tie)."
    scores = {}
    for criterion in criteria:
        for side in ("A", "B"):
            value = fields.get(f"{criterion['key']}_{side.lower()}", "")
            if value not in ("1", "2", "3", "4", "5"):
                return {}, f"Rate {criterion['label']} for Response {side} from 1 to 5."
            scores[(criterion["key"], side)] = int(value)
    comment = fields.get("comment", "").strip()
    if len(comment) > MAX_COMMENT:
        return {}, f"Keep the comment under {MAX_COMMENT} characters."
    return {"choice": choice, "scores": scores, "comment": comment}, None


def _store_answer(
    connection: sqlite3.Connection, session: Session, position: int, fields: dict[str, str], answer: dict
) -> str:
    """'saved', 'duplicate' (already answered: kept as first given), 'missing' or 'stale' (used nonce)."""
    row = connection.execute(
        "SELECT id FROM assignments WHERE rater_id = ? AND position = ?", (session.rater_id, position)
    ).fetchone()
    if row is None:
        return "missing"
    assignment_id = row["id"]
    ratings = [(assignment_id, key, side, score) for (key, side), score in answer["scores"].items()]
    nonce = fields.get("nonce")
    if not nonce:
        cursor = connection.execute(
            "INSERT INTO answers (assignment_id, choice, comment, created, updated) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (assignment_id) DO NOTHING",
            (assignment_id, answer["choice"], answer["comment"], _now(), _now()),
        )
        if cursor.rowcount == 0:
            return "duplicate"
        connection.executemany("INSERT INTO ratings VALUES (?, ?, ?, ?)", ratings)
        return "saved"
    cursor = connection.execute(
        "UPDATE revise_nonces SET used = 1 "
        "WHERE nonce_sha256 = ? AND session_sha256 = ? AND assignment_id = ? AND used = 0",
        (sha256_hex(nonce), session.session_sha256, assignment_id),
    )
    if cursor.rowcount == 0:
        return "stale"
    connection.execute(
        "UPDATE answers SET choice = ?, comment = ?, updated = ?, revisions = revisions + 1 "
        "WHERE assignment_id = ?",
        (answer["choice"], answer["comment"], _now(), assignment_id),
    )
    connection.executemany(
        "INSERT INTO ratings VALUES (?, ?, ?, ?) "
        "ON CONFLICT (assignment_id, criterion, side) DO UPDATE SET score = excluded.score",
        ratings,
    )
    return "saved"
