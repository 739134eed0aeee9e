"""Interview sessions survive a restart, on SQLite and on a real PostgreSQL server, and can be deleted."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest

from spasmo.interview import Answer, Interview
from spasmo.storage import SQLiteStore, StorageError, UnknownSessionError, open_store

from .conftest import ROOT
from .pg_server import free_port

TEXT = "I get a sudden painful cramp in my calf at night. Marker-7f3e: my own words."


@pytest.fixture(params=["sqlite", "postgres"])
def env(request, tmp_path) -> dict[str, str]:
    """The environment that selects one store, emptied before each test."""
    if request.param == "sqlite":
        chosen = {"SPASMO_DATA_DIR": str(tmp_path / "data")}
    else:
        chosen = {"SPASMO_DATABASE_URL": request.getfixturevalue("postgres_url")}
    with open_store(chosen) as store:
        store.delete_all()
    return chosen


def spasmo(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("SPASMO_DATA_DIR", "SPASMO_DATABASE_URL")}
    full.update(env, PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "spasmo", *args], input=stdin, capture_output=True, text=True,
                          env=full, cwd=ROOT, timeout=120)


def first_answers(engine, n: int) -> tuple[Interview, list[Answer]]:
    """An interview on TEXT answered "don't know" n times, and those answers."""
    _, interview = engine.interview(TEXT, "en")
    for _ in range(n):
        interview.answer(interview.step().question.id, "unknown")
    return interview, list(interview.answers)


def test_each_answer_is_stored_as_soon_as_it_is_given(env, engine):
    interview, _ = first_answers(engine, 0)
    question = interview.step().question.id
    with open_store(env) as store:
        session = store.create("en", TEXT)
        store.add_answer(session.id, question, "no")
        with open_store(env) as other:  # another connection, as another process would see it
            stored = other.get(session.id)
    assert [(a.question, a.value) for a in stored.answers] == [(question, "no")]
    assert stored.text == TEXT and stored.language == "en" and stored.stopped is None


def test_a_session_survives_a_crash_and_resumes_where_it_stopped(env, engine):
    crash = textwrap.dedent(
        f"""
        import os
        from spasmo.engine import Engine
        from spasmo.storage import open_store
        engine = Engine()
        store = open_store()
        reading, interview = engine.interview({TEXT!r}, "en")
        session = store.create("en", {TEXT!r})
        print(session.id, flush=True)
        for _ in range(2):
            question = interview.step().question.id
            store.add_answer(session.id, question, "unknown")
            interview.answer(question, "unknown")
        os._exit(9)  # no close, no clean-up: as if the machine went down
        """
    )
    full = {k: v for k, v in os.environ.items() if k not in ("SPASMO_DATA_DIR", "SPASMO_DATABASE_URL")}
    result = subprocess.run([sys.executable, "-c", crash], capture_output=True, text=True, env={**full, **env},
                            timeout=120)
    assert result.returncode == 9, result.stderr
    session_id = result.stdout.strip()

    with open_store(env) as store:
        session = store.get(session_id)
    resumed = Interview(engine.planner, engine.evidence(engine.read(session.text, session.language)),
                        [Answer(a.question, a.value) for a in session.answers])
    uninterrupted, answers = first_answers(engine, 2)
    assert [(a.question, a.value) for a in session.answers] == [(a.question, a.value) for a in answers]
    assert resumed.step().question.id == uninterrupted.step().question.id

    shown = spasmo(env, "interview", "--resume", session_id, "--batch", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["question"]["id"] == uninterrupted.step().question.id


def test_going_back_takes_back_only_the_last_answer(env):
    with open_store(env) as store:
        session = store.create("en", TEXT)
        store.add_answer(session.id, "fever", "no")
        store.add_answer(session.id, "age", 45.0)
        taken = store.remove_last_answer(session.id)
        assert (taken.question, taken.value) == ("age", 45.0)
        assert [(a.question, a.value) for a in store.get(session.id).answers] == [("fever", "no")]
        store.remove_last_answer(session.id)
        assert store.remove_last_answer(session.id) is None


def test_deleting_a_session_removes_what_the_person_wrote(env, tmp_path):
    with open_store(env) as store:
        kept = store.create("en", "another person's words")
        gone = store.create("en", TEXT)
        store.add_answer(gone.id, "where", ["location_calf"])
    result = spasmo(env, "sessions", "delete", gone.id)
    assert result.returncode == 0, result.stderr
    with open_store(env) as store:
        with pytest.raises(UnknownSessionError):
            store.get(gone.id)
        assert [s.id for s in store.list()] == [kept.id]
    if "SPASMO_DATA_DIR" in env:
        # SQLite overwrites deleted content: the words are nowhere in the file any more
        raw = (Path(env["SPASMO_DATA_DIR"]) / "sessions.sqlite3").read_bytes()
        assert b"Marker-7f3e" not in raw and b"another person" in raw
    else:
        with psycopg.connect(env["SPASMO_DATABASE_URL"]) as conn:
            left = conn.execute("SELECT COUNT(*) FROM spasmo_answers WHERE session = %s", (gone.id,)).fetchone()[0]
            texts = [r[0] for r in conn.execute("SELECT text FROM spasmo_sessions")]
        assert left == 0 and texts == ["another person's words"]


def test_delete_all_removes_every_session(env):
    with open_store(env) as store:
        for _ in range(3):
            store.add_answer(store.create("it", TEXT).id, "fever", "yes")
    result = spasmo(env, "sessions", "delete", "--all", "--yes")
    assert result.returncode == 0, result.stderr
    assert "3 session(s)" in result.stdout
    with open_store(env) as store:
        assert store.list() == []


def test_the_session_list_never_shows_what_the_person_wrote(env):
    with open_store(env) as store:
        session = store.create("en", TEXT)
        store.add_answer(session.id, "fever", "no")
    listed = spasmo(env, "sessions", "list")
    assert listed.returncode == 0, listed.stderr
    assert session.id in listed.stdout and "1 answer(s)" in listed.stdout and "Marker-7f3e" not in listed.stdout
    shown = spasmo(env, "sessions", "show", session.id, "--format", "json")
    assert json.loads(shown.stdout)["text"] == TEXT


@pytest.mark.parametrize("command", [["sessions", "show"], ["sessions", "delete"], ["interview", "--resume"]])
def test_an_unknown_session_id_is_named(env, command):
    result = spasmo(env, *command, "0123456789ab")
    assert result.returncode == 2
    assert "no session '0123456789ab'" in result.stderr and "spasmo sessions list" in result.stderr


def test_an_interview_runs_without_a_terminal_and_finishes_with_the_report(env):
    started = spasmo(env, "interview", "--batch", "--format", "json", TEXT)
    assert started.returncode == 0, started.stderr
    state = json.loads(started.stdout)
    for _ in range(20):
        if state["done"]:
            break
        question = state["question"]
        value = "45" if question["kind"] == "number" else "unknown"
        step = spasmo(env, "interview", "--resume", state["session"], "--answer", f"{question['id']}={value}",
                      "--format", "json")
        assert step.returncode == 0, step.stderr
        state = json.loads(step.stdout)
    assert state["done"] and state["report"]["interview"]["stopped"] in ("settled", "cap", "exhausted")
    with open_store(env) as store:
        session = store.get(state["session"])
    assert session.stopped == state["report"]["interview"]["stopped"]
    assert len(session.answers) == state["report"]["interview"]["questions"]


def test_an_answer_to_a_question_that_was_not_asked_is_refused_and_nothing_is_lost(env):
    started = json.loads(spasmo(env, "interview", "--batch", "--format", "json", TEXT).stdout)
    asked = started["question"]["id"]
    first = spasmo(env, "interview", "--resume", started["session"], "--answer", f"{asked}=unknown")
    assert first.returncode == 0, first.stderr
    wrong = "fever" if asked != "fever" else "dark_urine"
    result = spasmo(env, "interview", "--resume", started["session"], "--answer", f"{wrong}=yes")
    assert result.returncode == 2
    assert f"question '{wrong}' was not asked" in result.stderr and "being asked is" in result.stderr
    with open_store(env) as store:
        assert [(a.question, a.value) for a in store.get(started["session"]).answers] == [(asked, "unknown")]


def test_an_out_of_range_number_is_refused_with_the_range(env, engine):
    _, interview = engine.interview(TEXT, "en")
    with open_store(env) as store:
        session = store.create("en", TEXT)
        # answer "don't know" until a question asking for a number is the one being asked
        while interview.step().question.kind != "number":
            question = interview.step().question.id
            interview.answer(question, "unknown")
            store.add_answer(session.id, question, "unknown")
    asked = interview.step().question
    result = spasmo(env, "interview", "--resume", session.id, "--answer", f"{asked.id}=-3")
    assert result.returncode == 2
    assert f"from 0 to {asked.maximum:g}" in result.stderr and "'-3'" in result.stderr
    with open_store(env) as store:
        assert len(store.get(session.id).answers) == len(interview.answers)


def test_an_unreachable_database_is_named_without_its_password(tmp_path):
    url = f"postgresql://spasmo:s3cret-pw@127.0.0.1:{free_port()}/spasmo"
    for command in (["sessions", "list"], ["interview", "--batch", TEXT]):
        result = spasmo({"SPASMO_DATABASE_URL": url}, *command)
        assert result.returncode == 1
        assert "cannot reach the session database at postgresql://spasmo:***@127.0.0.1" in result.stderr
        assert "s3cret-pw" not in result.stderr and "Marker-7f3e" not in result.stderr


def test_a_database_url_that_is_not_postgresql_is_refused():
    with pytest.raises(StorageError, match="must be a postgresql:// URL"):
        open_store({"SPASMO_DATABASE_URL": "mysql://user:pw@localhost/db"})


def test_a_lost_connection_keeps_every_answer_already_stored(env):
    with open_store(env) as store:
        session = store.create("en", TEXT)
        store.add_answer(session.id, "fever", "no")
        if "SPASMO_DATABASE_URL" in env:
            # the server drops every connection of the store (a restart, an administrator): each pooled
            # connection is checked before use, so the next answer goes through a new one
            with psycopg.connect(env["SPASMO_DATABASE_URL"], autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            store.add_answer(session.id, "age", 45.0)
            expected = [("fever", "no"), ("age", 45.0)]
        else:
            blocker = sqlite3.connect(store.path, isolation_level=None)
            blocker.execute("BEGIN EXCLUSIVE")  # another program holds the file
            store._conn.execute("PRAGMA busy_timeout = 50")
            with pytest.raises(StorageError, match="locked"):
                store.add_answer(session.id, "age", 45.0)
            blocker.execute("ROLLBACK")
            blocker.close()
            expected = [("fever", "no")]
    with open_store(env) as store:
        assert [(a.question, a.value) for a in store.get(session.id).answers] == expected


def test_the_sqlite_file_is_readable_by_its_owner_only(tmp_path):
    with SQLiteStore(tmp_path / "d" / "sessions.sqlite3") as store:
        store.create("en", TEXT)
    assert stat.S_IMODE((tmp_path / "d" / "sessions.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o700


def test_the_data_folder_comes_from_spasmo_data_dir(tmp_path):
    with open_store({"SPASMO_DATA_DIR": str(tmp_path / "here")}) as store:
        assert store.where == str(tmp_path / "here" / "sessions.sqlite3")


def test_an_interview_cut_short_keeps_its_answers_and_resumes_from_them(env):
    paused = spasmo(env, "interview", "--lang", "en", stdin=f"{TEXT}\ndon't know\n")  # then the input ends
    assert paused.returncode == 130
    assert "Paused. Your answers are saved; continue with: spasmo interview --resume" in paused.stdout
    with open_store(env) as store:
        (summary,) = store.list()
    assert summary.answers == 1 and summary.stopped is None
    resumed = spasmo(env, "interview", "--resume", summary.id, stdin="don't know\n" * 30)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming session" in resumed.stdout and "Questions answered:" in resumed.stdout
    with open_store(env) as store:
        session = store.get(summary.id)
    assert session.stopped is not None and len(session.answers) > 1
