"""The REST API under /v1, in-process (the browser tests run it behind a real server)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from spasmo.api import MAX_BODY_BYTES
from spasmo.app import create_app
from spasmo.session_service import SQLiteSessions

CALF = "I get a sudden painful cramp in my calf at night, about twice a week. It eases when I stretch my foot."
TETANUS_IT = "mi si blocca la mascella da due giorni, mi ero ferita con un chiodo arrugginito"


@pytest.fixture(scope="module")
def client(engine, tmp_path_factory) -> TestClient:
    store = SQLiteSessions(tmp_path_factory.mktemp("sessions") / "s.sqlite")
    return TestClient(create_app(engine, store))


def start(client: TestClient, text: str = CALF, **extra) -> dict:
    response = client.post("/v1/interviews", json={"text": text, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def test_healthz_says_ok_with_the_knowledge_base_loaded(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["conditions"] > 0 and body["findings"] > 0


def test_assess_text_returns_the_same_report_as_the_engine(client, engine):
    body = client.post("/v1/assess", json={"text": CALF}).json()
    expected = json.loads(json.dumps(engine.assess_text(CALF)))
    for key in ("language", "disclaimer", "triage", "understood", "conditions", "advice", "sources"):
        assert body[key] == expected[key]


def test_assess_findings_alone_without_text(client):
    response = client.post("/v1/assess", json={"findings": {"jaw_stiffness": "present", "recent_wound": "present"}, "report_language": "it"})
    assert response.status_code == 200
    assert response.json()["language"] == "it"
    assert response.json()["triage"]["level"] == "emergency"


def test_assess_with_nothing_to_assess_says_what_to_send(client):
    response = client.post("/v1/assess", json={"text": "   "})
    assert response.status_code == 422
    assert "text" in response.json()["message"]


def test_invalid_field_names_the_field_not_its_value(client):
    response = client.post("/v1/assess", json={"text": CALF, "findings": {"fever": "maybe"}})
    assert response.status_code == 422
    body = response.json()
    assert "findings.fever" in body["message"] and "maybe" not in body["message"]


def test_unknown_finding_is_422_with_where_to_find_the_ids(client):
    response = client.post("/v1/assess", json={"text": CALF, "findings": {"no_such_finding": "present"}})
    assert response.status_code == 422
    assert "no_such_finding" in response.json()["message"]


def test_body_over_the_limit_is_413_with_the_limit_stated(client):
    response = client.post("/v1/assess", content=b'{"text": "' + b"a" * MAX_BODY_BYTES + b'"}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert str(MAX_BODY_BYTES) in response.json()["message"]


def test_streamed_body_over_the_limit_is_413(client):
    def chunks():
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b"a" * 1024

    response = client.post("/v1/assess", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_interview_starts_with_what_was_understood_and_a_question(client):
    state = start(client)
    assert state["language"] == "en"
    assert {"muscle_cramp", "location_calf"} <= {u["finding"] for u in state["understood"]}
    assert state["done"] is False and state["question"]["text"]


def test_answering_goes_on_and_back_returns_to_the_same_question(client):
    state = start(client)
    first = state["question"]
    value = "unknown"
    after = client.post(f"/v1/interviews/{state['id']}/answers", json={"question": first["id"], "value": value}).json()
    assert [a["question"] for a in after["answers"]] == [first["id"]]
    back = client.post(f"/v1/interviews/{state['id']}/back").json()
    assert back["answers"] == [] and back["question"]["id"] == first["id"]


def test_answer_to_a_question_not_asked_is_422_and_stores_nothing(client):
    state = start(client)
    response = client.post(f"/v1/interviews/{state['id']}/answers", json={"question": "fever_zzz", "value": "yes"})
    assert response.status_code == 422
    assert state["question"]["id"] in response.json()["message"]
    assert client.get(f"/v1/interviews/{state['id']}").json()["answers"] == []


def test_a_whole_interview_ends_with_a_report_that_says_why_it_stopped(client):
    state = start(client)
    for _ in range(40):
        if state["done"]:
            break
        q = state["question"]
        value = {"yes_no": "no", "one": "unknown", "several": "unknown", "number": "unknown"}[q["kind"]]
        state = client.post(f"/v1/interviews/{state['id']}/answers", json={"question": q["id"], "value": value}).json()
    assert state["done"]
    report = client.get(f"/v1/interviews/{state['id']}/report").json()
    assert report["interview"]["stopped"] in ("settled", "cap", "exhausted")
    assert report["interview"]["questions"] == len(state["answers"])


def test_correction_replaces_what_was_read(client):
    state = start(client)
    corrected = client.put(f"/v1/interviews/{state['id']}/corrections",
                           json={"corrections": {"at_night": "absent"}}).json()
    assert {u["finding"]: u["state"] for u in corrected["understood"]}["at_night"] == "absent"
    assert corrected["corrections"] == {"at_night": "absent"}


def test_emergency_description_in_italian_is_an_emergency(client):
    state = start(client, TETANUS_IT)
    assert state["language"] == "it" and state["level"] == "emergency"
    report = client.get(f"/v1/interviews/{state['id']}/report").json()
    assert report["triage"]["level"] == "emergency" and "112" in report["triage"]["label"]


def test_report_language_can_be_switched(client):
    state = start(client)
    assert client.get(f"/v1/interviews/{state['id']}/report", params={"lang": "it"}).json()["language"] == "it"


def test_deleted_interview_is_gone_and_unknown_ids_are_404(client):
    state = start(client)
    assert client.delete(f"/v1/interviews/{state['id']}").status_code == 204
    for response in (client.get(f"/v1/interviews/{state['id']}"), client.delete(f"/v1/interviews/{state['id']}"),
                     client.get(f"/v1/interviews/{state['id']}/fhir")):
        assert response.status_code == 404
        assert "POST /v1/interviews" in response.json()["message"]


def test_deleting_removes_what_the_person_wrote_from_the_store(engine, tmp_path):
    path = tmp_path / "s.sqlite"
    client = TestClient(create_app(engine, SQLiteSessions(path)))
    state = start(client, "my secret words about a calf cramp")
    client.delete(f"/v1/interviews/{state['id']}")
    import sqlite3

    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 0


def test_session_survives_a_restart_of_the_app(engine, tmp_path):
    path = tmp_path / "s.sqlite"
    first = TestClient(create_app(engine, SQLiteSessions(path)))
    state = start(first)
    q = state["question"]
    first.post(f"/v1/interviews/{state['id']}/answers", json={"question": q["id"], "value": "unknown"})
    again = TestClient(create_app(engine, SQLiteSessions(path))).get(f"/v1/interviews/{state['id']}").json()
    assert [a["question"] for a in again["answers"]] == [q["id"]]


def test_conditions_list_and_one_with_sources(client, engine):
    listed = client.get("/v1/conditions").json()
    assert {c["id"] for c in listed} == set(engine.kb.conditions)
    tetanus = client.get("/v1/conditions/tetanus").json()
    assert "A35" in tetanus["codes"]["icd10"] and all(s["url"].startswith("http") for s in tetanus["sources"])
    missing = client.get("/v1/conditions/not_a_condition")
    assert missing.status_code == 404 and "/v1/conditions" in missing.json()["message"]


def test_openapi_documents_every_v1_route(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/assess", "/v1/interviews", "/v1/interviews/{session_id}", "/v1/interviews/{session_id}/answers",
            "/v1/interviews/{session_id}/back", "/v1/interviews/{session_id}/report", "/v1/interviews/{session_id}/fhir",
            "/v1/conditions", "/v1/conditions/{condition_id}", "/healthz"} <= set(paths)
    assert client.get("/docs").status_code == 200


def test_default_store_is_the_interview_issues_store_with_corrections_beside_it(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("SPASMO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SPASMO_DATABASE_URL", raising=False)
    from spasmo import storage
    from spasmo.session_service import InterviewStorage

    app = create_app(engine)
    assert isinstance(app.state.sessions.store, InterviewStorage)
    client = TestClient(app)
    state = start(client)
    corrected = client.put(f"/v1/interviews/{state['id']}/corrections", json={"corrections": {"at_night": "absent"}})
    q = corrected.json()["question"]  # a correction may change which question comes next
    client.post(f"/v1/interviews/{state['id']}/answers", json={"question": q["id"], "value": "unknown"})
    stored = storage.open_store().get(state["id"])
    assert [a.question for a in stored.answers] == [q["id"]]
    assert client.get(f"/v1/interviews/{state['id']}").json()["corrections"] == {"at_night": "absent"}
    assert client.delete(f"/v1/interviews/{state['id']}").status_code == 204
    assert client.get(f"/v1/interviews/{state['id']}").status_code == 404
