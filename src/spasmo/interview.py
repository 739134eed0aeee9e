"""The adaptive interview: which question to ask next, and when to stop.

Order (DESIGN.md, Interview): red-flag questions first, where the answers so far make a "yes"
likely enough to raise the level to urgent or emergency; then the question whose answer tells
most about the triage level; then, once the level is settled, a few questions about the cause.
The interview stops when no remaining question could change the level with a probability that
matters, or at a cap, and says which.

Every possible answer of every remaining question is scored at once with numpy: the knowledge
base's arrays (``Model.log_p``, ``Model.log_not_p``) give the posterior after each answer, and the
red-flag rules and the conditions' escalations, compiled here into matrices, give the level after
it exactly as ``Model.assess`` computes it (``tests/test_interview.py`` checks that they agree).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Iterable, Literal, Sequence, Union

import numpy as np

from .knowledge import KnowledgeBase
from .knowledge.schema import LEVELS, Cut, Text
from .reasoning import Evidence, Model, Observation, State

__all__ = [
    "DONT_KNOW",
    "NONE",
    "STOP_REASONS",
    "STOP_TEXT",
    "Answer",
    "Candidate",
    "Choice",
    "Interview",
    "InterviewError",
    "InvalidAnswerError",
    "Planner",
    "Question",
    "QuestionNotAskedError",
    "Questions",
    "Step",
    "StopRule",
    "Value",
]

Kind = Literal["yes_no", "one", "several", "number"]
#: The value of a "don't know" answer, whatever the kind of question.
DONT_KNOW = "unknown"
#: The id of a "none of these" choice.
NONE = "none"
#: Why an interview stopped.
STOP_REASONS = ("settled", "cap", "exhausted")
#: Why it stopped, in the person's language (interface words, not medical content).
STOP_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "settled": "No remaining question could change how urgent this is.",
        "cap": "The interview reached its limit of {cap} questions.",
        "exhausted": "Every question has been asked.",
        "open": "The interview has not finished: {n} question(s) answered so far.",
    },
    "it": {
        "settled": "Nessuna delle domande rimaste potrebbe cambiare il livello di urgenza.",
        "cap": "L'intervista ha raggiunto il limite di {cap} domande.",
        "exhausted": "Sono state fatte tutte le domande.",
        "open": "L'intervista non è finita: finora {n} risposte.",
    },
}
#: An answer's value: "yes" / "no" / "unknown"; a choice id; a list of choice ids; a number.
Value = Union[str, float, list[str]]

_RANK = {level: i for i, level in enumerate(LEVELS)}  # 0 = emergency ... 3 = self_care
_SELF_CARE = _RANK["self_care"]
# Rows per matrix product. OpenBLAS spreads a product over threads above about 2.6e5 multiply-adds;
# for products this small the threads only add waiting, and on a busy machine (a server, a test
# run beside other work) they turn a 2 ms step into 10-50 ms. Blocks of rows stay on one thread.
_BLOCK = 32


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.ndim == 1 or len(a) <= _BLOCK:
        return a @ b
    return np.concatenate([a[i:i + _BLOCK] @ b for i in range(0, len(a), _BLOCK)])


class InterviewError(ValueError):
    """Something an interview cannot do; the message says what to do instead."""


class QuestionNotAskedError(InterviewError):
    """An answer to a question that is not the one being asked."""


class InvalidAnswerError(InterviewError):
    """An answer that the question does not accept (not one of its choices, a number out of range)."""


@dataclass(frozen=True)
class Choice:
    """One answer of a choose-one or choose-several question."""

    id: str  # the finding id, or NONE
    finding: str | None
    label: Text


@dataclass(frozen=True)
class Question:
    """A question as the person sees it, and the findings its answer settles."""

    id: str
    kind: Kind
    text: Text
    findings: tuple[str, ...]
    choices: tuple[Choice, ...] = ()
    unit: Text | None = None
    minimum: float | None = None
    maximum: float | None = None
    cuts: tuple[Cut, ...] = ()

    def parse(self, value: Any) -> Value:
        """Check an answer's value and return it in its stored form; raise :class:`InvalidAnswerError`."""
        if value == DONT_KNOW:
            return DONT_KNOW
        if self.kind == "yes_no":
            if value in ("yes", "no"):
                return value
            raise InvalidAnswerError(f"question {self.id!r} takes yes, no or {DONT_KNOW}, not {value!r}")
        ids = [c.id for c in self.choices]
        if self.kind == "one":
            if value in ids:
                return value
            raise InvalidAnswerError(
                f"question {self.id!r} takes one of {', '.join(ids)} or {DONT_KNOW}, not {value!r}"
            )
        if self.kind == "several":
            if not isinstance(value, (str, list, tuple)):
                raise InvalidAnswerError(f"question {self.id!r} takes a list of {', '.join(ids)}, not {value!r}")
            chosen = value.split(",") if isinstance(value, str) else list(value)
            chosen = [str(c).strip() for c in chosen if str(c).strip()]
            unknown = [c for c in chosen if c not in ids]
            if unknown:
                raise InvalidAnswerError(
                    f"question {self.id!r} takes any of {', '.join(ids)} (or {DONT_KNOW}), not {', '.join(unknown)}"
                )
            if NONE in chosen and len(chosen) > 1:
                raise InvalidAnswerError(
                    f"question {self.id!r}: '{NONE}' cannot be chosen together with another answer"
                )
            return [c for c in ids if c in chosen]  # in the question's order, without repeats
        assert self.minimum is not None and self.maximum is not None and self.unit is not None
        try:
            number = float(value) if isinstance(value, (int, float)) else float(str(value).replace(",", "."))
        except ValueError:
            raise InvalidAnswerError(
                f"question {self.id!r} takes a number ({self.unit.en}) or {DONT_KNOW}, not {value!r}"
            ) from None
        if not math.isfinite(number) or not self.minimum <= number <= self.maximum:
            raise InvalidAnswerError(
                f"question {self.id!r} takes a number of {self.unit.en} from {_fmt(self.minimum)} "
                f"to {_fmt(self.maximum)}, not {value!r}"
            )
        return number

    def states(self, value: Value) -> dict[str, State]:
        """The findings an answer (already parsed) reports, present or absent."""
        if value == DONT_KNOW:
            return {}
        if self.kind == "yes_no":
            return {self.findings[0]: "present" if value == "yes" else "absent"}
        if self.kind == "one":
            return {c.finding: ("present" if c.id == value else "absent") for c in self.choices if c.finding}
        if self.kind == "several":
            chosen = set(value)  # type: ignore[arg-type]
            return {c.finding: ("present" if c.id in chosen else "absent") for c in self.choices if c.finding}
        number = float(value)  # type: ignore[arg-type]
        return {cut.finding: ("present" if cut.holds(number) else "absent") for cut in self.cuts}

    def outcomes(self) -> list[dict[str, State]]:
        """The distinct answers the planner weighs (choose-several: up to two choices at once)."""
        if self.kind == "yes_no":
            return [self.states("yes"), self.states("no")]
        if self.kind == "one":
            return [self.states(c.id) for c in self.choices]
        if self.kind == "several":
            ids = [c.id for c in self.choices if c.finding]
            picks = [[]] + [list(p) for k in (1, 2) for p in combinations(ids, k)]
            return [self.states(p) for p in picks]
        seen: list[dict[str, State]] = []
        for number in self.probe_values():
            states = self.states(number)
            if states not in seen:
                seen.append(states)
        return seen

    def probe_values(self) -> list[float]:
        """Numbers on both sides of every cut, within range: one for each distinct answer."""
        assert self.minimum is not None and self.maximum is not None
        values = {self.minimum, self.maximum}
        for cut in self.cuts:
            for bound in (cut.more_than, cut.at_least, cut.less_than):
                if bound is not None:
                    values.update({bound, bound - 0.5, bound + 0.5})
        return sorted(v for v in values if self.minimum <= v <= self.maximum)

    def prompt(self, language: str) -> str:
        return getattr(self.text, language)


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


class Questions:
    """Every question of the knowledge base: the questions of questions.yaml, then a yes/no
    question for each finding they do not cover (its id is the finding's id)."""

    def __init__(self, kb: KnowledgeBase):
        self.by_id: dict[str, Question] = {}
        self.of_finding: dict[str, str] = {}
        for q in kb.questions.values():
            choices = tuple(
                Choice(o.finding or NONE, o.finding, o.label or kb.findings[o.finding].name)  # type: ignore[index]
                for o in q.options
            )
            question = Question(q.id, q.kind, q.text, tuple(q.findings), choices, q.unit, q.minimum, q.maximum,
                                tuple(q.cuts))
            self._add(question)
        for f in kb.findings.values():
            if f.id not in self.of_finding:
                self._add(Question(f.id, "yes_no", f.question, (f.id,)))

    def _add(self, question: Question) -> None:
        if question.id in self.by_id:
            raise InterviewError(f"question id {question.id!r} is also a finding id; rename the question")
        self.by_id[question.id] = question
        for fid in question.findings:
            self.of_finding[fid] = question.id

    def __getitem__(self, question_id: str) -> Question:
        try:
            return self.by_id[question_id]
        except KeyError:
            raise InterviewError(
                f"unknown question {question_id!r}; `spasmo kb findings` lists the finding ids"
            ) from None

    def __iter__(self):
        return iter(self.by_id.values())

    def __len__(self) -> int:
        return len(self.by_id)


@dataclass(frozen=True)
class StopRule:
    """When the interview stops, and what comes first. Chosen on the public cases (docs/interview.md)."""

    #: never more questions than this
    cap: int = 20
    #: the level is settled when no remaining question changes it with at least this probability
    level_change: float = 0.03
    #: a red-flag question comes first when a "yes" raises the level to urgent or emergency with
    #: at least this probability (a rare red flag of no relevance to what was said is not asked)
    red_flag: float = 0.05
    #: after the level is settled, questions about the cause while one is expected to tell at
    #: least this much (bits), and only among the first ``cause_until`` questions
    cause_gain: float = 0.25
    cause_until: int = 5


@dataclass(frozen=True)
class Candidate:
    """What answering one question is expected to do."""

    question: str
    red_flag: bool
    p_raise: float  # probability that the answer makes the level more urgent
    p_change: float  # probability that the answer changes the level
    level_gain: float  # bits: the entropy of the level after the answer
    cause_gain: float  # bits: the expected fall in the entropy of the cause


@dataclass(frozen=True)
class Step:
    """The next question and why it was chosen, or why the interview stops (``question`` is None)."""

    question: Question | None
    reason: str  # red_flag | level | cause when asking; one of STOP_REASONS when stopping
    level: str  # the level with the answers so far
    candidates: tuple[Candidate, ...] = ()

    @property
    def done(self) -> bool:
        return self.question is None


class Planner:
    """The knowledge base compiled for look-ahead: every answer to every question, scored at once."""

    def __init__(self, model: Model, questions: Questions, rule: StopRule | None = None):
        self.model = model
        self.questions = questions
        self.rule = rule or StopRule()
        kb = model.kb
        fi = model.f_index
        n_f = len(model.findings)

        def row(ids: Iterable[str]) -> np.ndarray:
            out = np.zeros(n_f, dtype=bool)
            out[[fi[f] for f in ids]] = True
            return out

        self.implies = np.zeros((n_f, n_f))
        for f, implied in model.implied.items():
            self.implies[fi[f], [fi[g] for g in implied]] = 1.0
        self.excluded_by = np.zeros((n_f, n_f))  # [f, g] = 1 when f present rules g out
        for f in kb.findings.values():
            for g in f.excludes:
                self.excluded_by[fi[f.id], fi[g]] = 1.0
                self.excluded_by[fi[g], fi[f.id]] = 1.0
        self.red = row(model.red_flag_findings)
        rules = list(kb.rules.values())
        self.rule_all = np.array([row(r.all) for r in rules], dtype=float).reshape(len(rules), n_f)
        self.rule_any = np.array([row(r.any) for r in rules], dtype=float).reshape(len(rules), n_f)
        self.rule_none = np.array([row(r.none) for r in rules], dtype=float).reshape(len(rules), n_f)
        self.rule_n_all = self.rule_all.sum(axis=1)
        self.rule_free = self.rule_any.sum(axis=1) == 0
        self.rule_rank = np.array([_RANK[r.level] for r in rules], dtype=np.int64)
        escalations = [(ci, esc) for ci, c in enumerate(kb.conditions.values()) for esc in c.urgency.escalations]
        self.esc_condition = np.array([ci for ci, _ in escalations], dtype=np.int64)
        self.esc_all = np.array([row(e.all) for _, e in escalations], dtype=float).reshape(len(escalations), n_f)
        self.esc_any = np.array([row(e.any) for _, e in escalations], dtype=float).reshape(len(escalations), n_f)
        self.esc_none = np.array([row(e.none) for _, e in escalations], dtype=float).reshape(len(escalations), n_f)
        self.esc_n_all = self.esc_all.sum(axis=1)
        self.esc_free = self.esc_any.sum(axis=1) == 0
        self.esc_rank = np.array([_RANK[e.level] for _, e in escalations], dtype=np.int64)
        self.thresholds = np.array([model.thresholds[level] for level in LEVELS[:3]])
        # transposed once, contiguous: every product below is (rows of findings) @ (findings x something)
        self.log_p_t = np.ascontiguousarray(model.log_p.T)
        self.unmentioned_t = np.ascontiguousarray(model.unmentioned_log.T)
        self.log_not_p_t = np.ascontiguousarray(model.log_not_p.T)
        self.rule_all_t, self.rule_any_t, self.rule_none_t = (
            np.ascontiguousarray(m.T) for m in (self.rule_all, self.rule_any, self.rule_none)
        )
        self.esc_all_t, self.esc_any_t, self.esc_none_t = (
            np.ascontiguousarray(m.T) for m in (self.esc_all, self.esc_any, self.esc_none)
        )

        # every weighed answer of every question, as rows: findings it reports present / absent
        owner, present, absent = [], [], []
        self.order = list(questions)
        for qi, question in enumerate(self.order):
            for states in question.outcomes():
                owner.append(qi)
                present.append(row(f for f, s in states.items() if s == "present"))
                absent.append(row(f for f, s in states.items() if s == "absent"))
        self.owner = np.array(owner, dtype=np.int64)
        self.out_present = np.array(present)
        self.out_absent = np.array(absent)
        self.q_findings = np.array([row(q.findings) for q in self.order])
        self.q_red = (self.q_findings & self.red).any(axis=1)
        self.q_index = {q.id: i for i, q in enumerate(self.order)}

    # -- the level and posterior after each row of observations, as Model.assess computes them ----
    def _close(self, observed: np.ndarray) -> np.ndarray:
        return observed | (_dot(observed.astype(float), self.implies) > 0)

    def _posterior(self, present: np.ndarray, absent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = self.model
        score = m.log_prior + _dot(present.astype(float), self.log_p_t) + _dot(absent.astype(float), self.log_not_p_t)
        score += m.unmentioned_total - _dot((present | absent).astype(float), self.unmentioned_t)  # Model.posterior
        top = score.max(axis=1, keepdims=True)
        weights = np.exp(score - top)
        total = weights.sum(axis=1, keepdims=True)
        return weights / total, (np.log(total) + top)[:, 0]

    def evaluate(self, obs_present: np.ndarray, obs_absent: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows of observations -> (level rank, posterior, log of the evidence's probability)."""
        present = self._close(obs_present)
        post, log_evidence = self._posterior(present, obs_absent & ~present)
        # the probability that weighs the conditions for triage leaves reported red flags out (Model.assess)
        core_observed = obs_present & ~self.red
        core_present = self._close(core_observed)
        core_post, _ = self._posterior(core_present, obs_absent & ~core_present)

        pf = present.astype(float)
        n = len(pf)
        fires = (_dot(pf, self.rule_all_t) >= self.rule_n_all) & ((_dot(pf, self.rule_any_t) > 0) | self.rule_free)
        fires &= _dot(pf, self.rule_none_t) == 0
        floor = np.where(fires, self.rule_rank, _SELF_CARE).min(axis=1, initial=_SELF_CARE)
        rank = np.tile(self.model.default_rank, (n, 1))
        if len(self.esc_rank):
            esc = (_dot(pf, self.esc_all_t) >= self.esc_n_all) & ((_dot(pf, self.esc_any_t) > 0) | self.esc_free)
            esc &= _dot(pf, self.esc_none_t) == 0
            levels = np.where(esc, self.esc_rank, _SELF_CARE)
            np.minimum.at(rank, (np.arange(n)[:, None], self.esc_condition[None, :]), levels)
        by_probability = np.full(n, _SELF_CARE)
        for level in (2, 1, 0):  # the most urgent level whose conditions reach its threshold wins
            mass = (core_post * (rank <= level)).sum(axis=1)
            by_probability = np.where(mass >= self.thresholds[level], level, by_probability)
        return np.minimum(floor, by_probability), post, log_evidence

    def _vectors(self, evidence: Evidence) -> tuple[np.ndarray, np.ndarray]:
        fi = self.model.f_index
        present = np.zeros(len(fi), dtype=bool)
        absent = np.zeros(len(fi), dtype=bool)
        for f, obs in evidence.observations.items():
            if f in fi:
                (present if obs.state == "present" else absent)[fi[f]] = True
        return present, absent

    # -- the next question -----------------------------------------------------------------------
    def next(self, evidence: Evidence, asked: Sequence[str] = ()) -> Step:
        """The next question for this evidence, given the questions already asked (answered or not)."""
        obs_p, obs_a = self._vectors(evidence)
        known_p = self._close(obs_p)
        known_a = obs_a | (known_p.astype(float) @ self.excluded_by > 0)
        known = known_p | known_a

        # candidate questions: not asked, with a finding still unknown
        open_q = (self.q_findings & ~known).any(axis=1)
        for qid in asked:
            if qid in self.q_index:
                open_q[self.q_index[qid]] = False
        # an answer that contradicts what is already known is not weighed
        consistent = ~(self.out_present & known_a).any(axis=1) & ~(self.out_absent & known_p).any(axis=1)
        rows = np.flatnonzero(open_q[self.owner] & consistent)

        new_p = np.vstack([obs_p, (obs_p & ~self.out_absent[rows]) | self.out_present[rows]])
        new_a = np.vstack([obs_a, (obs_a & ~self.out_present[rows]) | self.out_absent[rows]])
        level, post, log_ev = self.evaluate(new_p, new_a)
        now = int(level[0])
        if len(asked) >= self.rule.cap:
            return Step(None, "cap", LEVELS[now])
        if len(rows) == 0:
            return Step(None, "exhausted", LEVELS[now])

        owner = self.owner[rows]
        qs = np.unique(owner)
        # P(answer | evidence), among the answers of the same question
        group = np.searchsorted(qs, owner)
        top = np.full(len(qs), -np.inf)
        np.maximum.at(top, group, log_ev[1:])
        weight = np.exp(log_ev[1:] - top[group])
        total = np.zeros(len(qs))
        np.add.at(total, group, weight)
        p = weight / total[group]

        after = level[1:]
        p_change = np.zeros(len(qs))
        np.add.at(p_change, group, p * (after != now))
        raises = (after < now) & (after <= _RANK["urgent"])
        p_raise = np.zeros(len(qs))
        np.add.at(p_raise, group, p * raises)
        by_level = np.zeros((len(qs), len(LEVELS)))
        np.add.at(by_level, (group, after), p)
        level_gain = _entropy(by_level)
        h_after = _entropy(post[1:])
        cause_gain = _entropy(post[:1])[0] - np.bincount(group, weights=p * h_after, minlength=len(qs))
        red = self.q_red[qs] & (p_raise >= self.rule.red_flag)

        candidates = tuple(
            Candidate(self.order[q].id, bool(red[i]), float(p_raise[i]), float(p_change[i]), float(level_gain[i]),
                      float(cause_gain[i]))
            for i, q in enumerate(qs)
        )
        if red.any():
            # the most likely to raise the level first; the question order breaks ties (stable)
            best = int(np.argmax(np.where(red, p_raise, -1.0)))
            return Step(self.order[qs[best]], "red_flag", LEVELS[now], candidates)
        if p_change.max() >= self.rule.level_change:
            best = int(np.argmax(level_gain + 1e-3 * cause_gain))
            return Step(self.order[qs[best]], "level", LEVELS[now], candidates)
        cause_time = len(asked) < self.rule.cause_until and cause_gain.max() >= self.rule.cause_gain
        if now != _RANK["emergency"] and cause_time:  # an emergency is not delayed by questions about its cause
            best = int(np.argmax(cause_gain))
            return Step(self.order[qs[best]], "cause", LEVELS[now], candidates)
        return Step(None, "settled", LEVELS[now], candidates)


def _entropy(probabilities: np.ndarray) -> np.ndarray:
    """Row-wise entropy in bits."""
    p = np.clip(probabilities, 1e-300, 1.0)
    return -(probabilities * np.log2(p)).sum(axis=1)


@dataclass(frozen=True)
class Answer:
    """One answer as given (and stored): the question's id and the parsed value."""

    question: str
    value: Value


@dataclass
class Interview:
    """One person's interview: the evidence read from their text, and their answers in order."""

    planner: Planner
    base: Evidence
    answers: list[Answer] = field(default_factory=list)

    def __post_init__(self) -> None:
        for answer in self.answers:
            self.planner.questions[answer.question]  # noqa: B018 - raises InterviewError on an unknown id
        self._step: Step | None = None

    @property
    def evidence(self) -> Evidence:
        """The text's findings with the answers on top (an answer overrides what was read)."""
        ev = Evidence(dict(self.base.observations))
        for answer in self.answers:
            for finding, state in self.planner.questions[answer.question].states(answer.value).items():
                ev.add(Observation(finding, state, origin="answer"))
        return ev

    @property
    def asked(self) -> list[str]:
        return [a.question for a in self.answers]

    def step(self) -> Step:
        """The next question, or why the interview stops."""
        if self._step is None:
            self._step = self.planner.next(self.evidence, self.asked)
        return self._step

    def answer(self, question_id: str, value: Any) -> Answer:
        """Record the answer to the question being asked; the value is checked first."""
        step = self.step()
        if step.question is None:
            raise QuestionNotAskedError(
                f"the interview has finished ({step.reason}); no question is being asked, "
                f"so {question_id!r} cannot be answered"
            )
        if question_id != step.question.id:
            asked = f"the question being asked is {step.question.id!r}"
            if question_id not in self.planner.questions.by_id:
                raise QuestionNotAskedError(f"there is no question {question_id!r}; {asked}")
            raise QuestionNotAskedError(f"question {question_id!r} was not asked; {asked}")
        answer = Answer(question_id, step.question.parse(value))
        self.answers.append(answer)
        self._step = None
        return answer

    def back(self) -> Answer | None:
        """Take back the last answer, so that its question is asked again; None when there is none."""
        if not self.answers:
            return None
        self._step = None
        return self.answers.pop()
