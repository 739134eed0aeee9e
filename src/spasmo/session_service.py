"""The interview sessions that the HTTP API and the web page run: a store and the engine together.

A session keeps what the person wrote, the language, their corrections of what was understood
and their answers in order. Nothing else is kept: every view (the next question, the report, the
FHIR Bundle) is recomputed from those by replaying them through the engine, so a session survives
a restart of the server and always agrees with the current knowledge base.

The store is the interview issue's ``spasmo.storage`` (:class:`InterviewStorage` adapts it and keeps
the corrections beside it); :class:`SQLiteSessions` here serves when that module is absent, and in
tests that want a store of their own.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .engine import Engine
from .interview import DONT_KNOW, Answer, InterviewError, Interview, Question, QuestionNotAskedError, Step
from .reading import Reading

__all__ = [
    "InterviewStorage",
    "Session",
    "SessionStore",
    "Sessions",
    "SQLiteSessions",
    "START_KEY_PATTERN",
    "StartKeyConflict",
    "UnknownSessionError",
    "default_store",
]


#: what a start key (`Idempotency-Key`) may be: the API checks it, the page sends one of its own
START_KEY_PATTERN = r"^[A-Za-z0-9_-]{8,100}$"

_KEY_CONFLICT = ("this Idempotency-Key started an interview from another description; send a new key with a "
                 "new description")

#: The export's version: a person's copy of their session (GET /v1/interviews/{id}/export, `spasmo sessions export`)
EXPORT_FORMAT = "spasmo-session/1"


class UnknownSessionError(KeyError):
    """A session id that the store does not hold (never created, or deleted)."""

    def __str__(self) -> str:
        return str(self.args[0])


class AnswerConflict(Exception):
    """Another answer was stored between reading a session and storing one (two requests at once)."""


@dataclass
class Record:
    """What a store keeps of one session."""

    id: str
    language: str
    text: str
    corrections: dict[str, str] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)


class StartKeyConflict(ValueError):
    """A start key (`Idempotency-Key`) that already started an interview from another description."""


class SessionStore(Protocol):
    def create(self, text: str, language: str, key: str | None = None) -> str:
        """Store a new session and return its id; with a ``key``, the session that key started, if any."""
    def get(self, session_id: str) -> Record: ...
    def add_answer(self, session_id: str, answer: Answer, after: int | None = None) -> None:
        """Store ``answer`` after the ``after`` answers the caller saw (None: after whatever is there). When
        another answer was stored since, the same answer is taken as stored already (a retried request);
        anything else raises AnswerConflict."""
    def pop_answer(self, session_id: str, question: str | None = None) -> None:
        """Take back the last answer; when ``question`` is given, only if the last answer is to it."""
    def set_corrections(self, session_id: str, corrections: dict[str, str]) -> None: ...
    def delete(self, session_id: str) -> bool: ...


def _data_dir() -> Path:
    if os.environ.get("SPASMO_DATA_DIR"):
        return Path(os.environ["SPASMO_DATA_DIR"])
    from platformdirs import user_data_dir  # noqa: PLC0415

    return Path(user_data_dir("spasmo"))


class SQLiteSessions:
    """Sessions in one SQLite file; each answer is written when it is given."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path else _data_dir() / "web-sessions.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()  # one connection per thread: the server answers from a pool
        with self._db() as db:
            db.executescript(
                """
                PRAGMA journal_mode=WAL;
                CREATE TABLE IF NOT EXISTS sessions (
                    id TEXT PRIMARY KEY, language TEXT NOT NULL, text TEXT NOT NULL,
                    corrections TEXT NOT NULL DEFAULT '{}',
                    created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
                CREATE TABLE IF NOT EXISTS answers (
                    session TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                    n INTEGER NOT NULL, question TEXT NOT NULL, value TEXT NOT NULL,
                    PRIMARY KEY (session, n));
                CREATE TABLE IF NOT EXISTS start_keys (
                    key TEXT PRIMARY KEY,
                    session TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE);
                """
            )

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30)
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA secure_delete=ON")  # deleted text is overwritten, not left in free pages
            self._local.db = db
        return db

    def create(self, text: str, language: str, key: str | None = None) -> str:
        session_id = secrets.token_urlsafe(16)  # 128 random bits: the id is the only key to a session
        db = self._db()
        with db:
            db.execute("BEGIN IMMEDIATE")  # the write lock first: a key is looked up and stored in one go
            if key is not None:
                found = db.execute("SELECT s.id, s.text FROM start_keys k JOIN sessions s ON s.id = k.session "
                                   "WHERE k.key = ?", (key,)).fetchone()
                if found is not None:
                    if found[1] != text:
                        raise StartKeyConflict(_KEY_CONFLICT)
                    return str(found[0])
            db.execute("INSERT INTO sessions (id, language, text) VALUES (?, ?, ?)", (session_id, language, text))
            if key is not None:
                db.execute("INSERT INTO start_keys (key, session) VALUES (?, ?)", (key, session_id))
        return session_id

    def create_with_id(self, session_id: str) -> None:
        """A row for corrections only, under another store's id (text and answers live there)."""
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO sessions (id, language, text) VALUES (?, '', '')", (session_id,))

    def corrections(self, session_id: str) -> dict[str, str]:
        row = self._db().execute("SELECT corrections FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return json.loads(row[0]) if row else {}

    def get(self, session_id: str) -> Record:
        db = self._db()
        row = db.execute("SELECT language, text, corrections FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise UnknownSessionError(f"no interview {session_id!r}: it was never started, or it was deleted")
        answers = [
            Answer(q, json.loads(v))
            for q, v in db.execute("SELECT question, value FROM answers WHERE session = ? ORDER BY n", (session_id,))
        ]
        return Record(session_id, row[0], row[1], json.loads(row[2]), answers)

    def add_answer(self, session_id: str, answer: Answer, after: int | None = None) -> None:
        db = self._db()
        with db:
            db.execute("BEGIN IMMEDIATE")  # the write lock first: the count and the insert see the same rows
            last = db.execute("SELECT n, question, value FROM answers WHERE session = ? ORDER BY n DESC LIMIT 1",
                              (session_id,)).fetchone()
            stored = int(last[0]) if last else 0
            if after is not None and stored != after:
                if stored == after + 1 and last[1] == answer.question and json.loads(last[2]) == answer.value:
                    return
                raise AnswerConflict(f"session {session_id!r} holds {stored} answers, not {after}")
            db.execute("INSERT INTO answers VALUES (?, ?, ?, ?)",
                       (session_id, stored + 1, answer.question, json.dumps(answer.value)))

    def pop_answer(self, session_id: str, question: str | None = None) -> None:
        with self._db() as db:
            db.execute("DELETE FROM answers WHERE session = ? AND n = (SELECT MAX(n) FROM answers WHERE session = ?)"
                       " AND (? IS NULL OR question = ?)", (session_id, session_id, question, question))

    def set_corrections(self, session_id: str, corrections: dict[str, str]) -> None:
        with self._db() as db:
            db.execute("UPDATE sessions SET corrections = ? WHERE id = ?", (json.dumps(corrections), session_id))

    def delete(self, session_id: str) -> bool:
        with self._db() as db:
            db.execute("DELETE FROM answers WHERE session = ?", (session_id,))
            db.execute("DELETE FROM start_keys WHERE session = ?", (session_id,))
            found = db.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount > 0
        self._checkpoint()
        return found

    def keep_only(self, session_ids: set[str]) -> int:
        """Delete the rows of every session not in ``session_ids`` (expired or deleted elsewhere)."""
        with self._db() as db:
            gone = [r[0] for r in db.execute("SELECT id FROM sessions") if r[0] not in session_ids]
            for session_id in gone:
                db.execute("DELETE FROM answers WHERE session = ?", (session_id,))
                db.execute("DELETE FROM start_keys WHERE session = ?", (session_id,))
                db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        if gone:
            self._checkpoint()
        return len(gone)

    def _checkpoint(self) -> None:
        # the write-ahead log still holds the deleted rows' old pages until it is checkpointed and emptied
        self._db().execute("PRAGMA wal_checkpoint(TRUNCATE)")


class InterviewStorage:
    """The interview issue's store (``spasmo.storage``: SQLite, or PostgreSQL by SPASMO_DATABASE_URL) for the
    text, language and answers, with the corrections (which it has no place for) in a small SQLite
    table beside it, removed with the session."""

    def __init__(self, corrections: SQLiteSessions | None = None, connections: int = 1):
        from . import storage  # noqa: PLC0415

        self._storage = storage
        self._connections = connections  # threads that may use the store at once: PostgreSQL's pool size
        self._shared: Any = None  # the PostgreSQL store, one pool for every thread
        self._local = threading.local()  # a SQLite store's connection belongs to the thread that opened it
        self._side = corrections or SQLiteSessions(_data_dir() / "web-corrections.sqlite")
        self._swept = float("-inf")

    #: how often, at most, the corrections of expired sessions are swept (seconds)
    SWEEP_EVERY = 3600.0

    def _sweep(self) -> None:
        """The main store purges expired sessions itself; this removes their corrections beside it."""
        if time.monotonic() - self._swept < self.SWEEP_EVERY:
            return
        self._swept = time.monotonic()
        self._side.keep_only({s.id for s in self._store().list()})

    def _store(self) -> Any:
        if self._shared is not None:
            return self._shared
        store = getattr(self._local, "store", None)
        if store is None:
            with _opening:  # one PostgreSQL pool per process, however many threads ask for it at once
                if self._shared is not None:
                    return self._shared
                store = self._storage.open_store(connections=self._connections)
                if store.shared:
                    self._shared = store
                else:
                    self._local.store = store
        return store

    def create(self, text: str, language: str, key: str | None = None) -> str:
        try:
            session_id = self._store().create(language, text, key).id  # purges expired sessions first
        except self._storage.StartKeyConflictError:
            raise StartKeyConflict(_KEY_CONFLICT) from None
        self._sweep()
        self._side.create_with_id(session_id)
        return session_id

    def get(self, session_id: str) -> Record:
        try:
            stored = self._store().get(session_id)
        except self._storage.UnknownSessionError:
            raise UnknownSessionError(f"no interview {session_id!r}: it was never started, or it was deleted") from None
        corrections = self._side.corrections(session_id)
        return Record(stored.id, stored.language, stored.text, corrections,
                      [Answer(a.question, a.value) for a in stored.answers])

    def add_answer(self, session_id: str, answer: Answer, after: int | None = None) -> None:
        try:
            self._store().add_answer(session_id, answer.question, answer.value, after=after)
        except self._storage.AnswerConflictError as exc:
            raise AnswerConflict(str(exc)) from None
        except self._storage.UnknownSessionError:
            raise UnknownSessionError(f"no interview {session_id!r}: it was never started, or it was deleted") from None

    def pop_answer(self, session_id: str, question: str | None = None) -> None:
        self._store().remove_last_answer(session_id, question)

    def set_corrections(self, session_id: str, corrections: dict[str, str]) -> None:
        self._side.create_with_id(session_id)
        self._side.set_corrections(session_id, corrections)

    def delete(self, session_id: str) -> bool:
        self._side.delete(session_id)
        try:
            self._store().delete(session_id)
        except self._storage.UnknownSessionError:
            return False
        return True

    def close(self) -> None:
        """Close the shared store (PostgreSQL's pool); a thread's SQLite store closes with its thread."""
        if self._shared is not None:
            self._shared.close()
            self._shared = None


_opening = threading.Lock()


def default_store(connections: int = 1) -> SessionStore:
    """The interview issue's store (SQLite under SPASMO_DATA_DIR, or PostgreSQL by SPASMO_DATABASE_URL, with a
    pool of ``connections``); this module's SQLite file when that store is not there."""
    try:
        return InterviewStorage(connections=connections)
    except ImportError:
        return SQLiteSessions()


@dataclass
class Session:
    """One session replayed: what was read, the interview, and the next step."""

    id: str
    record: Record
    reading: Reading
    interview: Interview

    @property
    def language(self) -> str:
        return self.record.language

    @property
    def step(self) -> Step:
        return self.interview.step()


class Sessions:
    """Start, answer, go back, correct, report and delete interviews kept in a store."""

    def __init__(self, engine: Engine, store: SessionStore | None = None):
        self.engine = engine
        self.store = store or default_store()

    def _replay(self, record: Record) -> Session:
        reading = self.engine.read(record.text, record.language)
        base = self.engine.evidence(reading, record.corrections)
        return Session(record.id, record, reading, Interview(self.engine.planner, base, list(record.answers)))

    def start(self, text: str, language: str = "auto", corrections: dict[str, str] | None = None,
              key: str | None = None) -> Session:
        """Read the description (raises ReadingError on bad text) and store a new session.

        ``key`` (the client's `Idempotency-Key`) makes starting safe to send again: the same key with the same
        description finds the session it started; with another description it raises :class:`StartKeyConflict`.
        """
        reading = self.engine.read(text, language)
        if corrections:
            self.engine.evidence(reading, corrections)  # raises on an unknown finding before anything is stored
        session_id = self.store.create(text, reading.language, key)
        if corrections:
            self.store.set_corrections(session_id, dict(corrections))
        return self.get(session_id)

    def get(self, session_id: str) -> Session:
        return self._replay(self.store.get(session_id))

    def answer(self, session_id: str, question: str, value: Any) -> Session:
        """Check the answer against the question being asked, then store it.

        Answering again the question answered last, with the same value, changes nothing and is not an
        error: it is a request sent again because its reply was lost (a dropped connection, a restart),
        and the interview as it stands is returned. Two answers at once to one session are stored one
        after the other, as if they had come in turn.
        """
        for _ in range(3):
            session = self.get(session_id)
            seen = len(session.interview.answers)
            try:
                answer = session.interview.answer(question, value)
            except QuestionNotAskedError:
                if self._repeats_last(session, question, value):
                    return session
                raise
            try:
                self.store.add_answer(session_id, answer, after=seen)
            except AnswerConflict:
                continue  # another request stored an answer meanwhile: judge this one against the new state
            session.record.answers.append(answer)  # the interview holds it already: no need to read it back
            return session
        raise InterviewError("the interview changed while this answer was being stored; read it again")

    def _repeats_last(self, session: Session, question: str, value: Any) -> bool:
        answers = session.interview.answers
        if not answers or answers[-1].question != question:
            return False
        try:
            return self.engine.planner.questions[question].parse(value) == answers[-1].value
        except InterviewError:
            return False

    def back(self, session_id: str, question: str | None = None) -> Session:
        """Take back the last answer (nothing happens when there is none).

        ``question`` names the answer the caller means to take back, which makes going back safe to send
        again: when that question is already the one being asked again (its answer was taken back by the
        first request, whose reply was lost), nothing more is taken back. When the last answer is to another
        question, an :class:`InterviewError` says so and nothing changes.
        """
        session = self.get(session_id)
        answers = session.interview.answers
        if question is None:
            if answers:
                self.store.pop_answer(session_id)
            return self.get(session_id)
        if answers and answers[-1].question == question:
            self.store.pop_answer(session_id, question)  # only if it is still the last answer
            return self.get(session_id)
        asked = session.step.question
        if asked is not None and asked.id == question:
            return session  # taken back already: this request was sent again
        last = repr(answers[-1].question) if answers else "none (nothing has been answered)"
        raise InterviewError(f"cannot take back the answer to {question!r}: the last answer is to {last}; "
                             "read the interview again (GET /v1/interviews/{id})")

    def correct(self, session_id: str, corrections: dict[str, str]) -> Session:
        """Set findings the person says were misread: finding id -> present | absent (replaces earlier ones)."""
        session = self.get(session_id)
        self.engine.evidence(session.reading, corrections)  # validates ids and states
        self.store.set_corrections(session_id, dict(corrections))
        return self.get(session_id)

    def report(self, session: Session, language: str | None = None) -> dict[str, Any]:
        return self.engine.interview_report(session.interview, language or session.language)

    def answered(self, session: Session, language: str | None = None) -> list[tuple[str, str, Any]]:
        """(question id, its words, value) for each answer, as FHIR and the page show them."""
        lang = language or session.language
        return [(a.question, self.engine.questions[a.question].prompt(lang), a.value) for a in session.interview.answers]

    def export(self, session_id: str) -> dict[str, Any]:
        """Everything kept of one session, as JSON: what the person wrote, corrected and answered."""
        record = self.store.get(session_id)
        return {
            "format": EXPORT_FORMAT,
            "id": record.id,
            "language": record.language,
            "text": record.text,
            "corrections": dict(record.corrections),
            "answers": [{"question": a.question, "value": a.value} for a in record.answers],
        }

    def delete(self, session_id: str) -> None:
        if not self.store.delete(session_id):
            raise UnknownSessionError(f"no interview {session_id!r}: it was never started, or it was deleted")


def question_view(question: Question, language: str) -> dict[str, Any]:
    """A question as a client shows it: words, kind, choices, unit and range, in one language."""
    view: dict[str, Any] = {
        "id": question.id,
        "kind": question.kind,
        "text": question.prompt(language),
        "choices": [{"id": c.id, "label": getattr(c.label, language)} for c in question.choices],
        "unit": getattr(question.unit, language) if question.unit else None,
        "minimum": question.minimum,
        "maximum": question.maximum,
        "dont_know": DONT_KNOW,
    }
    return view
