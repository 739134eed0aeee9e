"""The adaptive interview: red flags first, questions that tell most, a stop that says why, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spasmo.evaluation import CaseFileError, load_cases, simulated_answer
from spasmo.interview import (
    DONT_KNOW,
    NONE,
    Answer,
    Interview,
    InvalidAnswerError,
    Planner,
    QuestionNotAskedError,
    StopRule,
)
from spasmo.knowledge.schema import LEVELS
from spasmo.reasoning import Evidence, Observation
from spasmo.terminal import BACK, Terminal, interpret

from .conftest import ROOT, run_cli

_RANK = {level: i for i, level in enumerate(LEVELS)}


def start(engine, text: str, language: str = "en", rule: StopRule | None = None) -> Interview:
    base = engine.evidence(engine.read(text, language))
    return Interview(Planner(engine.model, engine.questions, rule) if rule else engine.planner, base)


def run_to_the_end(interview: Interview, value: str = DONT_KNOW) -> None:
    """Answer every question with ``value`` (yes/no questions) or "don't know" (the others)."""
    while not (step := interview.step()).done:
        interview.answer(step.question.id, value if step.question.kind == "yes_no" else DONT_KNOW)


# -- the look-ahead agrees with the reasoning --------------------------------------------------------
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_level_and_posterior_the_planner_weighs_are_those_assess_gives(engine, data):
    findings = data.draw(st.lists(st.sampled_from(engine.model.findings), max_size=10, unique=True))
    states = data.draw(st.lists(st.sampled_from(["present", "absent"]), min_size=len(findings), max_size=len(findings)))
    evidence = Evidence.from_states(dict(zip(findings, states)))
    present, absent = engine.planner._vectors(evidence)
    level, posterior, _ = engine.planner.evaluate(present[None], absent[None])
    assert LEVELS[int(level[0])] == engine.model.assess(evidence).triage.level
    assert np.allclose(posterior[0], engine.model.posterior(evidence))


# -- the order: red flags first, then what tells most -----------------------------------------------
def test_a_red_flag_made_relevant_by_the_answers_is_asked_first(engine):
    interview = start(engine, "My jaw feels stiff")
    step = interview.step()
    assert step.reason == "red_flag"
    assert set(step.question.findings) & engine.model.red_flag_findings
    assert step.question.kind == "yes_no"
    levels = {}
    for value in ("yes", "no"):  # one of its answers makes the level more urgent (its red flag, or what its
        interview.answer(step.question.id, value)  # absence leaves more likely); each is taken back after
        levels[value] = interview.step().level
        interview.back()
    assert min(_RANK[level] for level in levels.values()) < _RANK[step.level], levels
    assert interview.step().question.id == step.question.id  # taken back: the same question again


def test_a_red_flag_question_is_asked_only_when_a_yes_would_raise_the_level_enough(engine):
    interview = start(engine, "I get a sudden painful cramp in my calf at night, about twice a week.")
    while not (step := interview.step()).done:
        if step.reason == "red_flag":
            candidate = next(c for c in step.candidates if c.question == step.question.id)
            assert candidate.red_flag and candidate.p_raise >= engine.planner.rule.red_flag
        interview.answer(step.question.id, DONT_KNOW)


def test_an_emergency_set_by_a_warning_sign_is_not_delayed_by_questions(engine):
    interview = start(engine, "I have crushing chest pain and cramps in my legs")
    step = interview.step()
    assert step.done and step.reason == "settled" and step.level == "emergency"


def test_the_interview_stops_when_no_remaining_question_could_change_the_level(engine):
    interview = start(engine, "my eyelid keeps twitching, I drink lots of coffee and I'm stressed at work")
    run_to_the_end(interview, "no")
    step = interview.step()
    assert step.reason in ("settled", "cap")
    if step.reason == "settled":
        assert all(c.p_change < engine.planner.rule.level_change for c in step.candidates)


def test_the_interview_stops_at_the_cap_and_says_so(engine):
    interview = start(engine, "cramps", rule=StopRule(cap=3, level_change=0.0001))
    run_to_the_end(interview)
    assert len(interview.answers) == 3 and interview.step().reason == "cap"
    report = engine.interview_report(interview, "en")
    assert report["interview"]["stopped"] == "cap" and "limit of 3 questions" in report["interview"]["why"]


def test_the_report_says_why_the_interview_stopped_in_the_persons_language(engine):
    _, interview = engine.interview("ho un crampo al polpaccio di notte", "it")
    run_to_the_end(interview)
    report = engine.interview_report(interview, "it")
    assert report["language"] == "it" and report["interview"]["why"] in {
        "Nessuna delle domande rimaste potrebbe cambiare il livello di urgenza.",
        f"L'intervista ha raggiunto il limite di {engine.planner.rule.cap} domande.",
        "Sono state fatte tutte le domande.",
    }


def test_the_same_answers_give_the_same_next_question(engine):
    a, b = start(engine, "cramps in my thigh after running"), start(engine, "cramps in my thigh after running")
    for _ in range(4):
        if a.step().done:
            break
        assert a.step().question.id == b.step().question.id
        a.answer(a.step().question.id, DONT_KNOW)
        b.answer(b.step().question.id, DONT_KNOW)


def test_resuming_with_the_stored_answers_continues_where_it_stopped(engine):
    first = start(engine, "my calf cramps at night")
    for _ in range(2):
        first.answer(first.step().question.id, DONT_KNOW)
    _, resumed = engine.interview("my calf cramps at night", "en", [Answer(a.question, a.value) for a in first.answers])
    assert resumed.step().question.id == first.step().question.id


def test_choosing_the_next_question_is_computed_over_every_answer_at_once(engine):
    planner = engine.planner
    assert len(planner.owner) > len(planner.order) > 100  # every answer of every question is a row
    step = start(engine, "cramps in my calf").step()
    assert {c.question for c in step.candidates} <= set(engine.questions.by_id)


# -- answers: kinds, refusals, going back ---------------------------------------------------------
def test_every_finding_is_asked_by_exactly_one_question_in_both_languages(engine):
    asked = [f for q in engine.questions for f in q.findings]
    assert sorted(asked) == sorted(engine.kb.findings)
    for question in engine.questions:
        assert question.prompt("en") and question.prompt("it")
        for choice in question.choices:
            assert choice.label.en and choice.label.it


def test_a_number_answer_becomes_findings_through_its_cuts(engine):
    age, minutes, weekly = engine.questions["age"], engine.questions["spasm_minutes"], engine.questions["times_a_week"]
    assert age.states(age.parse("73")) == {"age_over_60": "present", "child": "absent"}
    assert age.states(age.parse(12)) == {"age_over_60": "absent", "child": "present"}
    assert minutes.states(minutes.parse("15")) == {"lasts_over_10_minutes": "present"}
    assert minutes.states(minutes.parse("10")) == {"lasts_over_10_minutes": "absent"}
    assert weekly.states(weekly.parse("1,5")) == {"recurrent": "present"}


def test_choosing_several_makes_the_options_not_chosen_absent(engine):
    where = engine.questions["where"]
    states = where.states(where.parse("location_calf,location_foot"))
    assert states["location_calf"] == states["location_foot"] == "present"
    assert states["location_jaw"] == "absent" and len(states) == len(where.findings)
    medicines = engine.questions["medicines"]
    assert set(medicines.states(medicines.parse([NONE])).values()) == {"absent"}
    with pytest.raises(InvalidAnswerError, match="cannot be chosen together"):
        medicines.parse([NONE, "takes_statin"])


def test_an_out_of_range_number_is_refused_with_the_range(engine):
    with pytest.raises(InvalidAnswerError, match="from 0 to 120"):
        engine.questions["age"].parse("130")
    with pytest.raises(InvalidAnswerError, match="takes a number"):
        engine.questions["age"].parse("old")


def test_an_answer_to_a_question_that_was_not_asked_is_refused(engine):
    interview = start(engine, "cramps in my calf")
    asked = interview.step().question.id
    other = "fever" if asked != "fever" else "dark_urine"
    with pytest.raises(QuestionNotAskedError, match=f"question '{other}' was not asked; the question being asked is '{asked}'"):
        interview.answer(other, "yes")
    with pytest.raises(QuestionNotAskedError, match="there is no question 'no_such_thing'"):
        interview.answer("no_such_thing", "yes")
    assert interview.answers == []


def test_no_answer_is_taken_once_the_interview_has_finished(engine):
    interview = start(engine, "I have crushing chest pain and cramps in my legs")
    with pytest.raises(QuestionNotAskedError, match="has finished"):
        interview.answer("fever", "no")


def test_going_back_asks_the_previous_question_again(engine):
    interview = start(engine, "cramps in my calf")
    first = interview.step().question.id
    interview.answer(first, DONT_KNOW)
    assert interview.back() == Answer(first, DONT_KNOW)
    assert interview.step().question.id == first and interview.back() is None


def test_dont_know_leaves_the_findings_unknown_and_is_not_asked_again(engine):
    interview = start(engine, "cramps in my calf")
    question = interview.step().question
    interview.answer(question.id, DONT_KNOW)
    assert not set(question.findings) & set(interview.evidence.observations) - set(interview.base.observations)
    assert interview.step().question is None or interview.step().question.id != question.id


# -- typed answers in the terminal ------------------------------------------------------------------
@pytest.mark.parametrize(
    "question, typed, language, expected",
    [
        ("fever", "Sì", "it", "yes"),
        ("fever", "si", "it", "yes"),
        ("fever", "no", "en", "no"),
        ("fever", "non so", "it", DONT_KNOW),
        ("fever", "don't know", "en", DONT_KNOW),
        ("fever", "indietro", "it", BACK),
        ("fever", "back", "en", BACK),
        ("fever", "2", "en", "no"),
        ("where", "calf, foot", "en", ["location_calf", "location_foot"]),
        ("where", "polpaccio", "it", ["location_calf"]),
        ("stretching", "1", "en", "relieved_by_stretching"),
        ("age", "45 anni", "it", 45.0),
        ("spasm_minutes", "1,5", "it", 1.5),
    ],
)
def test_typed_answers_are_understood_in_both_languages(engine, question, typed, language, expected):
    assert interpret(engine.questions[question], typed, language) == expected


@pytest.mark.parametrize("question, typed, message", [
    ("fever", "maybe", "Not understood: maybe"),
    ("age", "130", "130 is out of range: give a number of years from 0 to 120"),
    ("age", "old", "Type a number of years"),
    ("medicines", "none of these, 1", "cannot be chosen together"),
])
def test_a_typed_answer_that_is_not_understood_is_asked_again_with_what_to_type(engine, question, typed, message):
    with pytest.raises(ValueError, match=message):
        interpret(engine.questions[question], typed, "en")


def _prompt(engine, question_id: str, keys: str, can_go_back: bool = True):
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        pipe.send_text(keys)
        import io

        ui = Terminal("en", stdout=io.StringIO(), interactive=True)
        return ui.ask(engine.questions[question_id], 1, can_go_back)


def test_arrow_keys_and_enter_choose_in_the_terminal(engine):
    down, enter = "\x1b[B", "\r"
    assert _prompt(engine, "fever", down + enter) == "no"
    assert _prompt(engine, "fever", down + down + enter) == DONT_KNOW
    assert _prompt(engine, "fever", down * 3 + enter) == BACK
    assert _prompt(engine, "where", " " + down + " " + enter) == ["location_calf", "location_foot"]
    assert _prompt(engine, "where", enter) == []  # nothing ticked: none of them


def test_typing_in_the_terminal_answers_and_a_wrong_answer_is_asked_again(engine):
    assert _prompt(engine, "fever", "perhaps\rno\r") == "no"
    assert _prompt(engine, "age", "abc\r200\r67\r") == 67.0
    assert _prompt(engine, "fever", "back\r") == BACK


# -- the simulated-patient benchmark ----------------------------------------------------------------
def test_a_simulated_patient_answers_from_the_case_and_does_not_know_the_rest(engine):
    q = engine.questions
    answers = {"fever": "absent", "location_calf": "present", "age_over_60": "present", "relieved_by_stretching": "present"}
    assert simulated_answer(q["fever"], answers) == "no"
    assert simulated_answer(q["dark_urine"], answers) == DONT_KNOW
    assert simulated_answer(q["where"], answers) == ["location_calf"]
    assert simulated_answer(q["stretching"], answers) == "relieved_by_stretching"
    assert q["age"].states(simulated_answer(q["age"], answers)) == {"age_over_60": "present", "child": "absent"}
    assert q["age"].states(simulated_answer(q["age"], {"age_over_60": "absent"})) == {
        "age_over_60": "absent", "child": "absent"}  # the number that says least beyond the case
    assert simulated_answer(q["spasm_minutes"], answers) == DONT_KNOW


def test_the_public_cases_answer_only_with_known_findings(engine):
    cases = load_cases(sorted((ROOT / "cases").glob("*.yaml")), set(engine.kb.conditions), set(engine.kb.findings))
    assert cases and all(case.answers for case in cases)


def test_a_case_answer_with_an_unknown_finding_is_named(engine, tmp_path):
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump({"cases": [{
        "id": "c1", "language": "en", "text": "cramp in my calf", "triage": "self_care",
        "conditions": ["nocturnal_leg_cramps"], "source": "https://example.org/x", "answers": {"calf_cramps": "present"},
    }]}), encoding="utf-8")
    with pytest.raises(CaseFileError, match="c1: unknown finding id"):
        load_cases([path], set(engine.kb.conditions), set(engine.kb.findings))


def test_eval_interview_reports_questions_and_agreement_with_asking_everything(tmp_path):
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump({"cases": [{
        "id": "c1", "language": "en", "text": "I got a cramp in my calf while running; stretching eased it.",
        "triage": "self_care", "conditions": ["exercise_associated_cramp"], "source": "https://example.org/x",
        "answers": {"fever": "absent", "location_calf": "present"},
    }]}), encoding="utf-8")
    result = run_cli("eval", "--interview", str(path), "--format", "json")
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout)
    for key in ("median_questions", "p90_questions", "agreement", "emergencies_lower_than_reference"):
        assert key in data["metrics"]
    row = data["cases"][0]
    assert row["questions"] == len(row["asked"]) and row["reference_triage"] in LEVELS
    failing = run_cli("eval", "--interview", str(path), "--max-median-questions", "-1")
    assert failing.returncode == 1 and b"FAIL: median number of questions" in failing.stderr


def test_cases_rerun_through_the_interview_never_end_below_an_emergency_that_asking_everything_finds(engine):
    from spasmo.evaluation import evaluate_interview

    cases = load_cases(sorted((ROOT / "cases").glob("*.yaml")), set(engine.kb.conditions), set(engine.kb.findings))
    rows = evaluate_interview(engine, [c for c in cases if c.triage == "emergency"])
    assert rows and not [r["id"] for r in rows if r["reference_triage"] == "emergency" and r["lower_than_reference"]]


def test_the_case_files_keep_their_answers_next_to_the_text():
    for path in sorted((ROOT / "cases").glob("*.yaml")):
        for case in yaml.safe_load(Path(path).read_text(encoding="utf-8"))["cases"]:
            assert set(case["answers"].values()) <= {"present", "absent"}, case["id"]
