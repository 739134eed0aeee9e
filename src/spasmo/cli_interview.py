"""The interview's commands: `spasmo interview`, `spasmo sessions`, and `spasmo eval --interview`.

A thin adapter: the engine chooses the questions, :mod:`spasmo.storage` keeps each answer as it
is given, :mod:`spasmo.terminal` asks. Nothing a person writes is logged or echoed in an error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from .cli import _DATA_HELP, _emit, _engine, _fail

__all__ = ["interview", "sessions", "run_interview_eval"]

# Interface words, not medical content.
_SAY = {
    "en": {
        "intro": "spasmo asks a few questions about your spasms or cramps, then says how urgent it is and why. "
        "It does not make a diagnosis. In an emergency call 112.",
        "understood": "From your description we understood:",
        "nothing": "No specific finding was recognised yet; the questions will help.",
        "saved": "Your answers are saved as you give them (session {id}). "
        "To continue later: spasmo interview --resume {id}",
        "resumed": "Resuming session {id}: {n} answer(s) so far.",
        "first": "This is the first question: there is no earlier answer to change.",
        "paused": "Paused. Your answers are saved; continue with: spasmo interview --resume {id}",
        "lost": "Your answer could not be saved: {error}. The answers given before it are kept; "
        "continue later with: spasmo interview --resume {id}",
        "delete": "To remove everything you wrote: spasmo sessions delete {id}",
    },
    "it": {
        "intro": "spasmo fa qualche domanda sui tuoi spasmi o crampi, poi dice quanto è urgente e perché. "
        "Non formula diagnosi. In caso di emergenza chiama il 112.",
        "understood": "Dalla tua descrizione abbiamo capito:",
        "nothing": "Non abbiamo ancora riconosciuto sintomi specifici; le domande aiuteranno.",
        "saved": "Le risposte vengono salvate man mano (sessione {id}). Per continuare più tardi: "
        "spasmo interview --resume {id}",
        "resumed": "Riprendo la sessione {id}: finora {n} risposte.",
        "first": "Questa è la prima domanda: non c'è una risposta precedente da cambiare.",
        "paused": "In pausa. Le risposte sono salvate; per continuare: spasmo interview --resume {id}",
        "lost": "Non è stato possibile salvare la risposta: {error}. Le risposte date prima sono conservate; "
        "per continuare più tardi: spasmo interview --resume {id}",
        "delete": "Per cancellare tutto ciò che hai scritto: spasmo sessions delete {id}",
    },
}


def _store():
    from .storage import StorageError, open_store  # noqa: PLC0415

    try:
        return open_store()
    except StorageError as exc:
        _fail(str(exc), 1)


def _stored_session(session_id: str) -> Any:
    """One stored session, or a clear message and a non-zero exit (2 for an unknown id)."""
    from .storage import StorageError  # noqa: PLC0415

    store = _store()
    try:
        return store.get(session_id)
    except StorageError as exc:
        _fail(str(exc), 1 if not isinstance(exc, KeyError) else 2)
    finally:
        store.close()


def _question_view(question: Any, language: str) -> dict[str, Any]:
    return {
        "id": question.id,
        "kind": question.kind,
        "text": question.prompt(language),
        "choices": [{"id": c.id, "label": getattr(c.label, language)} for c in question.choices]
        or ([{"id": "yes", "label": "yes"}, {"id": "no", "label": "no"}] if question.kind == "yes_no" else []),
        "unit": getattr(question.unit, language) if question.unit else None,
        "minimum": question.minimum,
        "maximum": question.maximum,
    }


@click.command()
@click.argument("text", required=False)
@click.option("--lang", "language", type=click.Choice(["en", "it", "auto"]), default="auto", show_default=True,
              help="Language of the description and of the questions; auto tells English and Italian apart.")
@click.option("--resume", "resume_id", metavar="ID", help="Continue a stored session where it stopped.")
@click.option("--answer", "answers", multiple=True, metavar="QUESTION=VALUE",
              help="Answer the question being asked (repeatable, in order): yes, no, unknown, a choice id, "
                   "choice ids separated by commas, or a number. Implies --batch.")
@click.option("--batch", is_flag=True, help="Do not prompt: store TEXT or the --answer values, print the next "
                                            "question (or the report) and exit.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="How to print the report (and, with --batch, the next question).")
@click.option("--data", type=click.Path(path_type=Path), default=None, help=_DATA_HELP)
def interview(text: str | None, language: str, resume_id: str | None, answers: tuple[str, ...], batch: bool,
              fmt: str, data: Path | None) -> None:
    """Describe your spasms or cramps, answer a few questions, get the report.

    Asks for a description in your own words (or takes TEXT), shows what was understood, then
    asks one question at a time: red-flag questions first, then those that tell most about how
    urgent it is, then about the cause. Use the arrow keys and Enter, or type the answer
    ("yes", "2", "calf, foot", "45", "don't know"); "back" (or "indietro") changes the previous
    answer. Each answer is saved as it is given, in SQLite under your data folder
    (SPASMO_DATA_DIR) or in PostgreSQL when SPASMO_DATABASE_URL names one, so an interview
    continues after a crash with --resume. Ctrl-C pauses it.

    \b
    Examples:
      spasmo interview
      spasmo interview --lang it
      spasmo interview "cramp in my calf every night for a month"
      spasmo interview --resume 3f2a9c1d04be
      spasmo interview --batch --format json "cramp in my calf at night"
      spasmo interview --resume 3f2a9c1d04be --answer where=location_calf,location_foot --answer age=67
    """
    from .interview import InterviewError  # noqa: PLC0415
    from .reading import ReadingError  # noqa: PLC0415
    from .storage import StorageError  # noqa: PLC0415

    batch = batch or bool(answers)
    if resume_id and text:
        _fail("give TEXT to start an interview, or --resume ID to continue one, not both")
    if batch and not (resume_id or text):
        _fail("--batch needs TEXT (to start) or --resume ID (to continue)")
    engine = _engine(data)
    store = _store()
    try:
        if batch:
            _batch(engine, store, text, language, resume_id, answers, fmt)
        else:
            _converse(engine, store, text, language, resume_id, fmt)
    except (StorageError, ReadingError, InterviewError) as exc:
        # a database that cannot be used exits 1; a wrong id, text or answer exits 2
        _fail(str(exc), 1 if isinstance(exc, StorageError) and not isinstance(exc, KeyError) else 2)
    finally:
        store.close()


def _resume(engine: Any, store: Any, resume_id: str) -> tuple[Any, Any, Any]:
    from .interview import Answer  # noqa: PLC0415

    session = store.get(resume_id)
    reading, state = engine.interview(session.text, session.language, [Answer(a.question, a.value)
                                                                       for a in session.answers])
    return session, reading, state


def _batch(engine: Any, store: Any, text: str | None, language: str, resume_id: str | None,
           answers: tuple[str, ...], fmt: str) -> None:
    if resume_id:
        session, reading, state = _resume(engine, store, resume_id)
    else:
        reading, state = engine.interview(text, language)  # type: ignore[arg-type]
        session = store.create(reading.language, text)
    for item in answers:
        question, sep, value = item.partition("=")
        if not sep:
            _fail(f"--answer {item!r}: write it as QUESTION=VALUE, e.g. --answer fever=no")
        state.answer(question.strip(), value.strip())  # refuses an answer to a question that was not asked
        store.add_answer(session.id, question.strip(), state.answers[-1].value)
    step = state.step()
    lang = reading.language
    if step.done:
        store.finish(session.id, step.reason)
        report = engine.interview_report(state, lang)
        if fmt == "json":
            _emit({"session": session.id, "done": True, "report": report})
        else:
            from .report import render_text  # noqa: PLC0415

            click.echo(f"session {session.id}")
            click.echo(render_text(report))
        return
    view = _question_view(step.question, lang)
    if fmt == "json":
        _emit({"session": session.id, "done": False, "level": step.level, "why": step.reason, "question": view})
        return
    click.echo(f"session {session.id}")
    click.echo(f"question {view['id']} ({view['kind']}): {view['text']}")
    for choice in view["choices"]:
        click.echo(f"  {choice['id']}: {choice['label']}")
    if view["unit"]:
        click.echo(f"  a number of {view['unit']} from {view['minimum']:g} to {view['maximum']:g}")
    click.echo(f"  (or unknown) -- answer with: spasmo interview --resume {session.id} --answer {view['id']}=VALUE")


def _converse(engine: Any, store: Any, text: str | None, language: str, resume_id: str | None, fmt: str) -> None:
    from .interview import InvalidAnswerError  # noqa: PLC0415
    from .reading import ReadingError  # noqa: PLC0415
    from .report import render_text  # noqa: PLC0415
    from .storage import StorageError  # noqa: PLC0415
    from .terminal import BACK, Terminal  # noqa: PLC0415

    ui_language = language if language != "auto" else "en"
    if resume_id:
        session, reading, state = _resume(engine, store, resume_id)
        ui = Terminal(reading.language)
        say = _SAY[ui.language]
        ui.say(say["resumed"].format(id=session.id, n=len(state.answers)))
    else:
        ui = Terminal(ui_language)
        if language == "auto":
            ui.say(f"{_SAY['en']['intro']}\n{_SAY['it']['intro']}")
        else:
            ui.say(_SAY[ui_language]["intro"])
        while True:
            try:
                if text is None:
                    prompt = ui.words["describe"] if language != "auto" else (
                        f"{_words('en')['describe']}\n{_words('it')['describe']}")
                    text = _ask_text(ui, prompt)
                reading, state = engine.interview(text, language)
                break
            except ReadingError as exc:
                ui.say(str(exc))
                text = None
        ui = Terminal(reading.language, interactive=ui.interactive)
        say = _SAY[ui.language]
        session = store.create(reading.language, text)
        _show_understood(ui, engine, state, say)
        ui.say(say["saved"].format(id=session.id))
    try:
        while not (step := state.step()).done:
            question = step.question
            value = ui.ask(question, len(state.answers) + 1, bool(state.answers))
            if value == BACK:
                if not state.answers:
                    ui.say(say["first"])
                    continue
                store.remove_last_answer(session.id)
                state.back()
                continue
            try:
                value = question.parse(value)
            except InvalidAnswerError as exc:  # the terminal checks first; this only guards the store
                ui.say(str(exc))
                continue
            try:
                store.add_answer(session.id, question.id, value)
            except StorageError as exc:
                _fail(say["lost"].format(error=exc, id=session.id), 1)
            state.answer(question.id, value)
    except (KeyboardInterrupt, EOFError):
        ui.say("")
        ui.say(say["paused"].format(id=session.id))
        sys.exit(130)
    store.finish(session.id, step.reason)
    report = engine.interview_report(state, reading.language)
    if fmt == "json":
        _emit({"session": session.id, "done": True, "report": report})
    else:
        ui.say("")
        click.echo(render_text(report))
        ui.say(say["delete"].format(id=session.id))


def _words(language: str) -> dict[str, str]:
    from .terminal import WORDS  # noqa: PLC0415

    return WORDS[language]


def _ask_text(ui: Any, prompt: str) -> str:
    while True:
        try:
            text = ui.ask_text(prompt)
        except (KeyboardInterrupt, EOFError):
            _abort()
        if text.strip():
            return text
        ui.say(ui.words["empty"])


def _abort() -> NoReturn:
    click.echo("")
    sys.exit(130)


def _show_understood(ui: Any, engine: Any, state: Any, say: dict[str, str]) -> None:
    observations = list(state.base.observations.values())
    if not observations:
        ui.say(say["nothing"])
        return
    ui.say(say["understood"])
    words = ui.words
    for obs in observations:
        name = getattr(engine.kb.findings[obs.finding].name, ui.language)
        answer = words["yes"] if obs.state == "present" else words["no"]
        quote = f' ("{obs.text}")' if obs.text else ""
        ui.say(f"  - {name}: {answer}{quote}")


# -- spasmo sessions ------------------------------------------------------------------------------
@click.group()
def sessions() -> None:
    """The stored interviews: list them, show one, delete one or all.

    Sessions are kept in SQLite under your data folder (SPASMO_DATA_DIR overrides it), or in
    PostgreSQL when SPASMO_DATABASE_URL names one. Deleting a session removes everything the
    person wrote: the description and every answer.

    \b
    Examples:
      spasmo sessions list
      spasmo sessions show 3f2a9c1d04be
      spasmo sessions export 3f2a9c1d04be
      spasmo sessions delete 3f2a9c1d04be
      spasmo sessions delete --all --yes
    """


@sessions.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def sessions_list(fmt: str) -> None:
    """List the stored sessions: id, language, dates, answers, and whether finished (never the text).

    \b
    Examples:
      spasmo sessions list
      spasmo sessions list --format json
    """
    from .storage import StorageError  # noqa: PLC0415

    store = _store()
    try:
        rows = store.list()
    except StorageError as exc:
        _fail(str(exc), 1)
    finally:
        store.close()
    if fmt == "json":
        _emit({"sessions": [r.__dict__ for r in rows]})
        return
    if not rows:
        click.echo(f"no sessions stored in {store.where}")
        return
    for r in rows:
        click.echo(f"{r.id}  {r.language}  started {r.created}  updated {r.updated}  {r.answers:>2} answer(s)  "
                   f"{'finished (' + r.stopped + ')' if r.stopped else 'open'}")


@sessions.command("show")
@click.argument("session_id", metavar="ID")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--data", type=click.Path(path_type=Path), default=None, help=_DATA_HELP)
def sessions_show(session_id: str, fmt: str, data: Path | None) -> None:
    """Show one session: the description, each question and answer, and whether it finished.

    \b
    Examples:
      spasmo sessions show 3f2a9c1d04be
      spasmo sessions show 3f2a9c1d04be --format json
    """
    session = _stored_session(session_id)
    if fmt == "json":
        _emit({**{k: v for k, v in session.__dict__.items() if k != "answers"},
               "answers": [a.__dict__ for a in session.answers]})
        return
    engine = _engine(data)
    click.echo(f"session {session.id} ({session.language}), started {session.created}, updated {session.updated}, "
               f"{'finished: ' + session.stopped if session.stopped else 'open'}")
    click.echo(f"text: {session.text}")
    for n, a in enumerate(session.answers, 1):
        question = engine.questions.by_id.get(a.question)
        words = question.prompt(session.language) if question else a.question
        click.echo(f"  {n}. {words} -> {a.value}")


@sessions.command("export")
@click.argument("session_id", metavar="ID")
def sessions_export(session_id: str) -> None:
    """Print everything stored of one session as JSON: the description, corrections and every answer.

    \b
    Examples:
      spasmo sessions export 3f2a9c1d04be > my-session.json
    """
    from .session_service import EXPORT_FORMAT, _data_dir  # noqa: PLC0415

    session = _stored_session(session_id)
    corrections: dict[str, str] = {}
    side = _data_dir() / "web-corrections.sqlite"  # the web page's corrections, kept beside the store
    if side.exists():
        import sqlite3  # noqa: PLC0415

        db = sqlite3.connect(side)
        try:
            row = db.execute("SELECT corrections FROM sessions WHERE id = ?", (session_id,)).fetchone()
        finally:
            db.close()
        corrections = json.loads(row[0]) if row else {}
    _emit({"format": EXPORT_FORMAT, "id": session.id, "language": session.language, "text": session.text,
           "created": session.created, "updated": session.updated, "stopped": session.stopped,
           "corrections": corrections, "answers": [a.__dict__ for a in session.answers]})


@sessions.command("delete")
@click.argument("session_id", metavar="ID", required=False)
@click.option("--all", "everything", is_flag=True, help="Delete every stored session.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (with --all).")
def sessions_delete(session_id: str | None, everything: bool, yes: bool) -> None:
    """Delete a session, or all of them: the description and every answer.

    \b
    Examples:
      spasmo sessions delete 3f2a9c1d04be
      spasmo sessions delete --all
      spasmo sessions delete --all --yes
    """
    from .storage import StorageError  # noqa: PLC0415

    if bool(session_id) == everything:
        _fail("give a session ID, or --all")
    store = _store()
    try:
        if everything:
            if not yes and not click.confirm(f"Delete every session in {store.where}?", default=False):
                _fail("nothing deleted", 1)
            click.echo(f"deleted {store.delete_all()} session(s)")
        else:
            store.delete(session_id)  # type: ignore[arg-type]
            click.echo(f"deleted session {session_id}")
    except StorageError as exc:
        _fail(str(exc), 1 if not isinstance(exc, KeyError) else 2)
    finally:
        store.close()


# -- spasmo eval --interview ----------------------------------------------------------------------
def run_interview_eval(engine: Any, case_files: list[Path], fmt: str, max_median: float | None,
                       max_p90: float | None, min_agreement: float | None, fail_on_emergency_lower: bool) -> None:
    """The simulated-patient benchmark: each case's text, then its ``answers`` to the questions asked."""
    from .evaluation import CaseFileError, evaluate_interview, interview_metrics, load_cases  # noqa: PLC0415

    try:
        cases = load_cases(case_files, set(engine.kb.conditions), set(engine.kb.findings))
        rows = evaluate_interview(engine, cases)
    except CaseFileError as exc:
        _fail(str(exc))
    m = interview_metrics(rows)
    if fmt == "json":
        _emit({"cases": rows, "metrics": m})
    else:
        for r in rows:
            mark = "ok " if r["agrees"] else ("LOW" if r["lower_than_reference"] else "hi ")
            click.echo(f"{mark} {r['id']:<28} {r['questions']:>2} question(s) {r['stopped']:<9} "
                       f"{r['triage']:<9} (asking everything: {r['reference_triage']:<9}) gold {r['gold_triage']}")
        click.echo("")
        click.echo(f"cases {m['n']}  questions: median {m['median_questions']:g}, 90th percentile "
                   f"{m['p90_questions']:g}, max {m['max_questions']}")
        click.echo(f"final level agrees with asking every question: {m['agreement']:.3f}  "
                   f"(lower: {m['lower_than_reference']}, emergencies lower: {m['emergencies_lower_than_reference']})")
        for lang, s in m["questions_by_language"].items():
            click.echo(f"  {lang}: n={s['n']} median {s['median_questions']:g} p90 {s['p90_questions']:g} "
                       f"agreement {s['agreement']:.3f}")
        t = m["triage"]
        click.echo(f"triage accuracy after the interview {t['triage_accuracy']:.3f}, top-3 {t['top3_accuracy']:.3f}; "
                   f"stopped: {', '.join(f'{k} {v}' for k, v in sorted(m['stopped'].items()))}")
    failures = []
    if max_median is not None and m["median_questions"] > max_median:
        failures.append(f"median number of questions {m['median_questions']:g} is above {max_median:g}")
    if max_p90 is not None and m["p90_questions"] > max_p90:
        failures.append(f"90th percentile of questions {m['p90_questions']:g} is above {max_p90:g}")
    if min_agreement is not None and m["agreement"] < min_agreement:
        failures.append(f"agreement with asking every question {m['agreement']:.3f} is below {min_agreement}")
    if fail_on_emergency_lower and m["emergencies_lower_than_reference"]:
        failures.append(f"{m['emergencies_lower_than_reference']} emergency case(s) ended at a lower level than "
                        "asking every question gives")
    if failures:
        for failure in failures:
            click.echo(f"FAIL: {failure}", err=True)
        sys.exit(1)
