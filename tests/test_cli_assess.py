"""`spasmo assess` as a person or a program calls it: contract JSON, a readable report, clear errors."""

from __future__ import annotations

import json

from spasmo.knowledge.schema import LEVELS

from .conftest import run_cli

EXERCISE = "I got a sudden cramp in my calf during a run; it went away when I stretched."
ITALIAN = "Ho un crampo al polpaccio mentre corro, passa quando allungo il muscolo."


def assess_json(*args: str, stdin: bytes | None = None) -> dict:
    result = run_cli("assess", *args, "--format", "json", stdin=stdin)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_json_keeps_the_contract_shape():
    data = assess_json(EXERCISE)
    assert data["language"] == "en"
    assert data["triage"]["level"] in LEVELS
    probs = [c["probability"] for c in data["conditions"]]
    assert probs == sorted(probs, reverse=True)
    assert all(0.0 <= p <= 1.0 for p in probs)
    assert all(isinstance(c["id"], str) for c in data["conditions"])


def test_json_carries_why_advice_safety_net_and_sources():
    data = assess_json(EXERCISE)
    assert data["understood"], "the findings read from the text are shown"
    assert all(u["text"] for u in data["understood"] if u["origin"] == "text")
    top = data["conditions"][0]
    assert top["chain"]["step"]
    assert top["why"], "the top condition says which findings pointed where"
    assert data["advice"]["now"]
    assert data["sources"] and all(s["url"].startswith("http") for s in data["sources"])
    cited = {sid for item in data["advice"]["now"] for sid in item["sources"]}
    assert cited <= {s["id"] for s in data["sources"]}
    assert data["disclaimer"]


def test_italian_text_is_told_apart_and_answered_in_italian():
    data = assess_json(ITALIAN)
    assert data["language"] == "it"
    assert "medico" in data["disclaimer"]


def test_language_can_be_forced():
    assert assess_json("--lang", "it", EXERCISE)["language"] == "it"


def test_text_report_names_112_for_an_emergency():
    result = run_cli("assess", "I stepped on a rusty nail 10 days ago and now my jaw is locked and I can't open my mouth, "
                     "my neck and back are stiff and I get painful spasms.")
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "112" in out.splitlines()[0]


def test_standard_input_is_read_with_a_dash():
    data = assess_json("-", stdin=EXERCISE.encode())
    assert data["language"] == "en"


def test_finding_option_adds_an_answer():
    data = assess_json("cramp in my leg", "--finding", "insecticide_exposure=present", "--finding", "muscle_twitching=present")
    assert data["triage"]["level"] == "emergency"
    assert any(u["finding"] == "insecticide_exposure" and u["origin"] == "answer" for u in data["understood"])


def test_empty_text_is_refused_with_a_clear_message():
    result = run_cli("assess", "   ")
    assert result.returncode != 0
    assert b"empty" in result.stderr


def test_huge_text_is_refused_with_the_limit():
    result = run_cli("assess", "-", stdin=("cramp " * 3000).encode())
    assert result.returncode != 0
    assert b"10,000" in result.stderr


def test_unknown_language_is_refused():
    result = run_cli("assess", "--lang", "fr", EXERCISE)
    assert result.returncode != 0
    assert b"fr" in result.stderr


def test_unknown_finding_is_refused_with_where_to_look():
    result = run_cli("assess", EXERCISE, "--finding", "feverish=present")
    assert result.returncode != 0
    assert b"feverish" in result.stderr and b"kb findings" in result.stderr


def test_malformed_finding_option_says_how_to_write_it():
    result = run_cli("assess", EXERCISE, "--finding", "fever")
    assert result.returncode != 0
    assert b"ID=present" in result.stderr


def test_bytes_that_are_not_utf8_are_refused():
    result = run_cli("assess", "-", stdin=b"\xff\xfe crampo \xc3")
    assert result.returncode != 0
    assert b"UTF-8" in result.stderr


def test_every_command_help_has_an_example():
    for command in (["assess"], ["kb"], ["kb", "show"], ["kb", "check"], ["kb", "findings"], ["eval"], []):
        result = run_cli(*command, "--help")
        assert result.returncode == 0
        assert b"Example" in result.stdout, command


def test_a_changed_knowledge_base_is_read_again_not_taken_from_the_cache(tmp_path):
    import shutil

    from spasmo.knowledge import default_data_dir

    kb_dir = tmp_path / "kb"
    shutil.copytree(default_data_dir(), kb_dir)
    first = run_cli("assess", "--data", str(kb_dir), "--format", "json", EXERCISE)
    assert first.returncode == 0
    policy = kb_dir / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace('it: "112"', 'it: "118"'), encoding="utf-8")
    second = run_cli("assess", "--data", str(kb_dir), "--format", "json", "--lang", "it", EXERCISE)
    assert json.loads(second.stdout)["triage"]["emergency_number"] == "118"
