"""A report (and, for an interview, its answers) as a FHIR R4 Bundle.

The Bundle holds an anonymous Patient, a QuestionnaireResponse (the description and every answer), one Observation per
finding (present or absent, with its HPO code where the knowledge base has one) and one
RiskAssessment (the likely conditions with their probabilities and ICD-10 / ORPHA / OMIM codes).
It is built with the R4B models of ``fhir.resources``: R4B changed none of these four resources
from R4, and building through the models validates every element on the way.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, Sequence

from fhir.resources.R4B.bundle import Bundle

from .knowledge import KnowledgeBase

__all__ = ["CODE_SYSTEMS", "FhirAnswer", "bundle", "bundle_json"]

CODE_SYSTEMS = {
    "hpo": "http://human-phenotype-ontology.org",
    "icd10": "http://hl7.org/fhir/sid/icd-10",
    "orpha": "http://www.orpha.net",
    "omim": "https://omim.org",
    "spasmo_finding": "urn:spasmo:finding",
    "spasmo_condition": "urn:spasmo:condition",
    "spasmo_question": "urn:spasmo:question",
}

#: One answered question: (question id, the question's words, the stored value)
FhirAnswer = tuple[str, str, Any]

# A fixed namespace makes the ids of one interview's resources stable from one call to the next.
_NAMESPACE = uuid.UUID("5b0f3a52-8c1e-4c55-9a55-3c1f0f1d2e11")


def _urn(seed: str, kind: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{seed}/{kind}')}"


def _answer_value(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, bool):
        return [{"valueBoolean": value}]
    if isinstance(value, (int, float)):
        return [{"valueDecimal": float(value)}]
    if isinstance(value, list):
        return [{"valueCoding": {"system": CODE_SYSTEMS["spasmo_question"], "code": str(v)}} for v in value]
    if value in ("yes", "no"):
        return [{"valueBoolean": value == "yes"}]
    return [{"valueString": str(value)}]


def bundle(
    kb: KnowledgeBase,
    report: dict[str, Any],
    *,
    text: str | None = None,
    answers: Sequence[FhirAnswer] = (),
    seed: str | None = None,
    finished: bool = True,
    when: datetime | None = None,
) -> Bundle:
    """The report as a validated FHIR R4 ``Bundle`` of type collection.

    ``seed`` (an interview id) makes the resources' ids stable; without it they are random.
    """
    seed = seed or uuid.uuid4().hex
    stamp = (when or datetime.now(timezone.utc)).replace(microsecond=0).isoformat()
    language = report["language"]
    # RiskAssessment needs a subject: an anonymous Patient, with nothing that identifies the person
    patient_url = _urn(seed, "patient")
    subject = {"reference": patient_url}
    entries: list[dict[str, Any]] = [{
        "fullUrl": patient_url,
        "resource": {
            "resourceType": "Patient",
            "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": language}]}}],
        },
    }]

    items: list[dict[str, Any]] = []
    if text is not None:
        items.append({"linkId": "description", "text": "description in the person's own words",
                      "answer": [{"valueString": text}]})
    for question_id, words, value in answers:
        item: dict[str, Any] = {"linkId": question_id, "text": words}
        if value != "unknown":  # "don't know" is an item without an answer
            item["answer"] = _answer_value(value)
        items.append(item)
    qr_url = _urn(seed, "questionnaire-response")
    qr: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed" if finished else "in-progress",
        "authored": stamp,
        "language": language,
        "subject": subject,
    }
    if items:
        qr["item"] = items
    entries.append({"fullUrl": qr_url, "resource": qr})

    observation_urls: list[str] = []
    for finding in report["understood"]:
        fid = finding["finding"]
        coding = [{"system": CODE_SYSTEMS["spasmo_finding"], "code": fid, "display": finding["name"]}]
        hpo = kb.findings[fid].hpo if fid in kb.findings else None
        if hpo:
            coding.insert(0, {"system": CODE_SYSTEMS["hpo"], "code": hpo})
        url = _urn(seed, f"observation/{fid}")
        observation_urls.append(url)
        entries.append({
            "fullUrl": url,
            "resource": {
                "resourceType": "Observation",
                "status": "final" if finished else "preliminary",
                "code": {"coding": coding, "text": finding["name"]},
                "subject": subject,
                "valueBoolean": finding["state"] == "present",
                "derivedFrom": [{"reference": qr_url}],
                "method": {"text": "answer" if finding["origin"] == "answer" else "read from the description"},
            },
        })

    predictions = []
    for cond in report["conditions"]:
        coding = [{"system": CODE_SYSTEMS["spasmo_condition"], "code": cond["id"], "display": cond["name"]}]
        for system in ("icd10", "orpha", "omim"):
            for code in cond.get("codes", {}).get(system, []):
                coding.insert(0, {"system": CODE_SYSTEMS[system], "code": code})
        predictions.append({
            "outcome": {"coding": coding, "text": cond["name"]},
            "probabilityDecimal": cond["probability"],
            "rationale": cond["description"],
        })
    triage = report["triage"]
    risk: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "status": "final" if finished else "preliminary",
        "subject": subject,
        "occurrenceDateTime": stamp,
        "method": {"text": "spasmo: Bayesian posterior over the knowledge base's conditions, safety-first triage"},
        "basis": [{"reference": url} for url in observation_urls] + [{"reference": qr_url}],
        "prediction": predictions,
        "mitigation": " ".join([triage["label"]] + [a["text"] for a in report["advice"]["now"]]),
        "note": [{"text": report["disclaimer"]}],
    }
    if not predictions:
        del risk["prediction"]
    entries.append({"fullUrl": _urn(seed, "risk-assessment"), "resource": risk})
    return Bundle.model_validate({"resourceType": "Bundle", "type": "collection", "timestamp": stamp, "entry": entries})


def bundle_json(kb: KnowledgeBase, report: dict[str, Any], **kwargs: Any) -> str:
    """The Bundle as FHIR JSON text."""
    return bundle(kb, report, **kwargs).model_dump_json(exclude_none=True)
