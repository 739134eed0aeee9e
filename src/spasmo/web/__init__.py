"""The web page: server-rendered (Jinja2), htmx from /static for smoother steps, English and Italian.

Every page works without JavaScript: each step is a form that posts and is redirected (the
post/redirect/get pattern), so the back button and a reload never send an answer twice; htmx
only boosts those forms and links into in-place swaps. All medical content comes from the report
dict (``spasmo.report.build_report``); this module holds only the interface words.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from ..interview import DONT_KNOW, InterviewError
from ..reading import ReadingError
from ..session_service import START_KEY_PATTERN, Session, Sessions, StartKeyConflict, UnknownSessionError, question_view
from .chain import chain_svg
from .words import WORDS, pick_language

__all__ = ["router"]

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)
_LANG_COOKIE = "spasmo_lang"
_MAX_TEXT = 10_000


def _lang(request: Request) -> str:
    return pick_language(request.query_params.get("lang"), request.cookies.get(_LANG_COOKIE),
                         request.headers.get("accept-language"))


def _sessions(request: Request) -> Sessions:
    return request.app.state.sessions


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = context.pop("lang", None) or _lang(request)
    response = templates.TemplateResponse(
        request, template,
        {"lang": lang, "w": WORDS[lang], "other": "it" if lang == "en" else "en", "path": request.url.path, **context},
        status_code=status,
    )
    if request.query_params.get("lang") in WORDS:  # the visible switch remembers the choice
        response.set_cookie(_LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax")
    response.headers["Cache-Control"] = "no-store"  # pages hold what the person wrote
    return response


def _go(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _missing(request: Request) -> HTMLResponse:
    return _page(request, "missing.html", status=404)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    return _page(request, "start.html", text="", error=None, key=_start_key())


@router.post("/start", response_class=HTMLResponse)
def start(request: Request, text: str = Form(""), lang: str = Form(""), key: str = Form("")) -> Response:
    ui = lang if lang in WORDS else _lang(request)
    if len(text) > _MAX_TEXT:
        return _page(request, "start.html", status=422, lang=ui, text=text[:_MAX_TEXT], error=WORDS[ui]["too_long"],
                     key=_start_key())
    # the form's own key: a double click, or the form sent again after a lost reply, starts one interview only
    try:
        session = _sessions(request).start(text, "auto", key=key if _KEY.match(key) else None)
    except ReadingError:
        return _page(request, "start.html", status=422, lang=ui, text=text, error=WORDS[ui]["empty"], key=_start_key())
    except StartKeyConflict:  # the same form sent again with its text changed: a new interview
        session = _sessions(request).start(text, "auto")
    return _go(f"/i/{quote(session.id)}/understood")


_KEY = re.compile(START_KEY_PATTERN)


def _start_key() -> str:
    """A random key for one start form (the page's `Idempotency-Key`)."""
    return secrets.token_urlsafe(16)


def _load(request: Request, session_id: str) -> Session | None:
    try:
        return _sessions(request).get(session_id)
    except UnknownSessionError:
        return None


@router.get("/i/{session_id}/understood", response_class=HTMLResponse)
def understood(request: Request, session_id: str) -> Response:
    session = _load(request, session_id)
    if session is None:
        return _missing(request)
    lang = _lang(request)
    engine = _sessions(request).engine
    read = {o.finding: o for o in session.reading.observations() if o.finding in engine.kb.findings}
    rows = []
    for fid, obs in read.items():
        state = session.record.corrections.get(fid, obs.state)
        rows.append({"id": fid, "name": getattr(engine.kb.findings[fid].name, lang), "state": state,
                     "read": obs.state, "quote": obs.text})
    return _page(request, "understood.html", session=session, rows=rows, text=session.record.text)


@router.post("/i/{session_id}/understood", response_class=HTMLResponse)
async def correct(request: Request, session_id: str) -> Response:
    # async only to read the form; the session's store is used from a worker thread, never on the event loop
    form = await request.form()
    return await run_in_threadpool(_correct, request, session_id, form)


def _correct(request: Request, session_id: str, form: FormData) -> Response:
    session = _load(request, session_id)
    if session is None:
        return _missing(request)
    read = {o.finding: o.state for o in session.reading.observations()}
    # only what differs from the reading is a correction; anything else in the form is ignored
    corrections = {fid: str(form[f"f_{fid}"]) for fid in read
                   if form.get(f"f_{fid}") in ("present", "absent") and form.get(f"f_{fid}") != read[fid]}
    _sessions(request).correct(session_id, corrections)
    return _go(f"/i/{quote(session_id)}/question")


@router.get("/i/{session_id}/question", response_class=HTMLResponse)
def question(request: Request, session_id: str) -> Response:
    session = _load(request, session_id)
    if session is None:
        return _missing(request)
    return _question_page(request, session)


def _question_page(request: Request, session: Session, error: str | None = None, status: int = 200) -> Response:
    step = session.step
    if step.done:
        return _go(f"/i/{quote(session.id)}/result")
    lang = _lang(request)
    return _page(request, "question.html", status=status, session=session, q=question_view(step.question, lang),
                 number=len(session.interview.answers) + 1, error=error, dont_know=DONT_KNOW,
                 emergency=step.level == "emergency")


@router.post("/i/{session_id}/answer", response_class=HTMLResponse)
async def answer(request: Request, session_id: str) -> Response:
    form = await request.form()
    return await run_in_threadpool(_answer, request, session_id, form)


def _answer(request: Request, session_id: str, form: FormData) -> Response:
    session = _load(request, session_id)
    if session is None:
        return _missing(request)
    values = [str(v).strip() for v in form.getlist("value") if str(v).strip()]
    question_id = str(form.get("question", ""))
    step = session.step
    value: Any
    if not values:
        value = None
    elif DONT_KNOW in values:  # "I don't know" wins over anything ticked with it
        value = DONT_KNOW
    elif step.question is not None and step.question.kind == "several":
        value = values
    else:
        value = values[0]
    w = WORDS[_lang(request)]
    if value is None:
        return _question_page(request, session, w["choose"], 422)
    try:
        _sessions(request).answer(session_id, question_id, value)
    except InterviewError:
        return _question_page(request, session, w["invalid"], 422)
    return _go(f"/i/{quote(session_id)}/question")


@router.post("/i/{session_id}/back", response_class=HTMLResponse)
async def back(request: Request, session_id: str) -> Response:
    form = await request.form()
    return await run_in_threadpool(_back, request, session_id, form)


def _back(request: Request, session_id: str, form: FormData) -> Response:
    session = _load(request, session_id)
    if session is None:
        return _missing(request)
    if not session.interview.answers:
        return _go(f"/i/{quote(session_id)}/understood")
    # the button names the answer it takes back, so a double click or a form sent again takes back one only
    question = str(form.get("back", "")) or None
    try:
        _sessions(request).back(session_id, question)
    except InterviewError:
        pass  # that answer is no longer the last one (changed in another tab): show the question as it stands
    return _go(f"/i/{quote(session_id)}/question")


@router.get("/i/{session_id}/result", response_class=HTMLResponse)
def result(request: Request, session_id: str) -> Response:
    session = _load(request, session_id)
    if session is None:
        return _missing(request)
    lang = _lang(request)
    report = _sessions(request).report(session, lang)
    numbers = {s["id"]: n for n, s in enumerate(report["sources"], 1)}
    steps = [c["chain"]["step"] for c in report["conditions"][:3] if c.get("chain")]
    top = next((c for c in report["conditions"] if c.get("chain")), None)
    return _page(request, "result.html", session=session, r=report, numbers=numbers,
                 svg=chain_svg(top["chain"]["step"] if top else None, steps, lang),
                 printing=request.query_params.get("print") == "1")


@router.post("/i/{session_id}/delete", response_class=HTMLResponse)
def delete(request: Request, session_id: str) -> Response:
    try:
        _sessions(request).delete(session_id)
    except UnknownSessionError:
        return _missing(request)
    return _page(request, "deleted.html")
