"""The reader takes from a text the findings the person wrote, with their state and span."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from spasmo.reading import ReadingError, detect_language

EXAMPLES = yaml.safe_load((Path(__file__).parent / "data" / "reading_examples.yaml").read_text(encoding="utf-8"))[
    "examples"
]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["text"][:40] for e in EXAMPLES])
def test_findings_and_their_state_are_read(engine, example):
    reading = engine.read(example["text"], "auto")
    assert reading.language == example["lang"]
    states = {o.finding: o.state for o in reading.observations()}
    for finding in example.get("present", []):
        assert states.get(finding) == "present", f"{finding} not read as present: {states}"
    for finding in example.get("absent", []):
        assert states.get(finding) == "absent", f"{finding} not read as absent: {states}"
    for finding in example.get("not", []):
        assert states.get(finding) != "present", f"{finding} wrongly read as present"


def test_every_finding_carries_the_span_it_came_from(engine):
    text = "Non ho febbre ma la mascella è rigida."
    for obs in engine.read(text, "it").observations():
        start, end = obs.span
        assert text[start:end] == obs.text and obs.text


def test_language_is_told_apart():
    assert detect_language("I keep getting cramps in my legs at night") == "en"
    assert detect_language("mi vengono i crampi alle gambe di notte") == "it"
    assert detect_language("crampi") == "it"


@pytest.mark.parametrize(
    "text, message",
    [("", "empty"), ("   \n ", "empty"), ("x" * 10_001, "10,000")],
)
def test_bad_text_gets_a_clear_message(engine, text, message):
    with pytest.raises(ReadingError, match=message):
        engine.read(text, "auto")


def test_unknown_language_code_is_refused(engine):
    with pytest.raises(ReadingError, match="'de'"):
        engine.read("Ich habe Krämpfe", "de")


def test_a_text_in_another_language_is_refused_with_what_spasmo_reads(engine):
    with pytest.raises(ReadingError, match="English and Italian"):
        engine.read("J'ai des crampes dans les mollets la nuit depuis trois semaines", "auto")


def test_a_forced_language_reads_even_a_short_text(engine):
    assert engine.read("crampi", "it").language == "it"


def test_a_typo_is_corrected_but_a_real_word_is_not(engine):
    states = {o.finding for o in engine.read("ho un cranpo al polpacico", "it").observations()}
    assert {"muscle_cramp", "location_calf"} <= states
    assert not engine.read("ti chiedo un parere sulla politica e la storia", "it").observations()


def test_uncertain_red_flags_are_kept_for_safety(engine):
    states = {o.finding: o.state for o in engine.read("maybe my urine is dark like cola, not sure", "en").observations()}
    assert states.get("dark_urine") == "present"


def test_the_pattern_shortcut_never_skips_a_pattern_that_matches(engine):
    """Each number/duration pattern runs only when a string it needs is in the text; that set is
    derived from the pattern, and must hold for every text of the corpora and cases it matches."""
    from spasmo.reading.text import DIGIT, fold, needs_text, required_strings

    root = Path(__file__).resolve().parent.parent
    texts = [t["text"] for p in sorted((root / "benchmarks" / "reading").glob("corpus_*.yaml"))
             for t in yaml.safe_load(p.read_text(encoding="utf-8"))["texts"]]
    texts += [c["text"] for p in sorted((root / "cases").glob("*.yaml"))
              for c in yaml.safe_load(p.read_text(encoding="utf-8"))["cases"]]
    checked = 0
    for lang, patterns in engine.reader.patterns.items():
        for finding, regex, _, _, needs, _ in patterns:
            if needs is None:
                continue
            for text in map(fold, texts):
                if regex.search(text):
                    checked += 1
                    assert any(n in needs_text(text) for n in needs), (lang, finding, regex.pattern, text)
    assert checked > 50
    assert required_strings(r"(?:last(?:s|ed)?|for)\s+(?P<n>\d+)\s*min") == {"last", "for"}
    assert required_strings(r"\b(?:left|right)? calf") == {" calf"}
    assert required_strings(r"(?:a|b)x") is None  # a one-letter string would skip nothing
    assert required_strings(r"[") is None  # a pattern that does not parse: no shortcut
    assert required_strings(r"(?P<n>\d{2})\s?(?:m|f)\b") == {DIGIT}  # a number: the text must hold a digit


@pytest.mark.parametrize("text, lang", [
    ("I assumed it was just a pulled muscle with chest pain and trouble breathing", "en"),
    ("Pensavo fosse uno stiramento, con un dolore forte al petto e fatica a respirare", "it"),
])
def test_a_guess_at_the_cause_never_hides_a_red_flag(engine, text, lang):
    """A guess ("I assumed", "pensavo fosse") leaves what follows it unknown, except red flags (safety first)."""
    states = {o.finding: o.state for o in engine.read(text, lang).observations()}
    assert states.get("chest_pain") == "present" and states.get("trouble_breathing") == "present", states
    assert "sudden_pain_during_movement" not in states  # the guess itself is not read
