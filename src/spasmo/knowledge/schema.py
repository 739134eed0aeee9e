"""The shape of the knowledge base: every YAML file is validated against these models.

Unknown keys are refused (``extra="forbid"``) so that a typo in a reviewed file is an
error, not a silently ignored field.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "LEVELS",
    "CHAIN_STEPS",
    "FREQUENCY_CLASSES",
    "Level",
    "Chain",
    "Text",
    "Terms",
    "Source",
    "Finding",
    "Link",
    "Escalation",
    "Urgency",
    "Prevalence",
    "Codes",
    "Condition",
    "ConditionGroup",
    "Rule",
    "Advice",
    "Policy",
    "Option",
    "Cut",
    "Question",
]

#: Triage levels, most urgent first (contract section 2).
LEVELS: tuple[str, ...] = ("emergency", "urgent", "routine", "self_care")
#: Steps of the path to a contraction (contract section 3).
CHAIN_STEPS: tuple[str, ...] = (
    "brain",
    "spinal_cord",
    "peripheral_nerve",
    "neuromuscular_junction",
    "muscle_membrane",
    "muscle_fibre",
    "muscle_metabolism",
    "smooth_muscle",
    "mimic",
)
#: HPO frequency classes (HP:0040279 and its children).
FREQUENCY_CLASSES: tuple[str, ...] = (
    "obligate",
    "very_frequent",
    "frequent",
    "occasional",
    "very_rare",
    "excluded",
)

Level = Literal["emergency", "urgent", "routine", "self_care"]
Chain = Literal[
    "brain",
    "spinal_cord",
    "peripheral_nerve",
    "neuromuscular_junction",
    "muscle_membrane",
    "muscle_fibre",
    "muscle_metabolism",
    "smooth_muscle",
    "mimic",
]
FrequencyClass = Literal["obligate", "very_frequent", "frequent", "occasional", "very_rare", "excluded"]

_ID = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """The same statement in English and Italian."""

    en: str = Field(min_length=1)
    it: str = Field(min_length=1)


class Terms(_Strict):
    """Words and phrases people use for a finding, per language."""

    en: list[str] = Field(default_factory=list)
    it: list[str] = Field(default_factory=list)


class Source(_Strict):
    """A public document that supports a statement."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    url: str
    title: str = Field(min_length=1)
    publisher: str = Field(min_length=1)
    language: Literal["en", "it"] = "en"

    @field_validator("url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+\.[^\s]+$", value):
            raise ValueError(f"{value!r} is not a public http(s) URL")
        return value


FindingKind = Literal["symptom", "location", "timing", "trigger", "relief", "course", "context", "exposure", "history"]


class BaseRate(_Strict):
    probability: float = Field(gt=0.0, lt=1.0)
    basis: str = Field(min_length=10)
    sources: list[str] = Field(min_length=1)


class Finding(_Strict):
    """Something a person can report: a symptom, a circumstance, an exposure, a history."""

    id: str = Field(pattern=_ID)
    kind: FindingKind
    name: Text
    question: Text
    terms: Terms
    hpo: str | None = Field(default=None, pattern=r"^HP:\d{7}$")
    #: Finding ids that this one implies when present (e.g. a calf cramp at night implies a cramp).
    implies: list[str] = Field(default_factory=list)
    #: Findings that cannot be present together with this one (e.g. eased / not eased by stretching).
    excludes: list[str] = Field(default_factory=list)
    #: Broader findings this one narrows: a phrase for this finding that contains a phrase of the broader
    #: one reads as this finding only ("eyelid twitch" is not also twitching in general).
    narrows: list[str] = Field(default_factory=list)
    #: How often anyone reports it, whatever the cause: used for conditions that do not link it
    #: (instead of the policy's leak for its kind), e.g. being over 60.
    base_rate: BaseRate | None = None


class Link(_Strict):
    """How often a finding occurs with a condition, with where that figure comes from."""

    finding: str = Field(pattern=_ID)
    frequency: FrequencyClass | None = None
    probability: float | None = Field(default=None, gt=0.0, lt=1.0)
    basis: str | None = None
    sources: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_measure(self) -> "Link":
        if (self.frequency is None) == (self.probability is None):
            raise ValueError("give exactly one of 'frequency' (an HPO class) or 'probability' (a published figure)")
        if self.probability is not None and not self.basis:
            raise ValueError("a 'probability' needs a 'basis' saying where the figure comes from")
        return self


class Escalation(_Strict):
    """The condition calls for a more urgent level when these findings are present."""

    level: Level
    any: list[str] = Field(default_factory=list)
    all: list[str] = Field(default_factory=list)
    #: none of these may be present (a first episode: not when it has recurred for weeks)
    none: list[str] = Field(default_factory=list)
    sources: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _has_findings(self) -> "Escalation":
        if not self.any and not self.all:
            raise ValueError("an escalation needs findings under 'any' or 'all'")
        return self


class Urgency(_Strict):
    default: Level
    escalations: list[Escalation] = Field(default_factory=list)
    sources: list[str] = Field(min_length=1)


class Prevalence(_Strict):
    """How common the condition is among people who report spasms or cramps (a relative prior)."""

    weight: float = Field(gt=0.0, le=1.0)
    basis: str = Field(min_length=10)
    sources: list[str] = Field(min_length=1)


class Codes(_Strict):
    icd10: list[str] = Field(min_length=1)
    orpha: list[str] = Field(default_factory=list)
    omim: list[str] = Field(default_factory=list)


class Condition(_Strict):
    id: str = Field(pattern=_ID)
    name: Text
    description: Text
    chain: Chain
    chain_sources: list[str] = Field(min_length=1)
    prevalence: Prevalence
    codes: Codes
    urgency: Urgency
    findings: list[Link] = Field(min_length=1)
    self_care: list[str] = Field(default_factory=list)
    treatment: list[str] = Field(default_factory=list)
    see_doctor: list[str] = Field(default_factory=list)
    sources: list[str] = Field(min_length=1)


class ConditionGroup(_Strict):
    """One file of conditions."""

    group: Text
    conditions: list[Condition] = Field(min_length=1)


class Rule(_Strict):
    """A red-flag rule: when its findings are present, the level cannot be lower than ``level``.

    ``flags`` names the alarming findings among ``all`` and ``any`` (by default ``all`` when it is
    given, else ``any``); the others are the context (e.g. a cramp, with palpitations as the flag).
    The flags of emergency and urgent rules are the red-flag findings; routine rules carry the
    reasons to book a visit.
    """

    id: str = Field(pattern=_ID)
    level: Level
    any: list[str] = Field(default_factory=list)
    all: list[str] = Field(default_factory=list)
    #: the rule does not fire when one of these is present (e.g. weakness for months is not "new");
    #: they may never be red-flag findings, so that a red flag can only raise the level
    none: list[str] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    reason: Text
    advice: list[str] = Field(default_factory=list)
    sources: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _has_findings(self) -> "Rule":
        if not self.any and not self.all:
            raise ValueError("a rule needs findings under 'any' or 'all'")
        if set(self.flags) - set(self.any) - set(self.all):
            raise ValueError("'flags' must be findings listed under 'any' or 'all'")
        return self

    @property
    def red_flags(self) -> list[str]:
        return list(self.flags) or list(self.all) or list(self.any)


class Advice(_Strict):
    id: str = Field(pattern=_ID)
    kind: Literal["self_care", "treatment", "see_doctor", "level", "general"]
    text: Text
    sources: list[str] = Field(min_length=1)


class FrequencyValue(_Strict):
    probability: float = Field(gt=0.0, lt=1.0)
    basis: str


class Threshold(_Strict):
    probability: float = Field(gt=0.0, lt=1.0)
    basis: str


class Leak(_Strict):
    """P(finding | condition) for a finding the condition does not link, by kind of finding."""

    default: FrequencyValue
    by_kind: dict[FindingKind, FrequencyValue] = Field(default_factory=dict)


class Factor(_Strict):
    value: float = Field(ge=1.0, le=10.0)
    basis: str


class Unmentioned(_Strict):
    """How often a person who has a defining circumstance of their condition mentions it unprompted."""

    probability: float = Field(ge=0.0, lt=1.0)
    kinds: list[FindingKind] = Field(min_length=1)
    min_frequency: float = Field(gt=0.0, le=1.0)
    basis: str


class PriorExponent(_Strict):
    """How far the conditions' prevalence weights are flattened: the prior is proportional to weight ** value."""

    value: float = Field(gt=0.0, le=1.0)
    basis: str


class Policy(_Strict):
    """The numbers the reasoning uses that are not tied to one condition, each with its basis."""

    frequency_classes: dict[FrequencyClass, FrequencyValue]
    leak: Leak
    other_cause: FrequencyValue
    other_cause_finding: Factor
    unmentioned: Unmentioned | None = None
    prior_exponent: PriorExponent | None = None
    thresholds: dict[Literal["emergency", "urgent", "routine"], Threshold]
    disclaimer: Text
    emergency_number: Text
    sources: list[str] = Field(min_length=1)


class Option(_Strict):
    """One answer of a choose-one or choose-several question: the finding it reports present.

    The label defaults to the finding's name; an option without a finding is "none of these".
    """

    finding: str | None = Field(default=None, pattern=_ID)
    label: Text | None = None

    @model_validator(mode="after")
    def _named(self) -> "Option":
        if self.finding is None and self.label is None:
            raise ValueError("an option without a finding ('none of these') needs a 'label'")
        return self


class Cut(_Strict):
    """A number answer makes ``finding`` present inside the bounds and absent outside them."""

    finding: str = Field(pattern=_ID)
    more_than: float | None = None
    at_least: float | None = None
    less_than: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> "Cut":
        if self.more_than is None and self.at_least is None and self.less_than is None:
            raise ValueError("a cut needs 'more_than', 'at_least' or 'less_than'")
        if self.more_than is not None and self.at_least is not None:
            raise ValueError("give 'more_than' or 'at_least', not both")
        return self

    def holds(self, value: float) -> bool:
        return (
            (self.more_than is None or value > self.more_than)
            and (self.at_least is None or value >= self.at_least)
            and (self.less_than is None or value < self.less_than)
        )


class Question(_Strict):
    """A question beyond yes/no (every finding has its own yes/no question in findings.yaml).

    ``one``: choose one option; the others' findings become absent. ``several``: choose any
    number; the options not chosen become absent. ``number``: a number with a unit, turned into
    findings by ``cuts``. A finding named here is asked through this question, not on its own.
    """

    id: str = Field(pattern=_ID)
    kind: Literal["one", "several", "number"]
    text: Text
    options: list[Option] = Field(default_factory=list)
    unit: Text | None = None
    minimum: float | None = None
    maximum: float | None = None
    cuts: list[Cut] = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete(self) -> "Question":
        if self.kind == "number":
            if not self.cuts or self.unit is None or self.minimum is None or self.maximum is None:
                raise ValueError("a number question needs 'unit', 'minimum', 'maximum' and 'cuts'")
            if self.options:
                raise ValueError("a number question has 'cuts', not 'options'")
            if self.minimum >= self.maximum:
                raise ValueError("'minimum' must be below 'maximum'")
        else:
            if len([o for o in self.options if o.finding]) < 2:
                raise ValueError(f"a '{self.kind}' question needs at least two options with a finding")
            if self.cuts or self.unit is not None:
                raise ValueError(f"a '{self.kind}' question has 'options', not 'cuts' or 'unit'")
        return self

    @property
    def findings(self) -> list[str]:
        """The findings this question settles, in order."""
        found = [o.finding for o in self.options if o.finding] + [c.finding for c in self.cuts]
        return list(dict.fromkeys(found))
