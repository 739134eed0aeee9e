"""A request sent again because its reply was lost changes nothing, and a busy server says when to come back.

A client that loses a reply (a dropped connection, a server restarted mid-request) cannot know whether
its answer was stored, so it sends the same request again; that must neither store the answer twice nor
fail. benchmarks/load_faults.py relies on it (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import threading

import anyio.to_thread
import httpx
import pytest
from fastapi.testclient import TestClient

from spasmo import storage
from spasmo.app import QueueLimit, create_app
from spasmo.session_service import InterviewStorage, Sessions, SQLiteSessions

CALF = "I get a sudden painful cramp in my calf at night, about twice a week. It eases when I stretch my foot."


@pytest.fixture(params=["fallback", "sqlite", "postgres"])
def store(request, tmp_path, monkeypatch):
    """Each session store the API can run on: this module's SQLite file, and the interview issue's store on
    SQLite and on a real PostgreSQL server."""
    monkeypatch.setenv("SPASMO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SPASMO_DATABASE_URL", raising=False)
    if request.param == "fallback":
        yield SQLiteSessions(tmp_path / "s.sqlite")
        return
    if request.param == "postgres":
        monkeypatch.setenv("SPASMO_DATABASE_URL", request.getfixturevalue("postgres_url"))
    interview_store = InterviewStorage(connections=4)
    yield interview_store
    interview_store.close()


def test_the_same_answer_sent_again_is_stored_once_and_answered_200(engine, store):
    client = TestClient(create_app(engine, store))
    state = client.post("/v1/interviews", json={"text": CALF}).json()
    question = state["question"]
    body = {"question": question["id"], "value": "unknown"}
    first = client.post(f"/v1/interviews/{state['id']}/answers", json=body)
    again = client.post(f"/v1/interviews/{state['id']}/answers", json=body)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()  # the interview as it stands, the next question included
    exported = client.get(f"/v1/interviews/{state['id']}/export").json()
    assert exported["answers"] == [{"question": question["id"], "value": "unknown"}]


def test_another_value_for_the_question_answered_last_is_refused_and_changes_nothing(engine, store):
    client = TestClient(create_app(engine, store))
    state = client.post("/v1/interviews", json={"text": CALF}).json()
    question = state["question"]
    after = client.post(f"/v1/interviews/{state['id']}/answers", json={"question": question["id"], "value": "unknown"})
    other = next(c["id"] for c in question["choices"]) if question["choices"] else "yes"
    changed = client.post(f"/v1/interviews/{state['id']}/answers", json={"question": question["id"], "value": other})
    assert changed.status_code == 422
    if after.json()["question"]:
        assert after.json()["question"]["id"] in changed.json()["message"]  # names the question being asked
    exported = client.get(f"/v1/interviews/{state['id']}/export").json()
    assert exported["answers"] == [{"question": question["id"], "value": "unknown"}]


def test_after_going_back_the_same_answer_is_stored_again(engine, store):
    client = TestClient(create_app(engine, store))
    state = client.post("/v1/interviews", json={"text": CALF}).json()
    body = {"question": state["question"]["id"], "value": "unknown"}
    client.post(f"/v1/interviews/{state['id']}/answers", json=body)
    client.post(f"/v1/interviews/{state['id']}/back")
    assert client.post(f"/v1/interviews/{state['id']}/answers", json=body).status_code == 200
    assert len(client.get(f"/v1/interviews/{state['id']}/export").json()["answers"]) == 1


def _at_once(n: int, send) -> list[BaseException]:
    """Run ``send`` on ``n`` threads released together; what any of them raised."""
    start = threading.Barrier(n)
    failures: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            send()
        except BaseException as exc:  # noqa: BLE001 - collected and returned
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def _sessions_holding(client: TestClient, text: str) -> int:
    """How many stored sessions hold ``text`` (from the store itself, not the API)."""
    sessions = client.app.state.sessions
    store = sessions.store
    if isinstance(store, SQLiteSessions):
        return store._db().execute("SELECT COUNT(*) FROM sessions WHERE text = ?", (text,)).fetchone()[0]
    inner = store._store()
    with inner._transaction() as cur:
        return inner._run(cur, "SELECT COUNT(*) FROM spasmo_sessions WHERE text = ?", (text,)).fetchone()[0]


def test_starting_again_with_the_same_key_finds_the_same_interview_and_stores_the_text_once(engine, store):
    client = TestClient(create_app(engine, store))
    text = CALF + " Started twice."
    key = {"Idempotency-Key": "start-key-0001"}
    first = client.post("/v1/interviews", json={"text": text}, headers=key)
    again = client.post("/v1/interviews", json={"text": text}, headers=key)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert _sessions_holding(client, text) == 1
    other = client.post("/v1/interviews", json={"text": text})  # no key: a new interview, as before
    assert other.json()["id"] != first.json()["id"]
    assert _sessions_holding(client, text) == 2


def test_the_same_key_with_another_description_is_refused_and_stores_nothing(engine, store):
    client = TestClient(create_app(engine, store))
    key = {"Idempotency-Key": "start-key-0002"}
    client.post("/v1/interviews", json={"text": CALF}, headers=key)
    changed = client.post("/v1/interviews", json={"text": CALF + " And my foot."}, headers=key)
    assert changed.status_code == 422
    assert "Idempotency-Key" in changed.json()["message"]
    assert _sessions_holding(client, CALF + " And my foot.") == 0


def test_a_malformed_key_is_refused_with_what_to_send(engine, store):
    client = TestClient(create_app(engine, store))
    refused = client.post("/v1/interviews", json={"text": CALF}, headers={"Idempotency-Key": "short"})
    assert refused.status_code == 422
    assert "Idempotency-Key" in refused.text


def test_deleting_an_interview_removes_its_key_so_the_key_starts_afresh(engine, store):
    client = TestClient(create_app(engine, store))
    key = {"Idempotency-Key": "start-key-0003"}
    first = client.post("/v1/interviews", json={"text": CALF}, headers=key).json()
    assert client.delete(f"/v1/interviews/{first['id']}").status_code == 204
    again = client.post("/v1/interviews", json={"text": CALF}, headers=key)
    assert again.status_code == 201 and again.json()["id"] != first["id"]


def test_the_start_form_sent_twice_starts_one_interview(engine, store):
    client = TestClient(create_app(engine, store), follow_redirects=False)
    page = client.get("/").text
    key = page.split('name="key" value="', 1)[1].split('"', 1)[0]
    text = CALF + " From the page."
    sent = [client.post("/start", data={"text": text, "lang": "en", "key": key}) for _ in range(2)]
    assert sent[0].status_code == sent[1].status_code == 303
    assert sent[0].headers["location"] == sent[1].headers["location"]
    assert _sessions_holding(client, text) == 1


def _answer_twice(client: TestClient, state: dict) -> tuple[dict, dict]:
    """Answer the first two questions with "unknown"; returns the states after each."""
    first = client.post(f"/v1/interviews/{state['id']}/answers",
                        json={"question": state["question"]["id"], "value": "unknown"}).json()
    second = client.post(f"/v1/interviews/{state['id']}/answers",
                         json={"question": first["question"]["id"], "value": "unknown"}).json()
    return first, second


def test_going_back_sent_again_takes_back_one_answer_only(engine, store):
    client = TestClient(create_app(engine, store))
    state = client.post("/v1/interviews", json={"text": CALF}).json()
    first, second = _answer_twice(client, state)
    assert len(second["answers"]) == 2
    body = {"question": first["question"]["id"]}  # the question answered last
    taken = client.post(f"/v1/interviews/{state['id']}/back", json=body)
    again = client.post(f"/v1/interviews/{state['id']}/back", json=body)
    assert taken.status_code == again.status_code == 200, again.text
    assert again.json() == taken.json() == first  # asked the second question again, the first answer kept
    exported = client.get(f"/v1/interviews/{state['id']}/export").json()
    assert exported["answers"] == [{"question": state["question"]["id"], "value": "unknown"}]


def test_going_back_from_an_answer_that_is_not_the_last_is_refused_and_changes_nothing(engine, store):
    client = TestClient(create_app(engine, store))
    state = client.post("/v1/interviews", json={"text": CALF}).json()
    _answer_twice(client, state)
    refused = client.post(f"/v1/interviews/{state['id']}/back", json={"question": state["question"]["id"]})
    assert refused.status_code == 422
    assert "last answer" in refused.json()["message"]
    assert len(client.get(f"/v1/interviews/{state['id']}/export").json()["answers"]) == 2


def test_going_back_without_naming_the_answer_takes_back_one_each_time(engine, store):
    client = TestClient(create_app(engine, store))
    state = client.post("/v1/interviews", json={"text": CALF}).json()
    _answer_twice(client, state)
    client.post(f"/v1/interviews/{state['id']}/back")
    client.post(f"/v1/interviews/{state['id']}/back")
    assert client.get(f"/v1/interviews/{state['id']}/export").json()["answers"] == []


def test_a_double_click_on_the_page_s_back_button_takes_back_one_answer(engine, store):
    client = TestClient(create_app(engine, store), follow_redirects=False)
    state = client.post("/v1/interviews", json={"text": CALF}).json()
    first, _ = _answer_twice(client, state)
    page = client.get(f"/i/{state['id']}/question").text
    assert f'name="back" value="{first["question"]["id"]}"' in page  # the button names the answer it takes back
    for _ in range(2):
        sent = client.post(f"/i/{state['id']}/back", data={"back": first["question"]["id"]})
        assert sent.status_code == 303, sent.text
    exported = client.get(f"/v1/interviews/{state['id']}/export").json()
    assert exported["answers"] == [{"question": state["question"]["id"], "value": "unknown"}]


def test_the_same_answer_sent_by_many_threads_at_once_is_stored_once(engine, store):
    sessions = Sessions(engine, store)
    session = sessions.start(CALF)
    question = session.step.question.id
    assert _at_once(8, lambda: sessions.answer(session.id, question, "unknown")) == []
    assert [(a.question, a.value) for a in sessions.get(session.id).record.answers] == [(question, "unknown")]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_store_takes_an_answer_as_given_once_when_another_request_stored_it_first(kind, tmp_path, request):
    env = {"SPASMO_DATA_DIR": str(tmp_path)} if kind == "sqlite" else \
        {"SPASMO_DATABASE_URL": request.getfixturevalue("postgres_url")}
    with storage.open_store(env) as store:
        session = store.create("en", CALF)
        store.add_answer(session.id, "fever", "no", after=0)
        store.add_answer(session.id, "fever", "no", after=0)  # the same request again: nothing new
        with pytest.raises(storage.AnswerConflictError):
            store.add_answer(session.id, "fever", "yes", after=0)  # another answer meanwhile: read it again
        with pytest.raises(storage.AnswerConflictError):
            store.add_answer(session.id, "age", 45.0, after=0)
        store.add_answer(session.id, "age", 45.0, after=1)
        assert [(a.question, a.value) for a in store.get(session.id).answers] == [("fever", "no"), ("age", 45.0)]


def test_past_the_queue_limit_a_request_gets_503_with_retry_after_at_once():
    release = asyncio.Event()

    async def slow(scope, receive, send) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def scenario() -> None:
        app = QueueLimit(slow, limit=2)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            waiting = [asyncio.create_task(client.get("/v1/conditions")) for _ in range(2)]
            while app.in_flight < 2:
                await asyncio.sleep(0.01)
            refused = await asyncio.wait_for(client.get("/v1/conditions"), 5)
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "1" and "try again in 1 s" in refused.json()["message"]
            health = asyncio.create_task(client.get("/healthz"))  # never refused: probes still see the process
            await asyncio.sleep(0.05)
            assert app.in_flight == 2
            release.set()
            assert [r.status_code for r in await asyncio.gather(*waiting, health)] == [200, 200, 200]
            assert app.in_flight == 0

    asyncio.run(scenario())


def test_the_503_carries_the_security_headers_and_the_limit_comes_from_the_environment(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("SPASMO_MAX_QUEUE", "0")
    app = create_app(engine, SQLiteSessions(tmp_path / "s.sqlite"))
    queue = next(m for m in app.user_middleware if m.cls is QueueLimit)
    assert queue.kwargs["limit"] == 0  # 0: no limit
    refusing = create_app(engine, SQLiteSessions(tmp_path / "s.sqlite"), max_queue=1)
    with TestClient(refusing) as client:
        stack = client.app.middleware_stack
        while not isinstance(stack, QueueLimit):
            stack = stack.app
        stack.in_flight = 1  # as if one request were being served
        response = client.get("/v1/conditions")
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert client.get("/healthz").status_code == 200


def test_session_routes_run_on_a_few_worker_threads_as_configured(engine, tmp_path, monkeypatch):
    with TestClient(create_app(engine, SQLiteSessions(tmp_path / "s.sqlite"))) as client:
        assert client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens) == 4
    monkeypatch.setenv("SPASMO_THREADS", "2")
    with TestClient(create_app(engine, SQLiteSessions(tmp_path / "s.sqlite"))) as client:
        assert client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens) == 2
    monkeypatch.setenv("SPASMO_THREADS", "none")
    with pytest.raises(ValueError, match="SPASMO_THREADS must be a whole number"):
        create_app(engine, SQLiteSessions(tmp_path / "s.sqlite"))


def test_one_key_sent_by_many_threads_at_once_starts_one_interview(engine, store):
    sessions = Sessions(engine, store)
    text = CALF + " Many at once."
    ids: list[str] = []
    assert _at_once(6, lambda: ids.append(sessions.start(text, key="start-key-threads").id)) == []
    assert len(set(ids)) == 1
