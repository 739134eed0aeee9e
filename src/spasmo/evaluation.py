"""Run case files through the same path as ``spasmo assess`` and measure triage and causes."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

import yaml

from .engine import Engine
from .interview import DONT_KNOW, NONE, Answer, Question, Value
from .knowledge.schema import LEVELS
from .reading import ReadingError

__all__ = [
    "Case",
    "CaseFileError",
    "load_cases",
    "evaluate",
    "metrics",
    "simulated_answer",
    "interview_case",
    "evaluate_interview",
    "interview_metrics",
]

_RANK = {level: i for i, level in enumerate(LEVELS)}


class CaseFileError(ValueError):
    """A case file that cannot be used; the message names the file and the case."""


@dataclass(frozen=True)
class Case:
    id: str
    language: str
    text: str
    triage: str
    conditions: tuple[str, ...]
    source: str
    file: str
    answers: dict[str, str]


def load_cases(paths: list[Path], known_conditions: set[str], known_findings: set[str] | None = None) -> list[Case]:
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CaseFileError(f"{path}: no such file") from None
        except UnicodeDecodeError:
            raise CaseFileError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
        except yaml.YAMLError as exc:
            raise CaseFileError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("cases"), list):
            raise CaseFileError(f"{path}: expected a mapping with a list under 'cases:'")
        for n, item in enumerate(raw["cases"], 1):
            where = f"{path}: case {item.get('id', '#' + str(n)) if isinstance(item, dict) else '#' + str(n)}"
            if not isinstance(item, dict):
                raise CaseFileError(f"{where}: each case must be a mapping")
            cid = item.get("id")
            if not isinstance(cid, str) or not cid:
                raise CaseFileError(f"{where}: the case has no 'id'")
            if cid in seen:
                raise CaseFileError(f"{where}: the id is used twice (also in {seen[cid]})")
            seen[cid] = str(path)
            text = item.get("text")
            if not isinstance(text, str) or not text.strip():
                raise CaseFileError(f"{where}: the case has no 'text'")
            language = item.get("language")
            if language not in ("en", "it"):
                raise CaseFileError(f"{where}: unknown language {language!r}; use 'en' or 'it'")
            triage = item.get("triage")
            if triage not in LEVELS:
                raise CaseFileError(f"{where}: 'triage' must be one of {', '.join(LEVELS)}, not {triage!r}")
            gold = item.get("conditions")
            if not isinstance(gold, list) or not 1 <= len(gold) <= 3:
                raise CaseFileError(f"{where}: 'conditions' must list one to three condition ids")
            unknown = [c for c in gold if c not in known_conditions]
            if unknown:
                raise CaseFileError(f"{where}: unknown condition id(s) {', '.join(map(str, unknown))}")
            answers = item.get("answers") or {}
            if not isinstance(answers, dict):
                raise CaseFileError(f"{where}: 'answers' must map finding ids to present or absent")
            wrong = [f"{f}: {s}" for f, s in answers.items() if s not in ("present", "absent")]
            if wrong:
                raise CaseFileError(f"{where}: each answer must be present or absent, not {', '.join(map(str, wrong))}")
            unknown_findings = [str(f) for f in answers if known_findings is not None and f not in known_findings]
            if unknown_findings:
                raise CaseFileError(f"{where}: unknown finding id(s) under 'answers': {', '.join(unknown_findings)}")
            cases.append(
                Case(cid, language, text, triage, tuple(gold), str(item.get("source", "")), str(path), dict(answers))
            )
    return cases


def evaluate(engine: Engine, cases: list[Case]) -> list[dict[str, Any]]:
    """Each case through the same path as ``spasmo assess`` (text only, no questions asked)."""
    rows = []
    for case in cases:
        try:
            report = engine.assess_text(case.text, case.language)
        except ReadingError as exc:
            raise CaseFileError(f"{case.file}: case {case.id}: {exc}") from None
        rows.append({"id": case.id, "language": case.language, **_scores(case, report["triage"]["level"], report)})
    return rows


def _scores(case: Case, level: str, report: dict[str, Any]) -> dict[str, Any]:
    """How one prediction compares with the case's gold level and conditions."""
    predicted = [c["id"] for c in report["conditions"]]
    return {
        "triage": level,
        "conditions": predicted[:3],
        "probabilities": [c["probability"] for c in report["conditions"][:3]],
        "gold_triage": case.triage,
        "gold_conditions": list(case.conditions),
        "triage_correct": level == case.triage,
        "under_triage": _RANK[level] > _RANK[case.triage],
        "over_triage": _RANK[level] < _RANK[case.triage],
        "top1": bool(predicted) and predicted[0] == case.conditions[0],
        "top3": case.conditions[0] in predicted[:3],
        "any_top3": any(c in predicted[:3] for c in case.conditions),
    }


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    if n == 0:
        return {"n": 0}

    def rate(key: str) -> float:
        return round(sum(1 for r in rows if r[key]) / n, 4)

    return {
        "n": n,
        "triage_accuracy": rate("triage_correct"),
        "under_triage_rate": rate("under_triage"),
        "over_triage_rate": rate("over_triage"),
        "emergencies_triaged_lower": sum(1 for r in rows if r["gold_triage"] == "emergency" and r["under_triage"]),
        "top1_accuracy": rate("top1"),
        "top3_accuracy": rate("top3"),
        "any_gold_in_top3": rate("any_top3"),
    }


def metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    by_language: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_level: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_language[row["language"]].append(row)
        by_level[row["gold_triage"]].append(row)
    confusion = {gold: {pred: 0 for pred in LEVELS} for gold in LEVELS}
    for row in rows:
        confusion[row["gold_triage"]][row["triage"]] += 1
    return {
        **_summary(rows),
        "by_language": {lang: _summary(r) for lang, r in sorted(by_language.items())},
        "by_level": {level: _summary(by_level[level]) for level in LEVELS if by_level.get(level)},
        "confusion": confusion,
    }


# -- the simulated-patient benchmark of the interview ---------------------------------------------
def simulated_answer(question: Question, answers: Mapping[str, str]) -> Value:
    """What the case's person answers: what the case's ``answers`` say; anything not listed is "don't know"."""
    if question.kind == "yes_no":
        return {"present": "yes", "absent": "no"}.get(answers.get(question.findings[0], ""), DONT_KNOW)
    if question.kind in ("one", "several"):
        chosen = [c.id for c in question.choices if c.finding and answers.get(c.finding) == "present"]
        if chosen:
            return chosen[0] if question.kind == "one" else chosen
        if all(answers.get(c.finding) == "absent" for c in question.choices if c.finding):
            has_none = any(c.id == NONE for c in question.choices)
            if question.kind == "several":
                return [NONE] if has_none else []
            if has_none:
                return NONE
        return DONT_KNOW
    listed = {f: answers[f] for f in question.findings if f in answers}
    if not listed:
        return DONT_KNOW
    fits = []
    for value in question.probe_values():
        states = question.states(value)
        if all(states[f] == s for f, s in listed.items()):
            # the number that says the least beyond what is listed: fewest unlisted findings present
            fits.append((sum(1 for f, s in states.items() if f not in listed and s == "present"), value))
    return min(fits)[1] if fits else DONT_KNOW


def interview_case(engine: Engine, case: Case) -> dict[str, Any]:
    """One case through the interview, starting from its text and answering from its ``answers``.

    The reference is what asking every question would give: the same answers to all of them.
    """
    try:
        _, interview = engine.interview(case.text, case.language)
    except ReadingError as exc:
        raise CaseFileError(f"{case.file}: case {case.id}: {exc}") from None
    while not (step := interview.step()).done:
        assert step.question is not None
        interview.answer(step.question.id, simulated_answer(step.question, case.answers))
    every_answer = [Answer(q.id, simulated_answer(q, case.answers)) for q in engine.questions]
    _, everything = engine.interview(case.text, case.language, every_answer)
    final = engine.assess(interview.evidence)
    reference = engine.assess(everything.evidence).triage.level
    report = engine.report(final, case.language)
    level = final.triage.level
    return {
        "id": case.id,
        "language": case.language,
        "questions": len(interview.answers),
        "asked": [a.question for a in interview.answers],
        "stopped": step.reason,
        "reference_triage": reference,
        "agrees": level == reference,
        "lower_than_reference": _RANK[level] > _RANK[reference],
        **_scores(case, level, report),
    }


def evaluate_interview(engine: Engine, cases: list[Case]) -> list[dict[str, Any]]:
    return [interview_case(engine, case) for case in cases]


def _question_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not rows:
        return {"n": 0}
    counts = np.array([r["questions"] for r in rows])
    return {
        "n": len(rows),
        "median_questions": float(np.median(counts)),
        # nearest rank: a number of questions that some case really took
        "p90_questions": float(np.percentile(counts, 90, method="inverted_cdf")),
        "max_questions": int(counts.max()),
        "agreement": round(sum(1 for r in rows if r["agrees"]) / len(rows), 4),
        "lower_than_reference": sum(1 for r in rows if r["lower_than_reference"]),
        "emergencies_lower_than_reference": sum(
            1 for r in rows if r["reference_triage"] == "emergency" and r["lower_than_reference"]
        ),
    }


def interview_metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Questions asked (median, 90th percentile), agreement with asking everything, and the usual metrics."""
    by_language: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_language[row["language"]].append(row)
    return {
        **_question_summary(rows),
        "stopped": dict(Counter(r["stopped"] for r in rows)),
        "questions_by_language": {lang: _question_summary(r) for lang, r in sorted(by_language.items())},
        "triage": metrics(rows),
    }
