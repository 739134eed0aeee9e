"""Terms of the lexicon that the reader cannot use as written (part of `spasmo kb check`)."""

from __future__ import annotations

from ..knowledge import KnowledgeBase
from .text import LANGUAGES, tokenize

__all__ = ["lexicon_problems"]


def lexicon_problems(kb: KnowledgeBase) -> list[tuple[str, str, str]]:
    """Terms the reader cannot use as written: (file, entry, what to fix).

    A term whose words are all function words never matches; a term that shrinks to one word which is
    also a whole term of another finding, written differently, makes that other finding fire too
    ("cramps all over" would read as every cramp if "all" and "over" were dropped).
    """
    problems: list[tuple[str, str, str]] = []
    for lang in LANGUAGES:
        owners: dict[tuple[str, ...], dict[str, str]] = {}
        for finding in kb.findings.values():
            for term in getattr(finding.terms, lang):
                stems = tuple(t.stem for t in tokenize(term, lang) if not t.stop and not t.punct)
                if not stems:
                    problems.append(("findings", finding.id, f"{lang} term {term!r} has only function words; it never matches"))
                    continue
                owners.setdefault(stems, {}).setdefault(finding.id, term)
        for stems, by_finding in owners.items():
            # the same word listed on purpose for two findings ("lockjaw": a stiff jaw, in the jaw) is fine
            if len(stems) == 1 and len(by_finding) > 1 and len(set(by_finding.values())) > 1:
                listed = ", ".join(f"{fid}: {term!r}" for fid, term in sorted(by_finding.items()))
                problems.append(
                    ("findings", "/".join(sorted(by_finding)),
                     f"{lang} terms read as the same single word '{stems[0]}' ({listed}); make them more specific")
                )
    return problems
