"""The one façade that every adapter (command line, evaluation, later the API and web) goes through."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from .knowledge import KnowledgeBase, load
from .reading import LANGUAGES, Reader, Reading, ReadingError
from .reasoning import Assessment, Evidence, Model, Observation
from .report import build_report

__all__ = ["Engine", "UnknownFindingError"]


class UnknownFindingError(KeyError):
    """A finding id that the knowledge base does not know."""

    def __str__(self) -> str:
        return str(self.args[0])


class Engine:
    """Holds the loaded knowledge base; offers ``read``, ``assess`` and ``report``."""

    def __init__(self, kb: KnowledgeBase | None = None, *, data: Path | str | None = None):
        self.kb = kb if kb is not None else load(data)
        self.model = Model(self.kb)
        self.reader = Reader(self.kb)

    def read(self, text: str, language: str = "auto") -> Reading:
        """Text -> the findings it states, each with its span; raises :class:`ReadingError` on bad text."""
        return self.reader.read(text, language)

    def evidence(self, reading: Reading | None = None, answers: Mapping[str, str] | None = None) -> Evidence:
        """Combine what was read with explicit answers (answers win)."""
        ev = Evidence()
        if reading is not None:
            for obs in reading.observations():
                ev.add(obs)
        for finding, state in (answers or {}).items():
            if finding not in self.kb.findings:
                raise UnknownFindingError(
                    f"unknown finding {finding!r}; `spasmo kb findings` lists the ids"
                )
            if state not in ("present", "absent"):
                raise ValueError(f"finding {finding!r}: state must be 'present' or 'absent', not {state!r}")
            ev.add(Observation(finding, state, origin="answer"))  # type: ignore[arg-type]
        return ev

    def assess(self, evidence: Evidence) -> Assessment:
        return self.model.assess(evidence)

    def report(self, assessment: Assessment, language: str) -> dict[str, Any]:
        if language not in LANGUAGES:
            raise ReadingError(f"unknown language {language!r}; use 'en' or 'it'")
        return build_report(self.kb, assessment, language)

    def assess_text(
        self, text: str, language: str = "auto", answers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Read, assess and report in one call: what ``spasmo assess`` prints as JSON."""
        reading = self.read(text, language)
        assessment = self.assess(self.evidence(reading, answers))
        return self.report(assessment, reading.language)
