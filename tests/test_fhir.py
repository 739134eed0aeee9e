"""FHIR R4 output: the Bundle from the API and from `spasmo assess --format fhir`, validated."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle

from spasmo.app import create_app
from spasmo.fhir import CODE_SYSTEMS, bundle
from spasmo.session_service import SQLiteSessions

from .conftest import run_cli

CALF = "I get a sudden painful cramp in my calf at night, about twice a week. It eases when I stretch my foot."


def resources(data: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == kind]


@pytest.fixture(scope="module")
def interview_bundle(engine, tmp_path_factory) -> dict:
    client = TestClient(create_app(engine, SQLiteSessions(tmp_path_factory.mktemp("fhir") / "s.sqlite")))
    state = client.post("/v1/interviews", json={"text": CALF}).json()
    q = state["question"]
    value = "no" if q["kind"] == "yes_no" else "unknown"
    client.post(f"/v1/interviews/{state['id']}/answers", json={"question": q["id"], "value": value})
    response = client.get(f"/v1/interviews/{state['id']}/fhir")
    assert response.headers["content-type"].startswith("application/fhir+json")
    return response.json()


def test_interview_bundle_validates_as_fhir(interview_bundle):
    parsed = Bundle.model_validate(interview_bundle)
    assert parsed.type == "collection"


def test_interview_is_a_questionnaire_response_with_the_answers(interview_bundle):
    (qr,) = resources(interview_bundle, "QuestionnaireResponse")
    links = [item["linkId"] for item in qr["item"]]
    assert links[0] == "description" and len(links) == 2


def test_findings_are_observations_with_hpo_codes(interview_bundle, engine):
    observations = resources(interview_bundle, "Observation")
    codes = {c["code"] for o in observations for c in o["code"]["coding"] if c["system"] == CODE_SYSTEMS["hpo"]}
    assert engine.kb.findings["muscle_cramp"].hpo in codes
    assert all(isinstance(o["valueBoolean"], bool) for o in observations)


def test_conditions_are_a_risk_assessment_with_probabilities_and_icd10(interview_bundle):
    (risk,) = resources(interview_bundle, "RiskAssessment")
    first = risk["prediction"][0]
    assert 0 < first["probabilityDecimal"] <= 1
    assert any(c["system"] == CODE_SYSTEMS["icd10"] for c in first["outcome"]["coding"])
    assert risk["note"][0]["text"]  # the statement that spasmo does not diagnose


def test_bundle_ids_are_stable_for_one_interview(engine):
    report = engine.assess_text(CALF)
    one = bundle(engine.kb, report, seed="abc").model_dump()
    two = bundle(engine.kb, report, seed="abc").model_dump()
    assert [e["fullUrl"] for e in one["entry"]] == [e["fullUrl"] for e in two["entry"]]


def test_cli_assess_format_fhir_prints_a_valid_bundle():
    result = run_cli("assess", "--format", "fhir", "--lang", "it", "ho i crampi ai polpacci ogni notte da un mese")
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout)
    Bundle.model_validate(data)
    assert resources(data, "RiskAssessment") and resources(data, "Observation")
