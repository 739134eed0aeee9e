"""`spasmo kb`: what spasmo knows, with names, step, codes and sources."""

from __future__ import annotations

import json

from spasmo.knowledge.check import contract_ids

from .conftest import run_cli


def test_kb_lists_every_contract_condition_as_json_with_sources():
    result = run_cli("kb", "--format", "json")
    assert result.returncode == 0, result.stderr.decode()
    rows = {row["id"]: row for row in json.loads(result.stdout)["conditions"]}
    assert set(contract_ids()) <= set(rows)
    for row in rows.values():
        assert row["name"]["en"] and row["name"]["it"] and row["chain"] and row["codes"]["icd10"]
        assert row["sources"] and all(url.startswith("http") for url in row["sources"])


def test_kb_show_prints_one_condition_with_its_sources():
    result = run_cli("kb", "show", "tetanus")
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "tetanus" in out and "A35" in out and "http" in out


def test_kb_show_unknown_id_lists_known_ids():
    result = run_cli("kb", "show", "tetano")
    assert result.returncode != 0
    assert b"tetano" in result.stderr and b"tetanus" in result.stderr
