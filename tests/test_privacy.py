"""Privacy: nothing a person writes reaches a log, sessions expire and are purged, deletion leaves nothing
behind, and a person can take a copy of their session (docs/security.md)."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from spasmo import storage
from spasmo.app import create_app
from spasmo.session_service import InterviewStorage, SQLiteSessions

from .conftest import run_cli
from .web_server import free_port

# words no log line may hold: a description and an answer only a person would write
SECRET_TEXT = "zanzibarquartz cramp in my left calf at night, my neighbour Ermenegilda says it is nothing"
SECRET_WORDS = ("zanzibarquartz", "Ermenegilda", "neighbour")


class _Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()} {record.args!r} {record.exc_text or ''}")


@pytest.fixture
def verbose_server(engine, tmp_path):
    """A real uvicorn server in this process, with the root logger at DEBUG and the access log on."""
    handler = _Everything()
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    app = create_app(engine, InterviewStorage(SQLiteSessions(tmp_path / "corrections.sqlite")), rate_limit=0)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, access_log=True, log_level="trace",
                                           log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a start-up deadline, not a speed assertion
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    # uvicorn's own loggers stop at their handlers unless they propagate: make sure the root sees them
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).propagate = True
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield f"http://127.0.0.1:{port}", handler
    server.should_exit = True
    thread.join(timeout=30)
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_a_whole_journey_at_debug_logging_leaves_no_text_or_answer_in_any_log_line(verbose_server, monkeypatch,
                                                                                    tmp_path):
    monkeypatch.setenv("SPASMO_DATA_DIR", str(tmp_path))
    url, handler = verbose_server
    with httpx.Client(base_url=url, timeout=30, follow_redirects=True) as http:
        # the API: start, correct, answer every question, report, FHIR, export, assess, delete
        state = http.post("/v1/interviews", json={"text": SECRET_TEXT}).json()
        session_id = state["id"]
        http.put(f"/v1/interviews/{session_id}/corrections", json={"corrections": {"at_night": "present"}})
        answered = 0
        while not state["done"] and answered < 30:
            question = state["question"]
            value = question["choices"][0]["id"] if question["kind"] in ("one", "several") else (
                question["minimum"] or 3 if question["kind"] == "number" else "no")
            state = http.post(f"/v1/interviews/{session_id}/answers",
                              json={"question": question["id"], "value": value}).json()
            answered += 1
        assert answered >= 1
        assert http.get(f"/v1/interviews/{session_id}/report").status_code == 200
        assert SECRET_WORDS[0] in http.get(f"/v1/interviews/{session_id}/fhir").text
        assert http.get(f"/v1/interviews/{session_id}/export").json()["text"] == SECRET_TEXT
        assert http.post("/v1/assess", json={"text": SECRET_TEXT}).status_code == 200
        assert http.post("/v1/assess", json={"text": SECRET_TEXT, "findings": {"nope": "present"}}).status_code == 422
        assert http.delete(f"/v1/interviews/{session_id}").status_code == 204
        # the page: start, what was understood, answer, result, delete
        started = http.post("/start", data={"text": SECRET_TEXT})
        page_id = str(started.url).split("/i/")[1].split("/")[0]
        assert SECRET_WORDS[0] in started.text  # "what we understood" shows the person their own words
        http.post(f"/i/{page_id}/understood", data={})
        for _ in range(30):
            page = http.get(f"/i/{page_id}/question")
            if "/result" in str(page.url):
                break
            question_id = page.text.split('name="question" value="')[1].split('"')[0]
            http.post(f"/i/{page_id}/answer", data={"question": question_id, "value": "unknown"})
        assert http.get(f"/i/{page_id}/result").status_code == 200
        http.post(f"/i/{page_id}/delete")
    lines = handler.lines
    assert any("uvicorn.access" in line for line in lines), "the access log was not captured"
    assert any(page_id in line for line in lines), "the journey's requests were not logged"
    for line in lines:
        for word in SECRET_WORDS:
            assert word.lower() not in line.lower(), line[:300]


# -- expiry ----------------------------------------------------------------------------------------
def test_sessions_expire_after_the_configured_days_and_are_purged(tmp_path):
    store = storage.open_store({"SPASMO_DATA_DIR": str(tmp_path), "SPASMO_SESSION_DAYS": "2"})
    assert store.max_age_days == 2
    old = store.create("en", "an old description")
    store.add_answer(old.id, "days", 3)
    fresh = store.create("en", "a fresh description")
    later = datetime.now(timezone.utc) + timedelta(days=2, hours=1)
    assert store.purge_expired(now=later - timedelta(days=1)) == 0  # within the time: kept
    assert store.purge_expired(now=later) == 2
    with pytest.raises(storage.UnknownSessionError):
        store.get(old.id)
    assert store.list() == [] and fresh.id
    store.close()


def test_an_expired_session_is_not_shown_even_before_it_is_purged(tmp_path):
    with storage.open_store({"SPASMO_DATA_DIR": str(tmp_path)}) as store:
        session = store.create("en", "text")
        with store._transaction() as cur:  # as if it had last changed 31 days ago
            old = (datetime.now(timezone.utc) - timedelta(days=31)).isoformat(timespec="seconds")
            cur.execute("UPDATE spasmo_sessions SET updated = ? WHERE id = ?", (old, session.id))
        with pytest.raises(storage.UnknownSessionError):
            store.get(session.id)
        store.create("en", "a new session purges the expired ones")
        assert [s.id for s in store.list()] != [session.id] and len(store.list()) == 1


def test_the_default_is_thirty_days_and_a_bad_setting_is_refused(tmp_path):
    assert storage.session_days({}) == 30
    for bad in ("0", "-3", "soon", "nan"):
        with pytest.raises(storage.StorageError, match="SPASMO_SESSION_DAYS"):
            storage.session_days({"SPASMO_SESSION_DAYS": bad})


def test_the_corrections_of_an_expired_session_are_swept_too(tmp_path, monkeypatch):
    monkeypatch.setenv("SPASMO_DATA_DIR", str(tmp_path))
    side = SQLiteSessions(tmp_path / "corrections.sqlite")
    sessions = InterviewStorage(side)
    first = sessions.create("cramp", "en")
    sessions.set_corrections(first, {"at_night": "present"})
    sessions._store().delete(first)  # as an expiry purge in the main store does
    sessions._swept = float("-inf")
    sessions.create("another", "en")
    assert side.corrections(first) == {}


# -- deletion --------------------------------------------------------------------------------------
MARK = "quokkapelican"


def _bytes_of(folder) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


def test_deleting_a_session_leaves_none_of_its_words_in_the_sqlite_files(tmp_path):
    with storage.SQLiteStore(tmp_path / "sessions.sqlite3") as store:
        keep = store.create("en", "another person's cramp")
        gone = store.create("en", f"{MARK} cramp in my calf " * 20)
        store.add_answer(gone.id, "where", f"{MARK}-answer")
        assert MARK.encode() in _bytes_of(tmp_path)
        store.delete(gone.id)
        assert MARK.encode() not in _bytes_of(tmp_path)
        store._conn.execute("VACUUM")
        assert MARK.encode() not in _bytes_of(tmp_path)
        assert store.get(keep.id).text == "another person's cramp"


def test_deleting_from_the_web_store_leaves_nothing_in_its_file_or_write_ahead_log(tmp_path):
    side = SQLiteSessions(tmp_path / "web.sqlite")
    session_id = side.create(f"{MARK} cramp " * 20, "en")
    side.set_corrections(session_id, {"at_night": "present"})
    assert MARK.encode() in _bytes_of(tmp_path)
    side.delete(session_id)
    assert MARK.encode() not in _bytes_of(tmp_path)


def test_deleting_a_postgresql_session_leaves_no_row(postgres_url):
    with storage.open_store({"SPASMO_DATABASE_URL": postgres_url}) as store:
        session = store.create("en", f"{MARK} in postgres")
        store.add_answer(session.id, "where", f"{MARK}-answer")
        store.delete(session.id)
        with store._transaction() as cur:
            cur.execute("SELECT count(*) FROM spasmo_sessions WHERE text LIKE %s", (f"%{MARK}%",))
            assert cur.fetchone()[0] == 0
            cur.execute("SELECT count(*) FROM spasmo_answers WHERE value LIKE %s OR session = %s",
                        (f"%{MARK}%", session.id))
            assert cur.fetchone()[0] == 0


# -- export ----------------------------------------------------------------------------------------
def test_a_person_can_export_their_session_as_json_over_the_api(engine, tmp_path):
    client = TestClient(create_app(engine, SQLiteSessions(tmp_path / "s.sqlite"), rate_limit=0))
    state = client.post("/v1/interviews", json={"text": SECRET_TEXT, "corrections": {"at_night": "absent"}}).json()
    question = state["question"]
    client.post(f"/v1/interviews/{state['id']}/answers", json={"question": question["id"], "value": "unknown"})
    exported = client.get(f"/v1/interviews/{state['id']}/export")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    assert exported.json() == {"format": "spasmo-session/1", "id": state["id"], "language": "en",
                               "text": SECRET_TEXT, "corrections": {"at_night": "absent"},
                               "answers": [{"question": question["id"], "value": "unknown"}]}
    assert client.get("/v1/interviews/0123456789abcdef0123456789abcdef/export").status_code == 404


def test_spasmo_sessions_export_prints_the_session_as_json(tmp_path, monkeypatch):
    monkeypatch.setenv("SPASMO_DATA_DIR", str(tmp_path))
    with storage.open_store() as store:
        session = store.create("it", "crampi al polpaccio ogni notte")
        store.add_answer(session.id, "days", 30)
    done = run_cli("sessions", "export", session.id)
    assert done.returncode == 0, done.stderr
    exported = json.loads(done.stdout)
    assert exported["text"] == "crampi al polpaccio ogni notte" and exported["language"] == "it"
    assert [(a["question"], a["value"]) for a in exported["answers"]] == [("days", 30)]
    missing = run_cli("sessions", "export", "0123456789abcdef0123456789abcdef")
    assert missing.returncode == 2 and b"no session" in missing.stderr
