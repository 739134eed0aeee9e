"""Properties of the reasoning that must always hold, whatever the findings."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from spasmo.knowledge.schema import LEVELS
from spasmo.reasoning import Evidence

RANK = {level: i for i, level in enumerate(LEVELS)}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def evidence_strategy(finding_ids: list[str]):
    return st.dictionaries(st.sampled_from(finding_ids), st.sampled_from(["present", "absent"]), max_size=12)


@SETTINGS
@given(data=st.data())
def test_probabilities_sum_to_one(engine, data):
    states = data.draw(evidence_strategy(engine.model.findings))
    post = engine.model.posterior(Evidence.from_states(states))
    assert np.all(post >= 0) and np.all(post <= 1)
    assert abs(post.sum() - 1.0) < 1e-9


@SETTINGS
@given(data=st.data())
def test_adding_a_red_flag_finding_never_lowers_the_level(engine, data):
    states = data.draw(evidence_strategy(engine.model.findings))
    flags = sorted(engine.model.red_flag_findings - set(states))
    assume(flags)
    flag = data.draw(st.sampled_from(flags))
    before = engine.assess(Evidence.from_states(states)).triage.level
    after = engine.assess(Evidence.from_states({**states, flag: "present"})).triage.level
    assert RANK[after] <= RANK[before], f"adding {flag} lowered {before} to {after}"


@SETTINGS
@given(data=st.data())
def test_same_input_gives_same_output(engine, data):
    states = data.draw(evidence_strategy(engine.model.findings))
    first = engine.report(engine.assess(Evidence.from_states(states)), "en")
    second = engine.report(engine.assess(Evidence.from_states(states)), "en")
    assert first == second


def test_a_rule_sets_a_floor_that_probability_cannot_lower(engine):
    for rule in engine.kb.rules.values():
        states = {f: "present" for f in rule.all + rule.any[:1]}
        level = engine.assess(Evidence.from_states(states)).triage.level
        assert RANK[level] <= RANK[rule.level], f"rule {rule.id} gave {level}, below {rule.level}"


def test_each_finding_contribution_is_a_likelihood_ratio(engine):
    ev = Evidence.from_states({"during_exercise": "present", "relieved_by_stretching": "present"})
    assessment = engine.assess(ev)
    top = assessment.conditions[0]
    assert {c.finding for c in top.contributions} == {"during_exercise", "relieved_by_stretching"}
    for c in top.contributions:
        assert c.likelihood_ratio > 0


def test_an_escalation_does_not_apply_when_one_of_its_none_findings_is_present(engine):
    """Tetany from over-breathing is urgent the first time and routine when it has recurred for weeks
    (its escalation's `none`), in the assessment and in the interview's look-ahead alike."""
    def urgency(states):
        evidence = Evidence.from_states(states)
        ranked = {c.id: c.urgency for c in engine.model.assess(evidence, top=len(engine.model.conditions)).conditions}
        present, absent = engine.planner._vectors(evidence)
        level, _, _ = engine.planner.evaluate(present[None], absent[None])
        assert LEVELS[int(level[0])] == engine.model.assess(evidence).triage.level
        return ranked["hyperventilation_tetany"]

    first = {"tingling_hands_feet": "present", "rapid_breathing": "present", "stress_or_anxiety": "present"}
    assert urgency(first) == "urgent"
    assert urgency({**first, "recurrent": "present"}) == "routine"
    assert urgency({**first, "persistent_weeks": "present"}) == "routine"
