"""The docs that are generated from the code are in step with it."""

from __future__ import annotations

import importlib.util

from spasmo.knowledge import load
from spasmo.knowledge.coverage import coverage_markdown, load_coverage

from .conftest import ROOT


def test_cli_docs_match_the_commands_help():
    spec = importlib.util.spec_from_file_location("cli_docs", ROOT / "tools" / "cli_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == module.render(), "run `make docs`"


def test_coverage_table_matches_the_knowledge_base():
    assert (ROOT / "docs" / "coverage.md").read_text(encoding="utf-8") == coverage_markdown(load()), "run `make docs`"


def test_every_item_of_both_articles_is_mapped():
    items = load_coverage(load())
    kinds = {(i.article, i.kind) for i in items}
    for article in ("en", "it"):
        assert (article, "cause") in kinds
        assert (article, "therapy") in kinds
        assert (article, "see_doctor") in kinds
    english_diseases = {i.item.lower() for i in items if i.article == "en" and i.kind == "disease"}
    for name in ("angina", "myotonic dystrophy", "diverticul", "trigeminal", "myotonia congenita", "neuromyotonia",
                 "paramyotonia", "anal fissure", "reflux", "multiple sclerosis", "tetanus"):
        assert any(name in item for item in english_diseases), name
