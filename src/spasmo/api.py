"""The REST API, version 1: assess, interviews (with FHIR output), conditions. A thin adapter over the engine.

Every body is a typed model, so /openapi.json describes the API exactly; every error is JSON
``{"message": ..., "errors": [...]}`` whose message says what to fix.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

import orjson
from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from .engine import Engine, UnknownFindingError
from .fhir import bundle_json
from .reading import ReadingError
from .session_service import START_KEY_PATTERN, Session, Sessions, question_view

__all__ = ["MAX_BODY_BYTES", "MAX_TEXT_CHARS", "ApiError", "router"]

#: The largest request body accepted (413 above it): a description is a few hundred words.
MAX_BODY_BYTES = 64 * 1024
#: The longest description accepted (422 above it).
MAX_TEXT_CHARS = 10_000

Language = Literal["en", "it"]
State = Literal["present", "absent"]
Level = Literal["emergency", "urgent", "routine", "self_care"]
FindingId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9_]+$")]
SessionId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                description="The id returned when the interview was started")]


class ApiError(Exception):
    """An error the API answers with: a status and a message that says what to fix."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class ErrorBody(BaseModel):
    message: str = Field(description="What went wrong and what to do instead")
    errors: list[dict[str, Any]] = Field(default_factory=list, description="Each invalid field, where there are several")


ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorBody, "description": f"Body over {MAX_BODY_BYTES} bytes"},
    422: {"model": ErrorBody, "description": "Invalid input; the message says what to fix"},
}
SESSION_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 404: {"model": ErrorBody, "description": "Unknown interview"}}


# -- requests --------------------------------------------------------------------------------------
class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssessRequest(Strict):
    text: str = Field("", max_length=MAX_TEXT_CHARS, description="The description in the person's own words",
                      examples=["I get a sudden painful cramp in my calf at night; stretching helps"])
    language: Literal["en", "it", "auto"] = Field("auto", description="Language of the text; auto tells en and it apart")
    findings: dict[FindingId, State] = Field(default_factory=dict, description="Findings known besides the text",
                                             examples=[{"fever": "absent"}])
    report_language: Language | None = Field(None, description="Language of the report (default: the text's)")


class StartRequest(Strict):
    text: str = Field(..., min_length=1, max_length=MAX_TEXT_CHARS, description="The description in the person's own words",
                      examples=["mi si blocca la mascella da due giorni, mi ero ferita con un chiodo"])
    language: Literal["en", "it", "auto"] = "auto"
    corrections: dict[FindingId, State] = Field(default_factory=dict, description="Findings the reading got wrong")


class AnswerRequest(Strict):
    question: str = Field(..., min_length=1, max_length=100, description="The id of the question being asked")
    value: Union[str, float, list[str]] = Field(..., description="yes/no/unknown; a choice id; choice ids; a number",
                                                examples=["yes"])


class BackRequest(Strict):
    question: Optional[str] = Field(
        None, min_length=1, max_length=100,
        description="The question whose answer to take back (the last one answered). With it, sending the same "
                    "request again takes back nothing more; without it, each request takes back the last answer.",
        examples=["relieved_by_stretching"])


class CorrectionRequest(Strict):
    corrections: dict[FindingId, State] = Field(..., description="finding id -> present | absent; replaces earlier corrections")


# -- responses -------------------------------------------------------------------------------------
class Understood(BaseModel):
    finding: str
    name: str
    state: State
    origin: str
    text: str | None = None
    span: list[int] | None = None


class Why(BaseModel):
    finding: str
    name: str
    state: str
    likelihood_ratio: float
    direction: Literal["towards", "away"]


class Chain(BaseModel):
    step: str
    label: str
    sources: list[str]


class Codes(BaseModel):
    icd10: list[str] = []
    orpha: list[str] = []
    omim: list[str] = []


class ConditionResult(BaseModel):
    id: str
    name: str
    probability: float
    description: str
    urgency: str
    escalated_by: list[str] = []
    chain: Chain | None
    why: list[Why]
    codes: Codes
    sources: list[str]


class RuleHit(BaseModel):
    id: str
    level: str
    findings: list[str]
    reason: str
    sources: list[str]


class Triage(BaseModel):
    level: Level
    label: str
    emergency_number: str
    set_by: Literal["rule", "probability"]
    rules: list[RuleHit]
    by_probability: str
    mass: dict[str, float]
    thresholds: dict[str, float]
    conditions: list[str]


class AdviceItem(BaseModel):
    id: str
    text: str
    sources: list[str]


class Advice(BaseModel):
    now: list[AdviceItem]
    self_care: list[AdviceItem]
    treatment: list[AdviceItem]
    see_doctor: list[AdviceItem]


class SafetyItem(BaseModel):
    level: str
    text: str
    sources: list[str]
    findings: list[str] = []
    id: str | None = None


class SourceRef(BaseModel):
    id: str
    title: str
    publisher: str
    url: str


class AnswerView(BaseModel):
    question: str
    text: str
    value: Union[str, float, list[str]]


class InterviewSummary(BaseModel):
    questions: int
    answers: list[AnswerView]
    stopped: str | None
    why: str


class Report(BaseModel):
    language: Language
    disclaimer: str
    triage: Triage
    understood: list[Understood]
    conditions: list[ConditionResult]
    advice: Advice
    safety_net: list[SafetyItem]
    sources: list[SourceRef]
    interview: InterviewSummary | None = None


class ChoiceView(BaseModel):
    id: str
    label: str


class QuestionView(BaseModel):
    id: str
    kind: Literal["yes_no", "one", "several", "number"]
    text: str
    choices: list[ChoiceView]
    unit: str | None
    minimum: float | None
    maximum: float | None
    dont_know: str = Field(description="The value that answers 'I don't know'")


class InterviewState(BaseModel):
    id: str
    language: Language
    understood: list[Understood]
    corrections: dict[str, State]
    answers: list[AnswerView]
    question: QuestionView | None = Field(description="The question being asked; null once the interview has finished")
    reason: str = Field(description="Why this question (red_flag, level, cause), or why it stopped (settled, cap, exhausted)")
    level: Level = Field(description="The level with the answers so far")
    done: bool


class ConditionSummary(BaseModel):
    id: str
    name: dict[str, str]
    chain: str
    urgency: str
    codes: Codes


class ConditionLink(BaseModel):
    finding: str
    name: dict[str, str]
    hpo: str | None
    frequency: str | None
    probability: float | None
    sources: list[str]


class ConditionDetail(ConditionSummary):
    description: dict[str, str]
    findings: list[ConditionLink]
    sources: list[SourceRef]


class Health(BaseModel):
    status: Literal["ok"]
    conditions: int
    findings: int


# -- the routes ------------------------------------------------------------------------------------
router = APIRouter(prefix="/v1")


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _sessions(request: Request) -> Sessions:
    return request.app.state.sessions


def _state(sessions: Sessions, session: Session) -> InterviewState:
    lang = session.language
    step = session.step
    report = sessions.engine.report(sessions.engine.assess(session.interview.evidence), lang)
    return InterviewState(
        id=session.id,
        language=lang,  # type: ignore[arg-type]
        understood=report["understood"],
        corrections=session.record.corrections,  # type: ignore[arg-type]
        answers=[AnswerView(question=q, text=t, value=v) for q, t, v in sessions.answered(session)],
        question=question_view(step.question, lang) if step.question else None,  # type: ignore[arg-type]
        reason=step.reason,
        level=step.level,  # type: ignore[arg-type]
        done=step.done,
    )


def _invalid(exc: Exception) -> ApiError:
    return ApiError(422, str(exc))


@router.post("/assess", response_model=Report, responses=ERRORS, tags=["assess"], summary="Assess a text or findings")
async def assess(request: Request, body: AssessRequest) -> Any:
    """Read the text (if any), add the findings, and return the whole report in one call."""
    # async on purpose: the work is about a millisecond of CPU, and a hop to the thread pool and
    # back costs a good part of that again (docs/web.md); the report is built by the engine, so it
    # goes out as JSON directly instead of through a second validation against `Report`
    engine = _engine(request)
    if not body.text.strip() and not body.findings:
        raise ApiError(422, "give a description in `text`, or at least one finding in `findings` (GET /v1/conditions for ids)")
    try:
        if body.text.strip():
            reading = engine.read(body.text, body.language)
            lang = body.report_language or reading.language
        else:
            reading, lang = None, body.report_language or (body.language if body.language != "auto" else "en")
        report = engine.report(engine.assess(engine.evidence(reading, body.findings)), lang)
        return Response(orjson.dumps(report), media_type="application/json")
    except (ReadingError, UnknownFindingError, ValueError) as exc:
        raise _invalid(exc) from None


@router.post("/interviews", response_model=InterviewState, status_code=201, responses=ERRORS, tags=["interviews"],
             summary="Start an interview from a description")
def start_interview(request: Request, body: StartRequest, response: Response,
                    idempotency_key: Annotated[Optional[str], Header(
                        alias="Idempotency-Key", pattern=START_KEY_PATTERN,
                        description="A random key of the client's for this start (8 to 100 letters, digits, - or _). "
                                    "Sent again with the same description (its reply was lost), it returns the "
                                    "interview it started instead of storing the description a second time.",
                        examples=["5f0c2a7e-9d4b-4e61-a1c3-2b7d8e9f0a1b"])] = None) -> Any:
    sessions = _sessions(request)
    try:
        session = sessions.start(body.text, body.language, dict(body.corrections), idempotency_key)
    except (ReadingError, UnknownFindingError, ValueError) as exc:
        raise _invalid(exc) from None
    response.headers["Location"] = f"/v1/interviews/{session.id}"
    return _state(sessions, session)


@router.get("/interviews/{session_id}", response_model=InterviewState, responses=SESSION_ERRORS, tags=["interviews"],
            summary="Read an interview's state and next question")
def read_interview(request: Request, session_id: SessionId) -> Any:
    sessions = _sessions(request)
    return _state(sessions, sessions.get(session_id))


@router.post("/interviews/{session_id}/answers", response_model=InterviewState, responses=SESSION_ERRORS,
             tags=["interviews"], summary="Answer the question being asked")
def answer_interview(request: Request, session_id: SessionId, body: AnswerRequest) -> Any:
    sessions = _sessions(request)
    try:
        return _state(sessions, sessions.answer(session_id, body.question, body.value))
    except ValueError as exc:  # InterviewError: not the question asked, or a value it does not take
        raise _invalid(exc) from None


@router.post("/interviews/{session_id}/back", response_model=InterviewState, responses=SESSION_ERRORS,
             tags=["interviews"], summary="Go back: take back the last answer")
def back_interview(request: Request, session_id: SessionId, body: Optional[BackRequest] = None) -> Any:
    sessions = _sessions(request)
    try:
        return _state(sessions, sessions.back(session_id, body.question if body else None))
    except ValueError as exc:  # InterviewError: the last answer is to another question
        raise _invalid(exc) from None


@router.put("/interviews/{session_id}/corrections", response_model=InterviewState, responses=SESSION_ERRORS,
            tags=["interviews"], summary="Correct what was understood from the description")
def correct_interview(request: Request, session_id: SessionId, body: CorrectionRequest) -> Any:
    sessions = _sessions(request)
    try:
        return _state(sessions, sessions.correct(session_id, dict(body.corrections)))
    except (UnknownFindingError, ValueError) as exc:
        raise _invalid(exc) from None


@router.get("/interviews/{session_id}/report", response_model=Report, responses=SESSION_ERRORS, tags=["interviews"],
            summary="The report on the answers so far")
def interview_report(request: Request, session_id: SessionId,
                     lang: Annotated[Language | None, Query(description="Report language (default: the interview's)")] = None
                     ) -> Any:
    sessions = _sessions(request)
    return sessions.report(sessions.get(session_id), lang)


@router.get("/interviews/{session_id}/fhir", responses={
    **SESSION_ERRORS,
    200: {"description": "A FHIR R4 Bundle", "content": {"application/fhir+json": {"schema": {"type": "object"}}}},
}, tags=["interviews"], summary="The interview as a FHIR R4 Bundle", response_class=Response)
def interview_fhir(request: Request, session_id: SessionId) -> Response:
    """QuestionnaireResponse (description and answers), Observations (findings, HPO codes),
    RiskAssessment (conditions with probabilities, ICD-10 codes)."""
    sessions = _sessions(request)
    session = sessions.get(session_id)
    report = sessions.report(session)
    body = bundle_json(sessions.engine.kb, report, text=session.record.text, answers=sessions.answered(session),
                       seed=session.id, finished=session.step.done)
    return Response(body, media_type="application/fhir+json")


class SessionExport(BaseModel):
    format: str = Field(description="spasmo-session/1")
    id: str
    language: Language
    text: str = Field(description="The description as written")
    corrections: dict[str, State]
    answers: list[dict[str, Any]] = Field(description="Each answer in order: question id and value")


@router.get("/interviews/{session_id}/export", response_model=SessionExport, responses=SESSION_ERRORS,
            tags=["interviews"], summary="Everything stored of an interview, as JSON: the person's own copy")
def export_interview(request: Request, session_id: SessionId, response: Response) -> Any:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = 'attachment; filename="spasmo-session.json"'
    return _sessions(request).export(session_id)


@router.delete("/interviews/{session_id}", status_code=204, responses=SESSION_ERRORS, tags=["interviews"],
               summary="Delete an interview and everything the person wrote in it", response_class=Response)
def delete_interview(request: Request, session_id: SessionId) -> Response:
    _sessions(request).delete(session_id)
    return Response(status_code=204)


@router.get("/conditions", response_model=list[ConditionSummary], tags=["knowledge"], summary="List the conditions")
def list_conditions(request: Request) -> Any:
    kb = _engine(request).kb
    return [_summary(c) for c in kb.conditions.values()]


def _summary(cond: Any) -> dict[str, Any]:
    return {"id": cond.id, "name": cond.name.model_dump(), "chain": cond.chain, "urgency": cond.urgency.default,
            "codes": cond.codes.model_dump()}


@router.get("/conditions/{condition_id}", response_model=ConditionDetail,
            responses={404: {"model": ErrorBody, "description": "Unknown condition"}, 422: ERRORS[422]},
            tags=["knowledge"], summary="One condition with its findings and sources")
def read_condition(request: Request, condition_id: Annotated[str, Path(max_length=100)]) -> Any:
    kb = _engine(request).kb
    cond = kb.conditions.get(condition_id)
    if cond is None:
        raise ApiError(404, f"unknown condition {condition_id!r}; GET /v1/conditions lists the ids")
    from .cli import _all_sources  # noqa: PLC0415 - the same list of sources as `spasmo kb show`

    links = [
        {"finding": link.finding, "name": kb.findings[link.finding].name.model_dump(), "hpo": kb.findings[link.finding].hpo,
         "frequency": link.frequency, "probability": link.probability, "sources": list(link.sources)}
        for link in cond.findings
    ]
    sources = [{"id": s, "title": kb.sources[s].title, "publisher": kb.sources[s].publisher, "url": kb.sources[s].url}
               for s in _all_sources(cond)]
    return {**_summary(cond), "description": cond.description.model_dump(), "findings": links, "sources": sources}


async def health(request: Request) -> Health:
    # async: it only counts what is loaded, and a probe must be answered even while every worker thread is
    # busy with sessions (the queue limit lets it through too)
    kb = _engine(request).kb
    return Health(status="ok", conditions=len(kb.conditions), findings=len(kb.findings))


