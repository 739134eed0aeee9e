"""The clinical safety case (docs/safety.md): the controls of the hazard log that had no test of their own,
and a check that every hazard names tests that exist."""

from __future__ import annotations

import re

import pytest

from spasmo.engine import Engine
from spasmo.knowledge import load

from .conftest import ROOT

KB = load()
RULES = sorted(KB.rules.values(), key=lambda r: r.id)
RED_FLAGS = sorted({f for r in RULES if r.level in ("emergency", "urgent") for f in (r.flags or r.all or r.any)})
_ENGINE = Engine(KB)


def _read_present(finding: str, text: str, language: str) -> bool:
    try:
        reading = _ENGINE.read(text, language)
    except ValueError:
        return False
    return any(o.finding == finding and o.state == "present" for o in reading.observations())


def _phrase(finding: str, language: str) -> str | None:
    """The first of the finding's own words that the reader reads as that finding, present."""
    for term in getattr(KB.findings[finding].terms, language):
        if _read_present(finding, term, language):
            return term
    return None


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_every_rule_finding_is_read_from_an_english_and_an_italian_phrase(rule):
    for finding in sorted(set(rule.all) | set(rule.any)):
        for language in ("en", "it"):
            assert _phrase(finding, language), f"{rule.id}: no {language} phrase is read as {finding}"


NEGATED_BEFORE = {
    "en": ["No coffee, no alcohol. {t}", "I don't drink coffee, but {t}"],
    "it": ["Niente caffè, niente alcol. {t}", "Non bevo caffè, ma {t}"],
}


@pytest.mark.parametrize("language", ["en", "it"])
def test_a_red_flag_after_a_negated_clause_is_still_read_present(language):
    lost = []
    for finding in RED_FLAGS:
        phrase = _phrase(finding, language)
        for frame in NEGATED_BEFORE[language]:
            text = frame.format(t=phrase)
            if not _read_present(finding, text, language):
                lost.append((finding, text))
    assert len(RED_FLAGS) >= 20
    assert lost == [], lost


@pytest.mark.parametrize("text, language", [
    ("my jaw is locked and I can't open my mouth, I stepped on a rusty nail last week", "en"),
    ("mi si blocca la mascella da due giorni, mi ero ferita con un chiodo", "it"),
])
def test_an_emergency_report_says_to_call_112_in_either_language(engine, text, language):
    report = engine.assess_text(text)
    assert report["language"] == language
    assert report["triage"]["level"] == "emergency"
    assert report["triage"]["emergency_number"] == "112"
    assert report["advice"]["now"], "an emergency comes with what to do now"


# -- the hazard log names tests that exist ---------------------------------------------------------
SAFETY = ROOT / "docs" / "safety.md"


def _hazards() -> list[tuple[str, list[str]]]:
    rows = [line for line in SAFETY.read_text(encoding="utf-8").splitlines() if re.match(r"^\| H\d+ ", line)]
    return [(row.split("|")[1].strip(), re.findall(r"`(tests/[\w/]+\.py::\w+)`", row)) for row in rows]


def test_every_hazard_in_the_log_names_at_least_one_test_and_each_exists():
    hazards = _hazards()
    assert len(hazards) >= 8
    for hazard, tests in hazards:
        assert tests, f"{hazard} names no test"
        for reference in tests:
            path, name = reference.split("::")
            source = (ROOT / path).read_text(encoding="utf-8")
            assert re.search(rf"^def {name}\(", source, re.M), f"{hazard}: {reference} does not exist"


@pytest.mark.parametrize("doc", ["safety.md", "security.md"])
def test_every_test_the_safety_and_security_docs_name_exists(doc):
    references = re.findall(r"`(tests/[\w/]+\.py::\w+)`", (ROOT / "docs" / doc).read_text(encoding="utf-8"))
    assert len(references) >= 15
    for reference in references:
        path, name = reference.split("::")
        assert re.search(rf"^def {name}\(", (ROOT / path).read_text(encoding="utf-8"), re.M), reference
