"""`spasmo eval`: per-case predictions in the contract's shape, metrics, and clear errors naming the case."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from .conftest import ROOT, run_cli

CASE_FILES = sorted(str(p) for p in (ROOT / "cases").glob("*.yaml"))


def write_cases(tmp_path: Path, cases: list[dict]) -> str:
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump({"cases": cases}, allow_unicode=True), encoding="utf-8")
    return str(path)


GOOD = {
    "id": "c1",
    "language": "en",
    "text": "I got a sudden cramp in my calf during a run; it went away when I stretched.",
    "triage": "self_care",
    "conditions": ["exercise_associated_cramp"],
    "source": "https://www.nhs.uk/conditions/leg-cramps/",
}


def test_eval_prints_each_case_in_the_contract_shape(tmp_path):
    result = run_cli("eval", write_cases(tmp_path, [GOOD]), "--format", "json")
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout)
    case = data["cases"][0]
    assert case["id"] == "c1" and case["triage"] in ("emergency", "urgent", "routine", "self_care")
    assert isinstance(case["conditions"], list) and len(case["conditions"]) <= 3
    for key in ("triage_accuracy", "under_triage_rate", "over_triage_rate", "emergencies_triaged_lower",
                "top1_accuracy", "top3_accuracy", "by_language", "by_level"):
        assert key in data["metrics"]


def test_a_case_without_text_is_named(tmp_path):
    result = run_cli("eval", write_cases(tmp_path, [GOOD, {**GOOD, "id": "c2", "text": ""}]))
    assert result.returncode != 0
    assert b"c2" in result.stderr and b"text" in result.stderr


def test_an_unknown_language_is_named(tmp_path):
    result = run_cli("eval", write_cases(tmp_path, [{**GOOD, "language": "de"}]))
    assert result.returncode != 0
    assert b"c1" in result.stderr and b"de" in result.stderr


def test_an_unreadable_file_is_reported(tmp_path):
    result = run_cli("eval", str(tmp_path / "missing.yaml"))
    assert result.returncode != 0
    assert b"missing.yaml" in result.stderr


def test_thresholds_make_eval_fail(tmp_path):
    wrong = {**GOOD, "triage": "emergency", "conditions": ["tetanus"]}
    result = run_cli("eval", write_cases(tmp_path, [wrong]), "--fail-on-emergency-under-triage")
    assert result.returncode == 1
    assert b"emergency case(s) triaged lower" in result.stderr


def test_public_case_files_are_valid_and_sourced():
    assert CASE_FILES, "the public case set is in cases/"
    total, italian = 0, 0
    ids = set()
    for path in CASE_FILES:
        for case in yaml.safe_load(Path(path).read_text(encoding="utf-8"))["cases"]:
            total += 1
            italian += case["language"] == "it"
            assert case["id"] not in ids
            ids.add(case["id"])
            assert str(case.get("source", "")).startswith("http"), case["id"]
    assert total >= 60 and italian >= 25


def test_no_public_emergency_case_is_triaged_lower():
    result = run_cli("eval", *CASE_FILES, "--format", "json")
    assert result.returncode == 0, result.stderr.decode()
    rows = json.loads(result.stdout)["cases"]
    lowered = [r["id"] for r in rows if r["gold_triage"] == "emergency" and r["triage"] != "emergency"]
    assert lowered == []
