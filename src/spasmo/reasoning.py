"""From evidence to an assessment: the posterior over conditions, triage and the explanation.

One cause at a time plus "another cause" (DESIGN.md, Reasoning): the posterior of a condition is
its prior times P(finding | condition) for each present finding and 1 - P(finding | condition)
for each absent one. Findings a condition does not link get the knowledge base's leak.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal, Mapping, NamedTuple

import numpy as np

from .knowledge import KnowledgeBase
from .knowledge.schema import LEVELS

__all__ = [
    "red_flag_findings",
    "OTHER",
    "State",
    "Evidence",
    "Observation",
    "Contribution",
    "RankedCondition",
    "Triage",
    "Assessment",
    "Model",
]

OTHER = "other_cause"
State = Literal["present", "absent"]
_RANK = {level: i for i, level in enumerate(LEVELS)}  # 0 = emergency ... 3 = self_care


@dataclass(frozen=True)
class Observation:
    """One finding's state and where it came from: an answer, or a span of the person's text."""

    finding: str
    state: State
    origin: Literal["text", "answer"] = "answer"
    span: tuple[int, int] | None = None
    text: str | None = None


@dataclass
class Evidence:
    """Finding id -> observation. Findings not in it are unknown."""

    observations: dict[str, Observation] = field(default_factory=dict)

    def add(self, observation: Observation) -> None:
        # an explicit answer overrides what was read from text
        current = self.observations.get(observation.finding)
        if current is None or observation.origin == "answer" or current.origin == observation.origin:
            self.observations[observation.finding] = observation

    def state(self, finding: str) -> State | None:
        obs = self.observations.get(finding)
        return obs.state if obs else None

    def present(self) -> list[str]:
        return [f for f, o in self.observations.items() if o.state == "present"]

    def absent(self) -> list[str]:
        return [f for f, o in self.observations.items() if o.state == "absent"]

    @classmethod
    def from_states(cls, states: Mapping[str, State]) -> "Evidence":
        ev = cls()
        for finding, state in states.items():
            ev.add(Observation(finding, state))
        return ev


class Contribution(NamedTuple):
    """How much one of the person's findings moved one condition (a likelihood ratio); a named tuple,
    since an assessment makes dozens of them."""

    finding: str
    state: State
    likelihood_ratio: float
    p_given_condition: float


@dataclass(frozen=True)
class RankedCondition:
    id: str
    probability: float
    urgency: str
    escalated_by: tuple[str, ...]
    contributions: tuple[Contribution, ...]


@dataclass(frozen=True)
class RuleHit:
    id: str
    level: str
    findings: tuple[str, ...]


@dataclass(frozen=True)
class Triage:
    level: str
    floor: str | None
    rules: tuple[RuleHit, ...]
    by_probability: str
    mass: dict[str, float]
    conditions: tuple[str, ...]  # the conditions whose urgency set the probability-based level


@dataclass(frozen=True)
class Assessment:
    triage: Triage
    conditions: tuple[RankedCondition, ...]
    evidence: Evidence


class Model:
    """The knowledge base compiled into arrays; built once, used for every assessment."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        policy = kb.policy
        self.conditions: list[str] = list(kb.conditions) + [OTHER]
        self.findings: list[str] = list(kb.findings)
        self.c_index = {c: i for i, c in enumerate(self.conditions)}
        self.f_index = {f: i for i, f in enumerate(self.findings)}
        freq = {name: value.probability for name, value in policy.frequency_classes.items()}
        # an unlinked finding: its own base rate, else the policy's leak for its kind
        leak = np.array(
            [
                f.base_rate.probability if f.base_rate else policy.leak.by_kind.get(f.kind, policy.leak.default).probability
                for f in kb.findings.values()
            ]
        )
        table = np.tile(leak, (len(self.conditions), 1))
        table[-1, :] = np.minimum(leak * policy.other_cause_finding.value, 0.5)
        prior = np.empty(len(self.conditions), dtype=np.float64)
        for i, cond in enumerate(kb.conditions.values()):
            prior[i] = cond.prevalence.weight
            for link in cond.findings:
                p = link.probability if link.probability is not None else freq[link.frequency]  # type: ignore[index]
                table[i, self.f_index[link.finding]] = p
        prior[-1] = policy.other_cause.probability
        if policy.prior_exponent is not None:  # flattened weights (policy `prior_exponent`, with its basis)
            prior = prior ** policy.prior_exponent.value
        self.table = table
        self.log_p = np.log(table)
        self.log_not_p = np.log1p(-table)
        self.prior = prior / prior.sum()
        self.log_prior = np.log(self.prior)
        # red-flag findings: the alarming findings (`flags`) of the emergency and urgent rules
        self.red_flag_findings = red_flag_findings(kb)
        # a defining circumstance the person neither stated nor denied counts a little against the condition
        # (policy `unmentioned`): log(1 - m x P(f | c)) for each such finding, summed over those not observed
        self.unmentioned_log = np.zeros_like(table)
        unmentioned = policy.unmentioned
        if unmentioned is not None and unmentioned.probability > 0:
            eligible = np.array([
                f.kind in unmentioned.kinds and f.id not in self.red_flag_findings for f in kb.findings.values()
            ])
            strong = (table >= unmentioned.min_frequency) & eligible[None, :]
            strong[-1, :] = False  # "another cause" has no defining circumstance
            self.unmentioned_log = np.where(strong, np.log1p(-unmentioned.probability * table), 0.0)
        self.unmentioned_total = self.unmentioned_log.sum(axis=1)
        self.default_rank = np.array(
            [_RANK[c.urgency.default] for c in kb.conditions.values()] + [_RANK["routine"]], dtype=np.int64
        )
        self.thresholds = {level: t.probability for level, t in policy.thresholds.items()}
        self.implied = {f.id: list(f.implies) for f in kb.findings.values() if f.implies}
        # rules and escalations as bit masks over the findings (bit i: finding i), checked with integer
        # operations on every assessment
        self._bit = {f: 1 << i for i, f in enumerate(self.findings)}
        self._rules = [
            (rule, self._mask(rule.all), self._mask(rule.any), self._mask(rule.none)) for rule in kb.rules.values()
        ]
        self._escalations = [
            (i, cond.id, esc, self._mask(esc.all), self._mask(esc.any), self._mask(esc.none))
            for i, cond in enumerate(kb.conditions.values())
            for esc in cond.urgency.escalations
        ]
        # a rule or an escalation can fire only when one of the findings of its `all` or `any` is present: each
        # finding lists the ones that name it, so an assessment checks only those (in their original order)
        self._rules_of: dict[str, list[int]] = {}
        for n, rule in enumerate(kb.rules.values()):
            for f in set(rule.all) | set(rule.any):
                self._rules_of.setdefault(f, []).append(n)
        self._escalations_of: dict[str, list[int]] = {}
        for n, (_, _, esc, _, _, _) in enumerate(self._escalations):
            for f in set(esc.all) | set(esc.any):
                self._escalations_of.setdefault(f, []).append(n)

    def _mask(self, findings: Iterable[str]) -> int:
        mask = 0
        for f in findings:
            mask |= self._bit.get(f, 0)
        return mask

    # -- evidence --------------------------------------------------------------------------
    def _indices(self, evidence: Evidence) -> tuple[list[int], list[int]]:
        present: set[str] = set()
        for f in evidence.present():
            present.add(f)
            present.update(self.implied.get(f, ()))
        absent = {f for f in evidence.absent() if f not in present}
        unknown = [f for f in present | absent if f not in self.f_index]
        if unknown:
            raise KeyError(f"unknown finding id(s): {', '.join(sorted(unknown))}")
        return [self.f_index[f] for f in sorted(present)], [self.f_index[f] for f in sorted(absent)]

    def posterior(self, evidence: Evidence) -> np.ndarray:
        present, absent = self._indices(evidence)
        score = self.log_prior + self.log_p[:, present].sum(axis=1) + self.log_not_p[:, absent].sum(axis=1)
        score += self.unmentioned_total - self.unmentioned_log[:, present + absent].sum(axis=1)
        score -= score.max()
        weights = np.exp(score)
        return weights / weights.sum()

    # -- triage ----------------------------------------------------------------------------
    def _present(self, evidence: Evidence) -> set[str]:
        present = set(evidence.present())
        for f in list(present):
            present.update(self.implied.get(f, ()))
        return present

    def _urgency(self, evidence: Evidence) -> tuple[np.ndarray, dict[str, tuple[str, ...]]]:
        present = self._present(evidence)
        mask = self._mask(present)
        rank = self.default_rank.copy()
        why: dict[str, tuple[str, ...]] = {}
        candidates = sorted({n for f in present for n in self._escalations_of.get(f, ())})
        for i, cid, esc, all_of, any_of, none_of in (self._escalations[n] for n in candidates):
            if _fires(all_of, any_of, none_of, mask) and _RANK[esc.level] < rank[i]:
                rank[i] = _RANK[esc.level]
                why[cid] = tuple(f for f in esc.all + esc.any if f in present)
        return rank, why

    def rules(self, evidence: Evidence) -> list[RuleHit]:
        present = self._present(evidence)
        mask = self._mask(present)
        candidates = sorted({n for f in present for n in self._rules_of.get(f, ())})
        hits = [
            RuleHit(rule.id, rule.level, tuple(f for f in rule.all + rule.any if f in present))
            for rule, all_of, any_of, none_of in (self._rules[n] for n in candidates)
            if _fires(all_of, any_of, none_of, mask)
        ]
        return sorted(hits, key=lambda h: (_RANK[h.level], h.id))

    def _by_probability(self, post: np.ndarray, rank: np.ndarray) -> tuple[int, dict[str, float], tuple[str, ...]]:
        """The most urgent level whose conditions (at their urgency) together reach its threshold."""
        mass: dict[str, float] = {}
        chosen, setting = _RANK["self_care"], ()
        for level in ("emergency", "urgent", "routine"):
            selected = rank <= _RANK[level]
            mass[level] = float(post[selected].sum())
            if chosen == _RANK["self_care"] and mass[level] >= self.thresholds[level]:
                chosen = _RANK[level]
                order = np.argsort(-post * selected, kind="stable")
                setting = tuple(self.conditions[i] for i in order[:3] if selected[i] and post[i] > 0.01)
        return chosen, mass, setting

    def assess(self, evidence: Evidence, *, top: int = 5) -> Assessment:
        post = self.posterior(evidence)
        rank, escalated = self._urgency(evidence)
        hits = self.rules(evidence)
        floor = min((_RANK[h.level] for h in hits), default=_RANK["self_care"])

        # Safety: a red-flag finding may only raise the level. It acts through the rules (the floor)
        # and the conditions' escalations (their urgency), which can only rise as findings are added;
        # the probability that weighs the conditions for triage leaves red-flag findings out, so that
        # reporting one can never move probability away from an urgent condition.
        flagged = set(evidence.present()) & self.red_flag_findings
        core = Evidence({f: o for f, o in evidence.observations.items() if f not in flagged}) if flagged else evidence
        by_probability, mass, setting = self._by_probability(self.posterior(core) if flagged else post, rank)
        level = LEVELS[min(floor, by_probability)]
        triage = Triage(
            level=level,
            floor=LEVELS[floor] if hits else None,
            rules=tuple(hits),
            by_probability=LEVELS[by_probability],
            mass=mass,
            conditions=setting,
        )
        order = np.argsort(-post, kind="stable")[:top]
        explained = self._contributions([int(i) for i in order], evidence)
        ranked = tuple(
            RankedCondition(
                id=self.conditions[i],
                probability=float(post[i]),
                urgency=LEVELS[int(rank[i])],
                escalated_by=escalated.get(self.conditions[i], ()),
                contributions=why,
            )
            for i, why in zip(order, explained)
        )
        return Assessment(triage=triage, conditions=ranked, evidence=evidence)

    def probabilities(self, evidence: Evidence) -> dict[str, float]:
        post = self.posterior(evidence)
        return {c: float(p) for c, p in zip(self.conditions, post)}

    # -- explanation -----------------------------------------------------------------------
    def contributions(self, condition: str, evidence: Evidence) -> tuple[Contribution, ...]:
        """Each finding's likelihood ratio for ``condition`` against the others (prior-weighted)."""
        return self._contributions([self.c_index[condition]], evidence)[0]

    def _contributions(self, rows: list[int], evidence: Evidence) -> list[tuple[Contribution, ...]]:
        """Likelihood ratios of the person's findings for several conditions at once."""
        items = [(f, o.state, self.f_index[f]) for f, o in sorted(evidence.observations.items()) if f in self.f_index]
        if not items:
            return [() for _ in rows]
        columns = np.array([fi for _, _, fi in items])
        idx = np.array(rows)
        p_c = self.table[np.ix_(idx, columns)]  # conditions x findings
        # P(f | not c): the other conditions' P(f), weighted by their priors
        total = self.prior @ self.table[:, columns]
        prior_c = self.prior[idx][:, None]
        p_rest = (total[None, :] - prior_c * p_c) / (1.0 - prior_c)
        present = np.array([state == "present" for _, state, _ in items])[None, :]
        ratio = np.where(present, p_c / p_rest, (1 - p_c) / (1 - p_rest))
        order = np.argsort(-np.abs(np.log(ratio)), axis=1, kind="stable").tolist()
        ratios, probabilities = ratio.tolist(), p_c.tolist()  # plain floats, read element by element below
        return [
            tuple(
                Contribution(items[j][0], items[j][1], ratios[r][j], probabilities[r][j])  # type: ignore[arg-type]
                for j in order[r]
            )
            for r in range(len(rows))
        ]


def _fires(all_of: int, any_of: int, none_of: int, present: int) -> bool:
    """All of ``all_of``, at least one of ``any_of`` (if any), none of ``none_of``: masks of findings."""
    return all_of & present == all_of and (not any_of or bool(any_of & present)) and not none_of & present


def red_flag_findings(kb: KnowledgeBase) -> frozenset[str]:
    """The findings that make an emergency or urgent rule alarming (its ``flags``)."""
    return frozenset(f for rule in kb.rules.values() if rule.level in ("emergency", "urgent") for f in rule.red_flags)
