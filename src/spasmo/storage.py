"""Interview sessions that survive a restart: SQLite by default, PostgreSQL when a URL names one.

Where: ``SPASMO_DATABASE_URL`` (``postgresql://...``) selects PostgreSQL; otherwise a SQLite file
``sessions.sqlite3`` in ``SPASMO_DATA_DIR`` or the user's data directory (platformdirs). Each
answer is written in its own transaction when it is given, so an interview resumes where it
stopped after a crash. The PostgreSQL store is one pool of connections shared by all the threads of
a process (psycopg_pool), each checked before use, so a restart of the database server costs no
request; the SQLite store holds one connection and belongs to the thread that opened it. Deleting a
session removes everything the person wrote (their text and every answer); SQLite overwrites deleted
content (``secure_delete``). Nothing here logs what a person wrote, and no message quotes it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

__all__ = [
    "DATA_DIR_ENV",
    "DATABASE_URL_ENV",
    "SESSION_DAYS_ENV",
    "AnswerConflictError",
    "Session",
    "SessionSummary",
    "StartKeyConflictError",
    "StorageError",
    "Store",
    "StoredAnswer",
    "UnknownSessionError",
    "open_store",
]

DATA_DIR_ENV = "SPASMO_DATA_DIR"
DATABASE_URL_ENV = "SPASMO_DATABASE_URL"
SESSION_DAYS_ENV = "SPASMO_SESSION_DAYS"
#: How long a session is kept after its last change, unless SPASMO_SESSION_DAYS says otherwise.
DEFAULT_SESSION_DAYS = 30.0
#: 128 random bits from `secrets` (32 hex digits): an id cannot be guessed, and it is the only key to a
#: session. Ids of 12 digits (48 bits) were given before; they are still read, and expire with their session.
_ID_BYTES = 16
_ID = re.compile(r"^(?:[0-9a-f]{32}|[0-9a-f]{12})$")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS spasmo_sessions (
        id TEXT PRIMARY KEY,
        language TEXT NOT NULL,
        text TEXT NOT NULL,
        created TEXT NOT NULL,
        updated TEXT NOT NULL,
        stopped TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS spasmo_answers (
        session TEXT NOT NULL REFERENCES spasmo_sessions(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        question TEXT NOT NULL,
        value TEXT NOT NULL,
        answered TEXT NOT NULL,
        PRIMARY KEY (session, seq)
    )""",
    "CREATE INDEX IF NOT EXISTS spasmo_sessions_updated ON spasmo_sessions (updated)",
    # the key a client sent with the request that started a session (`Idempotency-Key`), so that the same
    # request sent again (its reply was lost) finds that session instead of storing the text a second time
    """CREATE TABLE IF NOT EXISTS spasmo_start_keys (
        key TEXT PRIMARY KEY,
        session TEXT NOT NULL REFERENCES spasmo_sessions(id) ON DELETE CASCADE,
        created TEXT NOT NULL
    )""",
)
#: An advisory-lock key (any constant): processes that start together create the tables in turn, since
#: concurrent `CREATE TABLE IF NOT EXISTS` in PostgreSQL can fail on a duplicate type
_SCHEMA_LOCK = 0x5350_4153_4D4F


class StorageError(Exception):
    """The session database cannot be used; the message says which one and why (never what a person wrote)."""


class AnswerConflictError(StorageError):
    """Another answer was stored since the caller read the session (two requests at once); read it again."""


class StartKeyConflictError(StorageError):
    """A start key already names a session started from another description."""


class _KeyTaken(Exception):
    def __init__(self, session_id: str):
        super().__init__(session_id)
        self.session_id = session_id


class UnknownSessionError(StorageError, KeyError):
    """No stored session has this id."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class StoredAnswer:
    question: str
    value: Any
    answered: str


@dataclass(frozen=True)
class Session:
    """A stored interview: the person's text, the language, and the answers in the order given."""

    id: str
    language: str
    text: str
    created: str
    updated: str
    stopped: str | None  # why the interview stopped; None while it goes on
    answers: tuple[StoredAnswer, ...] = ()


@dataclass(frozen=True)
class SessionSummary:
    """What `spasmo sessions list` shows: no text, no answers."""

    id: str
    language: str
    created: str
    updated: str
    stopped: str | None
    answers: int


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _unknown(session_id: str) -> UnknownSessionError:
    return UnknownSessionError(f"no session {session_id!r}; `spasmo sessions list` shows the stored ones")


class Store(ABC):
    """The sessions, in one database. Every method is one transaction."""

    #: where the sessions are, for messages (a path, or a URL without its password)
    where: str
    #: a session untouched for longer is expired: never shown again, and purged (SPASMO_SESSION_DAYS)
    max_age_days: float = DEFAULT_SESSION_DAYS
    #: whether one instance may serve every thread of a process (else one per thread)
    shared: bool = False

    @abstractmethod
    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """A cursor inside a transaction that commits on success and rolls back on any error."""

    @abstractmethod
    def _sql(self, statement: str) -> str:
        """The statement in the driver's parameter style (written with ``?``)."""

    def close(self) -> None:  # noqa: B027 - a store without a connection to close
        pass

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, cursor: Any, statement: str, params: Sequence[Any] = ()) -> Any:
        cursor.execute(self._sql(statement), tuple(params))
        return cursor

    def _check(self, session_id: str) -> None:
        if not isinstance(session_id, str) or not _ID.match(session_id):
            raise _unknown(session_id)

    # -- sessions --------------------------------------------------------------------------------
    def create(self, language: str, text: str, key: str | None = None) -> Session:
        """A new session holding the person's description.

        With a ``key`` (the client's `Idempotency-Key`), the session that key started is returned instead when
        there is one: the same request sent again stores nothing a second time. A key that started a session
        from another description raises :class:`StartKeyConflictError`.
        """
        now = _now()
        session_id = secrets.token_hex(_ID_BYTES)
        self.purge_expired()  # each new session clears the expired ones, so no timer is needed
        try:
            with self._transaction() as cur:
                if key is not None:
                    found = self._run(cur, "SELECT session FROM spasmo_start_keys WHERE key = ?", (key,)).fetchone()
                    if found is not None:
                        raise _KeyTaken(found[0])
                self._run(cur, "INSERT INTO spasmo_sessions (id, language, text, created, updated, stopped) "
                               "VALUES (?, ?, ?, ?, ?, NULL)", (session_id, language, text, now, now))
                if key is not None:
                    # two requests with one key at once: the second waits for the first, stores nothing, and
                    # is rolled back to the first one's session
                    self._run(cur, "INSERT INTO spasmo_start_keys (key, session, created) VALUES (?, ?, ?) "
                                   "ON CONFLICT (key) DO NOTHING", (key, session_id, now))
                    owner = self._run(cur, "SELECT session FROM spasmo_start_keys WHERE key = ?", (key,)).fetchone()
                    if owner[0] != session_id:
                        raise _KeyTaken(owner[0])
        except _KeyTaken as taken:
            session = self.get(taken.session_id)
            if session.text != text:
                raise StartKeyConflictError(
                    "this Idempotency-Key started an interview from another description; send a new key with a "
                    "new description"
                ) from None
            return session
        return Session(session_id, language, text, now, now, None)

    def get(self, session_id: str) -> Session:
        self._check(session_id)
        with self._transaction() as cur:
            row = self._run(cur, "SELECT id, language, text, created, updated, stopped FROM spasmo_sessions "
                                 "WHERE id = ?", (session_id,)).fetchone()
            if row is None or row[4] < self._cutoff():
                raise _unknown(session_id)
            answers = self._run(cur, "SELECT question, value, answered FROM spasmo_answers WHERE session = ? "
                                     "ORDER BY seq", (session_id,)).fetchall()
        return Session(*row, answers=tuple(StoredAnswer(q, json.loads(v), at) for q, v, at in answers))

    def list(self) -> list[SessionSummary]:
        with self._transaction() as cur:
            rows = self._run(
                cur,
                "SELECT s.id, s.language, s.created, s.updated, s.stopped, "
                "(SELECT COUNT(*) FROM spasmo_answers a WHERE a.session = s.id) "
                "FROM spasmo_sessions s ORDER BY s.created, s.id",
            ).fetchall()
        return [SessionSummary(r[0], r[1], r[2], r[3], r[4], int(r[5])) for r in rows]

    def add_answer(self, session_id: str, question: str, value: Any, *, after: int | None = None) -> StoredAnswer:
        """Store one answer, after the ones already given, at once (its own transaction).

        ``after`` is how many answers the caller saw when it chose the question. If another answer has been
        stored since, the same answer to the same question (a request sent again because its reply was lost)
        is taken as stored already and returned, without a second row; anything else raises
        :class:`AnswerConflictError`, and the caller reads the session again.
        """
        self._check(session_id)
        now = _now()
        with self._transaction() as cur:
            self._lock(cur, session_id)
            last = self._run(cur, "SELECT seq, question, value, answered FROM spasmo_answers WHERE session = ? "
                                  "ORDER BY seq DESC LIMIT 1", (session_id,)).fetchone()
            stored = int(last[0]) if last else 0  # seq runs 1..n without gaps: only the last one is taken back
            if after is not None and stored != after:
                if stored == after + 1 and last[1] == question and json.loads(last[2]) == value:
                    return StoredAnswer(question, value, last[3])
                raise AnswerConflictError(f"session {session_id!r} holds {stored} answers, not {after}: read it again")
            self._run(cur, "INSERT INTO spasmo_answers (session, seq, question, value, answered) "
                           "VALUES (?, ?, ?, ?, ?)", (session_id, stored + 1, question, json.dumps(value), now))
            self._run(cur, "UPDATE spasmo_sessions SET updated = ?, stopped = NULL WHERE id = ?", (now, session_id))
        return StoredAnswer(question, value, now)

    def remove_last_answer(self, session_id: str, question: str | None = None) -> StoredAnswer | None:
        """Take back the last answer (the person typed "back"); None when there is none, or when
        ``question`` is given and the last answer is to another question (nothing is taken back then)."""
        self._check(session_id)
        with self._transaction() as cur:
            self._lock(cur, session_id)
            row = self._run(cur, "SELECT seq, question, value, answered FROM spasmo_answers WHERE session = ? "
                                 "ORDER BY seq DESC LIMIT 1", (session_id,)).fetchone()
            if row is None or (question is not None and row[1] != question):
                return None
            self._run(cur, "DELETE FROM spasmo_answers WHERE session = ? AND seq = ?", (session_id, row[0]))
            self._run(cur, "UPDATE spasmo_sessions SET updated = ?, stopped = NULL WHERE id = ?", (_now(), session_id))
        return StoredAnswer(row[1], json.loads(row[2]), row[3])

    def finish(self, session_id: str, reason: str) -> None:
        """Record why the interview stopped."""
        self._check(session_id)
        with self._transaction() as cur:
            self._lock(cur, session_id)
            self._run(cur, "UPDATE spasmo_sessions SET stopped = ?, updated = ? WHERE id = ?",
                      (reason, _now(), session_id))

    def delete(self, session_id: str) -> None:
        """Remove the session: the person's text and every answer."""
        self._check(session_id)
        with self._transaction() as cur:
            self._run(cur, "DELETE FROM spasmo_answers WHERE session = ?", (session_id,))
            self._run(cur, "DELETE FROM spasmo_start_keys WHERE session = ?", (session_id,))
            if self._run(cur, "DELETE FROM spasmo_sessions WHERE id = ?", (session_id,)).rowcount == 0:
                raise _unknown(session_id)

    def delete_all(self) -> int:
        """Remove every session; returns how many there were."""
        with self._transaction() as cur:
            self._run(cur, "DELETE FROM spasmo_answers")
            self._run(cur, "DELETE FROM spasmo_start_keys")
            return int(self._run(cur, "DELETE FROM spasmo_sessions").rowcount)

    def _cutoff(self, now: datetime | None = None) -> str:
        now = now or datetime.now(timezone.utc)
        return (now - timedelta(days=self.max_age_days)).isoformat(timespec="seconds")

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete every session untouched for more than ``max_age_days``; returns how many."""
        cutoff = self._cutoff(now)
        with self._transaction() as cur:
            self._run(cur, "DELETE FROM spasmo_answers WHERE session IN "
                           "(SELECT id FROM spasmo_sessions WHERE updated < ?)", (cutoff,))
            self._run(cur, "DELETE FROM spasmo_start_keys WHERE session IN "
                           "(SELECT id FROM spasmo_sessions WHERE updated < ?)", (cutoff,))
            return int(self._run(cur, "DELETE FROM spasmo_sessions WHERE updated < ?", (cutoff,)).rowcount)

    def _lock(self, cur: Any, session_id: str) -> None:
        found = self._run(cur, "SELECT id FROM spasmo_sessions WHERE id = ?" + self._for_update, (session_id,))
        if found.fetchone() is None:
            raise _unknown(session_id)

    _for_update = ""


class SQLiteStore(Store):
    """Sessions in a SQLite file, readable only by its owner."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.where = str(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            new = not self.path.exists()
            self._conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            if new:
                os.chmod(self.path, 0o600)
            # deleted content is overwritten, not left in free pages: deleting a session removes it
            self._conn.execute("PRAGMA secure_delete = ON")
            self._conn.execute("PRAGMA foreign_keys = ON")
            with self._transaction() as cur:
                for statement in _SCHEMA:
                    cur.execute(statement)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot use the session database {self.where}: {exc}") from None

    def _sql(self, statement: str) -> str:
        return statement

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        try:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")  # take the write lock first: two processes append in turn
            try:
                yield cur
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.commit()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot use the session database {self.where}: {exc}") from None

    def close(self) -> None:
        self._conn.close()


class PostgresStore(Store):
    """Sessions in PostgreSQL (psycopg 3), in two tables prefixed ``spasmo_``, through a pool of at most
    ``connections`` connections that every thread of the process shares."""

    _for_update = " FOR UPDATE"
    shared = True

    def __init__(self, url: str, connections: int = 1):
        import psycopg  # noqa: PLC0415 - only when a PostgreSQL URL is given
        from psycopg_pool import ConnectionPool, PoolTimeout  # noqa: PLC0415

        self._errors = (psycopg.Error, PoolTimeout)
        self.where = _safe_url(url)
        try:
            # one connection of its own first: a clear message when the server cannot be reached (the pool
            # would only retry in the background), and the tables created once, by one process at a time
            with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                for statement in _SCHEMA:
                    conn.execute(statement)
        except psycopg.Error as exc:
            raise StorageError(f"cannot reach the session database at {self.where}: {_first_line(exc)}") from None
        # a connection is checked before each use, so one that the server closed (a restart, an idle
        # time-out) is replaced instead of failing a request
        self._pool = ConnectionPool(url, min_size=1, max_size=max(1, connections), timeout=15, name="spasmo",
                                    kwargs={"autocommit": True, "connect_timeout": 5},
                                    check=ConnectionPool.check_connection, open=True)

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                yield cur
        except self._errors as exc:
            raise StorageError(f"cannot use the session database at {self.where}: {_first_line(exc)}") from None

    def close(self) -> None:
        self._pool.close()


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    url = re.sub(r"(://[^:/@]*):[^/]*@", r"\1:***@", url)
    return re.sub(r"(password=)[^&\s]*", r"\1***", url)


def default_path(env: Mapping[str, str] | None = None) -> Path:
    """The SQLite file: in SPASMO_DATA_DIR, else in the user's data directory."""
    env = os.environ if env is None else env
    if env.get(DATA_DIR_ENV):
        return Path(env[DATA_DIR_ENV]) / "sessions.sqlite3"
    import platformdirs  # noqa: PLC0415

    return Path(platformdirs.user_data_dir("spasmo", appauthor=False)) / "sessions.sqlite3"


def open_store(env: Mapping[str, str] | None = None, *, connections: int = 1) -> Store:
    """The configured store: PostgreSQL when SPASMO_DATABASE_URL names one (with a pool of at most
    ``connections`` connections, one per thread that may use it at once), else SQLite."""
    env = os.environ if env is None else env
    days = session_days(env)
    url = env.get(DATABASE_URL_ENV, "").strip()
    store: Store
    if url:
        if not re.match(r"^postgres(?:ql)?://", url):
            raise StorageError(f"{DATABASE_URL_ENV} must be a postgresql:// URL, not {_safe_url(url)!r}")
        store = PostgresStore(url, connections)
    else:
        store = SQLiteStore(default_path(env))
    store.max_age_days = days
    return store


def session_days(env: Mapping[str, str] | None = None) -> float:
    """How many days a session is kept after its last change: SPASMO_SESSION_DAYS, else 30."""
    env = os.environ if env is None else env
    raw = env.get(SESSION_DAYS_ENV, "").strip()
    if not raw:
        return DEFAULT_SESSION_DAYS
    try:
        days = float(raw)
    except ValueError:
        days = -1.0
    if not 0 < days <= 36_500:
        raise StorageError(f"{SESSION_DAYS_ENV} must be a positive number of days, not {raw!r}")
    return days
