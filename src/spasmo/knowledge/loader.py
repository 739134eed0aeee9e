"""Load the YAML knowledge base into validated, cross-referenced objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import BaseModel, ValidationError

from .schema import Advice, Condition, Finding, Policy, Question, Rule, Source, Text

__all__ = ["KnowledgeBase", "KnowledgeError", "Problem", "load", "default_data_dir"]

try:  # the C loader is several times faster; fall back where libyaml is missing
    _Base: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Base = yaml.SafeLoader


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """Safe YAML that refuses a key given twice in one mapping (YAML would silently keep the last)."""


def _no_duplicates(loader: Any, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is given twice in one mapping; merge the two", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the knowledge base, said so that an author can fix it."""

    file: str
    entry: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.entry}: {self.message}"


class KnowledgeError(Exception):
    """The knowledge base cannot be used; ``problems`` says what to fix."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"the knowledge base has {len(problems)} problem(s):\n{lines}{more}")


@dataclass
class KnowledgeBase:
    """Everything spasmo knows, loaded once and read by all."""

    sources: dict[str, Source]
    findings: dict[str, Finding]
    conditions: dict[str, Condition]
    groups: dict[str, str]  # condition id -> file name it came from
    rules: dict[str, Rule]
    advice: dict[str, Advice]
    policy: Policy
    directory: Path
    files: dict[str, str] = field(default_factory=dict)  # entry key -> file name
    #: questions beyond yes/no (questions.yaml); every other finding is asked with its own yes/no question
    questions: dict[str, Question] = field(default_factory=dict)

    @cached_property
    def condition_ids(self) -> list[str]:
        return list(self.conditions)

    @cached_property
    def finding_ids(self) -> list[str]:
        return list(self.findings)


def default_data_dir() -> Path:
    return Path(str(resources.files("spasmo.knowledge") / "data"))


def _read_yaml(path: Path, problems: list[Problem]) -> Any:
    try:
        with path.open("rb") as handle:
            return yaml.load(handle, Loader=_Loader)
    except FileNotFoundError:
        problems.append(Problem(path.name, "-", "the file is missing"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(path.name, "-", f"the file is not UTF-8 text ({exc.reason}); save it as UTF-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "-"
        what = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(path.name, where, f"not valid YAML: {what}"))
    return None


def _describe(error: dict[str, Any]) -> str:
    loc = ".".join(str(part) for part in error["loc"])
    msg = error["msg"]
    if error["type"] == "extra_forbidden":
        msg = "unknown key; remove it or check its spelling"
    elif error["type"] == "missing":
        msg = "required key is missing; add it"
    return f"{loc}: {msg}" if loc else msg


def _validate_list(
    raw: Any, key: str, model: type[BaseModel], file: str, problems: list[Problem]
) -> list[Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get(key), list):
        problems.append(Problem(file, "-", f"expected a mapping with a list under '{key}:'"))
        return []
    out = []
    for index, item in enumerate(raw[key]):
        name = item.get("id", f"#{index + 1}") if isinstance(item, dict) else f"#{index + 1}"
        try:
            out.append(model.model_validate(item))
        except ValidationError as exc:
            for error in exc.errors():
                problems.append(Problem(file, str(name), _describe(error)))
    return out


def _apply_terms(base: Path, findings: dict[str, Finding], problems: list[Problem]) -> dict[str, Finding]:
    """Merge the per-language lexicon files (terms_en.yaml, terms_it.yaml) into the findings.

    Each file: ``language: en``, ``terms: {finding_id: [words ...]}`` and optionally
    ``remove: {finding_id: [words ...]}`` for words of findings.yaml that misfire.
    """
    for path in sorted(base.glob("terms_*.yaml")):
        raw = _read_yaml(path, problems)
        if raw is None:
            continue
        if not isinstance(raw, dict) or raw.get("language") not in ("en", "it"):
            problems.append(Problem(path.name, "-", "expected 'language: en' or 'language: it' and a 'terms:' mapping"))
            continue
        unknown_keys = set(raw) - {"language", "terms", "remove"}
        for key in sorted(unknown_keys):
            problems.append(Problem(path.name, key, "unknown key; a terms file has 'language', 'terms' and 'remove'"))
        lang = raw["language"]
        for section in ("terms", "remove"):
            table = raw.get(section) or {}
            if not isinstance(table, dict):
                problems.append(Problem(path.name, section, "expected a mapping of finding id to a list of words"))
                continue
            for fid, words in table.items():
                if fid not in findings:
                    problems.append(Problem(path.name, str(fid), "finding is not in findings.yaml; add it there first"))
                    continue
                if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
                    problems.append(Problem(path.name, str(fid), f"{section}: expected a list of words"))
                    continue
                finding = findings[fid]
                current = list(getattr(finding.terms, lang))
                if section == "terms":
                    merged = current + [w for w in words if w not in current]
                else:
                    merged = [w for w in current if w not in set(words)]
                terms = finding.terms.model_copy(update={lang: merged})
                findings[fid] = finding.model_copy(update={"terms": terms})
    return findings


def load(directory: Path | str | None = None) -> KnowledgeBase:
    """Read and validate every file; raise :class:`KnowledgeError` listing all problems found."""
    base = Path(directory) if directory else default_data_dir()
    problems: list[Problem] = []
    if not base.is_dir():
        raise KnowledgeError([Problem(str(base), "-", "the knowledge-base folder does not exist")])

    def read_all(stem: str, key: str, model: type[BaseModel], kind: str) -> dict[str, Any]:
        # authors may split a list over several files (stem.yaml, stem_more.yaml ...)
        out: dict[str, Any] = {}
        paths = sorted(base.glob(f"{stem}*.yaml"))
        if not paths:
            problems.append(Problem(f"{stem}.yaml", "-", "the file is missing"))
        for path in paths:
            items = _validate_list(_read_yaml(path, problems), key, model, path.name, problems)
            for item in items:
                if item.id in out:
                    problems.append(Problem(path.name, item.id, f"duplicate {kind} id; each id must be unique"))
                out[item.id] = item
        return out

    sources = read_all("sources", "sources", Source, "source")
    findings = read_all("findings", "findings", Finding, "finding")
    findings = _apply_terms(base, findings, problems)
    rules = read_all("rules", "rules", Rule, "rule")
    advice = read_all("advice", "advice", Advice, "advice")
    # optional: without questions*.yaml every finding is asked with its own yes/no question
    questions: dict[str, Question] = {}
    for path in sorted(base.glob("questions*.yaml")):
        for item in _validate_list(_read_yaml(path, problems), "questions", Question, path.name, problems):
            if item.id in questions:
                problems.append(Problem(path.name, item.id, "duplicate question id; each id must be unique"))
            questions[item.id] = item
    policy: Policy | None = None
    raw_policy = _read_yaml(base / "policy.yaml", problems)
    if raw_policy is not None:
        try:
            policy = Policy.model_validate(raw_policy)
        except ValidationError as exc:
            problems.extend(Problem("policy.yaml", "policy", _describe(e)) for e in exc.errors())

    conditions: dict[str, Condition] = {}
    groups: dict[str, str] = {}
    condition_files = sorted((base / "conditions").glob("*.yaml"))
    if not condition_files:
        problems.append(Problem("conditions/", "-", "no condition files found"))
    for path in condition_files:
        file = f"conditions/{path.name}"
        raw = _read_yaml(path, problems)
        if raw is None:
            continue
        if not isinstance(raw, dict):
            problems.append(Problem(file, "-", "expected a mapping with 'group:' and 'conditions:'"))
            continue
        for index, item in enumerate(raw.get("conditions") or []):
            name = item.get("id", f"#{index + 1}") if isinstance(item, dict) else f"#{index + 1}"
            try:
                condition = Condition.model_validate(item)
            except ValidationError as exc:
                problems.extend(Problem(file, str(name), _describe(e)) for e in exc.errors())
                continue
            if condition.id in conditions:
                problems.append(Problem(file, condition.id, f"duplicate condition id (also in {groups[condition.id]})"))
            conditions[condition.id] = condition
            groups[condition.id] = file
        for key in sorted(set(raw) - {"group", "conditions"}):
            problems.append(Problem(file, key, "unknown key; a condition file has only 'group:' and 'conditions:'"))
        try:
            Text.model_validate(raw.get("group"))
        except ValidationError as exc:
            problems.extend(Problem(file, "group", _describe(e)) for e in exc.errors())

    kb = None
    if policy is not None:
        kb = KnowledgeBase(sources, findings, conditions, groups, rules, advice, policy, base, questions=questions)
        problems.extend(_references(kb))
    if problems:
        raise KnowledgeError(problems)
    assert kb is not None
    return kb


def _references(kb: KnowledgeBase) -> list[Problem]:
    """Every id that one entry names must exist: sources, findings, advice."""
    problems: list[Problem] = []

    def need_sources(file: str, entry: str, ids: Iterable[str]) -> None:
        for sid in ids:
            if sid not in kb.sources:
                problems.append(Problem(file, entry, f"source '{sid}' is not in sources.yaml; add it there"))

    def need_findings(file: str, entry: str, ids: Iterable[str]) -> None:
        for fid in ids:
            if fid not in kb.findings:
                problems.append(Problem(file, entry, f"finding '{fid}' is not in findings.yaml; add it there"))

    def need_advice(file: str, entry: str, ids: Iterable[str]) -> None:
        for aid in ids:
            if aid not in kb.advice:
                problems.append(Problem(file, entry, f"advice '{aid}' is not in advice.yaml; add it there"))

    for finding in kb.findings.values():
        need_findings("findings.yaml", finding.id, finding.implies + finding.excludes + finding.narrows)
        if finding.base_rate:
            need_sources("findings.yaml", f"{finding.id}.base_rate", finding.base_rate.sources)
    for cond in kb.conditions.values():
        file = kb.groups[cond.id]
        need_sources(file, cond.id, cond.sources)
        need_sources(file, f"{cond.id}.chain_sources", cond.chain_sources)
        need_sources(file, f"{cond.id}.prevalence", cond.prevalence.sources)
        need_sources(file, f"{cond.id}.urgency", cond.urgency.sources)
        seen: set[str] = set()
        for link in cond.findings:
            entry = f"{cond.id}.findings.{link.finding}"
            if link.finding in seen:
                problems.append(Problem(file, entry, "the finding is linked twice; keep one link"))
            seen.add(link.finding)
            need_findings(file, entry, [link.finding])
            need_sources(file, entry, link.sources)
        for n, esc in enumerate(cond.urgency.escalations, 1):
            entry = f"{cond.id}.urgency.escalations[{n}]"
            need_findings(file, entry, esc.any + esc.all + esc.none)
            need_sources(file, entry, esc.sources)
        need_advice(file, cond.id, cond.self_care + cond.treatment + cond.see_doctor)
    for rule in kb.rules.values():
        need_findings("rules.yaml", rule.id, rule.any + rule.all + rule.none)
        need_sources("rules.yaml", rule.id, rule.sources)
        need_advice("rules.yaml", rule.id, rule.advice)
    for item in kb.advice.values():
        need_sources("advice.yaml", item.id, item.sources)
    need_sources("policy.yaml", "policy", kb.policy.sources)
    asked_by: dict[str, str] = {}
    for question in kb.questions.values():
        need_findings("questions.yaml", question.id, question.findings)
        for fid in question.findings:
            if fid in asked_by:
                problems.append(Problem("questions.yaml", question.id,
                                        f"finding '{fid}' is already asked by question '{asked_by[fid]}'; keep it in one"))
            asked_by[fid] = question.id
    return problems
