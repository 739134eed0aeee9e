"""Reading benchmark: precision, recall and F1 of findings with their state, per language and difficulty.

Run: `make bench-reading` (or `.venv/bin/python benchmarks/reading/run.py [--split test|dev|all]`).
Rules of the reader may be written against the dev split only; the test split is for measuring.
With `--baseline` (needs the bench extra: spaCy and negspacy), the English texts are also read by the same
lexicon with negspacy's NegEx in place of spasmo's negation, side by side.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from spasmo.engine import Engine
from spasmo.reading import detect_language

HERE = Path(__file__).resolve().parent
DIFFICULTIES = ("negation", "uncertainty", "history", "experiencer", "typo")


def load(split: str) -> list[dict[str, Any]]:
    texts = []
    for path in sorted(HERE.glob("corpus_*.yaml")):
        lang = path.stem.split("_")[1]
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["texts"]:
            if split == "all" or item.get("split", "dev") == split:
                texts.append({**item, "language": lang, "batch": path.name})
    return texts


def score(pairs: list[tuple[set, set]]) -> dict[str, float]:
    tp = sum(len(g & p) for g, p in pairs)
    fp = sum(len(p - g) for g, p in pairs)
    fn = sum(len(g - p) for g, p in pairs)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": len(pairs), "precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def negation_accuracy(items: list[tuple[dict, dict]]) -> float:
    """Of the gold findings the reader found at all, the share whose state (present/absent) is right."""
    right = total = 0
    for gold, predicted in items:
        for finding, state in gold.items():
            if finding in predicted:
                total += 1
                right += predicted[finding] == state
    return round(right / total, 3) if total else 1.0


def run(engine: Engine, texts: list[dict[str, Any]], reader=None) -> dict[str, Any]:
    read = reader or (lambda text, lang: {o.finding: o.state for o in engine.read(text, lang).observations()})
    by_language: dict[str, list] = defaultdict(list)
    by_batch: dict[str, list] = defaultdict(list)
    by_difficulty: dict[str, list] = defaultdict(list)
    states: list[tuple[dict, dict]] = []
    errors = []
    for item in texts:
        gold = dict(item.get("findings") or {})
        predicted = read(item["text"], item["language"])
        pair = ({(f, s) for f, s in gold.items()}, {(f, s) for f, s in predicted.items()})
        by_language[item["language"]].append(pair)
        for tag in item.get("difficulty") or []:
            by_difficulty[tag].append(pair)
        by_language["all"].append(pair)
        by_batch[item.get("batch", "?")].append(pair)
        states.append((gold, predicted))
        if pair[0] != pair[1]:
            errors.append((item["id"], sorted(pair[0] - pair[1]), sorted(pair[1] - pair[0])))
    return {
        "by_language": {k: score(v) for k, v in sorted(by_language.items())},
        "by_batch": {k: score(v) for k, v in sorted(by_batch.items())},
        "by_difficulty": {k: score(by_difficulty[k]) for k in DIFFICULTIES if by_difficulty.get(k)},
        "negation_state_accuracy": negation_accuracy(states),
        "errors": errors,
    }


def language_accuracy(texts: list[dict[str, Any]]) -> float:
    return round(sum(detect_language(t["text"]) == t["language"] for t in texts) / len(texts), 4)


def reading_time_ms(engine: Engine) -> float:
    words = ("I get a sudden painful cramp in my calf at night about twice a week and it eases when I stretch "
             "my foot but not always, no fever, no swelling, I take a statin and I walk a lot. ").split()
    text = " ".join((words * 4)[:100])
    engine.read(text, "auto")
    samples = []
    for _ in range(200):
        t = time.perf_counter()
        engine.read(text, "auto")
        samples.append(time.perf_counter() - t)
    return round(statistics.median(samples) * 1000, 3)


def negspacy_reader(engine: Engine):
    """The baseline: spasmo's lexicon as spaCy entity patterns, negation by negspacy's NegEx."""
    import spacy  # noqa: PLC0415
    from negspacy.negation import Negex  # noqa: F401,PLC0415 - registers the factory

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    patterns = [
        {"label": "FINDING", "pattern": term, "id": finding.id}
        for finding in engine.kb.findings.values()
        for term in finding.terms.en
    ]
    ruler.add_patterns(patterns)
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("negex", config={"ent_types": ["FINDING"]})

    def read(text: str, lang: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for ent in nlp(text).ents:
            state = "absent" if ent._.negex else "present"
            if ent.ent_id_ not in out or state == "present":
                out[ent.ent_id_] = state
        return out

    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["test", "dev", "all"], default="test")
    parser.add_argument("--baseline", action="store_true", help="also run the negspacy baseline on English")
    parser.add_argument("--errors", action="store_true", help="list the texts read wrongly")
    parser.add_argument("--agreement", action="store_true",
                        help="compare the test split's second, independent annotation with the first and the reader")
    args = parser.parse_args()
    engine = Engine()
    texts = load(args.split)
    result = run(engine, texts)
    print(f"split: {args.split}, texts: {len(texts)}")
    print("| language | n | precision | recall | F1 |\n|---|---|---|---|---|")
    for lang, s in result["by_language"].items():
        print(f"| {lang} | {s['n']} | {s['precision']} | {s['recall']} | {s['f1']} |")
    print("\n| batch (when written) | n | precision | recall | F1 |\n|---|---|---|---|---|")
    for batch, s in result["by_batch"].items():
        print(f"| {batch} | {s['n']} | {s['precision']} | {s['recall']} | {s['f1']} |")
    print("\n| difficulty | n | precision | recall | F1 |\n|---|---|---|---|---|")
    for tag, s in result["by_difficulty"].items():
        print(f"| {tag} | {s['n']} | {s['precision']} | {s['recall']} | {s['f1']} |")
    print(f"\nnegation state right: {result['negation_state_accuracy']}")
    print(f"language told apart: {language_accuracy(load('all'))} (all splits)")
    print(f"median reading time of a 100-word text: {reading_time_ms(engine)} ms")
    if args.baseline:
        english = [t for t in texts if t["language"] == "en"]
        ours = run(engine, english)["by_language"]["en"]
        base = run(engine, english, negspacy_reader(engine))
        print("\nEnglish test texts, the same lexicon, two ways to find negation:\n")
        print("| reader | precision | recall | F1 | negation state right |\n|---|---|---|---|---|")
        print(f"| spasmo | {ours['precision']} | {ours['recall']} | {ours['f1']} | "
              f"{run(engine, english)['negation_state_accuracy']} |")
        b = base["by_language"]["en"]
        print(f"| negspacy NegEx | {b['precision']} | {b['recall']} | {b['f1']} | {base['negation_state_accuracy']} |")
    if args.errors:
        for ident, missed, spurious in result["errors"]:
            print(f"{ident}: missed {missed} spurious {spurious}")
    if args.agreement:
        print_agreement(engine)


def print_agreement(engine: Engine) -> None:
    """How far two human annotators agree on the test split, and where the reader stands between them."""
    second = {
        t["id"]: {(f, s) for f, s in (t.get("findings") or {}).items()}
        for t in yaml.safe_load((HERE / "second_annotation_test.yaml").read_text(encoding="utf-8"))["texts"]
    }
    first = {t["id"]: t for t in load("test")}
    reader = {
        i: {(o.finding, o.state) for o in engine.read(t["text"], t["language"]).observations()} for i, t in first.items()
    }
    gold = {i: {(f, s) for f, s in (t.get("findings") or {}).items()} for i, t in first.items()}
    print("\nTest split, two independent annotations (same guideline) and the reader:\n")
    print("| language | n | annotator 2 vs 1 (F1) | reader vs annotator 1 | reader vs annotator 2 | "
          "reader's recall of what both marked |\n|---|---|---|---|---|---|")
    for lang in ("all", "en", "it"):
        ids = [i for i, t in first.items() if lang == "all" or t["language"] == lang]
        both = score([(gold[i] & second[i], reader[i]) for i in ids])
        print(f"| {lang} | {len(ids)} | {score([(gold[i], second[i]) for i in ids])['f1']} | "
              f"{score([(gold[i], reader[i]) for i in ids])['f1']} | {score([(second[i], reader[i]) for i in ids])['f1']} | "
              f"{both['recall']} |")


if __name__ == "__main__":
    main()
